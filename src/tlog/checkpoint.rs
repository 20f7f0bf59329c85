//! C2SP `tlog-checkpoint`: the signed head of the log, and what it takes to
//! trust one (the log's signature, and a quorum of witness cosignatures).
//!
//! The note text, exactly:
//!
//! ```text
//! <origin>\n                 the collector's name, e.g. `audit.clinic.example/sealtrail`
//! <size>\n                   leaves in the tree, decimal, no leading zeroes
//! <base64(root hash)>\n      RFC 9162 root of those leaves (standard base64, padded)
//! [<extension line>\n]...    opaque; sealtrail's collector writes none
//! ```

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::tlog::note::{Note, NoteError, SignatureCheck, VerifierKey};
use crate::Digest;

/// A tree head: which log, how many leaves, which root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// Leaves in the tree.
    pub size: u64,
    /// The root hash.
    pub root: Digest,
    /// Extension lines, each without its newline.
    pub extensions: Vec<String>,
}

/// Why a checkpoint cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note around it is malformed, or a known key's signature fails.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note text is not a checkpoint.
    #[error("checkpoint line {line}: expected {expected}, found `{found}`")]
    Body {
        /// 1-based line number.
        line: usize,
        /// What the line should hold.
        expected: &'static str,
        /// What it holds.
        found: String,
    },
    /// Another log's checkpoint.
    #[error("expected a checkpoint of log `{expected}`, found one of `{found}`")]
    Origin {
        /// The trusted key's name.
        expected: String,
        /// The origin line.
        found: String,
    },
    /// No signature by the log's key.
    #[error("the checkpoint carries no signature by the log key `{0}`")]
    Unsigned(String),
    /// Fewer valid witness cosignatures than required.
    #[error("expected cosignatures from at least {needed} of the given witnesses, found {found}")]
    Quorum {
        /// The quorum asked for.
        needed: usize,
        /// Distinct witnesses whose cosignature verified.
        found: usize,
    },
}

impl Checkpoint {
    /// Parses a note text (final newline included) as a checkpoint.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Body {
            line: 1,
            expected: "text ending in a newline",
            found: String::new(),
        })?;
        let mut lines = body.split('\n');
        let bad = |line, expected, found: &str| CheckpointError::Body {
            line,
            expected,
            found: found.to_owned(),
        };
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(bad(1, "a non-empty origin", origin));
        }
        let size = lines.next().unwrap_or_default();
        let size_n =
            crate::tlog::decimal(size).ok_or_else(|| bad(2, "the tree size in decimal", size))?;
        let root = lines.next().unwrap_or_default();
        let root_d = decode_hash(root).ok_or_else(|| bad(3, "a base64 SHA-256 root hash", root))?;
        let mut extensions = Vec::new();
        for (i, l) in lines.enumerate() {
            if l.is_empty() {
                return Err(bad(4 + i, "a non-empty extension line", l));
            }
            extensions.push(l.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size: size_n,
            root: root_d,
            extensions,
        })
    }

    /// The note text.
    pub fn text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}\n{}\n{}",
            self.origin,
            self.size,
            encode_hash(&self.root)
        )?;
        for e in &self.extensions {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Standard padded base64 of a hash, as checkpoints and proofs write it.
pub fn encode_hash(d: &Digest) -> String {
    STANDARD.encode(d.0)
}

/// Reads a hash written by [`encode_hash`]; `None` unless exactly 32 bytes.
pub fn decode_hash(s: &str) -> Option<Digest> {
    let mut out = [0u8; 32];
    // 44 characters of padded base64 hold 32 bytes; decoding into a
    // 32-byte buffer also rejects anything longer.
    if s.len() != 44 {
        return None;
    }
    match STANDARD.decode_slice(s, &mut out) {
        Ok(32) => Some(Digest(out)),
        _ => None,
    }
}

/// Reads base64 hashes one a line (a consistency proof as
/// `tlog/consistency` serves it); blank lines are skipped. On failure, the
/// 1-based number of the first line that is not a hash.
pub fn decode_hashes(text: &str) -> Result<Vec<Digest>, usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| decode_hash(l.trim()).ok_or(i + 1))
        .collect()
}

/// Which keys a reader trusts: the log's, and witnesses of which `quorum`
/// must have cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// The log's key (type `0x01`); its name is the origin.
    pub log: VerifierKey,
    /// Witness keys (type `0x04`).
    pub witnesses: Vec<VerifierKey>,
    /// How many distinct witnesses must have cosigned.
    pub quorum: usize,
}

/// A checkpoint whose signatures held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The witnesses that cosigned it, with their cosignature times.
    pub witnesses: Vec<(String, u64)>,
}

impl Trust {
    /// Every signature check the note needs, the log's first. Hand each to
    /// an Ed25519 verifier, then to [`Trust::verify`] with the answers.
    pub fn checks(&self, note: &Note) -> Result<Vec<SignatureCheck>, CheckpointError> {
        let mut all = self.log.checks(note)?;
        for w in &self.witnesses {
            all.extend(w.checks(note)?);
        }
        Ok(all)
    }

    /// Verifies a signed checkpoint: its form, its origin, every signature by
    /// a known key (`ed25519` answers whether one holds), at least one by the
    /// log, and the witness quorum.
    pub fn verify(
        &self,
        signed: &str,
        ed25519: impl Fn(&SignatureCheck) -> bool,
    ) -> Result<Verified, CheckpointError> {
        let note = Note::parse(signed)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin != self.log.name() {
            return Err(CheckpointError::Origin {
                expected: self.log.name().to_owned(),
                found: checkpoint.origin,
            });
        }
        let log = self.log.checks(&note)?;
        if log.is_empty() {
            return Err(CheckpointError::Unsigned(self.log.to_string()));
        }
        if !log.iter().all(&ed25519) {
            return Err(NoteError::BadSignature(self.log.name().to_owned()).into());
        }
        let mut witnesses = Vec::new();
        for w in &self.witnesses {
            let checks = w.checks(&note)?;
            if !checks.iter().all(&ed25519) {
                return Err(NoteError::BadSignature(w.name().to_owned()).into());
            }
            let newest = checks.iter().filter_map(|c| c.timestamp).max();
            if let Some(t) = newest {
                if !witnesses.iter().any(|(n, _)| n == w.name()) {
                    witnesses.push((w.name().to_owned(), t));
                }
            }
        }
        if witnesses.len() < self.quorum {
            return Err(CheckpointError::Quorum {
                needed: self.quorum,
                found: witnesses.len(),
            });
        }
        Ok(Verified {
            checkpoint,
            witnesses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_body_parses_and_prints_back() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let c = Checkpoint::parse(text).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20_852_163);
        assert_eq!(c.text(), text);
        let ext = "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n";
        assert_eq!(Checkpoint::parse(ext).unwrap().extensions, vec!["ext"]);
    }

    #[test]
    fn malformed_bodies_name_the_line() {
        for (text, line) in [
            ("\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", 1),
            ("o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", 2),
            ("o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", 2),
            ("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", 3),
            ("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF\n", 3),
            ("o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n", 4),
        ] {
            match Checkpoint::parse(text) {
                Err(CheckpointError::Body { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
