//! What the browser that stored a chain's events promises about keeping
//! them until they are uploaded.
//!
//! Browser engines differ exactly here. Chromium, Firefox and WebKit honour
//! IndexedDB's `durability: "strict"` (the `complete` event waits for the
//! disk) when asked, but an engine that predates the hint ignores it and
//! commits with relaxed durability, so a crash or power loss can lose the last
//! events it had already reported stored. And an origin's storage is
//! evictable unless the browser granted persistence: under storage pressure,
//! or in WebKit after seven days without a visit, the not-yet-uploaded tail
//! can vanish. The module cannot fix either from inside the page; it keeps
//! its promises where they do not depend on the disk (nothing is revealed
//! before the write reports `complete`; nothing is deleted before a `200`)
//! and says which of these two hold, so a reviewer can weigh the evidence.
//!
//! The web layer measures them (`status().guarantees`); the type lives in the
//! core so the collector and the CLI can read it too.

use serde::{Deserialize, Serialize};

/// The storage guarantees of one browser (`SealtrailGuarantees`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Guarantees {
    /// Whether a stored event survives a crash or power loss.
    pub durability: Durability,
    /// Whether the browser may delete the stored events on its own.
    pub storage: Persistence,
}

/// Whether IndexedDB's `complete` means "on disk".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Durability {
    /// The engine honours `durability: "strict"`: `complete` fires after
    /// the data reached the disk.
    Strict,
    /// The engine ignores the hint: `complete` may fire before the data
    /// reached the disk, and a crash can lose the last events.
    BestEffort,
}

impl Durability {
    /// Its JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::BestEffort => "bestEffort",
        }
    }
}

/// Whether the origin's storage is exempt from eviction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Persistence {
    /// `navigator.storage.persisted()` is true: the browser keeps the data
    /// until the user clears it.
    Persistent,
    /// The browser may evict the data (no `navigator.storage`, persistence
    /// not granted, or no answer in time).
    Evictable,
}

impl Persistence {
    /// Its JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Persistent => "persistent",
            Self::Evictable => "evictable",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_names_are_the_documented_ones() {
        let g = Guarantees {
            durability: Durability::BestEffort,
            storage: Persistence::Evictable,
        };
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#"{"durability":"bestEffort","storage":"evictable"}"#
        );
        for (d, p) in [
            (Durability::Strict, Persistence::Persistent),
            (Durability::BestEffort, Persistence::Evictable),
        ] {
            assert_eq!(serde_json::to_value(d).unwrap(), d.as_str());
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        let back: Guarantees =
            serde_json::from_str(r#"{"durability":"strict","storage":"persistent"}"#).unwrap();
        assert_eq!(back.durability, Durability::Strict);
        assert_eq!(back.storage, Persistence::Persistent);
    }

    #[test]
    fn unknown_values_and_members_are_refused() {
        for bad in [
            r#"{"durability":"relaxed","storage":"evictable"}"#,
            r#"{"durability":"strict","storage":"evictable","extra":1}"#,
            r#"{"durability":"strict"}"#,
        ] {
            assert!(serde_json::from_str::<Guarantees>(bad).is_err(), "{bad}");
        }
    }
}
