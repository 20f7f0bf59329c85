//! `session_parse`: the session parser never panics, every error names a
//! JSON Pointer that exists in the input, or the root, and a session it
//! accepts (for each shipped policy, at a fixed time) signed in no later than
//! that time plus the allowed skew,, with a sign-in strength the policy knows.

use sealtrail::session::{Session, AUTH_TIME_SKEW_MINUTES};

use super::policy_parse::assert_points_into;
use super::seal_leak::{now, policies};

/// Checks one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for policy in policies() {
        match Session::parse(text, policy, now()) {
            Ok(s) => {
                let latest = now().millis() + AUTH_TIME_SKEW_MINUTES * 60_000;
                assert!(
                    s.auth_time.millis() <= latest,
                    "a session signed in at {} was accepted at {}",
                    s.auth_time,
                    now()
                );
                assert!(
                    policy.doc().auth_strengths.contains(&s.auth_strength),
                    "unknown sign-in strength `{}` accepted",
                    s.auth_strength
                );
            }
            Err(e) => assert_points_into(text, e.pointer(), &e.to_string()),
        }
    }
}
