//! The verify fast path (canonical lines hashed as they are) must answer
//! exactly like the general path (strict parse, re-canonicalize, hash) on
//! any input: valid lines, lines with random byte edits that may or may not
//! stay canonical, JSON, or valid UTF-8, and lines edited to break the
//! strict profile (duplicate names, non-integers, integers past 2^53,
//! U+0000, other `ts` forms) with a hash a lenient reader would accept.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use proptest::prelude::*;
use sealtrail::canon::strict::FormatError;
use sealtrail::verify::{inspect, inspect_line, parse_line, Failure, Inspected, Rule};
use serde_json::Value;

/// The general path alone.
fn general(line: &[u8]) -> Result<Inspected, (Option<u64>, Rule)> {
    parse_line(line, 0)
        .and_then(|v| inspect(&v, 0))
        .map_err(|f| (f.seq, f.rule))
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

/// `line` with `edits` applied in order.
fn edited(line: String, edits: &[Edit]) -> Vec<u8> {
    let mut line = line.into_bytes();
    for e in edits {
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
    line
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
        let line = edited(sealtrail::canon::to_string(&c[k as usize]).unwrap(), &edits);
        prop_assert_eq!(either(&line), general(&line), "{}", String::from_utf8_lossy(&line));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The strict reader (one pass into a tape) reads exactly JSON: what
    /// serde_json parses it parses, what serde_json refuses it refuses as
    /// syntax. The one difference is by design: a number too large for a
    /// float is JSON, refused by the profile (not as syntax).
    #[test]
    fn the_strict_reader_reads_exactly_json(
        seed in 0u64..500,
        k in 0u64..6,
        edits in prop::collection::vec(edit(), 0..4),
    ) {
        let c = common::chain(k + 1, seed);
        let line = edited(sealtrail::canon::to_string(&c[k as usize]).unwrap(), &edits);
        let serde = serde_json::from_slice::<Value>(&line);
        let ours = sealtrail::canon::strict::parse(&line);
        let ours_syntax = matches!(ours, Err(FormatError::Syntax(_)));
        match serde {
            Err(e) if e.to_string().contains("number out of range") => {}
            serde => prop_assert_eq!(serde.is_err(), ours_syntax, "{} -> {:?}", String::from_utf8_lossy(&line), ours),
        }
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

/// `line` with its `hash` recomputed as a lenient reader would (the last of
/// two equal names wins, any number in ECMAScript form, any `ts` text), so
/// that only the strict profile can refuse it.
fn lenient_rehash(line: &str) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    let old = v["hash"].as_str().unwrap().to_owned();
    v.as_object_mut().unwrap().remove("hash");
    let canonical = sealtrail::canon::to_vec(&v).unwrap();
    line.replacen(&old, &sealtrail::Digest::of(&canonical).to_hex(), 1)
}

/// Edits a lenient reader accepts and the strict profile refuses, and
/// controls that both accept.
#[derive(Debug, Clone)]
enum Strictness {
    /// Another `actor` (or another member) named again before the real one.
    Duplicate(&'static str),
    /// A number member with this text (after `v`, so still sorted).
    Number(String),
    /// U+0000 written as this escape in the action.
    Nul(&'static str),
    /// `ts` rewritten by this function of its text.
    Ts(fn(&str) -> String),
}

fn strictness() -> impl Strategy<Value = (Strictness, bool)> {
    let refused = |s: Strictness| (s, true);
    let accepted = |s: Strictness| (s, false);
    prop_oneof![
        prop::sample::select(vec!["actor", "action", "seq", "subject"])
            .prop_map(move |m| refused(Strictness::Duplicate(m))),
        prop::sample::select(vec![
            "1.0",
            "1.5",
            "-0",
            "-0.0",
            "0e0",
            "1e2",
            "1E+2",
            "9007199254740992",
            "-9007199254740992",
            "18446744073709551616",
            "12345678901234567890",
        ])
        .prop_map(move |n| refused(Strictness::Number(n.to_owned()))),
        prop::sample::select(vec![
            "0",
            "-1",
            "9007199254740991",
            "-9007199254740991",
            "1234567890123456",
        ])
        .prop_map(move |n| accepted(Strictness::Number(n.to_owned()))),
        prop::sample::select(vec!["\\u0000", "a\\u0000b"])
            .prop_map(move |e| refused(Strictness::Nul(e))),
        prop::sample::select(vec![
            (|t: &str| format!("{}Z", &t[..19])) as fn(&str) -> String,
            |t| format!("{}0Z", &t[..23]),
            |t| format!("{}Z", &t[..22]),
            |t| format!("{}+00:00", &t[..23]),
            |t| format!("{}60{}", &t[..17], &t[19..]),
            |t| t.replace('T', "t"),
        ])
        .prop_map(move |f| refused(Strictness::Ts(f))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn strictness_is_the_same_on_both_paths(
        seed in 0u64..500,
        k in 0u64..6,
        (edit, refused) in strictness(),
        spaced in any::<bool>(),
    ) {
        let c = common::chain(k + 1, seed);
        let e = &c[k as usize];
        let line = sealtrail::canon::to_string(e).unwrap();
        let edited = match &edit {
            Strictness::Duplicate(m) => {
                let again = format!(r#""{m}":{},"#, match *m {
                    "actor" => r#"{"id":"intruder","role":"nurse"}"#.to_owned(),
                    "seq" => (e["seq"].as_u64().unwrap() + 1).to_string(),
                    _ => r#""x""#.to_owned(),
                });
                // Before the genuine member: a lenient reader keeps the genuine one.
                let at = line.find(&format!(r#""{m}":"#));
                match at {
                    Some(at) => format!("{}{again}{}", &line[..at], &line[at..]),
                    None => format!("{{{again}{}", &line[1..]),
                }
            }
            Strictness::Number(n) => lenient_rehash(&line.replacen(r#""v":1"#, &format!(r#""v":1,"zz":{n}"#), 1)),
            Strictness::Nul(esc) => {
                let action = e["action"].as_str().unwrap();
                lenient_rehash(&line.replacen(
                    &format!(r#""action":"{action}""#),
                    &format!(r#""action":"{action}{esc}""#),
                    1,
                ))
            }
            Strictness::Ts(f) => {
                let ts = e["ts"].as_str().unwrap();
                lenient_rehash(&line.replacen(ts, &f(ts), 1))
            }
        };
        prop_assert_ne!(&edited, &line);
        // Non-canonical spacing sends every line down the general path.
        let edited = if spaced { edited.replacen(',', ", ", 1) } else { edited };
        let fast = either(edited.as_bytes());
        prop_assert_eq!(&fast, &general(edited.as_bytes()), "{}", edited);
        if refused {
            prop_assert_eq!(fast.map_err(|(_, rule)| rule).err(), Some(Rule::Format), "{}", edited);
        } else {
            prop_assert!(fast.is_ok(), "{}", edited);
        }
    }
}
