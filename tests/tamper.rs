//! Tampering of every kind is caught at the right `seq` with the right rule
//! (`docs/protocol.md`: version, chain, seq, prev, hash,
//! backdated), for canonical and non-canonical lines alike.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use common::{
    assert_caught, chain, chain_id, draft, rehash, relink, verify, verify_text, verify_with,
};
use sealtrail::chain::ChainWriter;
use sealtrail::verify::{Options, Rule};
use sealtrail::Timestamp;
use serde_json::Value;

const N: u64 = 8;

#[test]
fn the_untouched_chain_is_valid() {
    let c = chain(N, 1);
    let s = verify(&c).unwrap();
    assert_eq!(s.events, N);
    assert_eq!(s.last_seq, Some(N - 1));
    assert_eq!(s.head.unwrap().to_hex(), c[7]["hash"].as_str().unwrap());
}

#[test]
fn edit_without_rehash_breaks_hash() {
    let mut c = chain(N, 1);
    c[3]["actor"]["id"] = "someone-else".into();
    assert_caught(&c, 3, 3, Rule::Hash);
    let mut c = chain(N, 1);
    c[5]["subject"]["recordId"] = "y999".into();
    assert_caught(&c, 5, 5, Rule::Hash);
    // Removing a member counts: verifiers hash whatever is present.
    let mut c = chain(N, 1);
    c[2].as_object_mut().unwrap().remove("reason");
    c[2].as_object_mut().unwrap().remove("labels");
    assert_caught(&c, 2, 2, Rule::Hash);
    // So does adding one.
    let mut c = chain(N, 1);
    c[4]["extra"] = "member".into();
    assert_caught(&c, 4, 4, Rule::Hash);
}

#[test]
fn a_wrong_hash_member_breaks_hash() {
    let mut c = chain(N, 1);
    c[6]["hash"] = "0".repeat(64).into();
    assert_caught(&c, 6, 6, Rule::Hash);
}

#[test]
fn edit_and_rehash_breaks_the_next_prev() {
    let mut c = chain(N, 1);
    c[3]["outcome"] = "success".into();
    c[3]["actor"]["role"] = "admin".into();
    rehash(&mut c[3]);
    assert_caught(&c, 4, 4, Rule::Prev);
}

#[test]
fn edit_of_the_last_event_with_rehash_needs_the_anchor() {
    // Rewriting the tail is only visible against an anchored head: the
    // verifier reports a different head than the one the collector holds.
    let original = chain(N, 1);
    let mut c = original.clone();
    c[7]["action"] = "view".into();
    rehash(&mut c[7]);
    let s = verify(&c).unwrap();
    assert_ne!(
        s.head.unwrap().to_hex(),
        original[7]["hash"].as_str().unwrap()
    );
}

#[test]
fn delete_is_caught_at_the_event_after_the_gap() {
    let mut c = chain(N, 1);
    c.remove(3);
    assert_caught(&c, 4, 3, Rule::Seq);
    let mut c = chain(N, 1);
    c.remove(0);
    assert_caught(&c, 1, 0, Rule::Seq);
}

#[test]
fn delete_and_renumber_breaks_prev() {
    let mut c = chain(N, 1);
    c.remove(3);
    for (i, e) in c.iter_mut().enumerate().skip(3) {
        e["seq"] = (i as u64).into();
        rehash(e);
    }
    assert_caught(&c, 3, 3, Rule::Prev);
}

#[test]
fn insert_is_caught() {
    // A copy of an event slipped in.
    let mut c = chain(N, 1);
    let dup = c[2].clone();
    c.insert(3, dup);
    assert_caught(&c, 2, 3, Rule::Seq);
    // A well-forged event linked after seq 2: the original seq 3 no longer fits.
    let mut c = chain(N, 1);
    let mut forged = c[3].clone();
    forged["action"] = "view".into();
    rehash(&mut forged);
    c.insert(3, forged);
    assert_caught(&c, 3, 4, Rule::Seq);
}

#[test]
fn swap_is_caught() {
    let mut c = chain(N, 1);
    c.swap(2, 3);
    assert_caught(&c, 3, 2, Rule::Seq);
    // Swapping and renumbering: the links give it away.
    let mut c = chain(N, 1);
    c.swap(2, 3);
    c[2]["seq"] = 2.into();
    c[3]["seq"] = 3.into();
    rehash(&mut c[2]);
    rehash(&mut c[3]);
    assert_caught(&c, 2, 2, Rule::Prev);
}

#[test]
fn wrong_prev_is_caught() {
    let mut c = chain(N, 1);
    c[5]["prev"] = c[3]["hash"].clone();
    rehash(&mut c[5]);
    assert_caught(&c, 5, 5, Rule::Prev);
    // The first event must link to the genesis value.
    let mut c = chain(N, 1);
    c[0]["prev"] = "f".repeat(64).into();
    relink(&mut c, 0);
    assert_caught(&c, 0, 0, Rule::Prev);
}

