//! `canon`: canonical JSON never panics; the canonical form is a fixed
//! point; and for event JSON (the strict profile) the event writer of
//! `canon::strict` writes exactly what the general canonicaliser writes.

use sealtrail::canon::{self, strict};

/// Checks one input.
pub fn check(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(once) = canon::to_vec(&value) else {
        return;
    };
    let again: serde_json::Value = serde_json::from_slice(&once).expect("canonical output is JSON");
    assert_eq!(canon::to_vec(&again).expect("still canonical"), once);
    if let Ok(event_json) = strict::parse(data).and_then(|v| strict::to_vec(&v)) {
        assert_eq!(
            event_json, once,
            "the event writer and the canonicaliser disagree"
        );
    }
}
