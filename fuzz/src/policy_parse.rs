//! `policy_parse`: the policy parser never panics; every error names a JSON
//! Pointer that exists in the input, or the root; and a policy it accepts is
//! accepted again when written out with every default filled in.

use sealtrail::policy::Policy;

/// Checks one input.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::parse(text) {
        Ok(policy) => {
            let written = serde_json::to_value(policy.doc()).expect("a parsed policy serialises");
            let again = Policy::from_value(&written).unwrap_or_else(|e| {
                panic!("a parsed policy written out is refused: {e}\n{written}")
            });
            assert_eq!(
                again.doc(),
                policy.doc(),
                "written out and read back differs"
            );
        }
        Err(e) => assert_points_into(text, e.pointer(), &e.to_string()),
    }
}

/// Asserts that `pointer` (from an error saying `message`) is the root or
/// names a value of `text`, which must then be JSON.
pub fn assert_points_into(text: &str, pointer: &str, message: &str) {
    if pointer.is_empty() {
        return;
    }
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|_| {
        panic!("error `{message}` points at `{pointer}` in text that is not JSON")
    });
    assert!(
        value.pointer(pointer).is_some(),
        "error `{message}` points at `{pointer}`, which the input does not have"
    );
}
