//! Server time in the alert engine (issue 9): the rules judge an event at
//! its own `ts`, but never later than its receive time plus the skew, so a
//! client clock cannot move the windows the others are judged in; and
//! retention goes by receive time. The attack against a real collector run
//! with `--insecure-open-ingest` (no credential bounds the clock), on the
//! store the harness picks (SQLite, or PostgreSQL with
//! `SEALTRAIL_TEST_POSTGRES_URL`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use common::*;
use sealtrail::chain::ChainWriter;
use sealtrail::event::{Action, Actor, EventDraft, Outcome, Relation, Subject};
use sealtrail::Timestamp;

const MINUTE: i64 = 60_000;
/// The latest time the one written form can hold.
const Y9999: i64 = 253_402_300_799_999;

fn access(actor: &str, record: &str, relation: Option<Relation>) -> EventDraft {
    let mut d = EventDraft::new(
        Actor {
            id: actor.into(),
            role: "nurse".into(),
            name: None,
            auth_strength: Some("mfa".into()),
            team: None,
        },
        Action::View,
        Outcome::Success,
    );
    d.subject = Some(Subject {
        record_id: record.into(),
        record_type: Some("youth".into()),
        relation,
        demographics: Default::default(),
        related: false,
    });
    d
}

/// A chain being written, uploaded a few events at a time.
struct Writer {
    w: ChainWriter,
    id: String,
}

impl Writer {
    fn new(seed: u64) -> Self {
        let chain = chain_id(seed);
        Self {
            id: chain.to_string(),
            w: ChainWriter::new(chain),
        }
    }

    async fn send(&mut self, s: &TestServer, events: Vec<(EventDraft, i64)>) {
        let values: Vec<Value> = events
            .into_iter()
            .map(|(d, ms)| {
                let e = self
                    .w
                    .append(d, Timestamp::from_millis(ms).unwrap())
                    .unwrap();
                serde_json::to_value(&e).unwrap()
            })
            .collect();
        let (st, body) = s.upload(&self.id, &values).await;
        assert_eq!(st, 200, "{body}");
    }
}

/// The alert rules whose findings name `actor`.
async fn rules_naming(s: &TestServer, actor: &str) -> BTreeSet<String> {
    let (st, body) = s
        .get("/api/alerts?kind=alert&limit=10000", Some(LEAD))
        .await;
    assert_eq!(st, 200, "{body}");
    body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["evidence"]["actors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == json!(actor))
        })
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// One staff member's unassigned browsing (three visits to `r1`, six
/// records in minutes) and two colleagues on one record without a care
/// reason, minutes apart: `repeated-unassigned`, `bulk-access`,
/// `concurrent-access`. `attack` runs halfway through.
struct Scene {
    name: &'static str,
    a: Writer,
    p: Writer,
    q: Writer,
}

impl Scene {
    fn new(name: &'static str, seed: u64) -> Self {
        Self {
            name,
            a: Writer::new(seed),
            p: Writer::new(seed + 1),
            q: Writer::new(seed + 2),
        }
    }

    fn who(&self, role: &str) -> String {
        format!("{}-{role}", self.name)
    }

    fn rec(&self, r: &str) -> String {
        format!("{}-{r}", self.name)
    }

    async fn first_half(&mut self, s: &TestServer, t0: i64) {
        let (a, un) = (self.who("a"), Some(Relation::Unassigned));
        let evs = ["r1", "r1", "r2", "r3"]
            .iter()
            .enumerate()
            .map(|(i, r)| (access(&a, &self.rec(r), un), t0 + i as i64 * 30_000))
            .collect();
        self.a.send(s, evs).await;
        let p = self.who("p");
        let shared = self.rec("shared");
        let shared2 = self.rec("shared2");
        self.p
            .send(
                s,
                vec![
                    (access(&p, &shared, None), t0),
                    (access(&p, &shared2, None), t0 + 5 * MINUTE),
                ],
            )
            .await;
    }

    async fn second_half(&mut self, s: &TestServer, t0: i64) {
        let (a, un) = (self.who("a"), Some(Relation::Unassigned));
        let evs = ["r1", "r4", "r5", "r6"]
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    access(&a, &self.rec(r), un),
                    t0 + 3 * MINUTE + i as i64 * 30_000,
                )
            })
            .collect();
        self.a.send(s, evs).await;
        let q = self.who("q");
        let shared = self.rec("shared");
        self.q
            .send(s, vec![(access(&q, &shared, None), t0 + 4 * MINUTE)])
            .await;
    }

    /// After a restart: a colleague on the second shared record.
    async fn after_restart(&mut self, s: &TestServer, t0: i64) {
        let q = self.who("q");
        let shared2 = self.rec("shared2");
        self.q
            .send(s, vec![(access(&q, &shared2, None), t0 + 6 * MINUTE)])
            .await;
    }

    /// The rules naming each of the scene's staff.
    async fn found(&self, s: &TestServer) -> Vec<BTreeSet<String>> {
        let mut out = Vec::new();
        for role in ["a", "p", "q"] {
            out.push(rules_naming(s, &self.who(role)).await);
        }
        out
    }
}

