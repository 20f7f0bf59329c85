//! The ingest decision on plain data: no database.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use sealtrail::chain::{to_line, ChainWriter};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::{Action, Actor, EventDraft, Outcome};

use super::*;

fn chain(seed: u64) -> ChainId {
    ChainId::random(&mut SeededEntropy::new(seed)).unwrap()
}

/// `n` events of `chain`, as uploaded: canonical lines, inspected.
fn events(chain: &ChainId, n: u64) -> Vec<Uploaded> {
    let mut w = ChainWriter::new(chain.clone());
    (0..n)
        .map(|i| {
            let draft = EventDraft::new(
                Actor {
                    id: format!("s{i}"),
                    role: "nurse".into(),
                    name: None,
                    auth_strength: None,
                    team: None,
                },
                Action::View,
                Outcome::Success,
            );
            let ts = Timestamp::from_millis(1_700_000_000_000 + i64::try_from(i).unwrap()).unwrap();
            uploaded(&to_line(&w.append(draft, ts).unwrap()).unwrap(), i)
        })
        .collect()
}

fn uploaded(line: &str, position: u64) -> Uploaded {
    Uploaded {
        ins: sealtrail::verify::inspect_line(line.as_bytes(), position).unwrap(),
        line: line.to_owned(),
    }
}

/// What the store holds after `batch` was stored whole.
fn stored(batch: &[Uploaded]) -> Stored {
    let last = batch.last().unwrap();
    Stored {
        last_seq: Some(last.ins.seq),
        head: Some(Head {
            seq: last.ins.seq,
            hash: last.ins.computed,
            ts: last.ins.ts,
        }),
        events: batch
            .iter()
            .map(|u| {
                (
                    u.ins.seq,
                    StoredEvent {
                        seq: u.ins.seq,
                        line: u.line.clone(),
                        hash: u.ins.computed.to_hex(),
                        ts_ms: u.ins.ts.millis(),
                    },
                )
            })
            .collect(),
    }
}

/// An edited copy of `u` (hash recomputed, so only linking can catch it).
fn edited(u: &Uploaded, chain_members: bool) -> Uploaded {
    let mut v: Value = serde_json::from_str(&u.line).unwrap();
    v["actor"]["id"] = json!("someone-else");
    if chain_members {
        v["prev"] = json!(Digest::of(b"elsewhere").to_hex());
    }
    let h = sealtrail::chain::hash_event(v.as_object().unwrap()).unwrap();
    v["hash"] = json!(h.to_hex());
    uploaded(&sealtrail::canon::to_string(&v).unwrap(), u.ins.seq)
}

fn refusal(d: Decision) -> Refusal {
    match d {
        Decision::Refuse(r) => *r,
        other => panic!("expected a refusal, found {other:?}"),
    }
}

#[test]
fn a_first_batch_is_appended_whole() {
    let c = chain(1);
    let ev = events(&c, 5);
    let d = decide(&c, &Stored::default(), &[], &ev).unwrap();
    let Decision::Append { from, head } = d else {
        panic!("{d:?}")
    };
    assert_eq!((from, head.seq, head.hash), (0, 4, ev[4].ins.computed));
    assert_eq!(reads(None, &ev).unwrap().stored, None);
}

#[test]
fn a_continuation_links_to_the_stored_head_without_reading_events() {
    let c = chain(2);
    let ev = events(&c, 8);
    let mut s = stored(&ev[..4]);
    assert_eq!(reads(s.last_seq, &ev[4..]).unwrap().stored, None);
    s.events.clear();
    let d = decide(&c, &s, &[], &ev[4..]).unwrap();
    assert!(
        matches!(d, Decision::Append { from: 0, ref head } if head.seq == 7),
        "{d:?}"
    );
}

#[test]
fn a_batch_past_the_next_seq_is_a_gap() {
    let c = chain(3);
    let ev = events(&c, 8);
    let d = decide(&c, &stored(&ev[..2]), &[], &ev[4..]).unwrap();
    assert_eq!(d, Decision::Gap { expected_seq: 2 });
    let d = decide(&c, &Stored::default(), &[], &ev[1..]).unwrap();
    assert_eq!(d, Decision::Gap { expected_seq: 0 });
}

#[test]
fn retries_are_known_and_overlaps_append_only_the_new_part() {
    let c = chain(4);
    let ev = events(&c, 10);
    let s = stored(&ev[..6]);
    let d = decide(&c, &s, &[], &ev[..3]).unwrap();
    assert_eq!(
        d,
        Decision::Known {
            acked_seq: 2,
            head: ev[2].ins.computed
        },
        "a retry is acknowledged within the batch, never past it"
    );
    assert_eq!(reads(s.last_seq, &ev[3..]).unwrap().stored, Some((2, 5)));
    let d = decide(&c, &s, &[], &ev[3..]).unwrap();
    assert!(
        matches!(d, Decision::Append { from: 3, ref head } if head.seq == 9),
        "{d:?}"
    );
}

#[test]
fn a_different_stored_event_is_a_fork_with_both_versions() {
    let c = chain(5);
    let ev = events(&c, 6);
    let mut forged = ev.clone();
    forged[3] = edited(&ev[3], false);
    let r = refusal(decide(&c, &stored(&ev), &[], &forged[2..]).unwrap());
    assert!(r.fork);
    assert_eq!((r.index, r.seq, r.rule.as_str()), (1, 3, "fork"));
    assert_eq!(r.evidence["stored"]["actor"]["id"], json!("s3"));
    assert_eq!(r.evidence["uploaded"]["actor"]["id"], json!("someone-else"));
}

#[test]
fn a_broken_link_is_tamper_naming_the_core_rule() {
    let c = chain(6);
    let mut ev = events(&c, 6);
    ev[4] = edited(&ev[4], true);
    let r = refusal(decide(&c, &Stored::default(), &[], &ev).unwrap());
    assert!(!r.fork);
    assert_eq!((r.seq, r.rule.as_str()), (4, "prev"));
    let mut ev = events(&c, 6);
    ev.swap(2, 3);
    let r = refusal(decide(&c, &Stored::default(), &[], &ev).unwrap());
    assert_eq!((r.seq, r.rule.as_str()), (3, "seq"));
}

#[test]
fn an_event_contradicting_an_anchor_is_tamper() {
    let c = chain(7);
    let ev = events(&c, 6);
    let anchor = Anchor {
        seq: 4,
        hash: Digest::of(b"another head").to_hex(),
    };
    let r = refusal(decide(&c, &Stored::default(), &[anchor], &ev).unwrap());
    assert_eq!((r.seq, r.rule.as_str()), (4, "anchor"));
    let agreeing = Anchor {
        seq: 4,
        hash: ev[4].ins.computed.to_hex(),
    };
    assert!(matches!(
        decide(&c, &Stored::default(), &[agreeing], &ev).unwrap(),
        Decision::Append { .. }
    ));
}

#[test]
fn a_store_without_the_predecessor_is_inconsistent_never_a_chain_fault() {
    let c = chain(8);
    let ev = events(&c, 6);
    let mut s = stored(&ev[..4]);
    s.head = None;
    assert!(matches!(
        decide(&c, &s, &[], &ev[4..]),
        Err(DecideError::Inconsistent(_))
    ));
    let mut s = stored(&ev[..4]);
    s.events.remove(&1);
    assert!(matches!(
        decide(&c, &s, &[], &ev[2..]),
        Err(DecideError::Inconsistent(_))
    ));
    assert_eq!(decide(&c, &s, &[], &[]), Err(DecideError::Empty));
}
