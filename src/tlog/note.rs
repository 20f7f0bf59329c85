//! C2SP `signed-note`: a text, a blank line, then signature lines
//! `— <key name> base64(key ID || signature)`; and verifier keys
//! `<name>+<hex key ID>+base64(type || public key)`.
//!
//! Key IDs, as the spec recommends and Go's `sumdb/note` computes them:
//!
//! ```text
//! key ID = SHA-256(key name || 0x0A || type || 32-byte Ed25519 public key)[:4], big-endian
//! type   = 0x01 for a log's Ed25519 key, 0x04 for a witness's cosignature key
//! ```
//!
//! What each type signs (checked by [`VerifierKey::checks`]):
//!
//! ```text
//! 0x01: Ed25519(note text)                                        64 bytes
//! 0x04: timestamp (u64, big-endian) || Ed25519("cosignature/v1\n" || "time " || decimal(timestamp) || "\n" || note text)
//! ```
//!
//! The Ed25519 arithmetic itself is not here: [`SignatureCheck`]s are handed
//! to [`crate::tlog::ed25519::verify`] natively, or to WebCrypto in a browser.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::Digest;

/// The most signatures a note may carry (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// The largest note accepted, in bytes.
pub const MAX_NOTE: usize = 64 * 1024;

/// What a key signs (the signature type byte of C2SP `signed-note`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `0x01`: a log's Ed25519 signature over the note text.
    Ed25519,
    /// `0x04`: a witness's timestamped Ed25519 cosignature (C2SP `tlog-cosignature`).
    Cosignature,
}

impl KeyType {
    /// The type byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::Cosignature => 0x04,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(Self::Ed25519),
            0x04 => Some(Self::Cosignature),
            _ => None,
        }
    }
}

/// Why a key is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not `<name>+<8 hex>+<base64>`.
    #[error("expected a verifier key `<name>+<8 hex digits>+<base64>`, found `{0}`")]
    Malformed(String),
    /// A key name that is empty or holds a space or `+`.
    #[error("a key name is non-empty without spaces or `+`, found `{0}`")]
    Name(String),
    /// A type other than Ed25519 (`0x01`) or Ed25519 cosignature (`0x04`).
    #[error("expected key type 0x01 (Ed25519) or 0x04 (cosignature), found 0x{0:02x}")]
    Type(u8),
    /// The key ID does not match the name and key.
    #[error("key `{name}`: its ID is {found:08x}, but its name and key make {expected:08x}")]
    Id {
        /// The key's name.
        name: String,
        /// The ID computed from name, type and key.
        expected: u32,
        /// The ID written.
        found: u32,
    },
    /// A private key file that does not read as one.
    #[error("expected a private key `PRIVATE+KEY+<name>+<id>+<base64>`, found something else")]
    Private,
}

/// True when `name` may name a key: non-empty, no Unicode space, no `+`.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// `SHA-256(name || 0x0A || type || public)[:4]` as a big-endian number.
pub fn key_id(name: &str, kind: KeyType, public: &[u8; 32]) -> u32 {
    let d = Digest::of_parts(&[name.as_bytes(), b"\n", &[kind.byte()], public]);
    let [a, b, c, e, ..] = d.0;
    u32::from_be_bytes([a, b, c, e])
}

/// A public key that checks note signatures: a log's or a witness's.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: String,
    id: u32,
    kind: KeyType,
    public: [u8; 32],
}

impl VerifierKey {
    /// A key from its parts; the ID is computed.
    pub fn new(name: &str, kind: KeyType, public: [u8; 32]) -> Result<Self, KeyError> {
        if !valid_key_name(name) {
            return Err(KeyError::Name(name.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, kind, &public),
            kind,
            public,
        })
    }

    /// Parses `<name>+<hex key ID>+base64(type || public key)`.
    pub fn parse(vkey: &str) -> Result<Self, KeyError> {
        let vkey = vkey.trim();
        let bad = || KeyError::Malformed(vkey.to_owned());
        // The base64 may hold `+`; name and ID may not.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if id.len() != 8 || !crate::digest::is_lower_hex(id) {
            return Err(bad());
        }
        let found = u32::from_str_radix(id, 16).map_err(|_| bad())?;
        let raw = STANDARD.decode(b64).map_err(|_| bad())?;
        let (&kind, public) = raw.split_first().ok_or_else(bad)?;
        let kind = KeyType::from_byte(kind).ok_or(KeyError::Type(kind))?;
        let public = <[u8; 32]>::try_from(public).map_err(|_| bad())?;
        let key = Self::new(name, kind, public)?;
        if key.id != found {
            return Err(KeyError::Id {
                name: name.to_owned(),
                expected: key.id,
                found,
            });
        }
        Ok(key)
    }

    /// The key's name (a log's is its origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// What it signs.
    pub fn kind(&self) -> KeyType {
        self.kind
    }

    /// The 32-byte Ed25519 public key.
    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }

    /// The signatures in `note` by this key, as checks to run. A line with
    /// this key's name and ID but the wrong length is an error: per the spec
    /// a known key's bad signature rejects the note.
    pub fn checks(&self, note: &Note) -> Result<Vec<SignatureCheck>, NoteError> {
        let mut out = Vec::new();
        for s in note
            .signatures
            .iter()
            .filter(|s| s.name == self.name && s.key_id == self.id)
        {
            let bad = || NoteError::BadSignature(self.name.clone());
            let (timestamp, sig, message) = match self.kind {
                KeyType::Ed25519 => (None, s.signature.as_slice(), note.text.as_bytes().to_vec()),
                KeyType::Cosignature => {
                    let (ts, sig) = s.signature.split_first_chunk::<8>().ok_or_else(bad)?;
                    let ts = u64::from_be_bytes(*ts);
                    (Some(ts), sig, cosigned_message(ts, &note.text))
                }
            };
            out.push(SignatureCheck {
                public: self.public,
                message,
                signature: <[u8; 64]>::try_from(sig).map_err(|_| bad())?,
                timestamp,
            });
        }
        Ok(out)
    }
}

