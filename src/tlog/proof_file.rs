//! C2SP `tlog-proof`: an offline proof that a leaf is in a signed checkpoint.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]            sealtrail writes none
//! index <leaf index>
//! <base64 hash>...            the inclusion proof, from the leaf's sibling up
//!                             (blank line)
//! <signed checkpoint, verbatim>
//! ```
//!
//! sealtrail's evidence exports carry one per chain head: the leaf is the
//! head event's `(chain, seq, hash)` ([`crate::tlog::Leaf`]), so a verifier
//! recomputes it from the chain file itself.

use std::fmt;

use crate::tlog::checkpoint::decode_hash;
use crate::tlog::{decimal, write_proof_and_checkpoint};
use crate::Digest;

/// The first line of a proof file.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed proof file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFile {
    /// The `extra` data, if any (unauthenticated).
    pub extra: Option<String>,
    /// The leaf's index in the log.
    pub index: u64,
    /// The inclusion proof.
    pub proof: Vec<Digest>,
    /// The signed checkpoint (note text and signature lines).
    pub checkpoint: String,
}

/// Why a file is not a `tlog-proof`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFileError {
    /// A line that is not what the format has there.
    #[error("proof file line {line}: expected {expected}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What the line should hold.
        expected: &'static str,
    },
}

impl ProofFile {
    /// Parses a proof file.
    pub fn parse(text: &str) -> Result<Self, ProofFileError> {
        let bad = |line, expected| ProofFileError::Line { line, expected };
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(bad(1, "a blank line between the proof and the checkpoint"))?;
        let mut lines = head
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .peekable();
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(bad(1, "`c2sp.org/tlog-proof@v1`")),
        }
        let extra = match lines.peek() {
            Some((_, l)) if l.starts_with("extra ") => {
                let e = lines.next().and_then(|(_, l)| l.strip_prefix("extra "));
                e.map(str::to_owned)
            }
            _ => None,
        };
        let (n, line) = lines.next().unwrap_or((2, ""));
        let index = line
            .strip_prefix("index ")
            .and_then(decimal)
            .ok_or(bad(n, "`index <decimal>`"))?;
        let mut proof = Vec::new();
        for (n, l) in lines {
            proof.push(decode_hash(l).ok_or(bad(n, "a base64 SHA-256 hash"))?);
        }
        Ok(Self {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

impl fmt::Display for ProofFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        if let Some(e) = &self.extra {
            writeln!(f, "extra {e}")?;
        }
        writeln!(f, "index {}", self.index)?;
        write_proof_and_checkpoint(f, &self.proof, &self.checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKPOINT: &str = "o\n2\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— o AAAAAAA=\n";

    #[test]
    fn round_trips() {
        let p = ProofFile {
            extra: None,
            index: 1,
            proof: vec![Digest::of(b"x")],
            checkpoint: CHECKPOINT.into(),
        };
        let text = p.to_string();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 1\n"));
        assert_eq!(ProofFile::parse(&text).unwrap(), p);
        let with_extra = text.replacen("index", "extra AAAA\nindex", 1);
        assert_eq!(
            ProofFile::parse(&with_extra).unwrap().extra.as_deref(),
            Some("AAAA")
        );
    }

    #[test]
    fn names_the_bad_line() {
        let text = format!("{HEADER}\nindex 01\n\n{CHECKPOINT}");
        assert_eq!(
            ProofFile::parse(&text),
            Err(ProofFileError::Line {
                line: 2,
                expected: "`index <decimal>`"
            })
        );
        let text = format!("{HEADER}\nindex 1\nnot-a-hash\n\n{CHECKPOINT}");
        assert!(matches!(
            ProofFile::parse(&text),
            Err(ProofFileError::Line { line: 3, .. })
        ));
        assert!(ProofFile::parse("c2sp.org/tlog-proof@v2\nindex 1\n\nx").is_err());
    }
}