#[tokio::test]
async fn a_far_future_or_far_past_event_moves_no_alert_window() {
    let s = server().await;
    // Events a few minutes old, uploaded live: the realistic case, and the
    // one a window moved to 9999 would empty.
    let t0 = now_ms() - 10 * MINUTE;
    let mut reference = Scene::new("ref", 9100);
    let mut victim = Scene::new("vic", 9200);
    reference.first_half(&s, t0).await;
    victim.first_half(&s, t0).await;

    // The attack: events stamped 9999 naming the victim and touching the
    // shared records, and a chain that starts in 1970, all posted by anyone.
    let mut future = Writer::new(9300);
    future
        .send(
            &s,
            vec![
                (access("vic-a", "vic-r1", Some(Relation::Unassigned)), Y9999),
                (access("mallory", "vic-shared", None), Y9999),
                (access("mallory", "vic-shared2", None), Y9999),
            ],
        )
        .await;
    let mut past = Writer::new(9400);
    past.send(
        &s,
        vec![
            (access("vic-a", "vic-r1", Some(Relation::Unassigned)), 0),
            (access("mallory", "vic-shared", None), 0),
            (access("mallory", "vic-old", None), t0 + 2 * MINUTE),
        ],
    )
    .await;

    reference.second_half(&s, t0).await;
    victim.second_half(&s, t0).await;

    let expected = reference.found(&s).await;
    for rule in ["repeated-unassigned", "bulk-access", "concurrent-access"] {
        assert!(
            expected[0].contains(rule) || expected[1].contains(rule),
            "the scene raises {rule}: {expected:?}"
        );
    }
    let got = victim.found(&s).await;
    for (want, have) in expected.iter().zip(&got) {
        assert!(
            want.is_subset(have),
            "the attack hid findings: without it {expected:?}, with it {got:?}"
        );
    }

    // Restarted, the engine replays the stored events at the times they were
    // judged at: the 9999 events do not come back at 9999.
    let s = s.restart_on(None).await;
    reference.after_restart(&s, t0).await;
    victim.after_restart(&s, t0).await;
    let expected = reference.found(&s).await;
    let got = victim.found(&s).await;
    assert!(expected[2].contains("concurrent-access"), "{expected:?}");
    for (want, have) in expected.iter().zip(&got) {
        assert!(
            want.is_subset(have),
            "after a restart the attack hid findings: without it {expected:?}, with it {got:?}"
        );
    }

    // Retention goes by receive time: the sweep a collector runs (everything
    // received more than the retention period ago) keeps the 1970 chain,
    // and a sweep past its receive time archives it (the sweep does work).
    let now = now_ms();
    let retention = 730 * 86_400_000_i64;
    sealtrail_collector::archive_before(s.store(), now - retention, now)
        .await
        .unwrap();
    assert_eq!(s.stored_count(&past.id).await, 3);
    assert_eq!(s.stored_count(&future.id).await, 3);
    sealtrail_collector::archive_before(s.store(), now + MINUTE, now)
        .await
        .unwrap();
    assert_eq!(s.stored_count(&past.id).await, 0);
}

/// The `clock-drift` findings of `chain`: their causes.
async fn drift_of(s: &TestServer, chain: &str) -> Vec<String> {
    let (st, body) = s
        .get("/api/alerts?kind=alert&limit=10000", Some(LEAD))
        .await;
    assert_eq!(st, 200, "{body}");
    let mut causes: Vec<String> = body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == json!("clock-drift") && f["chain"] == json!(chain))
        .map(|f| {
            assert_eq!(f["severity"], json!("high"), "{f}");
            f["evidence"]["cause"].as_str().unwrap().to_owned()
        })
        .collect();
    causes.sort();
    causes
}

#[tokio::test]
async fn a_drifting_clock_is_one_finding_per_chain_and_cause_and_an_offline_shift_none() {
    let s = server().await;
    let now = now_ms();
    let un = Some(Relation::Unassigned);
    let views = |actor: &str, from: i64, n: i64| -> Vec<(EventDraft, i64)> {
        (0..n)
            .map(|i| (access(actor, "youth-7", un), from + i * MINUTE))
            .collect()
    };

    // Written offline three weeks ago, uploaded now: legitimate.
    let mut offline = Writer::new(9500);
    offline
        .send(&s, views("off-a", now - 21 * 86_400_000, 5))
        .await;
    offline
        .send(&s, views("off-a", now - 20 * 86_400_000, 5))
        .await;
    // A clock ten minutes fast, in two batches: one finding.
    let mut fast = Writer::new(9600);
    fast.send(&s, views("fast-a", now + 10 * MINUTE, 3)).await;
    fast.send(&s, views("fast-a", now + 20 * MINUTE, 3)).await;
    // A clock in 1970 that later jumps ahead: one finding per cause.
    let mut wrong = Writer::new(9700);
    wrong.send(&s, views("wrong-a", 0, 3)).await;
    wrong.send(&s, views("wrong-a", 86_400_000, 3)).await;
    wrong.send(&s, views("wrong-a", now + 30 * MINUTE, 2)).await;

    assert_eq!(drift_of(&s, &offline.id).await, Vec::<String>::new());
    assert_eq!(drift_of(&s, &fast.id).await, ["ahead"]);
    assert_eq!(drift_of(&s, &wrong.id).await, ["ahead", "behind"]);

    // After a restart the engine has forgotten what it reported; the store
    // has not: the same cause again is the finding already there.
    let s = s.restart_on(None).await;
    fast.send(&s, views("fast-a", now + 40 * MINUTE, 2)).await;
    wrong.send(&s, views("wrong-a", now + 50 * MINUTE, 2)).await;
    assert_eq!(drift_of(&s, &fast.id).await, ["ahead"]);
    assert_eq!(drift_of(&s, &wrong.id).await, ["ahead", "behind"]);
}
