//! `canon`: canonical JSON never panics, and the canonical form is a fixed point.

/// Checks one input.
pub fn check(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(once) = sealtrail::canon::to_vec(&value) else {
        return;
    };
    let again: serde_json::Value = serde_json::from_slice(&once).expect("canonical output is JSON");
    assert_eq!(
        sealtrail::canon::to_vec(&again).expect("still canonical"),
        once
    );
}