/// What a witness's cosignature signs (C2SP `tlog-cosignature`, Ed25519):
/// `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint text.
pub fn cosigned_message(timestamp: u64, text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.kind.byte());
        raw.extend_from_slice(&self.public);
        write!(f, "{}+{:08x}+{}", self.name, self.id, STANDARD.encode(raw))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

/// One Ed25519 signature to check: what was signed, by which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The Ed25519 public key.
    pub public: [u8; 32],
    /// The signed bytes.
    pub message: Vec<u8>,
    /// The 64-byte signature.
    pub signature: [u8; 64],
    /// A cosignature's time (POSIX seconds); `None` for a log signature.
    pub timestamp: Option<u64>,
}

/// Why text is not a signed note, or a note's signature fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Not of the signed-note form.
    #[error("not a signed note: {0}")]
    Malformed(&'static str),
    /// A signature line that does not read.
    #[error("signature line {line} does not read as `— <name> <base64>`")]
    SignatureLine {
        /// 1-based line number in the note.
        line: usize,
    },
    /// A known key's signature does not verify.
    #[error("the signature by `{0}` does not verify")]
    BadSignature(String),
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key's name.
    pub name: String,
    /// The key ID.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl fmt::Display for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        writeln!(f, "— {} {}", self.name, STANDARD.encode(raw))
    }
}

/// A text and its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note; the text must end in a newline and hold no control
    /// character but newlines.
    pub fn new(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::Malformed("the text does not end in a newline"));
        }
        Ok(Self {
            text: text.to_owned(),
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note: the text ends at the last blank line.
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        if note.len() > MAX_NOTE {
            return Err(NoteError::Malformed("larger than 64 KiB"));
        }
        check_text(note)?;
        let (text, sigs) = note
            .rsplit_once("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let sigs = sigs.strip_suffix('\n').ok_or(NoteError::Malformed(
            "the last signature line does not end in a newline",
        ))?;
        let first_sig_line = text.lines().count() + 2;
        let mut signatures = Vec::new();
        for (i, line) in sigs.split('\n').enumerate() {
            let bad = NoteError::SignatureLine {
                line: first_sig_line + i,
            };
            let (name, b64) = line
                .strip_prefix("— ")
                .and_then(|l| l.split_once(' '))
                .ok_or(bad.clone())?;
            let raw = STANDARD.decode(b64).map_err(|_| bad.clone())?;
            let (id, sig) = raw.split_first_chunk::<4>().ok_or(bad.clone())?;
            if !valid_key_name(name) || sig.is_empty() {
                return Err(bad);
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes(*id),
                signature: sig.to_vec(),
            });
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::Malformed("more than 100 signatures"));
        }
        Ok(Self {
            text: format!("{text}\n"),
            signatures,
        })
    }

    /// The signed text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature, replacing one by the same key (name and ID).
    pub fn add(&mut self, sig: NoteSignature) {
        self.signatures
            .retain(|s| !(s.name == sig.name && s.key_id == sig.key_id));
        self.signatures.push(sig);
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

fn check_text(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed(
            "a control character other than newline",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// C2SP `signed-note`'s example key.
    const VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

    #[test]
    fn the_spec_example_key_parses_and_prints_back() {
        let k = VerifierKey::parse(VKEY).unwrap();
        assert_eq!(
            (k.name(), k.id(), k.kind()),
            ("example.com/foo", 0x530d903a, KeyType::Ed25519)
        );
        assert_eq!(k.to_string(), VKEY);
    }

    #[test]
    fn a_mangled_key_never_parses() {
        // As Go's TestNewVerifier: every substring and every byte bumped by one.
        let b = VKEY.as_bytes();
        for i in 0..b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len()) {
                    if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                        assert!(VerifierKey::parse(s).is_err(), "{s}");
                    }
                }
            }
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(VerifierKey::parse(s).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn notes_parse_and_print_back() {
        let text = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        let n = Note::parse(text).unwrap();
        assert_eq!(n.text(), "This is an example message.\n");
        assert_eq!(n.signatures()[0].key_id, 0x530d903a);
        assert_eq!(n.to_string(), text);
        let checks = VerifierKey::parse(VKEY).unwrap().checks(&n).unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].message, b"This is an example message.\n");
    }

    #[test]
    fn malformed_notes_are_named() {
        assert!(Note::parse("text\n— a AAAAAAA=\n").is_err());
        assert!(Note::parse("text\n\n— a AAAAAAA=").is_err());
        assert!(Note::parse("text\n\n— a !!!\n").is_err());
        assert!(Note::parse("te\u{7}xt\n\n— a AAAAAAA=\n").is_err());
        assert_eq!(
            Note::parse("text\n\n— a AAAA\n"),
            Err(NoteError::SignatureLine { line: 3 })
        );
    }
}
