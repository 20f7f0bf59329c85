//! `ingest_batch`: a random batch uploaded after a stored chain, decided by
//! the collector's pure ingest decision (`sealtrail_collector::decision`)
//! over the stored range, the anchors and the batch, as the collector
//! decides it under the chain's lock.
//!
//! From the fuzz bytes: how much of a true chain is stored (none to five
//! events), anchors (true or false heads), then a batch of lines, each the
//! next true event, any true event (a retry, a skip, a reorder), an event of
//! another chain, a true line with bytes changed, a stored event edited and
//! hashed again (a fork), the next event hashed again after another `prev`,
//! or raw bytes. Each line is read as the collector reads an upload (strict
//! parse, canonical line, the core's inspection); a batch with a line that
//! does not pass is a `400` and decided no further.
//!
//! The reference answer comes from how the batch was built, not from a
//! verifier: a batch starting past the next expected `seq` is a gap;
//! otherwise the first event that is not the true event at its place (or
//! that an anchor contradicts) is refused, as foreign when it names another
//! chain (callers answer those `400` before deciding); a batch of true
//! events only is acknowledged as known when it is all stored, else
//! appended from its first new event with the last one as the head. Nobody
//! can forge a hash, so anything else accepted would be the collector
//! letting a changed event through.
//!
//! Besides, the core's verifier resumed from the stored head answers the
//! lines exactly as verifying the stored events and the lines from the
//! start, and as `verify_slice` resuming over the lines as JSONL.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use sealtrail::canon::strict;
use sealtrail::chain::{hash_event, to_line, ChainWriter};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::{Action, Actor, ChainId, EventDraft, Outcome};
use sealtrail::verify::{inspect_line, verify_slice, Failure, Options, Summary, Verifier};
use sealtrail::{Digest, Timestamp};
use sealtrail_collector::decision::{
    decide, reads, Anchor, DecideError, Decision, Head, Stored, StoredEvent, Uploaded,
};
use serde_json::Value;

use super::bytes::Bytes;

/// Events of the true chain (some stored, the rest its continuation).
const TRUE_EVENTS: u64 = 12;

/// The true chain and another one, as uploaded: views by a few staff, a
/// second apart, with a detail member to give mutations numbers to hit.
fn chains() -> &'static (Vec<Uploaded>, Vec<Uploaded>) {
    static CHAINS: OnceLock<(Vec<Uploaded>, Vec<Uploaded>)> = OnceLock::new();
    CHAINS.get_or_init(|| {
        let events = |n: u64, seed: u64| -> Vec<Uploaded> {
            let chain = ChainId::random(&mut SeededEntropy::new(seed)).expect("a chain id");
            let mut w = ChainWriter::new(chain);
            (0..n)
                .map(|i| {
                    let actor = Actor {
                        id: format!("staff-{}", (i + seed) % 3),
                        role: "nurse".to_owned(),
                        name: None,
                        auth_strength: Some("mfa".to_owned()),
                        team: None,
                    };
                    let mut d = EventDraft::new(actor, Action::View, Outcome::Success);
                    d.detail.insert("n".to_owned(), Value::from(i));
                    let ts = Timestamp::from_millis(
                        1_795_000_000_000 + 1_000 * i64::try_from(i).expect("small"),
                    )
                    .expect("a time");
                    let e = w.append(d, ts).expect("appends");
                    upload(to_line(&e).expect("an event has a line").as_bytes())
                        .expect("a true event passes")
                })
                .collect()
        };
        (events(TRUE_EVENTS, 1), events(4, 2))
    })
}

/// A line read as the collector reads an uploaded event; `None` is a `400`.
fn upload(text: &[u8]) -> Option<Uploaded> {
    let line = strict::to_string(&strict::parse(text).ok()?).ok()?;
    let ins = inspect_line(line.as_bytes(), 0).ok()?;
    Some(Uploaded { ins, line })
}

