//! RFC 8785 canonical JSON (JCS), the byte form every hash in sealtrail is taken over.
//!
//! The heavy lifting is done by the maintained `serde_json_canonicalizer` crate
//! (member order by UTF-16 code units, ECMAScript number form, minimal string
//! escaping); this module pins the one way the rest of the crate reaches it and
//! turns its error into ours. `tests/jcs_vectors.rs` proves it against the RFC
//! author's vectors.
//!
//! Events use a strict profile of JSON ([`strict`]): no duplicate member
//! names, integers within ±(2^53-1) only, no U+0000. Their canonical form is
//! written by [`strict`]'s own writer, which checks the profile as it goes
//! and can feed SHA-256 directly.

pub(crate) mod scan;
mod sink;
pub mod strict;
pub(crate) mod tape;

use std::cmp::Ordering;

use serde::Serialize;

/// Why a value has no canonical form.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CanonError {
    /// The value holds something JSON cannot carry (a NaN or infinite number, a non-string key).
    #[error("value cannot be written as canonical JSON: {0}")]
    Unrepresentable(String),
}

/// The RFC 8785 canonical bytes of `value`.
pub fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| CanonError::Unrepresentable(e.to_string()))
}

/// The RFC 8785 canonical text of `value`.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, CanonError> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| CanonError::Unrepresentable(e.to_string()))
}

/// RFC 8785 member order: `a` against `b` by UTF-16 code units. Byte
/// order is the same unless the first difference is between two non-ASCII
/// bytes (U+E000..U+FFFF against a character beyond U+FFFF), so only that
/// case decodes.
pub(crate) fn utf16_cmp(a: &[u8], b: &[u8]) -> Ordering {
    match a.iter().zip(b).find(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some((x, y)) if x.is_ascii() || y.is_ascii() => x.cmp(y),
        Some(_) => match (std::str::from_utf8(a), std::str::from_utf8(b)) {
            (Ok(a), Ok(b)) => a.encode_utf16().cmp(b.encode_utf16()),
            _ => a.cmp(b),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_utf16_code_units() {
        // U+1F602 (surrogates D83D DE02) sorts before U+FB33 in UTF-16, after it in UTF-8.
        let v: serde_json::Value = serde_json::from_str(r#"{"דּ":1,"😂":2}"#).unwrap();
        assert_eq!(to_string(&v).unwrap(), r#"{"😂":2,"דּ":1}"#);
    }

    #[test]
    fn member_order_is_utf16() {
        let lt = |a: &str, b: &str| utf16_cmp(a.as_bytes(), b.as_bytes()).is_lt();
        assert!(lt("😂", "\u{FB33}"));
        assert!(!lt("\u{FB33}", "😂"));
        assert!(lt("a", "b"));
        assert!(!lt("b", "b"));
        assert!(lt("ab", "abc"));
        assert!(!lt("abc", "ab"));
        assert!(!lt("a\u{E000}", "a😀"));
        assert!(lt("aé", "aê"));
    }
}
