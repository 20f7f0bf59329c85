//! The transparency log on a real collector (SQLite, or PostgreSQL when
//! `SEALTRAIL_TEST_POSTGRES_URL` is set): acknowledgements carry inclusion
//! proofs in signed checkpoints, tiles rebuild the checkpoint, and the ways
//! a collector could rewrite history unseen are caught: an event edited in
//! the database by hand, a restart from an older backup (a split view), a
//! `kill -9` in the middle of ingest. The checks are the ones the
//! `sealtrail` CLI runs (`Trust::verify`, `verify_inclusion`,
//! `verify_consistency`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{chain_events, chain_id, rehash, relink, server, TestServer};
use sealtrail::event::ChainId;
use sealtrail::tlog::ed25519;
use sealtrail::tlog::leaf::parse_bundle;
use sealtrail::tlog::proof_file::ProofFile;
use sealtrail::tlog::{
    verify_consistency, verify_inclusion, Checkpoint, Leaf, ProofError, Tree, Trust, VerifierKey,
};
use sealtrail::Digest;
use serde_json::Value;

fn trust(s: &TestServer) -> Trust {
    Trust {
        log: VerifierKey::parse(&s.running.state.log.public_key()).unwrap(),
        witnesses: vec![],
        quorum: 0,
    }
}

fn leaf(e: &Value) -> Leaf {
    Leaf {
        chain: ChainId::parse(e["chain"].as_str().unwrap()).unwrap(),
        seq: e["seq"].as_u64().unwrap(),
        hash: Digest::parse(e["hash"].as_str().unwrap()).unwrap(),
    }
}

/// Checks a `tlog-proof` proves `event`; returns its checkpoint.
fn proves(trust: &Trust, proof: &str, event: &Value) -> Result<Checkpoint, String> {
    let p = ProofFile::parse(proof).map_err(|e| e.to_string())?;
    let cp = trust
        .verify(&p.checkpoint, ed25519::verify)
        .map_err(|e| e.to_string())?
        .checkpoint;
    verify_inclusion(p.index, cp.size, &leaf(event).hash(), &p.proof, &cp.root)
        .map_err(|e| e.to_string())?;
    Ok(cp)
}

