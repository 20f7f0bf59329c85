//! The Merkle tree of RFC 9162 §2.1 (the same as RFC 6962's), kept the way
//! C2SP `tlog-tiles` serves it, and the proofs computed from it.
//!
//! Bytes hashed, in full (SHA-256 throughout):
//!
//! ```text
//! leaf_hash(d)    = SHA-256(0x00 || d)            d: the leaf's bytes (see `leaf.rs`)
//! node_hash(l, r) = SHA-256(0x01 || l || r)       l, r: 32-byte child hashes
//! MTH({})         = SHA-256("")                   the empty tree
//! MTH({d0})       = leaf_hash(d0)
//! MTH(D[n])       = node_hash(MTH(D[0:k]), MTH(D[k:n]))   k: the largest power of two < n
//! ```
//!
//! The leading `0x00` / `0x01` keep a leaf from ever passing for an inner node.
//!
//! The tree keeps only what tiles hold: the hashes at levels 0, 8, 16, ...
//! (`tiles[l][i]` is the root of the `i`-th complete subtree of `256^l`
//! leaves). Any other node is recomputed from at most 128 of them, so the
//! memory is 32 bytes a leaf (plus 1/255 of that), and a tile is a slice.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::Digest;

/// Hashes per full tile (C2SP `tlog-tiles`).
pub const TILE_WIDTH: u64 = 256;
/// Tree levels per tile level: a tile is a subtree of height 8.
const TILE_HEIGHT: u32 = 8;

/// `leaf_hash(d) = SHA-256(0x00 || d)`.
pub fn leaf_hash(data: &[u8]) -> Digest {
    Digest::of_parts(&[&[0x00], data])
}

/// `node_hash(l, r) = SHA-256(0x01 || l || r)`.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Digest(h.finalize().into())
}

/// `MTH({})`: the root of the empty tree, SHA-256 of no bytes.
pub fn empty_root() -> Digest {
    Digest::of(b"")
}

/// Why the tree cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// Asked about a leaf or size beyond the tree.
    #[error("expected a size or index within the tree of {have} leaves, found {asked}")]
    Beyond {
        /// What was asked for.
        asked: u64,
        /// How many leaves the tree holds.
        have: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("expected the old size {old} to be at most the new size {new}")]
    Shrinks {
        /// The first (old) size.
        old: u64,
        /// The second (new) size.
        new: u64,
    },
}

/// An append-only Merkle tree in memory, stored as tile hashes.
#[derive(Clone, Default)]
pub struct Tree {
    /// `tiles[l]`: roots of the complete subtrees of `256^l` leaves, in order.
    tiles: Vec<Vec<Digest>>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.tiles.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf by its hash ([`leaf_hash`] of its bytes); returns its index.
    pub fn push(&mut self, leaf: Digest) -> u64 {
        let index = self.size();
        let mut carry = leaf;
        let mut level = 0;
        loop {
            if self.tiles.len() <= level {
                self.tiles.push(Vec::new());
            }
            let Some(hashes) = self.tiles.get_mut(level) else {
                break;
            };
            hashes.push(carry);
            if hashes.len() as u64 % TILE_WIDTH != 0 {
                break;
            }
            // A tile just filled: its root becomes a hash one tile level up.
            let start = hashes.len() - TILE_WIDTH as usize;
            carry = fold(hashes.get(start..).unwrap_or_default());
            level += 1;
        }
        index
    }

    /// The root of the complete subtree of height `height` at `index` (its
    /// leaves are `[index << height, (index + 1) << height)`).
    fn node(&self, height: u32, index: u64) -> Result<Digest, TreeError> {
        let level = (height / TILE_HEIGHT) as usize;
        let width = 1u64 << (height % TILE_HEIGHT);
        let beyond = TreeError::Beyond {
            asked: index.saturating_mul(1 << height),
            have: self.size(),
        };
        let range = index.checked_mul(width).and_then(|start| {
            Some(usize::try_from(start).ok()?..usize::try_from(start.checked_add(width)?).ok()?)
        });
        let hashes = range
            .and_then(|r| self.tiles.get(level)?.get(r))
            .ok_or(beyond)?;
        Ok(fold(hashes))
    }

    /// `MTH(D[lo:hi])` for a range the RFC's recursion reaches (`lo` a
    /// multiple of the smallest power of two at least `hi - lo`): the
    /// complete subtrees the range splits into, folded from the right.
    fn range(&self, lo: u64, hi: u64) -> Result<Digest, TreeError> {
        if hi <= lo {
            return Ok(empty_root());
        }
        let mut parts = Vec::new();
        let mut at = lo;
        while at < hi {
            let height = 63 - (hi - at).leading_zeros();
            parts.push(self.node(height, at >> height)?);
            at += 1 << height;
        }
        let mut parts = parts.into_iter().rev();
        let last = parts.next().unwrap_or_else(empty_root);
        Ok(parts.fold(last, |right, left| node_hash(&left, &right)))
    }

