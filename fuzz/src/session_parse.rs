//! `session_parse`: the session parser never panics, and every error names a
//! JSON Pointer that exists in the input, or the root.

use sealtrail::session::Session;

use super::policy_parse::assert_points_into;

/// Checks one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = Session::parse(text) {
        assert_points_into(text, e.pointer(), &e.to_string());
    }
}
