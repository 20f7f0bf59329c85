//! Ingest benchmark: verified and stored events per second for 100-event
//! batches from several concurrent clients over loopback HTTP, batch latency
//! percentiles, and where the server's time goes (verification with the core
//! vs the store). The peer measured in the same run is the core verifying the
//! same events in memory on one thread, so the printed ratio says what HTTP,
//! JSON and the database cost on top of verification. Each store runs three
//! modes on the same kind of work: without the transparency log, with it,
//! and with it under upload credentials (as shipped). The modes are
//! interleaved (bare, log, shipped, bare, log, shipped, ...; each run on a
//! fresh database) for `SEALTRAIL_BENCH_ROUNDS` rounds, so a load spike on a
//! shared machine hits every mode alike; each mode's best and median are
//! printed with the machine load (`/proc/loadavg`) beside every run, and the
//! ratios of the best runs against their goals: the log costs at most 20 %
//! (with/without ≥ 0.80, issue 10), credential checks at most 10 % (≥ 0.90,
//! issue 9).
//!
//! ```text
//! cargo bench -p sealtrail-collector --bench ingest                 # SQLite
//! SEALTRAIL_BENCH_POSTGRES_URL=postgres://... cargo bench -p sealtrail-collector --bench ingest
//! SEALTRAIL_BENCH_CLIENTS=8 SEALTRAIL_BENCH_BATCHES=40 cargo bench ...  # per client
//! SEALTRAIL_BENCH_ROUNDS=5 cargo bench ...                              # best of 5
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
use sealtrail::credential::Claims;
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Actor, EventDraft, Outcome, Relation, SessionRef, Subject};
use sealtrail::verify::{verify_jsonl, Options};
use sealtrail::Timestamp;
use sealtrail_collector::credentials::{Alg, Minter};
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

/// Event `i` of a chain written by staff member `staff` (a chain is one user's).
fn draft(i: usize, staff: usize) -> EventDraft {
    let mut d = EventDraft::new(
        Actor {
            id: format!("staff-{}", staff % 40),
            role: "nurse".into(),
            name: Some(format!("Staff {}", staff % 40)),
            auth_strength: Some("mfa".into()),
            team: None,
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
        related: false,
    });
    d.fields = vec!["/notes/0/text".into()];
    d.session = Some(SessionRef {
        id: "bench-session".into(),
        ip: Some("127.0.0.1".into()),
        client: Some("collector-bench".into()),
    });
    d
}

/// One client's work: its chains, each as pre-serialised batch bodies with
/// its credential (when the collector requires them).
struct ClientWork {
    chains: Vec<(ChainId, Vec<String>, Option<String>)>,
    lines: Vec<String>,
}

