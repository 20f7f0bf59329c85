//! The transparency log against known answers (a real CT log's proofs) and
//! properties: every proof the tree makes verifies, and any single-bit change
//! to a proof, a hash, a checkpoint body or a signature fails.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use proptest::prelude::*;
use sealtrail::entropy::SeededEntropy;
use sealtrail::tlog::checkpoint::decode_hash;
use sealtrail::tlog::ed25519::{self, SigningKey};
use sealtrail::tlog::{
    leaf_hash, verify_consistency, verify_inclusion, Checkpoint, KeyType, Tree, Trust,
};
use sealtrail::Digest;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/tlog/argon2020/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn hashes(v: &Value) -> Vec<Digest> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| decode_hash(h.as_str().unwrap()).unwrap())
        .collect()
}

/// Go's `TestCertificateTransparency`: leaf 10,000 of Argon 2020 and the
/// log's own proofs, in a tree of 961,984,011 leaves.
#[test]
fn certificate_transparency_known_answers() {
    let sth = fixture("get-sth.json");
    let size = sth["tree_size"].as_u64().unwrap();
    let root = decode_hash(sth["sha256_root_hash"].as_str().unwrap()).unwrap();
    let entries = fixture("get-entries.json");
    let data = STANDARD
        .decode(entries["entries"][0]["leaf_input"].as_str().unwrap())
        .unwrap();
    let leaf = leaf_hash(&data);
    let inclusion = hashes(&fixture("get-proof-by-hash.json")["audit_path"]);
    verify_inclusion(10_000, size, &leaf, &inclusion, &root).unwrap();
    assert!(verify_inclusion(10_001, size, &leaf, &inclusion, &root).is_err());

    let consistency = hashes(&fixture("get-sth-consistency.json")["consistency"]);
    let old_root = decode_hash("AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=").unwrap();
    verify_consistency(3_654_490, size, &old_root, &root, &consistency).unwrap();
    assert!(verify_consistency(3_654_491, size, &old_root, &root, &consistency).is_err());
}

/// RFC 6962's reference leaves (certificate-transparency's merkle tests)
/// and the roots of their first 1..=8.
#[test]
fn rfc6962_reference_roots() {
    let leaves: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let mut tree = Tree::new();
    for (leaf, root) in leaves.iter().zip(roots) {
        tree.push(leaf_hash(leaf));
        assert_eq!(
            tree.root(tree.size()).unwrap().to_hex(),
            root,
            "size {}",
            tree.size()
        );
    }
}

fn flip(d: &Digest, bit: usize) -> Digest {
    let mut out = *d;
    out.0[bit / 8 % 32] ^= 1 << (bit % 8);
    out
}

fn tree_of(n: usize, salt: u64) -> Tree {
    let mut t = Tree::new();
    for i in 0..n as u64 {
        t.push(leaf_hash(&[salt.to_be_bytes(), i.to_be_bytes()].concat()));
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random appends, a random pair of sizes: both proofs verify, and no
    /// single-bit change to a proof hash, the leaf, either root or the
    /// sizes and index lets one through.
    #[test]
    fn proofs_verify_and_every_bit_matters(
        n in 1usize..1200,
        salt in any::<u64>(),
        a in any::<u64>(),
        b in any::<u64>(),
        bit in 0usize..256,
    ) {
        let t = tree_of(n, salt);
        let new = 1 + b % n as u64;
        let old = a % (new + 1);
        let index = a % new;
        let (root, old_root) = (t.root(new).unwrap(), t.root(old).unwrap());
        let leaf = t.leaf(index).unwrap();

        let inc = t.inclusion(index, new).unwrap();
        prop_assert!(verify_inclusion(index, new, &leaf, &inc, &root).is_ok());
        prop_assert!(verify_inclusion(index, new, &flip(&leaf, bit), &inc, &root).is_err());
        prop_assert!(verify_inclusion(index, new, &leaf, &inc, &flip(&root, bit)).is_err());
        for i in 0..inc.len() {
            let mut p = inc.clone();
            p[i] = flip(&p[i], bit);
            prop_assert!(verify_inclusion(index, new, &leaf, &p, &root).is_err());
        }
        let mut longer = inc.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(index, new, &leaf, &longer, &root).is_err());
        if new > 1 {
            let other = (index + 1 + bit as u64) % new;
            if other != index && t.leaf(other).unwrap() != leaf {
                prop_assert!(verify_inclusion(other, new, &leaf, &inc, &root).is_err());
            }
        }

        let con = t.consistency(old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &old_root, &root, &con).is_ok());
        prop_assert!(verify_consistency(old, new, &flip(&old_root, bit), &root, &con).is_err());
        // The empty tree is consistent with every tree, whatever its root.
        prop_assert_eq!(
            verify_consistency(old, new, &old_root, &flip(&root, bit), &con).is_err(),
            old > 0
        );
        for i in 0..con.len() {
            let mut p = con.clone();
            p[i] = flip(&p[i], bit);
            prop_assert!(verify_consistency(old, new, &old_root, &root, &p).is_err());
        }
        if !con.is_empty() {
            prop_assert!(verify_consistency(old, new, &old_root, &root, &con[1..]).is_err());
        }
        // A log that rewrote any leaf below `old` (another tree, same sizes) is caught.
        let forked = tree_of(n, salt ^ 1);
        if old > 0 {
            prop_assert!(verify_consistency(old, new, &old_root, &forked.root(new).unwrap(), &con).is_err());
            prop_assert!(verify_consistency(old, new, &forked.root(old).unwrap(), &root, &con).is_err());
        }
    }

    /// A signed checkpoint, then every single-bit change to its bytes (body,
    /// signature line, cosignature line) is refused.
    #[test]
    fn every_bit_of_a_signed_checkpoint_matters(size in 0u64..u64::MAX, seed in any::<u64>(), byte in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut e = SeededEntropy::new(seed);
        let log = SigningKey::generate("audit.clinic.example/sealtrail", KeyType::Ed25519, &mut e).unwrap().unwrap();
        let w = SigningKey::generate("witness.example/w1", KeyType::Cosignature, &mut e).unwrap().unwrap();
        let cp = Checkpoint { origin: log.verifier().name().into(), size, root: Digest::of(&seed.to_be_bytes()), extensions: vec![] };
        let mut note = log.sign(&cp).unwrap();
        let cosig = w.cosign(&note, 1_764_000_000);
        note.add(cosig);
        let signed = note.to_string();
        let trust = Trust { log: log.verifier().clone(), witnesses: vec![w.verifier().clone()], quorum: 1 };
        let ok = trust.verify(&signed, ed25519::verify).unwrap();
        prop_assert_eq!(&ok.checkpoint, &cp);
        prop_assert_eq!(ok.witnesses.len(), 1);

        let mut bytes = signed.into_bytes();
        let at = byte.index(bytes.len());
        bytes[at] ^= 1 << bit;
        if let Ok(text) = String::from_utf8(bytes) {
            prop_assert!(trust.verify(&text, ed25519::verify).is_err(), "accepted after flipping byte {} bit {}", at, bit);
        }
    }
}