/// The line of `u` with `edit` applied to its event and the hash recomputed.
fn rehashed(u: &Uploaded, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let Ok(Value::Object(mut event)) = serde_json::from_str::<Value>(&u.line) else {
        return Vec::new();
    };
    edit(&mut event);
    if let Ok(h) = hash_event(&event) {
        event.insert("hash".to_owned(), Value::from(h.to_hex()));
    }
    Value::Object(event).to_string().into_bytes()
}

/// Checks one input.
pub fn check(data: &[u8]) {
    let (truth, other) = chains();
    let mut b = Bytes::new(data);
    let stored = b.below(6);
    let anchors: Vec<Anchor> = (0..b.below(3))
        .filter_map(|_| {
            let seq = b.below(truth.len());
            let hash = if b.one_in(3) {
                Digest::of(&[b.byte()]).to_hex()
            } else {
                truth.get(seq)?.ins.computed.to_hex()
            };
            Some(Anchor {
                seq: u64::try_from(seq).ok()?,
                hash,
            })
        })
        .collect();
    let mut next = stored;
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for _ in 0..=b.below(6) {
        let line_of = |u: Option<&Uploaded>| u.map(|u| u.line.clone().into_bytes());
        let mut line = match b.below(10) {
            0..=2 => {
                next += 1;
                line_of(truth.get(next - 1))
            }
            3 => line_of(b.pick(truth)),
            4 => line_of(b.pick(other)),
            5 => line_of(truth.get(next)).map(|mut line| {
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
            }),
            6 => {
                let byte = b.byte();
                truth.get(..stored).and_then(|s| b.pick(s)).map(|u| {
                    rehashed(u, |e| {
                        e.insert(
                            "actor".to_owned(),
                            serde_json::json!({"id": format!("x{byte}"), "role": "nurse"}),
                        );
                    })
                })
            }
            7 => {
                let prev = Digest::of(b.take(4)).to_hex();
                truth
                    .get(next)
                    .map(|u| rehashed(u, |e| drop(e.insert("prev".to_owned(), Value::from(prev)))))
            }
            _ => Some(b.take(80).to_vec()),
        }
        .unwrap_or_default();
        // One event per line, never a blank one: the JSONL reader skips those.
        line.retain(|&c| c != b'\n');
        let trimmed = line.trim_ascii().to_vec();
        lines.push(if trimmed.is_empty() {
            b"x".to_vec()
        } else {
            trimmed
        });
    }

    let stored_events = truth.get(..stored).expect("stored events are true ones");
    check_verifier(stored_events, &lines);
    let Some(batch) = lines.iter().map(|l| upload(l)).collect::<Option<Vec<_>>>() else {
        return; // a `400`: the batch is never decided
    };
    check_decision(truth, stored, &anchors, &batch);
}

