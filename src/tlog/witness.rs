//! C2SP `tlog-witness` `add-checkpoint`: the request a log sends a witness,
//! and the checks a witness makes before it cosigns.
//!
//! Request body:
//!
//! ```text
//! old <size the witness last cosigned>\n
//! <base64 consistency proof hash>\n ...       at most 63
//! \n
//! <signed checkpoint>
//! ```

use std::fmt;

use crate::tlog::checkpoint::{decode_hash, Checkpoint, Trust};
use crate::tlog::note::{Note, SignatureCheck, VerifierKey};
use crate::tlog::proof::{verify_consistency, ProofError};
use crate::tlog::tree::empty_root;
use crate::tlog::{decimal, write_proof_and_checkpoint};
use crate::Digest;

/// Most consistency proof lines a request may carry.
pub const MAX_PROOF: usize = 63;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the witness last cosigned, as the log believes.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Digest>,
    /// The signed checkpoint.
    pub checkpoint: String,
}

/// Why a witness refuses, with the HTTP status the protocol gives each case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: a body that does not read, or an old size above the new.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 404: a log this witness does not follow.
    #[error("unknown log `{0}`")]
    UnknownLog(String),
    /// 403: no valid signature by the log's key.
    #[error("the checkpoint is not signed by the log: {0}")]
    Forbidden(String),
    /// 409: the witness last cosigned another size; the body is that size.
    #[error("the witness last cosigned size {0}")]
    Conflict(u64),
    /// 422: the proof does not hold, or an empty tree with another root.
    #[error("inconsistent: {0}")]
    Unprocessable(String),
}

impl Refusal {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Forbidden(_) => 403,
            Self::UnknownLog(_) => 404,
            Self::Conflict(_) => 409,
            Self::Unprocessable(_) => 422,
        }
    }
}

impl AddCheckpoint {
    /// Parses a request body.
    pub fn parse(body: &str) -> Result<Self, Refusal> {
        let bad = |m: &str| Refusal::BadRequest(m.to_owned());
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(decimal)
            .ok_or_else(|| bad("the first line is not `old <decimal>`"))?;
        let proof = lines
            .map(|l| decode_hash(l).ok_or_else(|| bad("a proof line is not a base64 hash")))
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF {
            return Err(bad("more than 63 proof lines"));
        }
        Ok(Self {
            old,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// A witness's checks, in the protocol's order: the log is known, signed
    /// the checkpoint, the old size matches what the witness last cosigned
    /// (`seen`: its size and root, `None` if never), and the proof holds.
    /// On success the caller stores the new checkpoint and cosigns the note
    /// in one step (the protocol requires the two be atomic).
    pub fn check(
        &self,
        logs: &[VerifierKey],
        seen: impl FnOnce(&str) -> Option<(u64, Digest)>,
        ed25519: impl Fn(&SignatureCheck) -> bool,
    ) -> Result<(Checkpoint, Note), Refusal> {
        let note = Note::parse(&self.checkpoint).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let cp = Checkpoint::parse(note.text()).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let log = logs
            .iter()
            .find(|k| k.name() == cp.origin)
            .ok_or_else(|| Refusal::UnknownLog(cp.origin.clone()))?;
        let trust = Trust {
            log: log.clone(),
            witnesses: Vec::new(),
            quorum: 0,
        };
        trust
            .verify(&self.checkpoint, ed25519)
            .map_err(|e| Refusal::Forbidden(e.to_string()))?;
        if self.old > cp.size {
            return Err(Refusal::BadRequest(format!(
                "old size {} is above the checkpoint's {}",
                self.old, cp.size
            )));
        }
        let (seen_size, seen_root) = seen(&cp.origin).unwrap_or((0, empty_root()));
        if self.old != seen_size {
            return Err(Refusal::Conflict(seen_size));
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(Refusal::Unprocessable(
                "a checkpoint of size 0 must carry the empty tree's root".into(),
            ));
        }
        verify_consistency(self.old, cp.size, &seen_root, &cp.root, &self.proof)
            .map_err(|e: ProofError| Refusal::Unprocessable(e.to_string()))?;
        Ok((cp, note))
    }
}

impl fmt::Display for AddCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "old {}", self.old)?;
        write_proof_and_checkpoint(f, &self.proof, &self.checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_request_parses() {
        let body = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
        let r = AddCheckpoint::parse(body).unwrap();
        assert_eq!(r.old, 20_852_014);
        assert_eq!(r.proof.len(), 2);
        assert_eq!(r.to_string(), body);
        assert_eq!(
            AddCheckpoint::parse("old 01\n\nx").unwrap_err().status(),
            400
        );
    }
}
