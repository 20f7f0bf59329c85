//! Salted SHA-256 commitments to sealed values.
//!
//! A placeholder carries a commitment so that whoever later sees the value
//! (after break-glass) can check it is exactly what was sealed, while the
//! placeholder alone reveals nothing: the 32-byte random salt makes a
//! low-entropy value (`"yes"`, an HIV status) impossible to guess by
//! hashing candidates, and makes two seals of the same value differ.
//!
//! Bytes hashed, in full:
//!
//! ```text
//! commitment(salt, value) = "sha256:" + hex(SHA-256(
//!       UTF-8("sealtrail/v1/commitment/")   24 bytes, domain separation
//!    || salt                                 32 bytes, random per sealed field
//!    || JCS(value)                           RFC 8785 canonical JSON, UTF-8
//! ))
//! ```
//!
//! The prefix keeps commitments apart from every other hash sealtrail takes
//! (the chain's genesis uses `sealtrail/v1/genesis/`); the salt has a fixed
//! length, so prefix, salt and value cannot be re-split differently. `hex` is
//! lowercase. The known-answer vectors below pin the construction.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::canon::{self, CanonError};
use crate::entropy::{Entropy, EntropyError};
use crate::Digest;

/// Domain-separation prefix hashed before the salt.
pub const COMMITMENT_DOMAIN: &[u8] = b"sealtrail/v1/commitment/";

/// Prefix of a commitment's text form.
pub const COMMITMENT_PREFIX: &str = "sha256:";

/// Bytes of salt per commitment.
pub const SALT_LEN: usize = 32;

/// The random salt of one commitment. Never shown in a placeholder; handed
/// out only with the value, in an [`super::Opening`].
#[derive(Clone, PartialEq, Eq)]
pub struct Salt([u8; SALT_LEN]);

/// Why a string is not a salt.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SaltError {
    /// Not 64 lowercase hex characters.
    #[error("a salt is 64 lowercase hex characters, found `{0}`")]
    Malformed(String),
}

impl Salt {
    /// A fresh salt from `entropy`.
    pub fn random(entropy: &mut dyn Entropy) -> Result<Self, EntropyError> {
        let mut bytes = [0u8; SALT_LEN];
        entropy.fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// A salt with these bytes (known-answer tests, re-checking an opening).
    pub fn from_bytes(bytes: [u8; SALT_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses the 64-character lowercase hex form.
    pub fn parse(s: &str) -> Result<Self, SaltError> {
        Digest::parse(s)
            .map(|d| Self(d.0))
            .map_err(|_| SaltError::Malformed(s.to_owned()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; SALT_LEN] {
        &self.0
    }

    /// The 64-character lowercase hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a salt by accident: with it, a low-entropy value can be guessed.
        f.write_str("Salt(..)")
    }
}

impl Serialize for Salt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Salt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The commitment text (`sha256:<hex>`) to `value` under `salt`.
pub fn commit(salt: &Salt, value: &Value) -> Result<String, CanonError> {
    let jcs = canon::to_vec(value)?;
    let d = Digest::of_parts(&[COMMITMENT_DOMAIN, &salt.0, &jcs]);
    // Hex straight into one buffer: sealing a caseload makes tens of
    // thousands of these, and the char-by-char `hex::encode` showed in profiles.
    let mut hex_digits = [0u8; 64];
    hex::encode_to_slice(d.0, &mut hex_digits)
        .map_err(|e| CanonError::Unrepresentable(e.to_string()))?;
    let mut out = String::with_capacity(COMMITMENT_PREFIX.len() + 64);
    out.push_str(COMMITMENT_PREFIX);
    out.push_str(
        std::str::from_utf8(&hex_digits).map_err(|e| CanonError::Unrepresentable(e.to_string()))?,
    );
    Ok(out)
}

/// Whether `value` with `salt` opens `commitment`: anyone can check that
/// revealed content is what was sealed.
pub fn verify_opening(commitment: &str, salt: &Salt, value: &Value) -> bool {
    commit(salt, value).is_ok_and(|c| c == commitment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // Independently computed: sha256(b"sealtrail/v1/commitment/" + salt + jcs).
        let counting: [u8; 32] = std::array::from_fn(|i| i as u8);
        let v: Value = serde_json::from_str(r#"{"b":1,"a":"é"}"#).unwrap();
        assert_eq!(
            commit(&Salt::from_bytes(counting), &v).unwrap(),
            "sha256:d5f22b3d90e9a7099438479fc5e78ab12c36b94aa6a1103280368061d008efe7"
        );
        assert_eq!(
            commit(&Salt::from_bytes([0; 32]), &Value::from("HIV positive")).unwrap(),
            "sha256:9a2f6589d2eb3f1f7d1d87cb8d4fdf6938ef5eff81345182e7fc81037b715e05"
        );
    }

    #[test]
    fn opening_checks_value_and_salt() {
        let salt = Salt::from_bytes([7; 32]);
        let c = commit(&salt, &Value::from("yes")).unwrap();
        assert!(verify_opening(&c, &salt, &Value::from("yes")));
        assert!(!verify_opening(&c, &salt, &Value::from("no")));
        assert!(!verify_opening(
            &c,
            &Salt::from_bytes([8; 32]),
            &Value::from("yes")
        ));
        let parsed = Salt::parse(&salt.to_hex()).unwrap();
        assert_eq!(parsed, salt);
        assert!(Salt::parse("zz").is_err());
    }
}