    /// The root hash of the tree's first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Digest, TreeError> {
        self.within(size)?;
        self.range(0, size)
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Result<Digest, TreeError> {
        self.node(0, index)
    }

    /// RFC 9162 §2.1.3.1 `PATH(index, D[0:size])`: the inclusion proof of a
    /// leaf, from its sibling up to the root's child.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Digest>, TreeError> {
        self.within(size)?;
        if index >= size {
            return Err(TreeError::Beyond {
                asked: index,
                have: size,
            });
        }
        let (mut lo, mut hi) = (0, size);
        let mut proof = Vec::new();
        while hi - lo > 1 {
            let k = split(hi - lo);
            if index < lo + k {
                proof.push(self.range(lo + k, hi)?);
                hi = lo + k;
            } else {
                proof.push(self.range(lo, lo + k)?);
                lo += k;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// RFC 9162 §2.1.4.1 `PROOF(old, D[0:new])`: the consistency proof that
    /// the tree of `new` leaves extends the tree of `old` leaves. Empty when
    /// `old` is 0 or equals `new`.
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<Digest>, TreeError> {
        self.within(new)?;
        if old > new {
            return Err(TreeError::Shrinks { old, new });
        }
        let mut proof = Vec::new();
        if old == 0 || old == new {
            return Ok(proof);
        }
        let (mut lo, mut hi, mut whole) = (0, new, true);
        loop {
            if old - lo == hi - lo {
                if !whole {
                    proof.push(self.range(lo, hi)?);
                }
                break;
            }
            let k = split(hi - lo);
            if old - lo <= k {
                proof.push(self.range(lo + k, hi)?);
                hi = lo + k;
            } else {
                proof.push(self.range(lo, lo + k)?);
                lo += k;
                whole = false;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// The hashes of tile `index` at tile level `level`, its first `width`
    /// of them (C2SP: a tile's bytes are its hashes concatenated); `None` if
    /// the tree does not hold them yet.
    pub fn tile(&self, level: u8, index: u64, width: u16) -> Option<Vec<u8>> {
        let start = index.checked_mul(TILE_WIDTH)?;
        let end = start.checked_add(u64::from(width))?;
        if width == 0 || u64::from(width) > TILE_WIDTH {
            return None;
        }
        let hashes = self
            .tiles
            .get(usize::from(level))?
            .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)?;
        Some(hashes.iter().flat_map(|h| h.0).collect())
    }

    fn within(&self, size: u64) -> Result<(), TreeError> {
        if size > self.size() {
            return Err(TreeError::Beyond {
                asked: size,
                have: self.size(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tree({} leaves)", self.size())
    }
}

/// The largest power of two smaller than `n` (`n` at least 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The root of a complete subtree given its `2^k` lowest hashes, pairing
/// neighbours level by level.
fn fold(hashes: &[Digest]) -> Digest {
    let mut level: Vec<Digest> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => node_hash(l, r),
                [one] => *one,
                _ => empty_root(),
            })
            .collect();
    }
    level.first().copied().unwrap_or_else(empty_root)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MTH computed straight from the RFC's recursive definition.
    fn mth(leaves: &[Digest]) -> Digest {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_rfc_definition_across_tile_boundaries() {
        let mut tree = Tree::new();
        let leaves: Vec<Digest> = (0u32..700).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for l in &leaves {
            tree.push(*l);
        }
        for size in [0, 1, 2, 3, 255, 256, 257, 511, 512, 513, 600, 700] {
            assert_eq!(
                tree.root(size).unwrap(),
                mth(&leaves[..size as usize]),
                "{size}"
            );
        }
        assert!(tree.root(701).is_err());
    }

    #[test]
    fn empty_and_one_leaf_known_answers() {
        // RFC 6962 test vectors (certificate-transparency's merkle tests):
        // the empty tree, and one empty leaf.
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn tiles_hold_level_hashes() {
        let mut tree = Tree::new();
        for i in 0u32..(256 * 2 + 3) {
            tree.push(leaf_hash(&i.to_be_bytes()));
        }
        let full = tree.tile(0, 1, 256).unwrap();
        assert_eq!(full.len(), 256 * 32);
        assert_eq!(&full[..32], &tree.leaf(256).unwrap().0);
        assert_eq!(tree.tile(0, 2, 3).unwrap().len(), 96);
        assert!(tree.tile(0, 2, 4).is_none());
        let level1 = tree.tile(1, 0, 2).unwrap();
        assert_eq!(&level1[32..], &tree.node(8, 1).unwrap().0);
        assert!(tree.tile(1, 0, 3).is_none());
        assert!(tree.tile(2, 0, 1).is_none());
    }
}
