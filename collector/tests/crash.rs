//! Crash harness: clients upload many chains while the collector process is
//! killed with SIGKILL several times and restarted on the same database. At
//! the end every event is stored once, exactly as uploaded, and every alert
//! finding a crash-free run of the same events raises is present.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Row;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use common::*;
use sealtrail::chain::{to_line, ChainWriter};
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Actor, EventDraft, Outcome, Relation, Subject};
use sealtrail::Timestamp;
use sealtrail_collector::Store;

const CHAINS: u64 = 12;
const EVENTS: u64 = 200;
const BATCH: usize = 20;
const CLIENTS: usize = 4;
const KILLS: u64 = 3;

/// Events of chain `k`: its own staff member and records (so every alert it
/// raises depends on its own events only, whatever order chains arrive
/// in), an export every 17th event and a break-glass by a nurse (not
/// allowed to) every 23rd, stamped just before now so the alert windows a
/// restart warms hold them.
fn chain_of(k: u64) -> (ChainId, Vec<Value>, Vec<String>) {
    let id = chain_id(9000 + k);
    let mut w = ChainWriter::new(id.clone());
    let base = sealtrail_collector::clock::now_ms() - 600_000;
    let mut values = Vec::new();
    let mut lines = Vec::new();
    for i in 0..EVENTS {
        let action = match i {
            _ if i % 17 == 5 => Action::Export,
            _ if i % 23 == 7 => Action::BreakGlass,
            _ => Action::View,
        };
        let mut d = EventDraft::new(
            Actor {
                id: format!("staff-{k}"),
                role: "nurse".into(),
                name: Some(format!("Nurse {k}")),
                auth_strength: Some("mfa".into()),
                team: None,
            },
            action,
            Outcome::Success,
        );
        d.subject = Some(Subject {
            record_id: format!("youth-{k}-{}", i % 3),
            record_type: Some("youth".into()),
            relation: Some(Relation::Caseload),
            demographics: Default::default(),
            related: false,
        });
        let ts = Timestamp::from_millis(base + i as i64 * 10).unwrap();
        let e = w.append(d, ts).unwrap();
        lines.push(to_line(&e).unwrap());
        values.push(serde_json::to_value(&e).unwrap());
    }
    (id, values, lines)
}

/// A collector process on `database`, and the address it listens on.
async fn spawn(database: &str, dir: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealtrail-collector"))
        .args(["--listen", "127.0.0.1:0", "--database", database])
        .arg("--insecure-open-ingest")
        .arg("--static-dir")
        .arg(dir.join("www"))
        .arg("--pkg-dir")
        .arg(dir.join("pkg"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), out.next_line())
            .await
            .expect("the collector starts")
            .unwrap()
            .expect("the collector prints where it listens");
        if let Some(addr) = line.strip_prefix("sealtrail-collector listening on ") {
            break addr.trim().to_owned();
        }
    };
    // Keep the pipe drained whatever it prints later.
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    (child, base)
}

/// Uploads `events` to `chain` in batches through whichever collector is
/// up, resending after a connection failure or a gap, until every event is
/// acknowledged. Counts acknowledged events into `acked`.
async fn upload_all(
    http: reqwest::Client,
    base: Arc<RwLock<String>>,
    chain: ChainId,
    events: Vec<Value>,
    acked: Arc<AtomicU64>,
) {
    let mut next = 0usize;
    let mut tries = 0u32;
    while next < events.len() {
        tries += 1;
        assert!(tries < 5000, "chain {chain} never finished uploading");
        let end = (next + BATCH).min(events.len());
        let url = format!("{}/api/chains/{chain}/events", base.read().unwrap().clone());
        let sent = http
            .post(url)
            .body(json!({ "events": &events[next..end] }).to_string())
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        let Ok(resp) = sent else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let status = resp.status().as_u16();
        let Ok(body) = resp.json::<Value>().await else {
            continue;
        };
        match status {
            200 => {
                let acked_seq = body["ackedSeq"].as_u64().unwrap() as usize;
                let now = acked_seq + 1;
                acked.fetch_add(now.saturating_sub(next) as u64, Ordering::Relaxed);
                next = next.max(now);
            }
            409 if body["error"] == json!("gap") => {
                next = body["expectedSeq"].as_u64().unwrap() as usize;
            }
            _ => panic!("chain {chain}: {status} {body}"),
        }
    }
}

/// Alert finding ids in a store.
async fn alert_ids(store: &Store) -> BTreeSet<String> {
    sqlx::query("SELECT id FROM findings WHERE kind = 'alert'")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("id").unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_ingest_loses_no_event_and_no_finding() {
    let chains: Vec<_> = (0..CHAINS).map(chain_of).collect();

    // The crash-free run: the same events, one collector, no kill.
    let reference = server().await;
    for (id, events, _) in &chains {
        for part in events.chunks(BATCH) {
            assert_eq!(reference.upload(id.as_str(), part).await.0, 200);
        }
    }
    let expected = alert_ids(reference.store()).await;
    assert!(
        expected.len() >= CHAINS as usize * 2,
        "the events raise findings: {}",
        expected.len()
    );

    // The same events while the collector is killed with SIGKILL.
    let dir = tempfile::tempdir().unwrap();
    let database = database_url(dir.path()).await;
    let (mut child, first) = spawn(&database, dir.path()).await;
    let base = Arc::new(RwLock::new(first));
    let acked = Arc::new(AtomicU64::new(0));
    let http = reqwest::Client::new();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let mine: Vec<_> = chains
            .iter()
            .skip(c)
            .step_by(CLIENTS)
            .map(|(id, ev, _)| (id.clone(), ev.clone()))
            .collect();
        let (http, base, acked) = (http.clone(), Arc::clone(&base), Arc::clone(&acked));
        clients.push(tokio::spawn(async move {
            for (id, events) in mine {
                upload_all(
                    http.clone(),
                    Arc::clone(&base),
                    id,
                    events,
                    Arc::clone(&acked),
                )
                .await;
            }
        }));
    }
    let total = CHAINS * EVENTS;
    for kill in 1..=KILLS {
        // Kill once a share of the events is acknowledged: mid-ingest.
        let at = total * kill / (KILLS + 1);
        while acked.load(Ordering::Relaxed) < at {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        let (next, addr) = spawn(&database, dir.path()).await;
        child = next;
        *base.write().unwrap() = addr;
    }
    for c in clients {
        c.await.unwrap();
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    let store = Store::open(&database).await.unwrap();
    for (id, _, lines) in &chains {
        let stored: Vec<String> =
            sqlx::query("SELECT line FROM events WHERE chain = $1 ORDER BY seq")
                .bind(id.as_str())
                .fetch_all(store.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get("line").unwrap())
                .collect();
        assert_eq!(
            &stored, lines,
            "chain {id}: every event stored once, as sent"
        );
    }
    let found = alert_ids(&store).await;
    let missing: Vec<_> = expected.difference(&found).collect();
    assert!(
        missing.is_empty(),
        "{} of {} findings of the crash-free run are missing after {KILLS} kills: {missing:?}",
        missing.len(),
        expected.len()
    );
    store.close().await;
}
