//! The verify fast path (canonical lines hashed as they are) must answer
//! exactly like the general path (parse, re-canonicalize, hash) on any
//! input: valid lines, and lines with random byte edits that may or may not
//! stay canonical, JSON, or valid UTF-8.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use proptest::prelude::*;
use sealtrail::verify::{inspect, inspect_line, Failure, Inspected, Rule};
use serde_json::Value;

/// The general path alone.
fn general(line: &[u8]) -> Result<Inspected, (Option<u64>, Rule)> {
    match serde_json::from_slice::<Value>(line) {
        Ok(v) => inspect(&v, 0).map_err(|f| (f.seq, f.rule)),
        Err(_) => Err((None, Rule::Format)),
    }
}

fn either(line: &[u8]) -> Result<Inspected, (Option<u64>, Rule)> {
    inspect_line(line, 0).map_err(|f: Failure| (f.seq, f.rule))
}

/// Bytes that change what a JSON scanner sees.
const INTERESTING: &[u8] = b"\"\\ 0123456789aeEfnrtu.-+{}[],:\x1f\x7f\xc3\xa9\xe2\x80\xa8\xf0\x9f";

#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop::sample::select(INTERESTING);
    prop_oneof![
        (any::<prop::sample::Index>(), byte.clone()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<prop::sample::Index>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn fast_and_general_paths_agree(
        seed in 0u64..500,
        k in 0u64..6,
        edits in prop::collection::vec(edit(), 0..4),
    ) {
        let c = common::chain(k + 1, seed);
        let mut line = sealtrail::canon::to_string(&c[k as usize]).unwrap().into_bytes();
        for e in &edits {
            match *e {
                Edit::Replace(i, b) => {
                    let i = i.index(line.len());
                    line[i] = b;
                }
                Edit::Insert(i, b) => {
                    let i = i.index(line.len() + 1);
                    line.insert(i, b);
                }
                Edit::Delete(i) => {
                    let i = i.index(line.len());
                    line.remove(i);
                }
            }
        }
        prop_assert_eq!(either(&line), general(&line), "{}", String::from_utf8_lossy(&line));
    }
}

#[test]
fn untouched_lines_agree_and_pass() {
    for seed in 0..20 {
        for e in common::chain(6, seed) {
            let line = sealtrail::canon::to_string(&e).unwrap();
            let fast = either(line.as_bytes()).unwrap();
            assert_eq!(Ok(fast.clone()), general(line.as_bytes()));
            assert_eq!(fast.computed.to_hex(), fast.hash);
        }
    }
}
