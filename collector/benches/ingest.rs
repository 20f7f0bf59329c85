//! Ingest benchmark: verified and stored events per second for 100-event
//! batches from several concurrent clients over loopback HTTP, batch latency
//! percentiles, and where the server's time goes (verification with the core
//! vs the store). The peer measured in the same run is the core verifying the
//! same events in memory on one thread, so the printed ratio says what HTTP,
//! JSON and the database cost on top of verification.
//!
//! ```text
//! cargo bench -p sealtrail-collector --bench ingest                 # SQLite
//! SEALTRAIL_BENCH_POSTGRES_URL=postgres://... cargo bench -p sealtrail-collector --bench ingest
//! SEALTRAIL_BENCH_CLIENTS=8 SEALTRAIL_BENCH_BATCHES=40 cargo bench ...  # per client
//! ```
//!
//! Under `cargo test` (no `--bench` argument) it runs a tiny configuration
//! as a smoke test. Bounded loops, loopback only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use sealtrail::chain::{to_line, ChainWriter};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Actor, EventDraft, Outcome, Relation, SessionRef, Subject};
use sealtrail::verify::{verify_jsonl, Options};
use sealtrail::Timestamp;
use sealtrail_collector::Config;
use sealtrail_collector::TokenGrant;

const BATCH: usize = 100;
/// Batches per chain: a client uploads one chain after another.
const BATCHES_PER_CHAIN: usize = 10;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn draft(i: usize) -> EventDraft {
    let mut d = EventDraft::new(
        Actor {
            id: format!("staff-{}", i % 40),
            role: "nurse".into(),
            name: Some(format!("Staff {}", i % 40)),
            auth_strength: Some("mfa".into()),
        },
        if i % 50 == 0 {
            Action::ViewSealed
        } else {
            Action::View
        },
        Outcome::Success,
    );
    let mut demographics = std::collections::BTreeMap::new();
    demographics.insert("ageBand".into(), ["13-15", "16-17"][i % 2].into());
    d.subject = Some(Subject {
        record_id: format!("youth-{}", i % 300),
        record_type: Some("youth".into()),
        relation: Some(Relation::Caseload),
        demographics,
    });
    d.fields = vec!["/notes/0/text".into()];
    d.session = Some(SessionRef {
        id: "bench-session".into(),
        ip: Some("127.0.0.1".into()),
        client: Some("collector-bench".into()),
    });
    d
}

/// One client's work: its chains, each as pre-serialised batch bodies.
struct ClientWork {
    chains: Vec<(ChainId, Vec<String>)>,
    lines: Vec<String>,
}

