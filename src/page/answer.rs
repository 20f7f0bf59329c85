//! What a page session answers, as JavaScript sees it: each answer is a
//! serde type whose JSON is declared once in the package's `.d.ts`
//! (`src/web/types.rs`), and `tests/js_contract.rs` checks the two agree.

use serde::Serialize;
use serde_json::Value;

use crate::alerts::{Finding, Severity};
use crate::bounded::Bounded;
use crate::breakglass::{Exemption, Refusal};
use crate::decision::BreakGlassGrant;
use crate::decision::{Decision, Explanation};
use crate::event::{Event, Outcome};
use crate::guarantees::Guarantees;
use crate::seal::{Decisions, Opening};

/// Where an event landed in the chain (`EventRef`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRef {
    /// Chain id.
    pub chain: String,
    /// Position in the chain.
    pub seq: u64,
    /// The event's hash, lowercase hex.
    pub hash: String,
    /// The event's action.
    pub action: String,
    /// The event's outcome.
    pub outcome: Outcome,
}

impl EventRef {
    /// The reference to `e`.
    pub fn of(e: &Event) -> Self {
        Self {
            chain: e.chain.as_str().to_owned(),
            seq: e.seq,
            hash: e.hash.to_hex(),
            action: e.body.action.as_str().to_owned(),
            outcome: e.body.outcome,
        }
    }
}

/// A record as the session may see it, once its event is stored (`SealedRecord`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedRecord {
    /// The record's id.
    pub record_id: String,
    /// The record with placeholders in place of sealed values.
    pub view: Value,
    /// One decision per field, in record order.
    pub decisions: Decisions,
    /// The `view` / `view-sealed` event.
    pub event: EventRef,
    /// Set when the event had to be shortened to fit the policy's size cap
    /// (`detail.bounded` of the event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounded: Option<Bounded>,
}

/// One reason a break-glass request was refused (`Refusal`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalReport {
    /// The refusal's kind (`roleNotAuthorised`, `reasonTooShort`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The request field at fault (empty for the request as a whole).
    pub pointer: &'static str,
    /// What to do, in words.
    pub message: String,
}

impl From<&Refusal> for RefusalReport {
    fn from(r: &Refusal) -> Self {
        Self {
            kind: r.kind(),
            pointer: r.pointer(),
            message: r.to_string(),
        }
    }
}

/// How a break-glass request ended, once its event is stored (`BreakGlassResult`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum BreakGlassResult {
    /// A grant for one record.
    Granted {
        /// The grant, to pass to `reveal`.
        grant: BreakGlassGrant,
        /// The `break-glass` event (outcome `success`).
        event: EventRef,
        /// Why no justification was asked, when none was.
        #[serde(skip_serializing_if = "Option::is_none")]
        exemption: Option<Exemption>,
    },
    /// Refused, with every reason.
    Denied {
        /// Why, field by field.
        refusals: Vec<RefusalReport>,
        /// The `break-glass` event (outcome `denied` or `error`).
        event: EventRef,
    },
    /// The user closed the dialog without asking.
    Cancelled {
        /// The `break-glass` event (outcome `cancelled`).
        event: EventRef,
    },
}

/// A revealed value and its `unseal` event, stored before it (`Opening`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revealed {
    /// The value, its salt and commitment.
    #[serde(flatten)]
    pub opening: Opening,
    /// The `unseal` event.
    pub event: EventRef,
}

/// A decided host action and its event (`HostResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostResult {
    /// Allow, deny, or step up (authenticate again, then retry).
    pub decision: Decision,
    /// Why: the rule that allowed, or the rule and condition that refused.
    pub why: Explanation,
    /// The event: the action itself, or `step-up-required`.
    pub event: EventRef,
    /// Set when the event had to be shortened to fit the policy's size cap
    /// (a search's long query cut, `detail.bounded` of the event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounded: Option<Bounded>,
}

/// Upload progress of one chain (`ChainProgress`); tabs tell each other
/// theirs, so it reads back too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainProgress {
    /// The chain id.
    pub chain: String,
    /// Highest `seq` the collector acknowledged with `200`, if any.
    pub acked_seq: Option<u64>,
    /// Why uploading this chain stopped for good (`fork`, `tamper`, ...).
    pub stopped: Option<String>,
    /// Highest `seq` anchored with a head.
    pub anchored_seq: Option<u64>,
    /// Why this chain's events stay in this browser for now: it has no
    /// usable upload credential ([`super::Held`]).
    #[serde(default)]
    pub held: Option<String>,
    /// Whether this is the chain of the current page load.
    pub current: bool,
}

/// The last durable event of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    /// Its `seq`.
    pub seq: u64,
    /// Its hash, lowercase hex.
    pub hash: String,
}

/// Storage and upload as the host sees them (`SealtrailStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// This page load's chain.
    pub chain: String,
    /// Its last durable event.
    pub head: Option<Head>,
    /// Events stored but not yet acknowledged, all chains.
    pub pending: u64,
    /// Every chain seen.
    pub chains: Vec<ChainProgress>,
    /// The last upload error.
    pub last_error: Option<String>,
    /// Whether the browser says it is online.
    pub online: bool,
    /// What this browser promises about keeping the stored events.
    pub guarantees: Guarantees,
}

/// An alert for the host's `onAlert` (`SealtrailAlert`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "camelCase")]
pub enum Alert {
    /// A local alert rule fired on this page's events.
    Local(Finding),
    /// The collector refused a chain (fork, tamper, ...).
    Collector(CollectorNotice),
}

/// A collector's refusal of a chain, as an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectorNotice {
    /// `collector-` and the collector's error (`collector-fork`).
    pub rule: String,
    /// Always critical: uploading that chain has stopped.
    pub severity: Severity,
    /// One sentence.
    pub summary: String,
    /// The chain concerned.
    pub chain: String,
    /// The `seq` the collector named.
    pub seq: Option<u64>,
}

impl Alert {
    /// The alert for the collector's `error` on `chain` (at `seq`), with its `detail`.
    pub fn collector(error: &str, chain: &str, seq: Option<u64>, detail: &str) -> Self {
        Self::Collector(CollectorNotice {
            rule: format!("collector-{error}"),
            severity: Severity::Critical,
            summary: format!("the collector refused chain {chain} ({error}): {detail}"),
            chain: chain.to_owned(),
            seq,
        })
    }
}