fn build_work(clients: usize, batches: usize, minter: Option<&Minter>) -> Vec<ClientWork> {
    let mut entropy = SeededEntropy::new(sealtrail_collector::clock::now_ms() as u64);
    let base = sealtrail_collector::clock::now_ms() - 3_600_000;
    (0..clients)
        .map(|client| {
            let mut chains = Vec::new();
            let mut lines = Vec::new();
            let mut left = batches;
            while left > 0 {
                let n = left.min(BATCHES_PER_CHAIN);
                left -= n;
                let id = ChainId::random(&mut entropy).unwrap();
                let staff = client * 1000 + chains.len();
                let credential = minter.map(|m| {
                    m.mint(&Claims {
                        sub: format!("staff-{}", staff % 40),
                        sid: "bench-session".into(),
                        role: "nurse".into(),
                        chain: id.clone(),
                        iat: base / 1000 - 60,
                        exp: base / 1000 + 7200,
                    })
                    .unwrap()
                });
                let mut w = ChainWriter::new(id.clone());
                let mut bodies = Vec::new();
                for b in 0..n {
                    let events: Vec<Value> = (0..BATCH)
                        .map(|k| {
                            let i = b * BATCH + k;
                            let e = w
                                .append(
                                    draft(i, staff),
                                    Timestamp::from_millis(base + i as i64).unwrap(),
                                )
                                .unwrap();
                            lines.push(to_line(&e).unwrap());
                            serde_json::to_value(&e).unwrap()
                        })
                        .collect();
                    bodies.push(json!({ "events": events }).to_string());
                }
                chains.push((id, bodies, credential));
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

/// What a run turns on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No transparency log, no credentials: the log's peer.
    Bare,
    /// The transparency log, no credentials: the credentials' peer.
    Log,
    /// The log and upload credentials: the collector as shipped.
    Shipped,
}

/// One run's figures.
#[derive(Clone, Copy)]
struct Run {
    /// Events verified and stored per second.
    rate: f64,
    /// The machine's 1-minute load average when the run ended.
    load: f64,
}

/// The 1-minute load average (`/proc/loadavg`), NaN where there is none.
fn load() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

async fn run(label: &str, database: String, clients: usize, batches: usize, mode: Mode) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let minter = (mode == Mode::Shipped).then(|| {
        let (private, public) = sealtrail_collector::credentials::generate_ed25519().unwrap();
        std::fs::write(dir.path().join("sign.pem"), private).unwrap();
        std::fs::write(dir.path().join("verify.pem"), public).unwrap();
        Minter::load(&dir.path().join("sign.pem"), Alg::EdDsa).unwrap()
    });
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database,
        static_dir: dir.path().join("www"),
        pkg_dir: dir.path().join("pkg"),
        allowed_origins: vec![],
        tokens: vec![
            TokenGrant::parse("bench-token-0000-0000-0000-0000-0000=admin:bench").unwrap(),
        ],
        retention_days: 730,
        max_body_bytes: 4 * 1024 * 1024,
        policy: None,
        trusted_proxies: vec![],
        log_key: None,
        log_origin: "sealtrail-collector".into(),
        witnesses: vec![],
        without_log: mode == Mode::Bare,
        credential_key: minter.as_ref().map(|_| dir.path().join("verify.pem")),
        credential_alg: Alg::EdDsa,
        credential_grace_days: 30,
        clock_skew_seconds: 120,
        insecure_open_ingest: minter.is_none(),
        demo_login: false,
        notify_url: None,
        notify_secret: None,
        notify_interval_secs: 30,
        at_rest_key: None,
        at_rest_key_hex: None,
        // Every client is on loopback: one address, so its rate is not what is measured.
        limits: sealtrail_collector::limits::Limits {
            address_per_minute: u32::MAX,
            address_burst: u32::MAX,
            credential_burst: 1_000,
            max_in_flight_per_chain: 64,
            ..Default::default()
        },
    };
    let running = sealtrail_collector::start(&config).await.unwrap();
    let base = format!("http://{}", running.addr);
    let work = build_work(clients, batches, minter.as_ref());
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
            for (chain, bodies, credential) in w.chains {
                for body in bodies {
                    let t = Instant::now();
                    let mut req = http
                        .post(format!("{base}/api/chains/{chain}/events"))
                        .body(body);
                    if let Some(c) = &credential {
                        req = req.bearer_auth(c);
                    }
                    let resp = req.send().await.unwrap();
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
    let tree = match mode {
        Mode::Bare => "bare   ",
        Mode::Log => "log    ",
        Mode::Shipped => "shipped",
    };
    let commits = timings.commits.load(Ordering::Relaxed).max(1);
    println!(
        "{label} {tree}: {rate:>8.0} events/s ({total_events} events, wall {:.2} s; core in memory {peer_rate:.0}/s, ingest/core {:.4}) \
         p50 {:.1} ms p99 {:.1} ms, {:.1} batches/commit, server verify {verify_s:.2} s store {store_s:.2} s queued {wait_s:.2} s; load {}",
        wall.as_secs_f64(),
        rate / peer_rate,
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.len() as f64 / commits as f64,
        loadavg(),
    );
    running.task.abort();
    running.state.store.close().await;
    Run { rate, load: load() }
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

/// A fresh database's URL, on its way.
type DbFuture = std::pin::Pin<Box<dyn std::future::Future<Output = String>>>;

/// The best and the median rate of a mode's runs.
fn best_median(runs: &[Run]) -> (f64, f64) {
    let mut rates: Vec<f64> = runs.iter().map(|r| r.rate).collect();
    rates.sort_by(f64::total_cmp);
    let best = rates.last().copied().unwrap_or(0.0);
    let median = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
    (best, median)
}

/// Ingest with `what` against without it, best runs and medians, and the goal.
fn compare(label: &str, what: &str, without: &[Run], with: &[Run], goal: f64) {
    let (wo_best, wo_median) = best_median(without);
    let (w_best, w_median) = best_median(with);
    let ratio = w_best / wo_best;
    println!(
        "== {label}: with {what} {w_best:.0} events/s, without {wo_best:.0} (best of {}): ratio {ratio:.2} \
         (cost {:.0}%; goal ≥ {goal:.2}: {}); medians {w_median:.0} / {wo_median:.0} = {:.2}",
        with.len().min(without.len()),
        100.0 * (1.0 - ratio),
        if ratio >= goal { "met" } else { "MISSED" },
        w_median / wo_median,
    );
}

/// The modes interleaved for `rounds` rounds on one store, then what the log
/// and credentials cost. `database(name)` gives a fresh database per run.
async fn runs(
    label: &str,
    mut database: impl FnMut(String) -> DbFuture,
    clients: usize,
    batches: usize,
    rounds: usize,
) {
    println!("== {label}: {clients} clients x {batches} batches x {BATCH} events per run, {rounds} rounds of bare/log/shipped interleaved; load before: {}", loadavg());
    let (mut bare, mut log, mut shipped) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        for (mode, name, into) in [
            (Mode::Bare, "bare", &mut bare),
            (Mode::Log, "log", &mut log),
            (Mode::Shipped, "shipped", &mut shipped),
        ] {
            let db = database(format!("{name}_{round}")).await;
            into.push(run(label, db, clients, batches, mode).await);
        }
    }
    let loads: Vec<f64> = bare
        .iter()
        .chain(&log)
        .chain(&shipped)
        .map(|r| r.load)
        .collect();
    let (lo, hi) = loads
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
            (l.min(x), h.max(x))
        });
    println!(
        "== {label}: machine load (1-minute average) over the runs {lo:.2} to {hi:.2}, after: {}",
        loadavg()
    );
    compare(label, "the log", &bare, &log, 0.80);
    compare(label, "credential checks", &log, &shipped, 0.90);
    println!();
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
    let rounds = if bench {
        env_usize("SEALTRAIL_BENCH_ROUNDS", 3).max(1)
    } else {
        1
    };
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        let sqlite = move |n: String| {
            let url = format!("sqlite://{}", path.join(format!("{n}.sqlite")).display());
            Box::pin(async move { url }) as DbFuture
        };
        runs("SQLite", sqlite, clients, batches, rounds).await;
        if let Ok(url) = std::env::var("SEALTRAIL_BENCH_POSTGRES_URL") {
            if !url.is_empty() {
                let pg = move |n: String| {
                    let url = url.clone();
                    Box::pin(async move { fresh_postgres(&url, &n).await }) as DbFuture
                };
                runs("PostgreSQL", pg, clients, batches, rounds).await;
            }
        }
    });
}
