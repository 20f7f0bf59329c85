//! Our RFC 8785 canonical form against the npm `canonicalize` package (the
//! RFC author's JavaScript implementation) on random JSON documents: both
//! parse the same text and must produce the same bytes, or both refuse it.
//! The strict profile's own writer (`canon::strict`, what events are hashed
//! with) must produce the same bytes too wherever it accepts a document.
//!
//! Needs `node` and `node_modules/canonicalize` in the repository root (the
//! test script runs `npm ci` first); without them the test says so and skips.
//! Inputs that once disagreed are kept in `tests/fixtures/canon/`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A small deterministic generator (xorshift64*): reproducible documents
/// without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A JSON string literal with raw and escaped characters of every kind.
fn string(r: &mut Rng) -> String {
    let mut s = String::from("\"");
    for _ in 0..r.below(8) {
        match r.below(12) {
            0 => s.push_str(r.pick(&["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"])),
            1 => s.push_str(&format!("\\u{:04x}", r.below(0x20))),
            2 => {
                // A BMP escape outside the surrogate range, upper or lower case hex.
                let mut c = r.below(0xFFFF) as u32;
                if (0xD800..0xE000).contains(&c) {
                    c -= 0x800;
                }
                if r.below(2) == 0 {
                    s.push_str(&format!("\\u{c:04X}"));
                } else {
                    s.push_str(&format!("\\u{c:04x}"));
                }
            }
            3 => {
                // An astral character as an escaped surrogate pair.
                let c = 0x10000 + r.below(0xFFFFF) as u32;
                let v = c - 0x10000;
                s.push_str(&format!(
                    "\\u{:04X}\\u{:04x}",
                    0xD800 + (v >> 10),
                    0xDC00 + (v & 0x3FF)
                ));
            }
            4 => s.push_str(r.pick(&[
                "é",
                "€",
                "\u{2028}",
                "\u{FEFF}",
                "😀",
                "דּ",
                "\u{7F}",
                "ü",
                "\u{10FFFF}",
            ])),
            _ => match char::from(b' ' + r.below(95) as u8) {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c => s.push(c),
            },
        }
    }
    s.push('"');
    s
}

/// A number literal: integers small and huge, decimals, exponents.
fn number(r: &mut Rng) -> String {
    let sign = if r.below(3) == 0 { "-" } else { "" };
    match r.below(6) {
        0 => format!("{sign}{}", r.below(1000)),
        1 => format!("{sign}{}", r.next()),
        2 => format!("{sign}{}.{}", r.below(100_000), r.below(1_000_000_000)),
        3 => format!(
            "{sign}{}.{}{}{}{}",
            r.below(10),
            r.below(1_000_000),
            r.pick(&["e", "E"]),
            r.pick(&["", "+", "-"]),
            r.below(290)
        ),
        4 => format!("{sign}{}e{}", r.below(10_000_000_000), r.below(30)),
        _ => format!("{sign}0.{:0>12}", r.below(1_000_000)),
    }
}

fn value(r: &mut Rng, depth: u32) -> String {
    let kinds = if depth > 5 { 4 } else { 6 };
    match r.below(kinds) {
        0 => r.pick(&["null", "true", "false"]).to_owned(),
        1 => number(r),
        2 | 3 => string(r),
        4 => {
            let items: Vec<String> = (0..r.below(5)).map(|_| value(r, depth + 1)).collect();
            format!("[{}]", items.join(r.pick(&[",", ", ", " ,\t"])))
        }
        _ => {
            let mut keys = std::collections::BTreeSet::new();
            let members: Vec<String> = (0..r.below(6))
                .filter_map(|_| {
                    let k = string(r);
                    // Duplicate names (after unescaping) are out of scope.
                    let decoded: String = serde_json::from_str(&k).ok()?;
                    keys.insert(decoded)
                        .then(|| format!("{k}:{}", value(r, depth + 1)))
                })
                .collect();
            format!("{{{}}}", members.join(","))
        }
    }
}

/// Documents: fixtures first, then random ones from fixed seeds.
fn documents() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/canon");
    let mut docs = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // One line per document on the wire.
        docs.push((f.display().to_string(), text.replace('\n', " ")));
    }
    for seed in 1..=2000u64 {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        docs.push((format!("seed {seed}"), value(&mut r, 0)));
    }
    docs
}

