//! Sessions are checked against the policy and the time before anything is
//! decided: a future `authTime` or an unknown `authStrength` is refused with
//! its JSON Pointer, and never satisfies a step-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sealing_support;

use sealing_support::*;
use sealtrail::decision::{Access, HostAction};
use sealtrail::session::{Session, SessionError, AUTH_TIME_SKEW_MINUTES, MAX_TEXT_BYTES};
use serde_json::{json, Value};

fn ok() -> Value {
    json!({
        "userId": "u1", "name": "A", "role": "doctor", "caseload": ["p-1001"],
        "team": "east", "authStrength": "mfa", "authTime": "2026-11-23T14:50:00.000Z",
        "expiresAt": "2026-11-23T22:00:00.000Z", "sessionId": "s1", "client": "app/1"
    })
}

fn refused(v: &Value) -> SessionError {
    Session::from_value(v, &policy(), now()).unwrap_err()
}

#[test]
fn a_session_from_the_future_is_refused() {
    let mut v = ok();
    v["authTime"] = json!("2036-11-23T14:50:00.000Z");
    let e = refused(&v);
    assert_eq!(e.pointer(), "/authTime");
    assert!(e.to_string().contains("`2036-11-23T14:50:00.000Z`"), "{e}");
    // Within the documented skew it is accepted: host and browser clocks differ.
    v["authTime"] = json!(later(AUTH_TIME_SKEW_MINUTES).to_string());
    Session::from_value(&v, &policy(), now()).unwrap();
    v["authTime"] = json!(later(AUTH_TIME_SKEW_MINUTES).plus_millis(1).to_string());
    assert_eq!(refused(&v).pointer(), "/authTime");
}

#[test]
fn an_unknown_auth_strength_is_refused() {
    let mut v = ok();
    v["authStrength"] = json!("retina");
    let e = refused(&v);
    assert_eq!(e.pointer(), "/authStrength");
    let message = e.to_string();
    assert!(message.contains("`retina`"), "{message}");
    assert!(message.contains("`mfa`"), "{message}");
}

#[test]
fn text_every_event_carries_is_bounded() {
    let mut v = ok();
    v["client"] = json!("x".repeat(MAX_TEXT_BYTES + 1));
    let e = refused(&v);
    assert_eq!(e.pointer(), "/client");
    v["client"] = json!("x".repeat(MAX_TEXT_BYTES));
    Session::from_value(&v, &policy(), now()).unwrap();
}

#[test]
fn a_session_that_expires_before_it_began_is_refused() {
    let mut v = ok();
    v["expiresAt"] = json!("2026-11-23T14:00:00.000Z");
    assert_eq!(refused(&v).pointer(), "/expiresAt");
}

#[test]
fn shape_errors_still_name_their_pointer() {
    let p = policy();
    let s = Session::from_value(&ok(), &p, now()).unwrap();
    assert_eq!(s.caseload, ["p-1001"]);
    for (edit, pointer) in [
        (json!({"shoeSize": 9}), "/shoeSize"),
        (json!({"caseload": "p-1"}), "/caseload"),
        (json!({"authTime": "yesterday"}), "/authTime"),
        (json!({"userId": "  "}), "/userId"),
    ] {
        let mut v = ok();
        for (k, x) in edit.as_object().unwrap() {
            v[k] = x.clone();
        }
        assert_eq!(refused(&v).pointer(), pointer, "{edit}");
    }
}

/// A session built in code, never parsed, gets nothing from a future
/// sign-in either: it is not live, so no step-up is met and nothing shown.
#[test]
fn a_future_sign_in_built_in_code_satisfies_nothing() {
    let p = policy();
    let mut s = session("doctor");
    s.auth_time = later(10 * 365 * 24 * 60);
    let access = Access::new(&p, &s, now(), &[]);
    assert!(!access.is_live());
    let d = access
        .decide_host(&HostAction::Export { format: None }, None)
        .unwrap();
    assert!(!d.decision.is_allow(), "{:?}", d.decision);
}
