//! Shared fixtures for the policy, seal and break-glass tests: the default
//! policy, a realistic record and sessions for any role.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use sealtrail::policy::Policy;
use sealtrail::session::Session;
use sealtrail::Timestamp;
use serde_json::Value;

/// The shipped default policy text.
pub const DEFAULT_POLICY: &str = include_str!("../../pkg-config/policy.default.json");

/// The realistic record every table test seals.
pub const RECORD: &str = include_str!("../fixtures/records/clinic-record.json");

/// "Now" in every test: a Monday morning in November 2026.
pub const NOW: &str = "2026-11-23T15:00:00.000Z";

pub fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

pub fn now() -> Timestamp {
    t(NOW)
}

/// `now` plus `minutes`.
pub fn later(minutes: i64) -> Timestamp {
    now().plus_millis(minutes * 60_000)
}

pub fn policy() -> Policy {
    Policy::parse(DEFAULT_POLICY).unwrap()
}

pub fn policy_value() -> Value {
    serde_json::from_str(DEFAULT_POLICY).unwrap()
}

pub fn record() -> Value {
    serde_json::from_str(RECORD).unwrap()
}

/// A session authenticated with MFA 30 minutes ago, expiring in 8 hours,
/// with `p-1001` on its caseload and team `east`.
pub fn session(role: &str) -> Session {
    Session {
        user_id: format!("u-{role}"),
        name: format!("Test {role}"),
        role: role.to_owned(),
        caseload: vec!["p-1001".to_owned(), "p-1002".to_owned()],
        related_records: vec![],
        prior_grants: vec![],
        team: Some("east".to_owned()),
        auth_strength: "mfa".to_owned(),
        auth_time: later(-30),
        expires_at: later(8 * 60),
        session_id: "s-1".to_owned(),
        client: "test-suite/1".to_owned(),
        ip: Some("10.0.0.7".to_owned()),
        facility: None,
        unit: None,
        network: Some("onSite".to_owned()),
        device: Some("managed".to_owned()),
        sign_in_method: None,
    }
}

/// The same session without the record on its caseload and in another team.
pub fn unassigned(role: &str) -> Session {
    Session {
        caseload: vec!["p-9".to_owned()],
        related_records: vec![],
        prior_grants: vec![],
        team: Some("west".to_owned()),
        ..session(role)
    }
}
