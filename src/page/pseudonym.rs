//! Pseudonymised record ids (optional): with a key from the host, every
//! event the page writes names its record by `rp-` and the first 16 bytes
//! of HMAC-SHA256(key, record id) in hex, so the collector stores and
//! reports on pseudonyms only. Whoever holds the key (the host, an
//! integrator answering a patient) turns a record id into its pseudonym
//! (`sealtrail pseudonym`, the access report page) and asks for that.
//!
//! The key lives in the page session's memory only (the `start` option
//! `recordPseudonymKey`): nothing writes it to storage, and its `Debug`
//! shows no byte of it. HMAC (RFC 2104) is written here over the SHA-256 the
//! build already has, rather than a crate that would add its own code to
//! the wasm module; RFC 4231's vectors check it. The whole option (this,
//! the `start` option and the renaming) costs 1,205 B of the gzipped module
//! (`scripts/build-web.sh`: 366,996 B without it, 368,201 B with it; HMAC
//! over the core's `Digest::of_parts` instead measured 75 B more).

use sha2::{Digest as _, Sha256};

/// Bytes of a record pseudonym key.
pub const KEY_BYTES: usize = 32;

/// SHA-256's block size, in bytes.
const BLOCK: usize = 64;

/// The host's record pseudonym key.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordKey([u8; KEY_BYTES]);

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordKey(..)")
    }
}

/// Why a record pseudonym key is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 64 hex digits (a 32-byte key), found {found}")]
pub struct RecordKeyError {
    /// What was found instead, described (never the text itself: it may be a key).
    pub found: String,
}

impl RecordKey {
    /// A key from its 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, RecordKeyError> {
        let mut key = [0u8; KEY_BYTES];
        if text.len() != 2 * KEY_BYTES {
            return Err(RecordKeyError {
                found: format!("{} characters", text.chars().count()),
            });
        }
        hex::decode_to_slice(text, &mut key).map_err(|_| RecordKeyError {
            found: "a character that is not a hex digit".into(),
        })?;
        Ok(Self(key))
    }

    /// The pseudonym of `record_id`: `rp-` and 32 hex digits.
    pub fn pseudonym(&self, record_id: &str) -> String {
        let tag = hmac_sha256(&self.0, record_id.as_bytes());
        format!("rp-{}", hex::encode(tag.get(..16).unwrap_or_default()))
    }
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block
            .iter_mut()
            .zip(Sha256::digest(key))
            .for_each(|(b, k)| *b = k);
    } else {
        block.iter_mut().zip(key).for_each(|(b, k)| *b = *k);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test cases 1, 2, 6 (a key longer than the block) and 7.
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let cases: [(&[u8], &[u8], &str); 4] = [
            (&[0x0b; 20], b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (&[0xaa; 131], b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.", "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ];
        for (key, message, want) in cases {
            assert_eq!(hex::encode(hmac_sha256(key, message)), want);
        }
    }

    #[test]
    fn a_pseudonym_is_stable_per_key_and_record() {
        let key = RecordKey::from_hex(&"00".repeat(32)).unwrap();
        let p = key.pseudonym("p-1001");
        assert_eq!(p, key.pseudonym("p-1001"));
        assert!(p.starts_with("rp-") && p.len() == 35, "{p}");
        assert_ne!(p, key.pseudonym("p-1002"));
        let other = RecordKey::from_hex(&"01".repeat(32)).unwrap();
        assert_ne!(p, other.pseudonym("p-1001"));
        // The vector the access report page's WebCrypto computation is held to.
        assert_eq!(p, PAGE_VECTOR);
    }

    /// `rp-` + HMAC-SHA256(32 zero bytes, "p-1001")[..16]: also in tests/e2e/access-report.test.mjs.
    const PAGE_VECTOR: &str = "rp-432a122c773b7e6048f11280874ad78d";

    #[test]
    fn keys_are_64_hex_digits_and_never_shown() {
        for bad in [
            "",
            "00",
            &"0".repeat(63),
            &"0".repeat(65),
            &"g".repeat(64),
            &"é".repeat(32),
        ] {
            let e = RecordKey::from_hex(bad).unwrap_err();
            assert!(e.to_string().starts_with("expected 64 hex digits"), "{e}");
        }
        let key = RecordKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(format!("{key:?}"), "RecordKey(..)");
        assert_eq!(key, RecordKey::from_hex(&"AB".repeat(32)).unwrap());
    }
}
