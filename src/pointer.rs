//! JSON Pointers (RFC 6901): how errors name the offending value and how
//! policies name fields.

use serde_json::Value;

/// Escapes one reference token (`~` as `~0`, `/` as `~1`).
pub fn escape_token(token: &str) -> std::borrow::Cow<'_, str> {
    // Bytes, not chars: the walk escapes every member name it passes.
    if token.bytes().any(|b| b == b'~' || b == b'/') {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

/// Unescapes one reference token.
pub fn unescape_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.as_bytes().contains(&b'~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

/// Appends a token to a pointer.
pub fn push(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", escape_token(token))
}

/// Whether `a` and `b` are the same text, compared byte by byte in line.
/// Natively `==` on strings calls the C library's `memcmp`, which costs
/// more than the comparison itself for the short names the walk compares
/// a few hundred times per record (member names against patterns, note
/// type names against the policy's).
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// Member `name` of `m`: found by [`same`] along the members of a small
/// object (a map lookup compares with `memcmp` at every step), by the
/// map's own lookup in a large one.
pub(crate) fn member<'a>(m: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    if m.len() <= SMALL {
        m.iter().find_map(|(k, v)| same(k, name).then_some(v))
    } else {
        m.get(name)
    }
}

/// Up to this many members, [`member`] looks along them.
const SMALL: usize = 8;

/// The value `pointer` names in `v`, as [`Value::pointer`] finds it, but
/// unescaping a token only when it has a `~`: serde_json copies every
/// token twice, and a record's facts are read through a dozen pointers.
pub fn get<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    tokens(pointer)?.try_fold(v, |target, token| match target {
        Value::Object(m) => member(m, &unescape_token(token)),
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

    proptest::proptest! {
        /// Any pointer over names with `~`, `/`, digits, signs and empty
        /// tokens finds in `get` what serde_json finds.
        #[test]
        fn get_agrees_with_serde_json_on_any_pointer(p in "(/[ab0-2~/+-]{0,3}){0,4}|[ab~0]{0,3}") {
            let mut v = serde_json::json!({
                "a": {"b": [1, {"~": 2, "/": 3, "": [4, 5, 6]}], "0": {"": 7}},
                "0": ["x", {"a": 8, "~0": 9}], "~": 10, "": {"b": 11}, "-": 12,
            });
            proptest::prop_assert_eq!(get(&v, &p), v.pointer(&p));
            let expected = v.pointer(&p).cloned();
            proptest::prop_assert_eq!(get_mut(&mut v, &p).map(|x| x.clone()), expected);
        }
    }

    #[test]
    fn escapes_round_trip() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
        assert_eq!(unescape_token("a~1b~0c"), "a/b~c");
        assert_eq!(push("/notes", "0"), "/notes/0");
    }
}
