//! `sealtrail checkpoint verify`, `proof verify` and `verify --proof` end
//! to end: a log built here, its checkpoints signed, and every way a
//! collector could lie (another key, a rewritten event, a split view, a
//! shrunk log) caught with exit 1; bad input is one stderr line, exit 2.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sealtrail::entropy::SeededEntropy;
use sealtrail::tlog::checkpoint::encode_hash;
use sealtrail::tlog::ed25519::SigningKey;
use sealtrail::tlog::proof_file::ProofFile;
use sealtrail::tlog::{Checkpoint, KeyType, Leaf, Tree};
use sealtrail::Digest;
use serde_json::Value;

const ORIGIN: &str = "audit.clinic.example/sealtrail";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sealtrail"))
        .args(args)
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-tlog-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn assert_valid(o: &Output) -> String {
    let s = String::from_utf8(o.stdout.clone()).unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{s}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    s
}

fn assert_invalid(o: &Output, says: &str) {
    let s = String::from_utf8(o.stdout.clone()).unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{s}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(s.contains(says), "expected `{says}` in: {s}");
}

fn assert_input_error(o: &Output) {
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with("error: ") && !err.contains("panicked"),
        "{err}"
    );
}

/// A log holding two chains' events (interleaved) and noise, its key, a witness.
struct Log {
    tree: Tree,
    key: SigningKey,
    witness: SigningKey,
    chain: Vec<Value>,
}

impl Log {
    fn new() -> Self {
        let mut e = SeededEntropy::new(7);
        let key = SigningKey::generate(ORIGIN, KeyType::Ed25519, &mut e)
            .unwrap()
            .unwrap();
        let witness = SigningKey::generate("witness.example/w1", KeyType::Cosignature, &mut e)
            .unwrap()
            .unwrap();
        let chain = common::chain(5, 1);
        let other = common::chain(11, 2);
        let mut tree = Tree::new();
        for (i, e) in other.iter().enumerate() {
            tree.push(leaf(e).hash());
            if let Some(mine) = chain.get(i / 2).filter(|_| i % 2 == 1) {
                tree.push(leaf(mine).hash());
            }
        }
        Self {
            tree,
            key,
            witness,
            chain,
        }
    }

    /// The signed (and cosigned) checkpoint at `size`.
    fn checkpoint(&self, size: u64) -> String {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: self.tree.root(size).unwrap(),
            extensions: vec![],
        };
        let mut note = self.key.sign(&cp).unwrap();
        let cosig = self.witness.cosign(&note, 1_764_633_600);
        note.add(cosig);
        note.to_string()
    }

    fn index_of(&self, l: &Leaf) -> u64 {
        (0..self.tree.size())
            .find(|i| self.tree.leaf(*i).unwrap() == l.hash())
            .unwrap()
    }

    /// A `tlog-proof` file for `event` at the full size.
    fn proof(&self, event: &Value) -> String {
        let size = self.tree.size();
        let index = self.index_of(&leaf(event));
        ProofFile {
            extra: None,
            index,
            proof: self.tree.inclusion(index, size).unwrap(),
            checkpoint: self.checkpoint(size),
        }
        .to_string()
    }
}

fn leaf(e: &Value) -> Leaf {
    let event: sealtrail::event::Event = serde_json::from_value(e.clone()).unwrap();
    Leaf {
        chain: event.chain,
        seq: event.seq,
        hash: event.hash,
    }
}

#[test]
fn checkpoints_verify_against_the_log_key_and_witness_quorum() {
    let log = Log::new();
    let dir = scratch("checkpoint");
    let cp = write(&dir, "checkpoint", &log.checkpoint(10));
    let key = log.key.verifier().to_string();
    let w = log.witness.verifier().to_string();
    let s = assert_valid(&run(&[
        "checkpoint",
        "verify",
        &cp,
        "--key",
        &key,
        "--witness",
        &w,
    ]));
    assert!(
        s.contains("size 10") && s.contains("cosigned by `witness.example/w1`"),
        "{s}"
    );
    // The key from a file works the same.
    let keyfile = write(&dir, "log.vkey", &format!("{key}\n"));
    assert_valid(&run(&["checkpoint", "verify", &cp, "--key", &keyfile]));

    // Another collector's key, or a witness that did not cosign: refused.
    let mut e = SeededEntropy::new(99);
    let other = SigningKey::generate(ORIGIN, KeyType::Ed25519, &mut e)
        .unwrap()
        .unwrap();
    assert_invalid(
        &run(&[
            "checkpoint",
            "verify",
            &cp,
            "--key",
            &other.verifier().to_string(),
        ]),
        "no signature by the log key",
    );
    let w2 = SigningKey::generate("witness.example/w2", KeyType::Cosignature, &mut e)
        .unwrap()
        .unwrap();
    let w2 = w2.verifier().to_string();
    assert_invalid(
        &run(&[
            "checkpoint",
            "verify",
            &cp,
            "--key",
            &key,
            "--witness",
            &w,
            "--witness",
            &w2,
        ]),
        "at least 2 of the given witnesses, found 1",
    );
    assert_valid(&run(&[
        "checkpoint",
        "verify",
        &cp,
        "--key",
        &key,
        "--witness",
        &w,
        "--witness",
        &w2,
        "--quorum",
        "1",
    ]));

    // A body edited after signing (a bigger size) fails its signature.
    let forged = log.checkpoint(10).replacen("\n10\n", "\n11\n", 1);
    let forged = write(&dir, "forged", &forged);
    assert_invalid(
        &run(&["checkpoint", "verify", &forged, "--key", &key]),
        "does not verify",
    );
}

