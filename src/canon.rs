//! RFC 8785 canonical JSON (JCS), the byte form every hash in sealtrail is taken over.
//!
//! The heavy lifting is done by the maintained `serde_json_canonicalizer` crate
//! (member order by UTF-16 code units, ECMAScript number form, minimal string
//! escaping); this module pins the one way the rest of the crate reaches it and
//! turns its error into ours. `tests/jcs_vectors.rs` proves it against the RFC
//! author's vectors.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_utf16_code_units() {
        // U+1F602 (surrogates D83D DE02) sorts before U+FB33 in UTF-16, after it in UTF-8.
        let v: serde_json::Value = serde_json::from_str(r#"{"דּ":1,"😂":2}"#).unwrap();
        assert_eq!(to_string(&v).unwrap(), r#"{"😂":2,"דּ":1}"#);
    }
}
