//! The page session harness of the native page tests: the default policy,
//! the demo's records, sessions, and a page whose events go through a real
//! chain writer as the browser's journal does.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{json, Value};

use sealtrail::breakglass::BreakGlassRequest;
use sealtrail::chain::ChainWriter;
use sealtrail::decision::FieldAction;
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::ChainId;
use sealtrail::event::{Event, Outcome};
use sealtrail::page::{BreakGlassResult, PageError, PageSession, Pending, Step};
use sealtrail::policy::Policy;
use sealtrail::session::Session;
use sealtrail::Timestamp;

pub const POLICY: &str = include_str!("../../pkg-config/policy.default.json");
pub const RECORDS: &str = include_str!("../../www/data/records.json");

/// Monday 2026-11-23 10:00 UTC.
pub fn t0() -> Timestamp {
    Timestamp::parse("2026-11-23T10:00:00.000Z").unwrap()
}

pub fn minutes(m: i64) -> Timestamp {
    t0().plus_millis(m * 60_000)
}

pub fn record(id: &str) -> Value {
    let all: Vec<Value> = serde_json::from_str(RECORDS).unwrap();
    all.into_iter().find(|r| r["id"] == id).unwrap()
}

pub fn session_json(user: &str, role: &str, caseload: &[&str], strength: &str) -> Value {
    json!({
        "userId": user, "name": format!("Test {role}"), "role": role,
        "caseload": caseload, "team": "team-north", "authStrength": strength,
        "authTime": "2026-11-23T09:59:00.000Z", "expiresAt": "2026-11-23T20:00:00.000Z",
        "sessionId": "s-1", "network": "onSite", "device": "managed", "client": "tests/page.rs"
    })
}

pub fn session(user: &str, role: &str, caseload: &[&str], strength: &str) -> Session {
    let policy = Policy::parse(POLICY).unwrap();
    Session::from_value(&session_json(user, role, caseload, strength), &policy, t0()).unwrap()
}

/// A page session and the chain its events go to (the journal's part).
pub struct Page {
    pub page: PageSession,
    pub chain: ChainWriter,
    pub entropy: SeededEntropy,
    pub stored: Vec<Event>,
    /// How many of `stored` the local alert rules have seen.
    pub observed: usize,
}

impl Page {
    pub fn new(session: Session) -> Self {
        Self::with_policy(POLICY, session)
    }

    /// A page session under the policy `text`.
    pub fn with_policy(text: &str, session: Session) -> Self {
        let policy = Policy::parse(text).unwrap();
        Self {
            page: PageSession::new(policy, session).unwrap(),
            chain: ChainWriter::new(ChainId::parse(&"ab".repeat(16)).unwrap()),
            entropy: SeededEntropy::new(7),
            stored: Vec::new(),
            observed: 0,
        }
    }

    pub fn nurse() -> Self {
        Self::new(session("u-nurse-17", "nurse", &["p-1001"], "mfa"))
    }

    pub fn lead() -> Self {
        Self::new(session("sg-001", "safeguardingLead", &[], "mfa"))
    }

    /// Appends the drafts as the journal does, then commits.
    pub fn store<S: Step>(
        &mut self,
        pending: Pending<S>,
        now: Timestamp,
    ) -> Result<S::Answer, PageError> {
        let events: Vec<Event> = pending
            .drafts()
            .iter()
            .map(|d| self.chain.append(d.clone(), now).unwrap())
            .collect();
        self.stored.extend(events.iter().cloned());
        pending.commit(&mut self.page, &events)
    }

    pub fn seal(&mut self, id: &str) -> Value {
        let p = self
            .page
            .seal(record(id), FieldAction::View, t0(), &mut self.entropy)
            .unwrap();
        let mut out = self.store(p, t0()).unwrap();
        assert_eq!(out.len(), 1);
        serde_json::to_value(out.pop().unwrap()).unwrap()
    }

    pub fn break_glass(
        &mut self,
        id: &str,
        request: &BreakGlassRequest,
        now: Timestamp,
    ) -> BreakGlassResult {
        let p = self
            .page
            .break_glass(id, request, now, &mut self.entropy)
            .unwrap();
        self.store(p, now).unwrap()
    }

    pub fn granted(&mut self, id: &str) -> sealtrail::decision::BreakGlassGrant {
        match self.break_glass(id, &good_request(), t0()) {
            BreakGlassResult::Granted { grant, event, .. } => {
                assert_eq!(event.action, "break-glass");
                assert_eq!(event.outcome, Outcome::Success);
                grant
            }
            other => panic!("{other:?}"),
        }
    }

    pub fn last(&self) -> &Event {
        self.stored.last().unwrap()
    }
}

pub fn good_request() -> BreakGlassRequest {
    BreakGlassRequest {
        reason_code: "abuseAllegation".into(),
        reason_text: "Strategy meeting needs the clinical picture now".into(),
        context: None,
        incident_ref: None,
    }
}
