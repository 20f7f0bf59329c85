//! The audit event of `docs/protocol.md`, as producers write it.
//!
//! An [`EventDraft`] is what a caller knows (who, what, why); the chain
//! ([`crate::chain::ChainWriter`]) adds `v`, `chain`, `seq`, `ts`, `prev` and
//! `hash` to make an [`Event`]. Verifiers never use these types: they hash the
//! raw JSON members as written, so members this version does not know still
//! count. Member names are the wire names (camelCase).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::is_lower_hex;
use crate::entropy::{Entropy, EntropyError};
use crate::{Digest, Timestamp};

/// Format version written in every event's `v`.
pub const VERSION: u64 = 1;

/// Purpose of use written in break-glass and unseal events.
pub const PURPOSE_BTG: &str = "BTG";

/// Domain-separation prefix of the genesis value.
pub const GENESIS_PREFIX: &str = "sealtrail/v1/genesis/";

/// A chain id: 32 lowercase hex characters (128 random bits), one per page session.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId(String);

/// Why a string is not a chain id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainIdError {
    /// Not 32 lowercase hex characters.
    #[error("a chain id is 32 lowercase hex characters, found `{0}`")]
    Malformed(String),
}

impl ChainId {
    /// Parses the 32-character form.
    pub fn parse(s: &str) -> Result<Self, ChainIdError> {
        if s.len() == 32 && is_lower_hex(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ChainIdError::Malformed(s.to_owned()))
        }
    }

    /// A new random chain id.
    pub fn random(entropy: &mut dyn Entropy) -> Result<Self, EntropyError> {
        let mut bytes = [0u8; 16];
        entropy.fill(&mut bytes)?;
        Ok(Self(hex::encode(bytes)))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `genesis(chain)`: the `prev` of the event with `seq` 0.
    pub fn genesis(&self) -> Digest {
        Digest::of_parts(&[GENESIS_PREFIX.as_bytes(), self.0.as_bytes()])
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({})", self.0)
    }
}

impl Serialize for ChainId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ChainId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// Staff id from the host's login.
    pub id: String,
    /// Role name as the policy knows it.
    pub role: String,
    /// Display name, for the reviewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// How the user authenticated (`password`, `mfa`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_strength: Option<String>,
    /// The staff member's team, from the host's login: the peers the
    /// off-hours spike rule compares them with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// How the actor stands to the record, as the policy saw it at the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Relation {
    /// The record is on the actor's own caseload.
    Caseload,
    /// The record is on the caseload of the actor's team.
    Team,
    /// Neither: the actor is not assigned to this record.
    Unassigned,
}

/// What it was done to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// The record's id.
    pub record_id: String,
    /// The record's type (`patient`, `youth`, `case`, ...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// The actor's relation to the record, for the caseload alert rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<Relation>,
    /// Coarse demographic attributes the policy names for the bias review
    /// (for example `ageBand`), never identifying values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub demographics: BTreeMap<String, String>,
    /// True when the record is one the staff member declared a link to (a
    /// relative, a neighbour, their own record). The link itself is never
    /// written: only that one matched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub related: bool,
}

/// The login session the event happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRef {
    /// Session id from the host.
    pub id: String,
    /// Client IP address as the host saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Client software (`user agent`, app name and version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
}

/// A documented justification (break-glass).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// A reason code from the policy.
    pub code: String,
    /// Free text, 10 to 500 characters after trimming.
    pub text: String,
    /// Optional further context, at most 1000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Optional investigation or incident reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_ref: Option<String>,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Done.
    Success,
    /// Refused by policy.
    Denied,
    /// Abandoned by the user.
    Cancelled,
    /// Failed for a technical reason.
    Error,
}

