//! Property: any single mutation of a valid chain is caught at the right
//! `seq` with the right rule, and an untouched chain always verifies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use common::{chain, chain_id, rehash, relink, verify};
use proptest::prelude::*;
use sealtrail::verify::Rule;
use sealtrail::Timestamp;
use serde_json::Value;

/// One way to tamper with the event at an index.
#[derive(Debug, Clone)]
enum Mutation {
    /// Change a member, leave the hash.
    Edit(String),
    /// Change a member and recompute the hash (not the successors').
    EditRehash(String),
    /// Remove the event (not the last: that is truncation).
    Delete,
    /// Swap with the next event.
    Swap,
    /// Point `prev` elsewhere and rehash.
    WrongPrev,
    /// Write another `seq` and rehash.
    Seq(u64),
    /// Write another `v` and rehash.
    Version(u64),
    /// Move to another chain id, rewrite the rest of the chain.
    Chain,
    /// Move `ts` before the predecessor's, rewrite the rest of the chain.
    Backdate(i64),
    /// Change the `hash` member.
    Hash,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        "[a-zA-Z0-9 é😀\"\\\\/\n]{0,12}".prop_map(Mutation::Edit),
        "[a-zA-Z0-9 é😀\"\\\\/\n]{0,12}".prop_map(Mutation::EditRehash),
        Just(Mutation::Delete),
        Just(Mutation::Swap),
        Just(Mutation::WrongPrev),
        (0u64..1000).prop_map(Mutation::Seq),
        (0u64..5).prop_map(Mutation::Version),
        Just(Mutation::Chain),
        (1i64..100_000).prop_map(Mutation::Backdate),
        Just(Mutation::Hash),
    ]
}

/// Applies `m` at `i`; returns the expected (seq, position, rule), or None
/// when the mutation is a no-op or undetectable by design.
fn apply(c: &mut Vec<Value>, i: usize, m: &Mutation) -> Option<(u64, u64, Rule)> {
    let n = c.len();
    let at = i as u64;
    match m {
        Mutation::Edit(s) => {
            if c[i]["actor"]["name"] == s.as_str() {
                return None;
            }
            c[i]["actor"]["name"] = s.as_str().into();
            Some((at, at, Rule::Hash))
        }
        Mutation::EditRehash(s) => {
            if i + 1 == n || c[i]["subject"]["recordId"] == s.as_str() {
                return None;
            }
            c[i]["subject"]["recordId"] = s.as_str().into();
            rehash(&mut c[i]);
            Some((at + 1, at + 1, Rule::Prev))
        }
        Mutation::Delete => {
            if i + 1 == n {
                return None;
            }
            c.remove(i);
            Some((at + 1, at, Rule::Seq))
        }
        Mutation::Swap => {
            if i + 1 == n {
                return None;
            }
            c.swap(i, i + 1);
            Some((at + 1, at, Rule::Seq))
        }
        Mutation::WrongPrev => {
            c[i]["prev"] = "d".repeat(64).into();
            rehash(&mut c[i]);
            Some((at, at, Rule::Prev))
        }
        Mutation::Seq(s) => {
            if *s == at {
                return None;
            }
            c[i]["seq"] = (*s).into();
            rehash(&mut c[i]);
            Some((*s, at, Rule::Seq))
        }
        Mutation::Version(v) => {
            if *v == 1 {
                return None;
            }
            c[i]["v"] = (*v).into();
            rehash(&mut c[i]);
            Some((at, at, Rule::Version))
        }
        Mutation::Chain => {
            c[i]["chain"] = chain_id(1234).to_string().into();
            relink(c, i);
            // The first event fixes the chain id; its prev then no longer
            // matches that chain's genesis.
            Some((at, at, if i == 0 { Rule::Prev } else { Rule::Chain }))
        }
        Mutation::Backdate(ms) => {
            if i == 0 {
                return None;
            }
            let prev = Timestamp::parse(c[i - 1]["ts"].as_str().unwrap()).unwrap();
            c[i]["ts"] = prev.plus_millis(-ms).to_string().into();
            relink(c, i);
            Some((at, at, Rule::Backdated))
        }
        Mutation::Hash => {
            c[i]["hash"] = "e".repeat(64).into();
            Some((at, at, Rule::Hash))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn untouched_chains_verify(n in 1u64..24, seed in 0u64..1000) {
        let c = chain(n, seed);
        let s = verify(&c).unwrap();
        prop_assert_eq!(s.events, n);
    }

    #[test]
    fn any_single_mutation_is_caught_at_its_seq(
        n in 2u64..24,
        seed in 0u64..1000,
        pick in any::<prop::sample::Index>(),
        m in mutation(),
    ) {
        let mut c = chain(n, seed);
        let i = pick.index(c.len());
        let Some(expected) = apply(&mut c, i, &m) else {
            return Ok(());
        };
        let f = verify(&c).expect_err("mutation went unnoticed");
        prop_assert_eq!((f.seq, f.position, f.rule), (Some(expected.0), expected.1, expected.2), "{}", f);
    }
}
