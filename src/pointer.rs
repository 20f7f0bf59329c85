//! JSON Pointers (RFC 6901): how errors name the offending value and how
//! policies name fields.

use serde_json::Value;

/// Escapes one reference token (`~` as `~0`, `/` as `~1`).
pub fn escape_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

/// Unescapes one reference token.
pub fn unescape_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

/// Appends a token to a pointer.
pub fn push(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", escape_token(token))
}

/// The value `pointer` names in `v`, as [`Value::pointer`] finds it, but
/// unescaping a token only when it has a `~`: serde_json copies every
/// token twice, and a record's facts are read through a dozen pointers.
pub fn get<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    tokens(pointer)?.try_fold(v, |target, token| match target {
        Value::Object(m) => m.get(&*unescape_token(token)),
        Value::Array(a) => index(token).and_then(|i| a.get(i)),
        _ => None,
    })
}

/// [`get`], mutably: as [`Value::pointer_mut`] finds the value. Sealing
/// finds each refused field's slot through it.
pub fn get_mut<'a>(v: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    tokens(pointer)?.try_fold(v, |target, token| match target {
        Value::Object(m) => m.get_mut(&*unescape_token(token)),
        Value::Array(a) => index(token).and_then(|i| a.get_mut(i)),
        _ => None,
    })
}

/// The escaped tokens of `pointer`; `None` when it is neither empty nor
/// starts with `/`.
fn tokens(pointer: &str) -> Option<impl Iterator<Item = &str>> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return None;
    }
    Some(pointer.split('/').skip(1))
}

/// An array index token as RFC 6901 (and serde_json) read it: decimal
/// digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_finds_what_serde_json_finds() {
        let mut v = serde_json::json!({
            "a": {"b/c": [1, {"~d": 2, "~1": 3, "/": 4}], "": {"": 5}},
            "0": ["x", "y"], "e~": 6,
        });
        let pointers = [
            "",
            "/",
            "//",
            "/a",
            "/a/b~1c",
            "/a/b~1c/0",
            "/a/b~1c/1/~0d",
            "/a/b~1c/1/~01",
            "/a/b~1c/1/~1",
            "/a/b~1c/01",
            "/a/b~1c/+1",
            "/a/b~1c/-1",
            "/a/b~1c/2",
            "/a/b~1c/1/",
            "/a//",
            "/0/1",
            "/0/00",
            "/e~0",
            "/e~",
            "/e~2",
            "a",
            "/a/b/c",
            "/a/b~1c/1/~0d/x",
            "/a/b~1c/18446744073709551616",
        ];
        for p in pointers {
            assert_eq!(get(&v, p), v.pointer(p), "{p}");
            let expected = v.pointer(p).cloned();
            assert_eq!(get_mut(&mut v, p).map(|x| x.clone()), expected, "{p}");
        }
    }

    #[test]
    fn escapes_round_trip() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
        assert_eq!(unescape_token("a~1b~0c"), "a/b~c");
        assert_eq!(push("/notes", "0"), "/notes/0");
    }
}