/// What happened. Known actions have variants; anything else a producer
/// writes is kept as [`Action::Other`] so readers never reject a chain for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Action {
    /// A record shown with nothing sealed.
    View,
    /// A record shown with at least one field sealed.
    ViewSealed,
    /// A sealed field revealed under a grant.
    Unseal,
    /// A break-glass request (granted, denied or cancelled: see the outcome).
    BreakGlass,
    /// An action refused outright.
    Deny,
    /// A search, with its query and filters in `detail`.
    Search,
    /// An export or download.
    Export,
    /// A print.
    Print,
    /// An edit of a record.
    Edit,
    /// A deletion.
    Delete,
    /// A change of role or permissions.
    RoleChange,
    /// An action that needs a stronger authentication first.
    StepUpRequired,
    /// A read of the audit log itself.
    AuditRead,
    /// Any other action string.
    Other(String),
}

impl Action {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Action::View => "view",
            Action::ViewSealed => "view-sealed",
            Action::Unseal => "unseal",
            Action::BreakGlass => "break-glass",
            Action::Deny => "deny",
            Action::Search => "search",
            Action::Export => "export",
            Action::Print => "print",
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::RoleChange => "role-change",
            Action::StepUpRequired => "step-up-required",
            Action::AuditRead => "audit-read",
            Action::Other(s) => s,
        }
    }
}

impl From<String> for Action {
    fn from(s: String) -> Self {
        match s.as_str() {
            "view" => Action::View,
            "view-sealed" => Action::ViewSealed,
            "unseal" => Action::Unseal,
            "break-glass" => Action::BreakGlass,
            "deny" => Action::Deny,
            "search" => Action::Search,
            "export" => Action::Export,
            "print" => Action::Print,
            "edit" => Action::Edit,
            "delete" => Action::Delete,
            "role-change" => Action::RoleChange,
            "step-up-required" => Action::StepUpRequired,
            "audit-read" => Action::AuditRead,
            _ => Action::Other(s),
        }
    }
}

impl From<&str> for Action {
    fn from(s: &str) -> Self {
        Action::from(s.to_owned())
    }
}

impl From<Action> for String {
    fn from(a: Action) -> Self {
        match a {
            Action::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller knows about an event; the chain adds the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDraft {
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: Action,
    /// How it ended.
    pub outcome: Outcome,
    /// The record concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    /// JSON Pointers of the fields touched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Note types of those fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub note_types: Vec<String>,
    /// Sensitivity labels (FHIR confidentiality and sensitivity codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// The login session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionRef>,
    /// Purpose of use (`TREAT`, `BTG` for break-glass, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose_of_use: Option<String>,
    /// Break-glass justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// `sha256:<hex>` of the canonical policy in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Action-specific details: a search's query and filters, an export's
    /// format, a role change's from and to, a grant's id and expiry. Integers
    /// only: the chain refuses floats so every implementation hashes alike.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

impl EventDraft {
    /// A draft with only the required members; fill the rest by field.
    pub fn new(actor: Actor, action: Action, outcome: Outcome) -> Self {
        Self {
            actor,
            action,
            outcome,
            subject: None,
            fields: Vec::new(),
            note_types: Vec::new(),
            labels: Vec::new(),
            session: None,
            purpose_of_use: None,
            reason: None,
            policy: None,
            detail: serde_json::Map::new(),
        }
    }
}

/// An appended event: the draft plus its place in the chain and its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Format version, [`VERSION`].
    pub v: u64,
    /// Chain id.
    pub chain: ChainId,
    /// Position in the chain, from 0.
    pub seq: u64,
    /// When, never before the previous event's `ts`.
    pub ts: crate::Timestamp,
    /// Hash of the previous event, or the genesis value.
    pub prev: Digest,
    /// The caller's part.
    #[serde(flatten)]
    pub body: EventDraft,
    /// `hash(event)` of the spec.
    pub hash: Digest,
}

impl Event {
    /// The event's time.
    pub fn time(&self) -> Timestamp {
        self.ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_known_answer() {
        let c = ChainId::parse("00000000000000000000000000000000").unwrap();
        // printf 'sealtrail/v1/genesis/00000000000000000000000000000000' | sha256sum
        assert_eq!(
            c.genesis().to_hex(),
            Digest::of(b"sealtrail/v1/genesis/00000000000000000000000000000000").to_hex()
        );
    }
}
