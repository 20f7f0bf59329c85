//! The page session's size limits (issue 7): events never pass the
//! policy's cap and the host is told what was shortened; records are sealed
//! in steps, with the same answer as in one go.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{json, Value};

use sealtrail::bounded::event_size;
use sealtrail::chain::ChainWriter;
use sealtrail::decision::{Decision, FieldAction, HostAction};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::ChainId;
use sealtrail::event::Event;
use sealtrail::page::{PageSession, Pending, SealProgress, SealedRecord, Step};
use sealtrail::policy::Policy;
use sealtrail::session::Session;
use sealtrail::Timestamp;

const POLICY: &str = include_str!("../pkg-config/policy.default.json");

fn t0() -> Timestamp {
    Timestamp::parse("2026-11-23T10:00:00.000Z").unwrap()
}

fn page() -> PageSession {
    let policy = Policy::parse(POLICY).unwrap();
    let session = Session::from_value(
        &json!({
            "userId": "u-nurse-17", "name": "Nia Patel", "role": "nurse",
            "caseload": ["p-big", "youth-0000"], "team": "north", "authStrength": "mfa",
            "authTime": "2026-11-23T09:59:00.000Z", "expiresAt": "2026-11-23T20:00:00.000Z",
            "sessionId": "s-1", "client": "tests/page_bounded.rs"
        }),
        &policy,
        t0(),
    )
    .unwrap();
    PageSession::new(policy, session).unwrap()
}

/// Appends the drafts as the journal does, then commits.
fn store<S: Step>(page: &mut PageSession, pending: Pending<S>) -> S::Answer {
    let mut w = ChainWriter::new(ChainId::parse(&"ab".repeat(16)).unwrap());
    let events: Vec<Event> = pending
        .drafts()
        .iter()
        .map(|d| w.append(d.clone(), t0()).unwrap())
        .collect();
    pending.commit(page, &events).unwrap()
}

#[test]
fn a_three_megabyte_search_is_cut_and_the_host_told() {
    let mut p = page();
    let query = "é".repeat(1_600_000);
    let search = HostAction::Search {
        query: query.clone(),
        filters: Default::default(),
    };
    let pending = p.host_action(&search, None, t0()).unwrap();
    let cap = p.policy().limits().event_max_bytes as usize;
    assert!(event_size(&pending.drafts()[0]).unwrap() <= cap);
    let detail = pending.drafts()[0].detail.clone();
    assert_eq!(detail["query"].as_str().unwrap().chars().count(), 256);
    let out = store(&mut p, pending);
    assert_eq!(out.decision, Decision::Allow);
    let told = serde_json::to_value(out.bounded.unwrap()).unwrap();
    assert_eq!(told["query"]["bytes"], json!(query.len()));
    assert_eq!(told, detail["bounded"]);
}

#[test]
fn sixty_thousand_sealed_notes_make_one_event_under_the_cap() {
    let mut p = page();
    let record = sealtrail::sample::record_with_notes(60_000);
    let pending = p
        .seal(record, FieldAction::View, t0(), &mut SeededEntropy::new(1))
        .unwrap();
    let cap = p.policy().limits().event_max_bytes as usize;
    assert!(event_size(&pending.drafts()[0]).unwrap() <= cap);
    let mut out = store(&mut p, pending);
    let sealed: SealedRecord = out.pop().unwrap();
    let told = sealed.bounded.unwrap();
    assert_eq!(told.sealed.unwrap().count, 60_000);
    assert_eq!(told.fields.unwrap().count, 60_000);
    assert!(sealed.view["notes"][59_999]["text"]
        .get("$sealed")
        .is_some());
}

/// The answer of sealing `records` with steps of `budget` (`None`: in one go).
fn sealed_with(records: &[Value], budget: Option<usize>) -> (Vec<SealedRecord>, usize) {
    let mut p = page();
    let mut entropy = SeededEntropy::new(5);
    let named: Vec<(String, Value)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("/records/{i}"), r.clone()))
        .collect();
    let mut steps = 0;
    let pending = match budget {
        None => p
            .seal_many(records.to_vec(), FieldAction::View, t0(), &mut entropy)
            .unwrap(),
        Some(b) => {
            let mut run = p.start_seal(named, FieldAction::View, t0());
            loop {
                steps += 1;
                match p.seal_step(run, b, &mut entropy).unwrap() {
                    SealProgress::More(r) => run = r,
                    SealProgress::Done(pending) => break pending,
                }
            }
        }
    };
    (store(&mut p, pending), steps)
}

#[test]
fn sealing_in_steps_answers_as_sealing_in_one_go() {
    let records: Vec<Value> = (0..3)
        .map(sealtrail::sample::caseload_record)
        .chain([sealtrail::sample::record_with_notes(500)])
        .collect();
    let (once, _) = sealed_with(&records, None);
    for budget in [1, 7, 64, 1000] {
        let (stepped, steps) = sealed_with(&records, Some(budget));
        assert_eq!(stepped, once, "budget {budget}");
        assert!(steps > 1, "budget {budget} took one step");
    }
}

#[test]
fn a_step_after_the_session_changed_fails() {
    let mut p = page();
    let run = p.start_seal(
        vec![("/record".into(), sealtrail::sample::record_with_notes(100))],
        FieldAction::View,
        t0(),
    );
    let SealProgress::More(run) = p.seal_step(run, 10, &mut SeededEntropy::new(1)).unwrap() else {
        panic!("done in one small step")
    };
    let lead = json!({
        "userId": "sg-001", "name": "Dana Lead", "role": "safeguardingLead",
        "authStrength": "mfa", "authTime": "2026-11-23T09:59:00.000Z",
        "expiresAt": "2026-11-23T20:00:00.000Z", "sessionId": "s-2", "client": "tests"
    });
    p.set_session(&lead, t0()).unwrap();
    let e = p
        .seal_step(run, 10, &mut SeededEntropy::new(1))
        .unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some("/record"));
}
