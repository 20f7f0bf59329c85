//! RFC 8785 known-answer vectors (the RFC author's own, in
//! `shared/vectors/jcs/`): every input must canonicalize to exactly the
//! expected output bytes, which must also match the expected hex dump.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::path::PathBuf;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/jcs")
}

fn parse_hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[test]
fn every_vector_reproduces_byte_for_byte() {
    let dir = vectors();
    let mut names: Vec<String> = std::fs::read_dir(dir.join("input"))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join("input").display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 6,
        "expected the RFC's vectors, found {names:?}"
    );
    for name in &names {
        let input = std::fs::read(dir.join("input").join(name)).unwrap();
        let expected = std::fs::read(dir.join("output").join(name)).unwrap();
        let hex_name = name.replace(".json", ".txt");
        let hex = std::fs::read_to_string(dir.join("outhex").join(hex_name)).unwrap();
        assert_eq!(
            parse_hex(&hex),
            expected,
            "{name}: output and outhex disagree"
        );
        let value: serde_json::Value = serde_json::from_slice(&input).unwrap();
        let got = sealtrail::canon::to_vec(&value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "{name}"
        );
        assert_eq!(got, expected, "{name}");
        // Canonical form is a fixed point.
        let again: serde_json::Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(
            sealtrail::canon::to_vec(&again).unwrap(),
            expected,
            "{name}"
        );
    }
}
