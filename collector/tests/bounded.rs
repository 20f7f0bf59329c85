//! Bounded events reach the collector (issue 7): a search with a 3 MB query
//! and a view of a record with 60,000 restricted notes each make one event
//! under the policy's cap, which the collector accepts at its default body
//! limit, and the chain goes on. The same events unbounded are refused with
//! `413`, which is how a chain used to stop for good.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use sealtrail::chain::ChainWriter;
use sealtrail::decision::{Access, FieldAction, HostAction};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::EventDraft;
use sealtrail::page::PageSession;
use sealtrail::policy::Policy;
use sealtrail::session::Session;
use sealtrail::Timestamp;
use serde_json::{json, Value};

const POLICY: &str = include_str!("../../pkg-config/policy.default.json");
const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

fn now() -> Timestamp {
    Timestamp::from_millis(base_ms()).unwrap()
}

fn nurse(policy: &Policy) -> Session {
    let t = |ms: i64| now().plus_millis(ms).to_string();
    Session::from_value(
        &json!({
            "userId": "u-nurse-17", "name": "Nia Patel", "role": "nurse", "caseload": ["p-big"],
            "team": "north", "authStrength": "mfa", "authTime": t(-60_000),
            "expiresAt": t(3_600_000), "sessionId": "s-1", "client": "collector/tests/bounded.rs"
        }),
        policy,
        now(),
    )
    .unwrap()
}

/// A record of `n` domestic-violence notes (the core's
/// `sample::record_with_notes`, which the collector does not build with).
fn record_with_notes(n: usize) -> Value {
    let notes: Vec<Value> = (0..n)
        .map(|k| {
            json!({"id": format!("n{k}"), "date": "2026-11-20", "author": "staff-0012", "type": "dvIndicator",
                   "text": format!("Note {k}: disclosed controlling behaviour at home; safety plan reviewed.")})
        })
        .collect();
    json!({"id": "p-big", "resourceType": "patient", "team": "north", "name": "Sam Example", "notes": notes})
}

/// The events `drafts` become, one second apart, as uploaded.
fn append(w: &mut ChainWriter, drafts: &[EventDraft], from: i64) -> Vec<Value> {
    drafts
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let at = now().plus_millis((from + i as i64) * 1000);
            serde_json::to_value(w.append(d.clone(), at).unwrap()).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn bounded_events_are_accepted_and_the_chain_goes_on() {
    let s = server_with(|c| c.max_body_bytes = DEFAULT_BODY_LIMIT).await;
    let policy = Policy::parse(POLICY).unwrap();
    let cap = policy.limits().event_max_bytes as usize;
    let page = PageSession::new(policy.clone(), nurse(&policy)).unwrap();
    let search = HostAction::Search {
        query: "x".repeat(3 * 1024 * 1024),
        filters: Default::default(),
    };
    let searched = page.host_action(&search, None, now()).unwrap();
    let sealed = page
        .seal(
            record_with_notes(60_000),
            FieldAction::View,
            now(),
            &mut SeededEntropy::new(1),
        )
        .unwrap();
    let small = page.host_action(&HostAction::Print, None, now()).unwrap();
    let chain = chain_id(70);
    let mut w = ChainWriter::new(chain.clone());
    let mut events = append(&mut w, searched.drafts(), 0);
    events.extend(append(&mut w, sealed.drafts(), 1));
    events.extend(append(&mut w, small.drafts(), 2));
    for (i, e) in events.iter().enumerate() {
        let bytes = sealtrail::canon::to_vec(e).unwrap().len();
        assert!(
            bytes <= cap,
            "event {i} is {bytes} bytes, over the cap of {cap}"
        );
        let (st, body) = s.upload(chain.as_str(), std::slice::from_ref(e)).await;
        assert_eq!(st, 200, "event {i}: {body}");
    }
    assert_eq!(
        events[0]["detail"]["bounded"]["query"]["bytes"],
        json!(3 * 1024 * 1024)
    );
    assert_eq!(
        events[1]["detail"]["bounded"]["sealed"]["count"],
        json!(60_000)
    );
    assert_eq!(s.stored_count(chain.as_str()).await, 3);
}

#[tokio::test]
async fn unbounded_the_same_view_is_refused_as_too_large() {
    let s = server_with(|c| c.max_body_bytes = DEFAULT_BODY_LIMIT).await;
    let policy = Policy::parse(POLICY).unwrap();
    let session = nurse(&policy);
    let sealed = Access::new(&policy, &session, now(), &[])
        .seal(
            record_with_notes(60_000),
            FieldAction::View,
            &mut SeededEntropy::new(1),
        )
        .unwrap();
    // The view's event as it was logged before events were bounded: every
    // sealed pointer listed, twice.
    let mut raw = sealed.draft;
    let pointers: Vec<String> = sealed.vault.entries().map(|e| e.pointer.clone()).collect();
    raw.detail.remove("bounded");
    raw.detail.insert("sealed".into(), json!(pointers));
    raw.fields = pointers;
    let chain = chain_id(71);
    let mut w = ChainWriter::new(chain.clone());
    let events = append(&mut w, &[raw], 0);
    assert!(sealtrail::canon::to_vec(&events[0]).unwrap().len() > DEFAULT_BODY_LIMIT);
    let (st, _) = s.upload(chain.as_str(), &events).await;
    assert_eq!(st, 413);
}
