//! What an uploader checks before it deletes its copy of acknowledged
//! events: the acknowledgement's `tlog-proof` (a signed checkpoint and the
//! inclusion of the batch's last event), and that checkpoint's consistency
//! with the one it kept from before. The browser runs this with WebCrypto
//! answering the signature checks ([`Trust::checks`] lists them).

use crate::tlog::checkpoint::{Checkpoint, CheckpointError, Trust};
use crate::tlog::leaf::Leaf;
use crate::tlog::note::{Note, SignatureCheck};
use crate::tlog::proof::{verify_consistency, verify_inclusion, ProofError};
use crate::tlog::proof_file::{ProofFile, ProofFileError};
use crate::Digest;

/// Why an acknowledgement does not prove what it claims: each is a critical
/// alert, and nothing is deleted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The proof does not read.
    #[error("the acknowledgement's proof does not read: {0}")]
    Malformed(#[from] ProofFileError),
    /// The checkpoint is not signed by the collector's key (or lacks the witness quorum).
    #[error("the acknowledgement's checkpoint is not trusted: {0}")]
    Signature(#[from] CheckpointError),
    /// The event is not where the proof says.
    #[error("the acknowledged event is not in the collector's log: {0}")]
    Inclusion(ProofError),
    /// The new checkpoint contradicts the one kept: a rewritten log or a split view.
    #[error("the collector's log is not consistent with the checkpoint kept: {0}")]
    Consistency(ProofError),
}

/// What [`check`] needs besides the acknowledgement, for a caller that
/// answers signature checks asynchronously (WebCrypto) and fetches the
/// consistency proof itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    /// The signatures of the acknowledgement's checkpoint by keys `trust` knows.
    pub checks: Vec<SignatureCheck>,
    /// The checkpoint's tree size (the consistency proof runs between it and the kept one's).
    pub size: u64,
    /// The signed checkpoint, verbatim: what to keep, or evidence.
    pub signed: String,
}

/// Reads `proof` (the acknowledgement's `log.proof`) far enough to say what
/// [`check`] needs.
pub fn needs(trust: &Trust, proof: &str) -> Result<Needs, ReceiptError> {
    let file = ProofFile::parse(proof)?;
    let note = Note::parse(&file.checkpoint).map_err(CheckpointError::from)?;
    let size = Checkpoint::parse(note.text())?.size;
    Ok(Needs {
        checks: trust.checks(&note)?,
        size,
        signed: file.checkpoint,
    })
}

/// The checkpoint a signed note holds (one verified before it was kept).
pub fn kept(signed: &str) -> Result<Checkpoint, ReceiptError> {
    let note = Note::parse(signed).map_err(CheckpointError::from)?;
    Ok(Checkpoint::parse(note.text())?)
}

/// Checks `proof` (the acknowledgement's `log.proof`) shows `leaf` in a
/// checkpoint `trust` accepts, consistent with `kept` by `consistency`
/// (a proof from the smaller of the two sizes to the larger); returns the
/// larger checkpoint, the one to keep.
pub fn check(
    trust: &Trust,
    proof: &str,
    leaf: &Leaf,
    kept: Option<&Checkpoint>,
    consistency: &[Digest],
    ed25519: impl Fn(&SignatureCheck) -> bool,
) -> Result<Checkpoint, ReceiptError> {
    let file = ProofFile::parse(proof)?;
    let cp = trust.verify(&file.checkpoint, ed25519)?.checkpoint;
    verify_inclusion(file.index, cp.size, &leaf.hash(), &file.proof, &cp.root)
        .map_err(ReceiptError::Inclusion)?;
    let Some(kept) = kept else {
        return Ok(cp);
    };
    let (old, new) = if kept.size <= cp.size {
        (kept, &cp)
    } else {
        (&cp, kept)
    };
    verify_consistency(old.size, new.size, &old.root, &new.root, consistency)
        .map_err(ReceiptError::Consistency)?;
    Ok(new.clone())
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;
    use crate::event::ChainId;
    use crate::tlog::ed25519::{self, SigningKey};
    use crate::tlog::note::KeyType;
    use crate::tlog::tree::Tree;

    fn leaf(i: u64) -> Leaf {
        Leaf {
            chain: ChainId::parse("00112233445566778899aabbccddeeff").unwrap(),
            seq: i,
            hash: Digest::of(&i.to_be_bytes()),
        }
    }

    #[test]
    fn a_receipt_holds_and_every_lie_is_named() {
        let key = SigningKey::generate("c", KeyType::Ed25519, &mut SeededEntropy::new(1))
            .unwrap()
            .unwrap();
        let trust = Trust {
            log: key.verifier().clone(),
            witnesses: vec![],
            quorum: 0,
        };
        let mut tree = Tree::new();
        for i in 0..9 {
            tree.push(leaf(i).hash());
        }
        let signed = |size: u64, tree: &Tree| {
            let cp = Checkpoint {
                origin: "c".into(),
                size,
                root: tree.root(size).unwrap(),
                extensions: vec![],
            };
            (key.sign(&cp).unwrap().to_string(), cp)
        };
        let (note, cp9) = signed(9, &tree);
        let file = |index: u64, size: u64, note: &str| {
            ProofFile {
                extra: None,
                index,
                proof: tree.inclusion(index, size).unwrap(),
                checkpoint: note.to_owned(),
            }
            .to_string()
        };
        let (_, cp5) = signed(5, &tree);
        let cons = tree.consistency(5, 9).unwrap();
        let kept = check(
            &trust,
            &file(8, 9, &note),
            &leaf(8),
            Some(&cp5),
            &cons,
            ed25519::verify,
        )
        .unwrap();
        assert_eq!(kept, cp9);
        // The wrong event, a wrong key, a log that forked from the kept checkpoint.
        assert!(matches!(
            check(
                &trust,
                &file(8, 9, &note),
                &leaf(7),
                None,
                &[],
                ed25519::verify
            ),
            Err(ReceiptError::Inclusion(_))
        ));
        assert!(matches!(
            check(&trust, &file(8, 9, &note), &leaf(8), None, &[], |_| false),
            Err(ReceiptError::Signature(_))
        ));
        let mut other = Tree::new();
        for i in 0..9 {
            other.push(if i == 2 {
                Digest::of(b"x")
            } else {
                leaf(i).hash()
            });
        }
        let (_, forked5) = signed(5, &other);
        assert!(matches!(
            check(
                &trust,
                &file(8, 9, &note),
                &leaf(8),
                Some(&forked5),
                &cons,
                ed25519::verify
            ),
            Err(ReceiptError::Consistency(_))
        ));
        let (_, split9) = signed(9, &other);
        assert!(matches!(
            check(
                &trust,
                &file(8, 9, &note),
                &leaf(8),
                Some(&split9),
                &[],
                ed25519::verify
            ),
            Err(ReceiptError::Consistency(ProofError::SplitView { .. }))
        ));
    }
}
