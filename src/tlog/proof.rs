//! Checking inclusion and consistency proofs: RFC 9162 §2.1.3.2 and §2.1.4.2,
//! step by step, with nothing but hashes (no tree needed).
//!
//! Hashing is [`node_hash`] (`SHA-256(0x01 || left || right)`); a proof is a
//! list of 32-byte hashes in the RFC's order (from the bottom of the tree up).

use crate::tlog::tree::{empty_root, node_hash};
use crate::Digest;

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A leaf index not below the tree size.
    #[error("expected a leaf index below the tree size {size}, found {index}")]
    IndexBeyond {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("expected the old size {old} to be at most the new size {new}: the log shrank")]
    Shrinks {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the two sizes.
    #[error("expected a proof of {expected} hashes, found {found}")]
    Length {
        /// The length the sizes call for.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// The proof leads to another root: the leaf is not there, or the trees differ.
    #[error("the proof leads to root `{got}`, expected `{expected}`")]
    MismatchedRoot {
        /// The root the proof should reach.
        expected: Digest,
        /// The root it reached.
        got: Digest,
    },
    /// Two trees of the same size with different roots: a split view.
    #[error("two trees of size {size} with different roots `{old}` and `{new}`: a split view")]
    SplitView {
        /// The common size.
        size: u64,
        /// One root.
        old: Digest,
        /// The other.
        new: Digest,
    },
}

/// How many hashes an inclusion proof of `index` in a tree of `size` has:
/// the verification loop below, run without hashing.
fn inclusion_length(index: u64, size: u64) -> usize {
    let (mut fnode, mut snode, mut n) = (index, size.saturating_sub(1), 0usize);
    while snode != 0 {
        n += 1;
        if fnode & 1 == 1 || fnode == snode {
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        }
        fnode >>= 1;
        snode >>= 1;
    }
    n
}

/// RFC 9162 §2.1.3.2: checks that `proof` shows the leaf hashed `leaf` at
/// `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Digest,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexBeyond { index, size });
    }
    let expected = inclusion_length(index, size);
    if proof.len() != expected {
        return Err(ProofError::Length {
            expected,
            found: proof.len(),
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::Length {
                expected,
                found: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::Length {
            expected,
            found: proof.len(),
        });
    }
    if r != *root {
        return Err(ProofError::MismatchedRoot {
            expected: *root,
            got: r,
        });
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: checks that `proof` shows the tree of `new` leaves
/// (root `new_root`) extends the tree of `old` leaves (root `old_root`).
///
/// Equal sizes need an empty proof and equal roots (else [`ProofError::SplitView`]);
/// an old size of 0 needs an empty proof and the empty tree's root.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Digest,
    new_root: &Digest,
    proof: &[Digest],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::Shrinks { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::Length {
                expected: 0,
                found: proof.len(),
            });
        }
        let (expected, got) = if old == 0 {
            (empty_root(), *old_root)
        } else {
            (*old_root, *new_root)
        };
        if old == new && expected != got {
            return Err(ProofError::SplitView {
                size: old,
                old: *old_root,
                new: *new_root,
            });
        }
        if expected != got {
            return Err(ProofError::MismatchedRoot { expected, got });
        }
        return Ok(());
    }
    let short = |expected| ProofError::Length {
        expected,
        found: proof.len(),
    };
    // Step 2: when `old` is a power of two its root is the proof's implicit first hash.
    let mut path: Vec<Digest> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut hashes = path.iter();
    let Some(first) = hashes.next() else {
        return Err(short(1));
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in hashes {
        if snode == 0 {
            return Err(short(proof.len().saturating_sub(1)));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(short(proof.len() + 1));
    }
    if fr != *old_root {
        return Err(ProofError::MismatchedRoot {
            expected: *old_root,
            got: fr,
        });
    }
    if sr != *new_root {
        return Err(ProofError::MismatchedRoot {
            expected: *new_root,
            got: sr,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::tree::{leaf_hash, Tree};

    fn tree(n: u32) -> Tree {
        let mut t = Tree::new();
        for i in 0..n {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        t
    }

    #[test]
    fn every_proof_in_small_trees_verifies() {
        let t = tree(40);
        for size in 1..=40 {
            let root = t.root(size).unwrap();
            for index in 0..size {
                let p = t.inclusion(index, size).unwrap();
                assert_eq!(p.len(), inclusion_length(index, size));
                verify_inclusion(index, size, &t.leaf(index).unwrap(), &p, &root).unwrap();
            }
            for old in 0..=size {
                let p = t.consistency(old, size).unwrap();
                verify_consistency(old, size, &t.root(old).unwrap(), &root, &p).unwrap();
            }
        }
    }

    #[test]
    fn a_split_view_is_named() {
        let a = tree(5).root(5).unwrap();
        let b = tree(6).root(5).unwrap();
        assert_eq!(a, b);
        let c = leaf_hash(b"other");
        assert!(matches!(
            verify_consistency(5, 5, &a, &c, &[]),
            Err(ProofError::SplitView { size: 5, .. })
        ));
        assert!(matches!(
            verify_consistency(6, 5, &a, &c, &[]),
            Err(ProofError::Shrinks { .. })
        ));
    }
}
