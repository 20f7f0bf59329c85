//! `ingest_batch`: a random batch uploaded after a stored chain, checked the
//! way the collector checks it, by resuming the core's [`Verifier`] from the
//! stored head.
//!
//! From the fuzz bytes: how much of a true chain is stored, then a batch of
//! lines, each the next true event, any true event (a retry, a skip, a
//! reorder), an event of another chain, a true line with bytes changed, a
//! true line with its members spaced out, or raw bytes. The checks:
//!
//! - resuming from the stored head answers exactly as verifying the stored
//!   events and the batch from the start, and as [`verify_slice`] resuming
//!   over the batch as JSONL (the same event and rule on failure, the same
//!   head on success);
//! - an accepted batch is the true continuation: every line reads as the
//!   same JSON as the true event at its place. Nobody can forge a hash, so
//!   anything else accepted means the verifier let a changed event through.

use std::sync::OnceLock;

use sealtrail::chain::{to_line, ChainId};
use sealtrail::verify::{verify_slice, Failure, Options, Summary, Verifier};
use sealtrail::{Digest, Timestamp};
use serde_json::Value;

use super::bytes::Bytes;

/// Events of the true chain (some stored, the rest its continuation).
const TRUE_EVENTS: u64 = 12;

/// Lines of the true chain and of another chain.
fn chains() -> &'static (Vec<String>, Vec<String>) {
    static LINES: OnceLock<(Vec<String>, Vec<String>)> = OnceLock::new();
    LINES.get_or_init(|| {
        let lines = |n, seed| -> Vec<String> {
            sealtrail::sample::routine(n, seed, None)
                .expect("sample events")
                .iter()
                .map(|e| to_line(e).expect("an event has a line"))
                .collect()
        };
        (lines(TRUE_EVENTS, 1), lines(4, 2))
    })
}

/// Checks one input.
pub fn check(data: &[u8]) {
    let (truth, other) = chains();
    let mut b = Bytes::new(data);
    let stored = 1 + b.below(5);
    let mut next = stored;
    let mut batch: Vec<Vec<u8>> = Vec::new();
    for _ in 0..=b.below(6) {
        let pick_true = |b: &mut Bytes<'_>| b.pick(truth).cloned().unwrap_or_default();
        let mut line = match b.below(8) {
            0..=2 => {
                next += 1;
                truth
                    .get(next - 1)
                    .cloned()
                    .unwrap_or_default()
                    .into_bytes()
            }
            3 => pick_true(&mut b).into_bytes(),
            4 => b.pick(other).cloned().unwrap_or_default().into_bytes(),
            5 => {
                let mut line = truth.get(next).cloned().unwrap_or_default().into_bytes();
                for _ in 0..=b.below(3) {
                    let at = b.below(line.len().max(1));
                    match b.below(3) {
                        0 => line.insert(at.min(line.len()), b.byte()),
                        1 if at < line.len() => {
                            line.remove(at);
                        }
                        _ => {
                            if let Some(x) = line.get_mut(at) {
                                *x = b.byte();
                            }
                        }
                    }
                }
                line
            }
            6 => pick_true(&mut b)
                .replace("\":", "\": ")
                .replace(",\"", ", \"")
                .into_bytes(),
            _ => b.take(80).to_vec(),
        };
        // One event per line, never a blank one: the JSONL reader skips those.
        line.retain(|&c| c != b'\n');
        let trimmed = line.trim_ascii().to_vec();
        batch.push(if trimmed.is_empty() {
            b"x".to_vec()
        } else {
            trimmed
        });
    }

    let stored_lines = truth.get(..stored).expect("stored events are true ones");
    let last: Value = serde_json::from_str(stored_lines.last().expect("one stored")).expect("JSON");
    let resume = || {
        Verifier::resume(
            Options::default(),
            ChainId::parse(last["chain"].as_str().expect("chain")).expect("chain id"),
            last["seq"].as_u64().expect("seq"),
            Digest::parse(last["hash"].as_str().expect("hash")).expect("hash"),
            Timestamp::parse(last["ts"].as_str().expect("ts")).expect("ts"),
        )
    };

    let resumed = run(resume(), batch.iter().map(Vec::as_slice));
    let mut whole = Verifier::new(Options::default());
    for l in stored_lines {
        whole
            .push_line(l.as_bytes())
            .expect("the stored chain verifies");
    }
    let replayed = run(whole, batch.iter().map(Vec::as_slice));
    let jsonl = batch.join(&b'\n');
    let sliced = verify_slice(resume(), &jsonl, 1, &mut |_| {});

    let outcome = |r: &Result<Summary, Failure>| match r {
        Ok(s) => Ok((s.last_seq, s.head)),
        Err(f) => Err((f.seq, f.rule)),
    };
    assert_eq!(
        outcome(&resumed),
        outcome(&replayed),
        "resuming differs from replaying"
    );
    assert_eq!(
        outcome(&resumed),
        outcome(&sliced),
        "verify_slice differs from push_line"
    );
    if let (Err(a), Err(b)) = (&resumed, &sliced) {
        assert_eq!(a.position, b.position, "verify_slice names another line");
    }
    if resumed.is_ok() {
        for (i, line) in batch.iter().enumerate() {
            let got: Value = serde_json::from_slice(line).expect("an accepted line is JSON");
            let want: Value = truth
                .get(stored + i)
                .map(|l| serde_json::from_str(l).expect("JSON"))
                .expect("an accepted event continues the true chain");
            assert_eq!(
                got,
                want,
                "accepted a changed event: {}",
                String::from_utf8_lossy(line)
            );
        }
    }
}

/// Pushes every line; the summary, or the first failure.
fn run<'l>(mut v: Verifier, lines: impl Iterator<Item = &'l [u8]>) -> Result<Summary, Failure> {
    for l in lines {
        v.push_line(l)?;
    }
    Ok(v.finish())
}
