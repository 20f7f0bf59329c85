//! The collector's transparency log: every accepted event, across all
//! chains, appended in acceptance order to a Merkle tree (RFC 9162), whose
//! signed heads (C2SP `tlog-checkpoint`) anyone can hold the collector to.
//!
//! - [`leaf`]: what a leaf holds (chain id, seq, the event's hash: 56 bytes,
//!   never the event's content) and entry bundles.
//! - [`tree`]: leaf and node hashing, the tree as tiles, inclusion and
//!   consistency proofs; [`proof`] checks proofs with hashes alone.
//! - [`tile`]: tile paths in the C2SP `tlog-tiles` layout.
//! - [`note`], [`checkpoint`]: C2SP `signed-note` and `tlog-checkpoint`,
//!   verifier keys, and the trust policy (log key, witness quorum).
//! - `ed25519` (native only): signing, verifying, key files.
//! - [`receipt`]: what an uploader checks before deleting acknowledged events.
//! - [`witness`]: C2SP `tlog-witness` `add-checkpoint`; [`proof_file`]: C2SP
//!   `tlog-proof` files for evidence exports.
//!
//! Why not the `tlog_tiles` / `signed_note` crates (ports of Go's
//! `sumdb`): they name tiles the sumdb way (`tile/H/L/N`) where C2SP serves
//! `tile/L/N`, have no cosignature type, assert on internal arithmetic (a
//! trap in the browser), and bring a second `thiserror`, a third `base64`
//! and `url`. Checking proofs alone with `tlog_tiles` was 15 KB of gzipped
//! `.wasm`, and `signed_note`'s Ed25519 another 45 KB: the browser checks
//! signatures with WebCrypto instead, and this module's proof code is what
//! the browser build links.

pub mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod ed25519;
pub mod leaf;
pub mod note;
pub mod proof;
pub mod proof_file;
pub mod receipt;
pub mod tile;
pub mod tree;
pub mod witness;

/// A decimal with no leading zeroes (`0` alone is zero), as every tlog text format writes sizes.
pub(crate) fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

/// Writes proof hashes one base64 line each, a blank line, then a signed
/// checkpoint: the tail shared by `tlog-proof` files and `add-checkpoint` bodies.
pub(crate) fn write_proof_and_checkpoint(
    f: &mut std::fmt::Formatter<'_>,
    proof: &[crate::Digest],
    checkpoint: &str,
) -> std::fmt::Result {
    for h in proof {
        writeln!(f, "{}", checkpoint::encode_hash(h))?;
    }
    writeln!(f)?;
    f.write_str(checkpoint)
}

pub use checkpoint::{Checkpoint, CheckpointError, Trust, Verified};
pub use leaf::{Leaf, LeafError};
pub use note::{KeyError, KeyType, Note, NoteError, NoteSignature, SignatureCheck, VerifierKey};
pub use proof::{verify_consistency, verify_inclusion, ProofError};
pub use tile::{TileKind, TilePath, TilePathError};
pub use tree::{empty_root, leaf_hash, node_hash, Tree, TreeError};