/// Runs npm `canonicalize` over each line: hex of the output bytes, or `ERR`.
fn npm_canonicalize(root: &Path, lines: &str) -> Vec<String> {
    let script = r#"
import canonicalize from 'canonicalize';
import { readFileSync } from 'node:fs';
const out = [];
for (const line of readFileSync(0, 'utf8').split('\n')) {
  if (line === '') continue;
  try { out.push(Buffer.from(canonicalize(JSON.parse(line)), 'utf8').toString('hex')); }
  catch (e) { out.push('ERR'); }
}
process.stdout.write(out.join('\n') + '\n');
"#;
    let mut child = Command::new("node")
        .args(["--input-type=module", "-e", script])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot run node");
    let mut stdin = child.stdin.take().unwrap();
    let input = lines.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "node failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn matches_npm_canonicalize_on_random_documents() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if !root.join("node_modules/canonicalize").is_dir() {
        println!(
            "SKIPPED canon_npm: {} is missing; run `npm ci` in the repository root",
            root.join("node_modules/canonicalize").display()
        );
        return;
    }
    if Command::new("node").arg("--version").output().is_err() {
        println!("SKIPPED canon_npm: `node` is not on PATH");
        return;
    }
    let docs = documents();
    let lines: String = docs.iter().map(|(_, d)| format!("{d}\n")).collect();
    let theirs = npm_canonicalize(&root, &lines);
    assert_eq!(
        theirs.len(),
        docs.len(),
        "node answered a different number of lines"
    );
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut strict_compared = 0;
    for ((name, doc), their) in docs.iter().zip(&theirs) {
        let ours = serde_json::from_str::<serde_json::Value>(doc)
            .ok()
            .and_then(|v| sealtrail::canon::to_vec(&v).ok())
            .map_or_else(|| "ERR".to_owned(), hex::encode);
        if &ours != their {
            failures.push(format!(
                "{name}: {doc}\n  ours: {}\n  npm:  {}",
                decode(&ours),
                decode(their)
            ));
        } else if ours != "ERR" {
            compared += 1;
        }
        let strict = sealtrail::canon::strict::parse(doc.as_bytes())
            .and_then(|v| sealtrail::canon::strict::to_vec(&v));
        if let Ok(bytes) = strict {
            strict_compared += 1;
            if &hex::encode(&bytes) != their {
                failures.push(format!(
                    "{name} (strict writer): {doc}\n  ours: {}\n  npm:  {}",
                    String::from_utf8_lossy(&bytes),
                    decode(their)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} documents differ (save each as a fixture in tests/fixtures/canon/):\n{}",
        failures.len(),
        docs.len(),
        failures.join("\n")
    );
    assert!(
        compared > docs.len() * 9 / 10,
        "too few documents were canonicalized: {compared}"
    );
    // Most random documents hold a float somewhere; enough do not.
    assert!(
        strict_compared > docs.len() / 5,
        "too few documents fit the strict profile: {strict_compared}"
    );
}

/// The strict reader (a tape, not serde) reads exactly JSON: on every
/// random document, and on every cut of it, it refuses as syntax exactly
/// what serde_json refuses, except numbers too large for a float (JSON, and
/// refused by the profile). Needs no node.
#[test]
fn the_strict_reader_agrees_with_serde_json_on_random_documents() {
    use sealtrail::canon::strict::{self, FormatError};
    let mut checked = 0;
    for (name, doc) in documents() {
        let cuts = [doc.len(), doc.len() * 2 / 3, doc.len() / 2, doc.len() / 3];
        for cut in cuts {
            let text = &doc.as_bytes()[..cut];
            let serde = serde_json::from_slice::<serde_json::Value>(text);
            if let Err(e) = &serde {
                if e.to_string().contains("number out of range") {
                    continue;
                }
            }
            let ours = strict::parse(text);
            assert_eq!(
                serde.is_err(),
                matches!(ours, Err(FormatError::Syntax(_))),
                "{name}, first {cut} bytes: {}\n  ours: {ours:?}",
                String::from_utf8_lossy(text)
            );
            checked += 1;
        }
    }
    assert!(checked > 6000, "{checked}");
}

fn decode(h: &str) -> String {
    hex::decode(h).map_or_else(
        |_| h.to_owned(),
        |b| String::from_utf8_lossy(&b).into_owned(),
    )
}

#[test]
fn lone_surrogates_are_refused() {
    // JavaScript accepts them; RFC 8785 output must be valid UTF-8, so we
    // refuse such input rather than hash something another side cannot.
    assert!(serde_json::from_str::<serde_json::Value>(r#""\ud800""#).is_err());
}
