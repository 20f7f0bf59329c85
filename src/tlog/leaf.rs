//! A log leaf: which event, never what it says.
//!
//! The log is public (anyone may fetch its tiles and entry bundles), so a
//! leaf names an event by its chain, its `seq` and its own `hash`, which
//! already commits to every member; reasons, names and record ids never
//! leave the collector's store. Bytes of a leaf, 56 in all, fixed length:
//!
//! ```text
//! leaf(event) = chain  (16 bytes: the chain id's 32 hex characters, decoded)
//!            || seq    (8 bytes: unsigned, big-endian)
//!            || hash   (32 bytes: the event's `hash`, decoded)
//! ```
//!
//! and its hash in the tree is `leaf_hash(leaf) = SHA-256(0x00 || leaf)`
//! ([`crate::tlog::leaf_hash`]). In an entry bundle each leaf is preceded by
//! its length as a big-endian `u16` (always `0x0038`).

use crate::event::ChainId;
use crate::tlog::tree::leaf_hash;
use crate::Digest;

/// Bytes in a leaf.
pub const LEAF_LEN: usize = 56;

/// One event as the log names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    /// The event's chain.
    pub chain: ChainId,
    /// Its `seq`.
    pub seq: u64,
    /// Its `hash`.
    pub hash: Digest,
}

/// Why bytes are not a leaf or an entry bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// Not 56 bytes.
    #[error("expected a leaf of 56 bytes, found {0}")]
    Length(usize),
    /// An entry bundle that ends inside an entry.
    #[error("entry bundle truncated at byte {0}")]
    Truncated(usize),
}

impl Leaf {
    /// The 56 bytes of the leaf.
    pub fn to_bytes(&self) -> [u8; LEAF_LEN] {
        let mut out = [0u8; LEAF_LEN];
        let (chain, rest) = out.split_at_mut(16);
        let (seq, hash) = rest.split_at_mut(8);
        // INVARIANT: a `ChainId` is 32 lowercase hex characters, so this decodes.
        let _ = hex::decode_to_slice(self.chain.as_str(), chain);
        seq.copy_from_slice(&self.seq.to_be_bytes());
        hash.copy_from_slice(&self.hash.0);
        out
    }

    /// Reads the 56 bytes of a leaf.
    pub fn parse(bytes: &[u8]) -> Result<Self, LeafError> {
        let Ok(bytes) = <&[u8; LEAF_LEN]>::try_from(bytes) else {
            return Err(LeafError::Length(bytes.len()));
        };
        let (chain, rest) = bytes.split_at(16);
        let (seq, hash) = rest.split_at(8);
        let mut seq_be = [0u8; 8];
        seq_be.copy_from_slice(seq);
        let mut digest = [0u8; 32];
        digest.copy_from_slice(hash);
        Ok(Self {
            // INVARIANT: 16 bytes always make 32 lowercase hex characters.
            chain: ChainId::parse(&hex::encode(chain)).map_err(|_| LeafError::Length(16))?,
            seq: u64::from_be_bytes(seq_be),
            hash: Digest(digest),
        })
    }

    /// Its hash in the tree.
    pub fn hash(&self) -> Digest {
        leaf_hash(&self.to_bytes())
    }
}

/// An entry bundle (C2SP `tlog-tiles`): each leaf after its big-endian `u16` length.
pub fn bundle<'a>(leaves: impl IntoIterator<Item = &'a Leaf>) -> Vec<u8> {
    let mut out = Vec::new();
    for leaf in leaves {
        out.extend_from_slice(&(LEAF_LEN as u16).to_be_bytes());
        out.extend_from_slice(&leaf.to_bytes());
    }
    out
}

/// Reads an entry bundle back into leaves.
pub fn parse_bundle(bytes: &[u8]) -> Result<Vec<Leaf>, LeafError> {
    let mut leaves = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let len = match bytes.get(at..at + 2) {
            Some([hi, lo]) => usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => return Err(LeafError::Truncated(at)),
        };
        let entry = bytes
            .get(at + 2..at + 2 + len)
            .ok_or(LeafError::Truncated(at))?;
        leaves.push(Leaf::parse(entry)?);
        at += 2 + len;
    }
    Ok(leaves)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf() -> Leaf {
        Leaf {
            chain: ChainId::parse("00112233445566778899aabbccddeeff").unwrap(),
            seq: 258,
            hash: Digest::of(b"event"),
        }
    }

    #[test]
    fn known_answer() {
        let bytes = leaf().to_bytes();
        assert_eq!(
            hex::encode(bytes),
            format!(
                "00112233445566778899aabbccddeeff0000000000000102{}",
                Digest::of(b"event").to_hex()
            )
        );
        assert_eq!(
            leaf().hash(),
            Digest::of_parts(&[&[0], &bytes]),
            "leaf_hash is SHA-256(0x00 || leaf)"
        );
        assert_eq!(Leaf::parse(&bytes).unwrap(), leaf());
        assert_eq!(Leaf::parse(&bytes[1..]), Err(LeafError::Length(55)));
    }

    #[test]
    fn bundles_round_trip_and_reject_truncation() {
        let b = bundle([&leaf(), &leaf()]);
        assert_eq!(b.len(), 2 * 58);
        assert_eq!(&b[..2], &[0, 56]);
        assert_eq!(parse_bundle(&b).unwrap(), vec![leaf(), leaf()]);
        assert_eq!(parse_bundle(&b[..100]), Err(LeafError::Truncated(58)));
        assert_eq!(parse_bundle(&b[..1]), Err(LeafError::Truncated(0)));
    }
}