#[test]
fn a_chain_with_its_head_proof_verifies_and_a_rewritten_one_does_not() {
    let log = Log::new();
    let dir = scratch("chain");
    let key = log.key.verifier().to_string();
    let chain = write(&dir, "chain.jsonl", &common::jsonl(&log.chain));
    let head = log.chain.last().unwrap();
    let proof = write(&dir, "head.tlog-proof", &log.proof(head));
    let s = assert_valid(&run(&["verify", &chain, "--proof", &proof, "--key", &key]));
    assert!(
        s.contains("valid: 5 events") && s.contains("logged: head #4 is leaf"),
        "{s}"
    );

    // The collector rewrote the chain from seq 2 and re-hashed it: the chain
    // itself verifies, but its head is not the one the log committed to.
    let mut rewritten = log.chain.clone();
    rewritten[2]["action"] = Value::from("view");
    rewritten[2]["outcome"] = Value::from("denied");
    common::rehash(&mut rewritten[2]);
    common::relink(&mut rewritten, 3);
    let rw = write(&dir, "rewritten.jsonl", &common::jsonl(&rewritten));
    assert_valid(&run(&["verify", &rw]));
    assert_invalid(
        &run(&["verify", &rw, "--proof", &proof, "--key", &key]),
        "is not leaf",
    );

    // A truncated chain: its head is another event than the one proven.
    let cut = write(&dir, "cut.jsonl", &common::jsonl(&log.chain[..4]));
    assert_invalid(
        &run(&["verify", &cut, "--proof", &proof, "--key", &key]),
        "is not leaf",
    );

    // `--proof` without `--key` is a usage error.
    assert_input_error(&run(&["verify", &chain, "--proof", &proof]));
}

#[test]
fn inclusion_and_consistency_proofs_and_a_split_view() {
    let log = Log::new();
    let dir = scratch("proofs");
    let key = log.key.verifier().to_string();
    let event = &log.chain[1];
    let ev = write(&dir, "event.json", &event.to_string());
    let proof = write(&dir, "event.tlog-proof", &log.proof(event));
    let s = assert_valid(&run(&[
        "proof", "verify", &proof, "--event", &ev, "--key", &key,
    ]));
    assert!(s.contains("#1 is leaf"), "{s}");
    let other = write(&dir, "other.json", &log.chain[2].to_string());
    assert_invalid(
        &run(&["proof", "verify", &proof, "--event", &other, "--key", &key]),
        "is not leaf",
    );

    let (old_n, new_n) = (6, log.tree.size());
    let old = write(&dir, "old", &log.checkpoint(old_n));
    let new = write(&dir, "new", &log.checkpoint(new_n));
    let lines: String = log
        .tree
        .consistency(old_n, new_n)
        .unwrap()
        .iter()
        .map(|h| encode_hash(h) + "\n")
        .collect();
    let cons = write(&dir, "consistency", &lines);
    let s = assert_valid(&run(&[
        "proof",
        "verify",
        &old,
        &new,
        "--consistency",
        &cons,
        "--key",
        &key,
    ]));
    assert!(
        s.contains(&format!("size {new_n} extends size {old_n}")),
        "{s}"
    );

    // Backwards (a collector restored from an older backup): refused.
    assert_invalid(
        &run(&[
            "proof",
            "verify",
            &new,
            &old,
            "--consistency",
            &cons,
            "--key",
            &key,
        ]),
        "the log shrank",
    );

    // A split view: the same size, another root, both signed by the log.
    let mut forked = Tree::new();
    for i in 0..new_n {
        forked.push(if i == 3 {
            Digest::of(b"dropped")
        } else {
            log.tree.leaf(i).unwrap()
        });
    }
    let split = Checkpoint {
        origin: ORIGIN.into(),
        size: new_n,
        root: forked.root(new_n).unwrap(),
        extensions: vec![],
    };
    let split = write(&dir, "split", &log.key.sign(&split).unwrap().to_string());
    assert_invalid(
        &run(&["proof", "verify", &new, &split, "--key", &key]),
        "split view",
    );
    assert_invalid(
        &run(&[
            "proof",
            "verify",
            &old,
            &split,
            "--consistency",
            &cons,
            "--key",
            &key,
        ]),
        "does not extend",
    );

    // Usage errors: one line, exit 2.
    assert_input_error(&run(&[
        "proof", "verify", &old, &new, "--event", &ev, "--key", &key,
    ]));
    let junk = write(&dir, "junk", "not base64\n");
    assert_input_error(&run(&[
        "proof",
        "verify",
        &old,
        &new,
        "--consistency",
        &junk,
        "--key",
        &key,
    ]));
    assert_input_error(&run(&["checkpoint", "verify", &old, "--key", "nope"]));
}