async fn checkpoint(s: &TestServer) -> Checkpoint {
    let (status, headers, text) = s.get_text("/api/checkpoint", None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    trust(s).verify(&text, ed25519::verify).unwrap().checkpoint
}

async fn consistency(s: &TestServer, old: u64, new: u64) -> Vec<Digest> {
    let (status, _, text) = s
        .get_text(&format!("/api/tlog/consistency?old={old}&new={new}"), None)
        .await;
    assert_eq!(status, 200, "{text}");
    text.lines()
        .map(|l| sealtrail::tlog::checkpoint::decode_hash(l).unwrap())
        .collect()
}

async fn bytes(s: &TestServer, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = s
        .http
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn acknowledgements_carry_proofs_and_tiles_rebuild_the_checkpoint() {
    let s = server().await;
    let t = trust(&s);
    let (a, b) = (chain_id(1), chain_id(2));
    let (ea, eb) = (chain_events(&a, 30), chain_events(&b, 10));
    let mut first_checkpoint = None;
    for i in 0..3 {
        for (chain, events) in [(&a, &ea[i * 10..i * 10 + 10]), (&b, &eb[..0])] {
            if events.is_empty() {
                continue;
            }
            let (status, reply) = s.upload(chain.as_str(), events).await;
            assert_eq!(status, 200, "{reply}");
            let log = &reply["log"];
            let cp = proves(&t, log["proof"].as_str().unwrap(), events.last().unwrap()).unwrap();
            assert_eq!(
                log["index"].as_u64().unwrap() - log["firstIndex"].as_u64().unwrap(),
                9
            );
            first_checkpoint.get_or_insert(cp);
        }
    }
    let (status, reply) = s.upload(b.as_str(), &eb).await;
    assert_eq!(status, 200);
    proves(&t, reply["log"]["proof"].as_str().unwrap(), &eb[9]).unwrap();

    // A retry stores nothing new and answers where its last event already is.
    let (status, again) = s.upload(b.as_str(), &eb).await;
    assert_eq!(status, 200);
    assert_eq!(again["log"]["index"], reply["log"]["index"]);
    assert!(again["log"]["firstIndex"].is_null());
    proves(&t, again["log"]["proof"].as_str().unwrap(), &eb[9]).unwrap();

    let cp = checkpoint(&s).await;
    assert_eq!(cp.size, 40);
    let first = first_checkpoint.unwrap();
    verify_consistency(
        first.size,
        cp.size,
        &first.root,
        &cp.root,
        &consistency(&s, first.size, 40).await,
    )
    .unwrap();

    // Anyone can rebuild the checkpoint from static, immutable tiles.
    let (status, headers, hashes) = bytes(&s, "/api/tile/0/000.p/40").await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(hashes.len(), 40 * 32);
    let (status, _, entries) = bytes(&s, "/api/tile/entries/000.p/40").await;
    assert_eq!(status, 200);
    let leaves = parse_bundle(&entries).unwrap();
    let mut tree = Tree::new();
    for (l, h) in leaves.iter().zip(hashes.chunks(32)) {
        assert_eq!(&l.hash().0[..], h);
        tree.push(l.hash());
    }
    assert_eq!(tree.root(40).unwrap(), cp.root);
    // The leaves hold no event content.
    assert!(!String::from_utf8_lossy(&entries).contains("nurse"));
    for beyond in [
        "/api/tile/0/000.p/41",
        "/api/tile/0/000",
        "/api/tile/1/000.p/1",
        "/api/tile/0/1",
    ] {
        assert_eq!(bytes(&s, beyond).await.0, 404, "{beyond}");
    }
    let (status, _, text) = s.get_text("/api/tlog/proof?index=39", None).await;
    assert_eq!(status, 200);
    proves(&t, &text, &eb[9]).unwrap();
    assert_eq!(s.get_text("/api/tlog/proof?index=40", None).await.0, 404);
    // By event, as an evidence export names its head.
    let (status, _, by_event) = s
        .get_text(&format!("/api/tlog/proof?chain={b}&seq=9"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(by_event, text);
    assert_eq!(
        s.get_text(&format!("/api/tlog/proof?chain={b}&seq=10"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        s.get_text("/api/tlog/proof?chain=nope&seq=1", None).await.0,
        400
    );
    assert_eq!(
        s.get_text("/api/tlog/proof?index=1&seq=1", None).await.0,
        400
    );
}

#[tokio::test]
async fn a_hand_edited_event_is_caught_and_edited_leaves_stop_the_collector() {
    let s = server().await;
    let t = trust(&s);
    let c = chain_id(3);
    let events = chain_events(&c, 6);
    let (status, reply) = s.upload(c.as_str(), &events).await;
    assert_eq!(status, 200);
    let head_proof = reply["log"]["proof"].as_str().unwrap().to_owned();
    // The evidence export carries its head's proof, and it holds.
    let (export, proof) = evidence(&s, &c).await;
    proves(&t, &proof, export.last().unwrap()).unwrap();

    // Someone with the database drops the append-only triggers, rewrites
    // seq 2 and re-hashes the rest, so the stored chain still verifies.
    drop_triggers(
        &s,
        &[
            ("events", "events_no_update"),
            ("tlog_leaves", "tlog_leaves_no_update"),
        ],
    )
    .await;
    let mut forged = events.clone();
    forged[2]["outcome"] = Value::from("cancelled");
    rehash(&mut forged[2]);
    relink(&mut forged, 3);
    for e in &forged[2..] {
        sqlx::query("UPDATE events SET hash = $1, line = $2 WHERE chain = $3 AND seq = $4")
            .bind(e["hash"].as_str().unwrap())
            .bind(e.to_string())
            .bind(c.as_str())
            .bind(e["seq"].as_i64().unwrap())
            .execute(s.running.state.store.pool())
            .await
            .unwrap();
    }
    // The export now holds the forged chain, and its head is not in the log.
    let (export, proof) = evidence(&s, &c).await;
    assert_eq!(export[2]["outcome"], "cancelled");
    assert!(proves(&t, &proof, export.last().unwrap()).is_err());
    // The head the browser was given a proof for is no longer the stored head.
    assert!(proves(&t, &head_proof, &forged[5])
        .unwrap_err()
        .contains("leads to root"));
    // And the log still names the original head, whatever the events table says.
    let (_, _, text) = s.get_text("/api/tlog/proof?index=5", None).await;
    assert!(proves(&t, &text, &forged[5]).is_err());
    proves(&t, &text, &events[5]).unwrap();

    // Rewriting the log's leaves too: the collector refuses to start (once
    // it stored a checkpoint covering them, at most a second after signing).
    stored_checkpoint_covers(&s, 6).await;
    sqlx::query("UPDATE tlog_leaves SET hash = $1 WHERE chain = $2 AND seq = 5")
        .bind(forged[5]["hash"].as_str().unwrap())
        .bind(c.as_str())
        .execute(s.running.state.store.pool())
        .await
        .unwrap();
    s.stop().await;
    let cfg = common::config(s.url.clone(), s.dir());
    let err = sealtrail_collector::start(&cfg)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("leaves were changed"), "{err}");
}

/// Waits (bounded) until the collector stored a checkpoint of `size` leaves or more.
async fn stored_checkpoint_covers(s: &TestServer, size: i64) {
    use sqlx::Row;
    for _ in 0..100 {
        let stored: Option<i64> = sqlx::query("SELECT size FROM tlog_state WHERE id = 1")
            .fetch_optional(s.running.state.store.pool())
            .await
            .unwrap()
            .map(|r| r.try_get(0).unwrap());
        if stored >= Some(size) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no checkpoint of {size} leaves was stored within 5 s");
}

/// `POST <witness>/add-checkpoint`.
async fn add_checkpoint(
    s: &TestServer,
    witness: &str,
    body: &sealtrail::tlog::witness::AddCheckpoint,
) -> reqwest::Response {
    s.http
        .post(format!("{witness}/add-checkpoint"))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

/// A reviewer's evidence export: its events and its `Sealtrail-Log-Proof`.
async fn evidence(s: &TestServer, chain: &ChainId) -> (Vec<Value>, String) {
    use base64::Engine as _;
    let (status, headers, body) = s
        .get_text(&format!("/api/evidence/{chain}"), Some(common::LEAD))
        .await;
    assert_eq!(status, 200, "{body}");
    let proof = base64::engine::general_purpose::STANDARD
        .decode(headers["sealtrail-log-proof"].as_bytes())
        .unwrap();
    let events = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (events, String::from_utf8(proof).unwrap())
}

/// What an intruder with the database does first.
async fn drop_triggers(s: &TestServer, triggers: &[(&str, &str)]) {
    let pg = !s.url.starts_with("sqlite:");
    for (table, trigger) in triggers {
        let trigger = if pg && *trigger == "tlog_leaves_no_update" {
            "tlog_leaves_no_change"
        } else {
            trigger
        };
        let sql = if pg {
            format!("DROP TRIGGER {trigger} ON {table}")
        } else {
            format!("DROP TRIGGER {trigger}")
        };
        sqlx::query(&sql)
            .execute(s.running.state.store.pool())
            .await
            .unwrap();
    }
}

/// A copy of the database, as a backup would be (SQLite: the file; PostgreSQL: a template copy).
async fn backup(s: &TestServer) -> String {
    if let Some(path) = s.url.strip_prefix("sqlite://") {
        let copy = format!("{path}.backup");
        std::fs::copy(path, &copy).unwrap();
        let wal = format!("{path}-wal");
        if std::path::Path::new(&wal).exists() {
            std::fs::copy(&wal, format!("{copy}-wal")).unwrap();
        }
        return format!("sqlite://{copy}");
    }
    use sqlx::Executor;
    let admin = std::env::var("SEALTRAIL_TEST_POSTGRES_URL").unwrap();
    let (base, name) = s.url.rsplit_once('/').unwrap();
    let name = name.split('?').next().unwrap();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    // A stopped service's sessions may linger on the server: end them, as a
    // backup of a stopped database would, then copy it.
    let sql = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    );
    conn.execute(sql.as_str()).await.unwrap();
    let sql = format!("CREATE DATABASE {name}_backup TEMPLATE {name}");
    for _ in 0..50 {
        if conn.execute(sql.as_str()).await.is_ok() {
            return format!("{base}/{name}_backup");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("could not copy database `{name}`");
}

#[tokio::test]
async fn a_collector_restored_from_an_older_backup_is_caught() {
    let s = server().await;
    let (a, b, c) = (chain_id(4), chain_id(5), chain_id(6));
    assert_eq!(s.upload(a.as_str(), &chain_events(&a, 8)).await.0, 200);
    // A clean stop, then a backup of the database.
    s.stop().await;
    let old = backup(&s).await;
    let s = s.restart_on(None).await;
    let before = checkpoint(&s).await;
    assert_eq!(before.size, 8);

    // Life goes on; a browser keeps the checkpoint covering its events.
    assert_eq!(s.upload(b.as_str(), &chain_events(&b, 5)).await.0, 200);
    let held = checkpoint(&s).await;
    assert_eq!(held.size, 13);

    // The collector comes back from the backup, and ingests other events.
    let s = s.restart_on(Some(old)).await;
    let restored = checkpoint(&s).await;
    assert_eq!((restored.size, restored.root), (before.size, before.root));
    // Smaller than what the browser holds: the log shrank.
    assert!(matches!(
        verify_consistency(held.size, restored.size, &held.root, &restored.root, &[]),
        Err(ProofError::Shrinks { .. })
    ));
    assert_eq!(s.upload(c.as_str(), &chain_events(&c, 5)).await.0, 200);
    let split = checkpoint(&s).await;
    assert_eq!(split.size, held.size);
    // Same size, another root, both signed by the log: a split view.
    assert!(matches!(
        verify_consistency(held.size, split.size, &held.root, &split.root, &[]),
        Err(ProofError::SplitView { .. })
    ));
    // And a witness holding the restored one sees it does not extend the held one.
    assert!(verify_consistency(
        before.size,
        held.size,
        &before.root,
        &held.root,
        &consistency(&s, 8, 13).await
    )
    .is_err());
}

/// The collector's binary with open ingest on a fresh database (the test
/// server's, stopped; it holds the database's directory).
struct Process {
    child: std::process::Child,
    base: String,
    db: String,
    _dir: TestServer,
}

async fn collector_process() -> Process {
    let s = server().await;
    let db = s.url.clone();
    s.stop().await;
    let (child, base) = spawn_collector(&db);
    Process {
        child,
        base,
        db,
        _dir: s,
    }
}

/// The collector's binary on `db` with open ingest, and its address.
fn spawn_collector(db: &str) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sealtrail-collector"))
        .args(["--listen", "127.0.0.1:0", "--database", db])
        .arg("--insecure-open-ingest")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    // Its log lines share stdout: find the address, then keep draining.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let base = lines
        .by_ref()
        .map(Result::unwrap)
        .find_map(|l| {
            l.strip_prefix("sealtrail-collector listening on ")
                .map(str::to_owned)
        })
        .unwrap();
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

/// Sends SIGTERM; how the process ended, within `secs` seconds.
async fn terminate(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    for _ in 0..secs * 10 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    panic!("the collector did not stop within {secs} s of SIGTERM");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_upload_does_not_keep_the_collector_running() {
    use std::io::Write;
    let mut p = collector_process().await;
    let addr = p.base.trim_start_matches("http://");
    let mut stalled = std::net::TcpStream::connect(addr).unwrap();
    let chain = chain_id(31);
    write!(
        stalled,
        "POST /api/chains/{chain}/events HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n{{\"events\": ["
    )
    .unwrap();
    stalled.flush().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let status = terminate(&mut p.child, 20).await;
    assert!(status.success(), "stopped by SIGTERM with {status}");
    drop(stalled);
}

#[tokio::test]
async fn sigterm_stops_the_collector_cleanly_with_its_last_checkpoint_stored() {
    let mut p = collector_process().await;
    let http = reqwest::Client::new();
    let chain = chain_id(30);
    let events = chain_events(&chain, 30);
    // Batches in quick succession: the checkpoint task stores the first
    // at once and the later ones at most a second after.
    for batch in events.chunks(10) {
        let body = serde_json::json!({ "events": batch }).to_string();
        let r = http
            .post(format!("{}/api/chains/{chain}/events", p.base))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let status = terminate(&mut p.child, 10).await;
    assert!(status.success(), "stopped by SIGTERM with {status}");
    use sqlx::{Connection, Row};
    let mut conn = sqlx::AnyConnection::connect(&p.db).await.unwrap();
    let size: i64 = sqlx::query("SELECT size FROM tlog_state WHERE id = 1")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    conn.close().await.unwrap();
    assert_eq!(size, 30, "the stored checkpoint lags the last one signed");
}

#[tokio::test]
async fn kill_9_during_ingest_leaves_a_log_that_verifies() {
    let s = server().await;
    let db = s.url.clone();
    s.stop().await;

    let (mut child, base) = spawn_collector(&db);
    let http = reqwest::Client::new();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut uploads = Vec::new();
    for n in 0..6u64 {
        let (http, base, count) = (http.clone(), base.clone(), count.clone());
        uploads.push(tokio::spawn(async move {
            let chain = chain_id(100 + n);
            let events = chain_events(&chain, 600);
            let mut acked = Vec::new();
            for batch in events.chunks(20) {
                let body = serde_json::json!({ "events": batch }).to_string();
                let url = format!("{base}/api/chains/{chain}/events");
                match http.post(url).body(body).send().await {
                    Ok(r) if r.status() == 200 => {
                        let v: Value = r.json().await.unwrap();
                        acked.push((
                            batch.last().unwrap().clone(),
                            v["log"]["proof"].as_str().unwrap().to_owned(),
                        ));
                        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    _ => break,
                }
            }
            acked
        }));
    }
    // Kill once ingest is well under way (bounded: 60 s at most).
    for _ in 0..600 {
        if count.load(std::sync::atomic::Ordering::Relaxed) >= 12 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mut acked = Vec::new();
    for u in uploads {
        acked.extend(u.await.unwrap());
    }
    eprintln!("acked batches: {}", acked.len());
    assert!(
        !acked.is_empty(),
        "nothing was acknowledged before the kill"
    );
    // As the kill left it, before a start could repair anything: every
    // stored event has its leaf, and the leaves have no gap (they are
    // stored in the events' transaction).
    {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::AnyConnection::connect(&db).await.unwrap();
        let unlogged: i64 = sqlx::query(
            "SELECT COUNT(*) FROM events e WHERE NOT EXISTS \
             (SELECT 1 FROM tlog_leaves l WHERE l.chain = e.chain AND l.seq = e.seq)",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        assert_eq!(unlogged, 0, "events stored without their leaves");
        let row = sqlx::query(
            "SELECT COUNT(*), COALESCE(MAX(idx) + 1, 0), (SELECT COUNT(*) FROM events) FROM tlog_leaves",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let (leaves, end, events): (i64, i64, i64) = (
            row.try_get(0).unwrap(),
            row.try_get(1).unwrap(),
            row.try_get(2).unwrap(),
        );
        assert_eq!(
            (leaves, end),
            (events, events),
            "leaves without events, or a gap"
        );
        conn.close().await.unwrap();
    }

    let s = s.restart_on(None).await;
    let t = trust(&s);
    let cp = checkpoint(&s).await;
    // Every stored event is in the log, and the leaves rebuild the checkpoint.
    use sqlx::Row;
    let stored: i64 = sqlx::query("SELECT COUNT(*) AS n FROM events")
        .fetch_one(s.running.state.store.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(cp.size, u64::try_from(stored).unwrap());
    // Every acknowledgement given before the kill still holds: its
    // checkpoint is consistent with the new one, and its proof verifies.
    for (event, proof) in &acked {
        let old = proves(&t, proof, event).unwrap();
        let p = consistency(&s, old.size, cp.size).await;
        verify_consistency(old.size, cp.size, &old.root, &cp.root, &p).unwrap();
    }
}

#[tokio::test]
async fn a_witness_cosigns_consistent_checkpoints_and_refuses_a_split_view() {
    use sealtrail::entropy::SeededEntropy;
    use sealtrail::tlog::ed25519::SigningKey;
    use sealtrail::tlog::witness::AddCheckpoint;
    use sealtrail::tlog::KeyType;
    use sealtrail_collector::witness::{self, WitnessConfig};

    // First a collector, to learn its log key; then its witness; then the
    // collector again, submitting to the witness.
    let s = server().await;
    let log_key = s.running.state.log.public_key();
    let dir = tempfile::tempdir().unwrap();
    let wkey = SigningKey::generate(
        "witness.clinic.example/w1",
        KeyType::Cosignature,
        &mut SeededEntropy::new(11),
    )
    .unwrap()
    .unwrap();
    let key_file = dir.path().join("witness.key");
    std::fs::write(&key_file, wkey.to_private()).unwrap();
    let w = witness::start(&WitnessConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: format!("sqlite://{}", dir.path().join("witness.sqlite").display()),
        key: key_file,
        logs: vec![log_key.clone()],
    })
    .await
    .unwrap();
    let wurl = format!("http://{}", w.addr);
    let target =
        sealtrail_collector::WitnessTarget::parse(&format!("{wurl}={}", wkey.verifier())).unwrap();
    let s = s
        .restart_with(None, |cfg| cfg.witnesses = vec![target])
        .await;

    let c = chain_id(7);
    let events = chain_events(&c, 12);
    assert_eq!(s.upload(c.as_str(), &events[..6]).await.0, 200);
    assert_eq!(s.upload(c.as_str(), &events[6..]).await.0, 200);
    let quorum = Trust {
        witnesses: vec![wkey.verifier().clone()],
        quorum: 1,
        ..trust(&s)
    };
    let mut cosigned = None;
    for _ in 0..50 {
        let (_, _, text) = s.get_text("/api/checkpoint", None).await;
        if let Ok(v) = quorum.verify(&text, ed25519::verify) {
            if v.checkpoint.size == 12 {
                cosigned = Some(v);
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let cosigned = cosigned.expect("the published checkpoint was never cosigned at size 12");
    assert_eq!(cosigned.witnesses[0].0, "witness.clinic.example/w1");

    // The witness serves what it cosigned, by the origin's hash.
    let origin_hash = Digest::of(b"sealtrail-collector").to_hex();
    let (status, _, text) = s
        .get_text_at(&format!("{wurl}/{origin_hash}/checkpoint"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        quorum
            .verify(&text, ed25519::verify)
            .unwrap()
            .checkpoint
            .size,
        12
    );

    // A log that signs another tree of the same size (a split view) gets no cosignature.
    use sqlx::Row;
    let private: String = sqlx::query("SELECT private FROM tlog_key WHERE id = 1")
        .fetch_one(s.running.state.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    let log = SigningKey::parse(&private).unwrap();
    let split = Checkpoint {
        origin: "sealtrail-collector".into(),
        size: 12,
        root: Digest::of(b"another history"),
        extensions: vec![],
    };
    let body = AddCheckpoint {
        old: 12,
        proof: vec![],
        checkpoint: log.sign(&split).unwrap().to_string(),
    };
    let resp = add_checkpoint(&s, &wurl, &body).await;
    assert_eq!(resp.status().as_u16(), 422);
    assert!(resp.text().await.unwrap().contains("split view"));
    // An old size the witness does not have: 409 with its size.
    let body = AddCheckpoint { old: 3, ..body };
    let resp = add_checkpoint(&s, &wurl, &body).await;
    assert_eq!(resp.status().as_u16(), 409);
    assert_eq!(resp.headers()["content-type"], "text/x.tlog.size");
    assert_eq!(resp.text().await.unwrap(), "12\n");
    // A checkpoint not signed by the log: 403.
    let forged = SigningKey::generate(
        "sealtrail-collector",
        KeyType::Ed25519,
        &mut SeededEntropy::new(12),
    )
    .unwrap()
    .unwrap();
    let body = AddCheckpoint {
        old: 12,
        proof: vec![],
        checkpoint: forged.sign(&split).unwrap().to_string(),
    };
    let resp = add_checkpoint(&s, &wurl, &body).await;
    assert_eq!(resp.status().as_u16(), 403);
    w.task.abort();
}

/// `GET /api/tlog/heads` as the review page reads it.
async fn heads(s: &TestServer) -> Value {
    let (status, _, text) = s.get_text("/api/tlog/heads", Some(common::LEAD)).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Checks a head of `tlog/heads` is in `cp`, from the leaf its `chain`, `seq` and `hash` make.
fn head_included(h: &Value, cp: &Checkpoint) -> Result<(), ProofError> {
    let proof: Vec<Digest> = h["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| sealtrail::tlog::checkpoint::decode_hash(p.as_str().unwrap()).unwrap())
        .collect();
    verify_inclusion(
        h["index"].as_u64().unwrap(),
        cp.size,
        &leaf(h).hash(),
        &proof,
        &cp.root,
    )
}

#[tokio::test]
async fn every_chain_head_comes_with_an_inclusion_proof_and_a_hand_edited_head_fails_it() {
    let s = server().await;
    let (a, b) = (chain_id(7), chain_id(8));
    let events_a = chain_events(&a, 4);
    assert_eq!(s.upload(a.as_str(), &events_a).await.0, 200);
    assert_eq!(s.upload(b.as_str(), &chain_events(&b, 3)).await.0, 200);
    // Reviewers only: the answer lists every chain.
    assert_eq!(s.get_text("/api/tlog/heads", None).await.0, 401);
    let h = heads(&s).await;
    assert_eq!(h["key"], s.running.state.log.public_key());
    let cp = trust(&s)
        .verify(h["checkpoint"].as_str().unwrap(), ed25519::verify)
        .unwrap()
        .checkpoint;
    assert_eq!((h["size"].as_u64(), cp.size), (Some(7), 7));
    let find = |h: &Value, c: &ChainId| {
        h["heads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["chain"] == c.as_str())
            .cloned()
            .unwrap()
    };
    for (c, seq) in [(&a, 3), (&b, 2)] {
        let x = find(&h, c);
        assert_eq!(x["seq"], seq);
        head_included(&x, &cp).unwrap();
    }

    // The head of `a` rewritten in the database: the log still holds the
    // original, so the stored head's proof leads to another root.
    drop_triggers(&s, &[("events", "events_no_update")]).await;
    let mut forged = events_a[3].clone();
    forged["outcome"] = Value::from("cancelled");
    rehash(&mut forged);
    sqlx::query("UPDATE events SET hash = $1, line = $2 WHERE chain = $3 AND seq = 3")
        .bind(forged["hash"].as_str().unwrap())
        .bind(forged.to_string())
        .bind(a.as_str())
        .execute(s.running.state.store.pool())
        .await
        .unwrap();
    let h = heads(&s).await;
    let x = find(&h, &a);
    assert_eq!(x["hash"], forged["hash"]);
    assert!(matches!(
        head_included(&x, &cp),
        Err(ProofError::MismatchedRoot { .. })
    ));
    head_included(&find(&h, &b), &cp).unwrap();
}

#[tokio::test]
async fn a_retry_of_a_batch_committed_but_never_handed_to_the_log_is_proven() {
    let s = server().await;
    let t = trust(&s);
    let c = chain_id(9);
    let events = chain_events(&c, 8);
    assert_eq!(s.upload(c.as_str(), &events[..4]).await.0, 200);
    // What a commit that reported failure yet went through leaves behind:
    // the events and their leaves stored, never handed to the sequencer.
    let body = serde_json::json!({ "events": &events[4..] }).to_string();
    s.running
        .state
        .ingest
        .events(&c, body.as_bytes(), None, None)
        .await
        .unwrap();
    assert_eq!(s.stored_count(c.as_str()).await, 8);
    assert_eq!(checkpoint(&s).await.size, 4);

    // No other upload follows: the client's retry alone gets its proof,
    // within a bound, not "stored but not logged yet; retry" until one does.
    let (status, again) = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        s.upload(c.as_str(), &events[4..]),
    )
    .await
    .expect("the retry is answered within 5 s");
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["log"]["index"], 7);
    assert!(again["log"]["firstIndex"].is_null());
    let cp = proves(&t, again["log"]["proof"].as_str().unwrap(), &events[7]).unwrap();
    assert_eq!(cp.size, 8);
    assert_eq!(checkpoint(&s).await.size, 8);
    // The log goes on from there.
    let d = chain_id(10);
    let (status, reply) = s.upload(d.as_str(), &chain_events(&d, 2)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["log"]["firstIndex"], 8);
}