fn build_work(clients: usize, batches: usize) -> Vec<ClientWork> {
    let mut entropy = SeededEntropy::new(sealtrail_collector::clock::now_ms() as u64);
    let base = sealtrail_collector::clock::now_ms() - 3_600_000;
    (0..clients)
        .map(|_| {
            let mut chains = Vec::new();
            let mut lines = Vec::new();
            let mut left = batches;
            while left > 0 {
                let n = left.min(BATCHES_PER_CHAIN);
                left -= n;
                let id = ChainId::random(&mut entropy).unwrap();
                let mut w = ChainWriter::new(id.clone());
                let mut bodies = Vec::new();
                for b in 0..n {
                    let events: Vec<Value> = (0..BATCH)
                        .map(|k| {
                            let i = b * BATCH + k;
                            let e = w
                                .append(draft(i), Timestamp::from_millis(base + i as i64).unwrap())
                                .unwrap();
                            lines.push(to_line(&e).unwrap());
                            serde_json::to_value(&e).unwrap()
                        })
                        .collect();
                    bodies.push(json!({ "events": events }).to_string());
                }
                chains.push((id, bodies));
            }
            ClientWork { chains, lines }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn run(label: &str, database: String, clients: usize, batches: usize, with_log: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database,
        static_dir: dir.path().join("www"),
        pkg_dir: dir.path().join("pkg"),
        allowed_origins: vec![],
        tokens: vec![TokenGrant::parse("bench-token-0000=admin:bench").unwrap()],
        retention_days: 730,
        max_body_bytes: 4 * 1024 * 1024,
        policy: None,
        trusted_proxies: vec![],
        log_key: None,
        log_origin: "sealtrail-collector".into(),
        witnesses: vec![],
        without_log: !with_log,
    };
    let running = sealtrail_collector::start(&config).await.unwrap();
    let base = format!("http://{}", running.addr);
    let work = build_work(clients, batches);
    let total_events: usize = work.iter().map(|w| w.lines.len()).sum();

    // Peer: the core verifying the same events in memory, one thread.
    let peer_started = Instant::now();
    for w in &work {
        let mut per_chain = w.lines.chunks(BATCH * BATCHES_PER_CHAIN);
        for chunk in per_chain.by_ref() {
            let text = chunk.join("\n");
            verify_jsonl(text.as_bytes(), Options::default()).unwrap();
        }
    }
    let peer = peer_started.elapsed();

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in work {
        let http = http.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for (chain, bodies) in w.chains {
                for body in bodies {
                    let t = Instant::now();
                    let resp = http
                        .post(format!("{base}/api/chains/{chain}/events"))
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let status = resp.status();
                    let text = resp.text().await.unwrap();
                    assert!(status.is_success(), "{status}: {text}");
                    latencies.push(t.elapsed());
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    latencies.sort();
    let timings = Arc::clone(&running.state.timings);
    let stored = timings.events.load(Ordering::Relaxed);
    assert_eq!(stored as usize, total_events, "every event stored once");
    let verify_s = timings.verify_ns.load(Ordering::Relaxed) as f64 / 1e9;
    let store_s = timings.store_ns.load(Ordering::Relaxed) as f64 / 1e9;
    let wait_s = timings.wait_ns.load(Ordering::Relaxed) as f64 / 1e9;
    let rate = total_events as f64 / wall.as_secs_f64();
    let peer_rate = total_events as f64 / peer.as_secs_f64();
    let tree = if with_log {
        "with the transparency log"
    } else {
        "without the log (peer)"
    };
    println!("== {label}, {tree}: {clients} clients x {batches} batches x {BATCH} events = {total_events} events");
    println!(
        "ingest (verified + stored, HTTP loopback): {rate:>10.0} events/s  wall {:.2} s",
        wall.as_secs_f64()
    );
    println!("peer: core verification in memory, 1 thread: {peer_rate:>10.0} events/s  (ingest/peer = {:.2})", rate / peer_rate);
    let commits = timings.commits.load(Ordering::Relaxed).max(1);
    println!(
        "transactions: {commits} for {} batches ({:.1} batches per commit)",
        latencies.len(),
        latencies.len() as f64 / commits as f64
    );
    println!(
        "batch latency: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  ({} batches)",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        latencies.len()
    );
    println!(
        "server time (summed over batches): verification {verify_s:.2} s, store {store_s:.2} s \
         (verification share {:.0}%), queued for a write transaction {wait_s:.2} s",
        100.0 * verify_s / (verify_s + store_s).max(f64::EPSILON)
    );
    running.task.abort();
    running.state.store.close().await;
    rate
}

/// A new, empty PostgreSQL database next to the one `url` names.
async fn fresh_postgres(url: &str, name: &str) -> String {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    let name = format!("sealtrail_bench_{name}_{}", std::process::id());
    conn.execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await
        .unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// Ingest without and with the transparency log, same work, fresh databases.
fn compare(label: &str, without: f64, with: f64) {
    println!(
        "== {label}: with the log {with:.0} events/s, without {without:.0} events/s: ratio {:.2} (cost {:.0}%)\n",
        with / without,
        100.0 * (1.0 - with / without)
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (clients, batches) = if bench {
        (
            env_usize("SEALTRAIL_BENCH_CLIENTS", 8),
            env_usize("SEALTRAIL_BENCH_BATCHES", 25),
        )
    } else {
        (2, 2)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = |n: &str| {
            format!(
                "sqlite://{}",
                dir.path().join(format!("{n}.sqlite")).display()
            )
        };
        let without = run("SQLite", sqlite("without"), clients, batches, false).await;
        let with = run("SQLite", sqlite("with"), clients, batches, true).await;
        compare("SQLite", without, with);
        if let Ok(url) = std::env::var("SEALTRAIL_BENCH_POSTGRES_URL") {
            if !url.is_empty() {
                let without = run(
                    "PostgreSQL",
                    fresh_postgres(&url, "without").await,
                    clients,
                    batches,
                    false,
                )
                .await;
                let with = run(
                    "PostgreSQL",
                    fresh_postgres(&url, "with").await,
                    clients,
                    batches,
                    true,
                )
                .await;
                compare("PostgreSQL", without, with);
            }
        }
    });
}