/// The collector's decision against the reference answer.
fn check_decision(truth: &[Uploaded], stored: usize, anchors: &[Anchor], batch: &[Uploaded]) {
    let chain = ChainId::parse(&truth.first().expect("a true event").ins.chain).expect("chain id");
    let next_expected = u64::try_from(stored).expect("small");
    let head = stored.checked_sub(1).and_then(|i| truth.get(i));
    let wanted = reads(head.map(|h| h.ins.seq), batch).expect("a batch is not empty");
    let range = |(from, to): (u64, u64)| {
        truth
            .iter()
            .filter(move |u| from <= u.ins.seq && u.ins.seq <= to)
    };
    let store = Stored {
        last_seq: head.map(|h| h.ins.seq),
        head: head.map(|h| Head {
            seq: h.ins.seq,
            hash: h.ins.computed,
            ts: h.ins.ts,
        }),
        events: wanted
            .stored
            .into_iter()
            .flat_map(range)
            .map(|u| {
                let e = StoredEvent {
                    seq: u.ins.seq,
                    line: u.line.clone(),
                    hash: u.ins.computed.to_hex(),
                    ts_ms: u.ins.ts.millis(),
                };
                (u.ins.seq, e)
            })
            .collect::<BTreeMap<_, _>>(),
    };
    let (from, to) = wanted.anchors;
    let in_range: Vec<Anchor> = anchors
        .iter()
        .filter(|a| from <= a.seq && a.seq <= to)
        .cloned()
        .collect();
    let got = decide(&chain, &store, &in_range, batch);

    let first_seq = batch.first().expect("not empty").ins.seq;
    let shown = |u: &Uploaded| u.line.clone();
    if first_seq > next_expected {
        assert!(
            matches!(got, Ok(Decision::Gap { expected_seq }) if expected_seq == next_expected),
            "expected a gap at {next_expected}, got {got:?}"
        );
        return;
    }
    let is_true = |i: usize, u: &Uploaded| {
        let place = first_seq.checked_add(u64::try_from(i).ok()?)?;
        let t = truth.get(usize::try_from(place).ok()?)?;
        let anchored_elsewhere = anchors
            .iter()
            .any(|a| a.seq == place && a.hash != t.ins.computed.to_hex());
        (t.line == u.line && !anchored_elsewhere).then_some(t)
    };
    match batch
        .iter()
        .enumerate()
        .find(|(i, u)| is_true(*i, u).is_none())
    {
        Some((i, u)) if u.ins.chain != chain.as_str() => assert!(
            matches!(got, Err(DecideError::Foreign { index }) if index == i),
            "expected event {i} refused for naming another chain ({}), got {got:?}",
            shown(u)
        ),
        Some((i, u)) => match &got {
            Ok(Decision::Refuse(r)) => assert_eq!(
                r.index,
                i,
                "refused another event than the first false one ({})",
                shown(u)
            ),
            other => panic!("accepted a false event {i} ({}): {other:?}", shown(u)),
        },
        None => {
            let last = batch.last().expect("not empty");
            if last.ins.seq < next_expected {
                // Acknowledged within the batch, never past it (the
                // uploader deletes nothing on an ack outside its batch).
                assert!(head.is_some(), "a retry of stored events has a stored head");
                assert!(
                    matches!(&got, Ok(Decision::Known { acked_seq, head })
                        if *acked_seq == last.ins.seq && *head == last.ins.computed),
                    "expected the retry known at the batch's last event, got {got:?}"
                );
            } else {
                let new = usize::try_from(next_expected - first_seq).expect("small");
                assert!(
                    matches!(&got, Ok(Decision::Append { from, head })
                        if *from == new && head.seq == last.ins.seq && head.hash == last.ins.computed),
                    "expected an append from event {new}, got {got:?}"
                );
            }
        }
    }
}

/// Resuming from the stored head agrees with replaying from the start and
/// with `verify_slice`.
fn check_verifier(stored: &[Uploaded], lines: &[Vec<u8>]) {
    let resume = || match stored.last() {
        None => Verifier::new(Options::default()),
        Some(last) => Verifier::resume(
            Options::default(),
            ChainId::parse(&last.ins.chain).expect("chain id"),
            last.ins.seq,
            last.ins.computed,
            last.ins.ts,
        ),
    };
    let resumed = run(resume(), lines.iter().map(Vec::as_slice));
    let stored_lines = stored.iter().map(|u| u.line.as_bytes());
    let replayed = run(
        Verifier::new(Options::default()),
        stored_lines.chain(lines.iter().map(Vec::as_slice)),
    );
    let sliced = verify_slice(resume(), &lines.join(&b'\n'), 1, &mut |_| {});
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
}

/// Pushes every line; the summary, or the first failure.
fn run<'l>(mut v: Verifier, lines: impl Iterator<Item = &'l [u8]>) -> Result<Summary, Failure> {
    for l in lines {
        v.push_line(l)?;
    }
    Ok(v.finish())
}