#[test]
fn back_dating_is_caught_unless_within_the_clock_step() {
    let mut c = chain(N, 1);
    let earlier = Timestamp::parse(c[3]["ts"].as_str().unwrap())
        .unwrap()
        .plus_millis(-1500);
    c[4]["ts"] = earlier.to_string().into();
    relink(&mut c, 4);
    assert_caught(&c, 4, 4, Rule::Backdated);
    // A 1.5 s step back passes when the verifier allows 2 s (clock jitter).
    let ok = verify_with(
        &c,
        Options {
            max_clock_step_ms: 2000,
        },
    );
    assert!(ok.is_ok(), "{ok:?}");
    // Equal times are fine.
    let mut c = chain(N, 1);
    c[4]["ts"] = c[3]["ts"].clone();
    relink(&mut c, 4);
    verify(&c).unwrap();
}

#[test]
fn a_foreign_chain_id_is_caught() {
    let other = chain_id(99).to_string();
    let mut c = chain(N, 1);
    c[4]["chain"] = other.clone().into();
    relink(&mut c, 4);
    assert_caught(&c, 4, 4, Rule::Chain);
    // An event from another chain spliced in as is.
    let mut c = chain(N, 1);
    let foreign = chain(N, 2);
    c[5] = foreign[5].clone();
    assert_caught(&c, 5, 5, Rule::Chain);
    // A chain id that is not 32 lowercase hex.
    let mut c = chain(N, 1);
    for e in &mut c {
        e["chain"] = "NOT-A-CHAIN".into();
    }
    relink(&mut c, 0);
    assert_caught(&c, 0, 0, Rule::Chain);
}

#[test]
fn a_changed_seq_is_caught() {
    let mut c = chain(N, 1);
    c[3]["seq"] = 30.into();
    rehash(&mut c[3]);
    assert_caught(&c, 30, 3, Rule::Seq);
}

#[test]
fn a_changed_version_is_caught() {
    let mut c = chain(N, 1);
    c[2]["v"] = 2.into();
    rehash(&mut c[2]);
    assert_caught(&c, 2, 2, Rule::Version);
}

#[test]
fn truncation_shortens_the_chain_and_changes_the_head() {
    let full = chain(N, 1);
    let s = verify(&full[..5]).unwrap();
    assert_eq!(s.events, 5);
    assert_eq!(s.head.unwrap().to_hex(), full[4]["hash"].as_str().unwrap());
    // A line cut in the middle is a format failure at its position.
    let text = common::jsonl(&full);
    let cut = &text[..text.len() - 40];
    let f = verify_text(cut, Options::default()).unwrap_err();
    assert_eq!((f.position, f.rule), (7, Rule::Format), "{f}");
}

#[test]
fn malformed_events_are_format_failures() {
    let mut c = chain(N, 1);
    c[3].as_object_mut().unwrap().remove("actor");
    let f = verify(&c).unwrap_err();
    assert_eq!((f.seq, f.position, f.rule), (Some(3), 3, Rule::Format));
    let mut c = chain(N, 1);
    c[1]["ts"] = "2026-11-23 15:00".into();
    let f = verify(&c).unwrap_err();
    assert_eq!((f.seq, f.rule), (Some(1), Rule::Format));
    let mut c = chain(N, 1);
    c[2] = Value::Array(vec![]);
    let f = verify(&c).unwrap_err();
    assert_eq!((f.seq, f.position, f.rule), (None, 2, Rule::Format));
}

#[test]
fn a_chain_made_elsewhere_verifies() {
    // Hand-written event in another implementation's member order and
    // escaping, hashed per the spec with only standard tools (sha256 of the
    // JCS bytes): the verifier hashes what is there.
    let id = chain_id(7);
    let mut w = ChainWriter::new(id.clone());
    let e = w
        .append(draft(7, 0), Timestamp::from_millis(common::T0).unwrap())
        .unwrap();
    let mut v = serde_json::to_value(&e).unwrap();
    v["producer"] = serde_json::json!({"name": "other-impl", "build": 42});
    rehash(&mut v);
    let s = verify(&[v]).unwrap();
    assert_eq!(s.events, 1);
}

#[test]
fn long_chains_are_checked_in_parallel_with_the_same_answers() {
    let c = chain(500, 3);
    assert_eq!(verify(&c).unwrap().events, 500);
    let mut t = c.clone();
    t[321]["actor"]["role"] = "admin".into();
    assert_caught(&t, 321, 321, Rule::Hash);
    let mut t = c.clone();
    t.remove(77);
    assert_caught(&t, 78, 77, Rule::Seq);
    let mut t = c;
    t[450]["outcome"] = "denied".into();
    rehash(&mut t[450]);
    assert_caught(&t, 451, 451, Rule::Prev);
}

#[test]
fn chains_longer_than_a_batch_keep_order_and_first_failure() {
    // Several 2048-line batches, inspected out of order by the threads.
    let c = chain(2300, 5);
    assert_eq!(verify(&c).unwrap().events, 2300);
    let mut t = c.clone();
    t[2100]["actor"]["id"] = "x".into();
    t[2250]["actor"]["id"] = "y".into();
    assert_caught(&t, 2100, 2100, Rule::Hash);
    let mut t = c.clone();
    t.remove(100);
    t[2200]["v"] = 7.into();
    assert_caught(&t, 101, 100, Rule::Seq);
    let mut t = c;
    t[2047]["prev"] = t[2045]["hash"].clone();
    rehash(&mut t[2047]);
    assert_caught(&t, 2047, 2047, Rule::Prev);
}
