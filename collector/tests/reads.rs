//! Review APIs over HTTP: tokens and roles, the break-glass log and its
//! limits, alerts, histories, chain status, evidence, FHIR, statistics, the
//! read log, retention and the store's append-only guard.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{json, Value};

use sealtrail::chain::ChainWriter;
use sealtrail::event::{Action, Outcome};
use sealtrail::verify::{verify_jsonl, Options, Verifier};
use sealtrail::{Digest, Timestamp};

#[tokio::test]
async fn reads_need_a_known_token_and_an_allowed_role() {
    let s = server().await;
    for path in [
        "/api/break-glass/audit-log",
        "/api/alerts",
        "/api/chains",
        "/api/records/youth-1/access",
        "/api/staff/s1/access",
        "/api/fhir/AuditEvent",
        "/api/stats/hours",
        "/api/read-log",
    ] {
        let (st, body) = s.get(path, None).await;
        assert_eq!(st, 401, "{path}: {body}");
        let (st, _) = s.get(path, Some("not-a-known-token")).await;
        assert_eq!(st, 401, "{path}");
        let (st, body) = s.get(path, Some(NURSE)).await;
        assert_eq!(st, 403, "{path}: {body}");
        assert_eq!(body["error"], json!("forbidden"));
    }
    // The break-glass log is for safeguarding staff only, not admins.
    assert_eq!(
        s.get("/api/break-glass/audit-log", Some(ADMIN)).await.0,
        403
    );
    assert_eq!(s.get("/api/break-glass/audit-log", Some(LEAD)).await.0, 200);
    assert_eq!(s.get("/api/chains", Some(ADMIN)).await.0, 200);
    let lower = s
        .http
        .get(format!("{}/api/whoami", s.base))
        .header("authorization", format!("bearer {LEAD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), 200, "the scheme is case-insensitive");
    let basic = s
        .http
        .get(format!("{}/api/whoami", s.base))
        .header("authorization", format!("Basic {LEAD}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(basic.headers()["www-authenticate"], "Bearer");
    let (st, me) = s.get("/api/whoami", Some(LEAD)).await;
    assert_eq!(st, 200);
    assert_eq!(me["role"], json!("safeguardingLead"));
    assert_eq!(me["canReadBreakGlassLog"], json!(true));
}

#[tokio::test]
async fn the_break_glass_log_lists_reasons_and_enforces_its_limits() {
    let s = server().await;
    let c = chain_id(40);
    let ev = chain_events(&c, 60); // every 7th event from 3 is a break-glass
    assert_eq!(s.upload(c.as_str(), &ev).await.0, 200);
    let expected = ev
        .iter()
        .filter(|e| e["action"] == json!("break-glass"))
        .count() as i64;
    let (st, log) = s.get("/api/break-glass/audit-log", Some(LEAD)).await;
    assert_eq!(st, 200, "{log}");
    assert_eq!(log["total"], json!(expected));
    assert_eq!(
        (log["days"].clone(), log["limit"].clone()),
        (json!(30), json!(100))
    );
    let first = &log["entries"][0];
    assert_eq!(first["reasonCode"], json!("suicide-risk"));
    assert_eq!(
        first["reasonText"],
        json!("Assessing imminent risk after disclosure")
    );
    assert_eq!(first["context"], json!("night shift call"));
    assert_eq!(first["incidentRef"], json!("INC-42"));
    assert_eq!(first["ip"], json!("10.0.0.7"));
    assert!(first["staffId"].is_string() && first["name"].is_string() && first["role"].is_string());
    assert!(first["recordId"].is_string() && first["time"].is_string());
    assert_eq!(first["outcome"], json!("success"));
    // Newest first.
    let times: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["time"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));
    // Pagination.
    let (_, page) = s
        .get("/api/break-glass/audit-log?limit=3&offset=3", Some(LEAD))
        .await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 3);
    assert_eq!(page["entries"][0], log["entries"][3]);
    let (_, tail) = s
        .get(
            &format!("/api/break-glass/audit-log?offset={expected}"),
            Some(LEAD),
        )
        .await;
    assert_eq!(tail["entries"], json!([]));
    // Limits: refused, never clamped.
    for bad in [
        "limit=101",
        "limit=0",
        "limit=x",
        "days=0",
        "days=4000",
        "offset=-1",
    ] {
        let (st, body) = s
            .get(&format!("/api/break-glass/audit-log?{bad}"), Some(LEAD))
            .await;
        assert_eq!(st, 400, "{bad}: {body}");
    }
    assert_eq!(
        s.get("/api/break-glass/audit-log?limit=100", Some(LEAD))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn alerts_come_from_the_core_rules_and_tamper_findings_are_critical() {
    let s = server().await;
    let c = chain_id(41);
    let mut w = ChainWriter::new(c.clone());
    let base = base_ms();
    let mut events = Vec::new();
    let mut d = draft(0);
    d.action = Action::Export;
    events.push(w.append(d, Timestamp::from_millis(base).unwrap()).unwrap());
    let mut d = draft(1);
    d.action = Action::BreakGlass;
    d.actor.role = "nurse".into();
    d.outcome = Outcome::Denied;
    events.push(
        w.append(d, Timestamp::from_millis(base + 1000).unwrap())
            .unwrap(),
    );
    let values: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(s.upload(c.as_str(), &values).await.0, 200);
    // A tampered chain next to it.
    let t = chain_id(42);
    let mut bad = chain_events(&t, 3);
    bad[1]["outcome"] = json!("denied");
    assert_eq!(s.upload(t.as_str(), &bad).await.0, 409);

    let (st, all) = s.get("/api/alerts", Some(LEAD)).await;
    assert_eq!(st, 200, "{all}");
    let rules: Vec<&str> = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"export"), "{rules:?}");
    assert!(rules.contains(&"break-glass-unauthorised"), "{rules:?}");
    assert!(rules.contains(&"hash"), "{rules:?}");
    let (_, critical) = s.get("/api/alerts?severity=critical", Some(ADMIN)).await;
    let found = critical["findings"].as_array().unwrap();
    assert!(found.iter().all(|f| f["severity"] == json!("critical")));
    assert!(found
        .iter()
        .any(|f| f["kind"] == json!("tamper") && f["chain"] == json!(t.as_str())));
    assert!(found.iter().any(|f| f["rule"] == json!("export")));
    let (_, high) = s.get("/api/alerts?severity=high", Some(ADMIN)).await;
    assert!(high["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == json!("high")));
    assert_eq!(
        s.get("/api/alerts?severity=urgent", Some(LEAD)).await.0,
        400
    );
    let (_, tamper) = s.get("/api/alerts?kind=tamper&limit=1", Some(LEAD)).await;
    let only = tamper["findings"].as_array().unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["chain"], json!(t.as_str()));
    let (_, both) = s
        .get("/api/alerts?severity=critical,high", Some(LEAD))
        .await;
    assert!(both["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] != json!("medium")));
    // A retry stores no second alert.
    assert_eq!(s.upload(c.as_str(), &values).await.0, 200);
    let (_, again) = s.get("/api/alerts", Some(LEAD)).await;
    assert_eq!(
        again["findings"].as_array().unwrap().len(),
        all["findings"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn histories_chain_status_and_verification() {
    let s = server().await;
    let c = chain_id(43);
    let ev = chain_events(&c, 20);
    assert_eq!(s.upload(c.as_str(), &ev).await.0, 200);
    let (st, rec) = s.get("/api/records/youth-1/access", Some(LEAD)).await;
    assert_eq!(st, 200, "{rec}");
    assert_eq!(rec["total"], json!(5));
    assert!(rec["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["recordId"] == json!("youth-1")));
    let (_, staff) = s.get("/api/staff/s0/access?limit=2", Some(LEAD)).await;
    assert_eq!(staff["total"], json!(7));
    assert_eq!(staff["entries"].as_array().unwrap().len(), 2);
    assert_eq!(
        s.get("/api/staff/s0/access?limit=1001", Some(LEAD)).await.0,
        400
    );

    // An anchor ahead of the upload, and a tampered chain.
    let a = chain_id(44);
    let aev = chain_events(&a, 6);
    assert_eq!(s.upload(a.as_str(), &aev[..3]).await.0, 200);
    assert_eq!(
        s.anchor(a.as_str(), 5, aev[5]["hash"].as_str().unwrap())
            .await
            .0,
        200
    );
    let t = chain_id(45);
    let mut tev = chain_events(&t, 3);
    tev.swap(1, 2);
    assert_eq!(s.upload(t.as_str(), &tev).await.0, 409);

    let (st, chains) = s.get("/api/chains", Some(LEAD)).await;
    assert_eq!(st, 200, "{chains}");
    let by_id = |id: &str| {
        chains["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["chain"] == json!(id))
            .unwrap()
            .clone()
    };
    let v = by_id(c.as_str());
    assert_eq!(
        (v["status"].clone(), v["events"].clone(), v["head"].clone()),
        (json!("verified"), json!(20), ev[19]["hash"].clone())
    );
    let x = by_id(a.as_str());
    assert_eq!(x["status"], json!("anchor-ahead"));
    assert_eq!(x["anchor"]["seq"], json!(5));
    assert_eq!(by_id(t.as_str())["status"], json!("tampered"));

    let (st, ver) = s.get(&format!("/api/chains/{c}/verify"), Some(LEAD)).await;
    assert_eq!(st, 200);
    assert_eq!(
        (ver["valid"].clone(), ver["events"].clone()),
        (json!(true), json!(20))
    );
    assert_eq!(
        s.get(&format!("/api/chains/{}/verify", chain_id(99)), Some(LEAD))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn evidence_exports_verify_offline_with_the_core() {
    let s = server().await;
    let c = chain_id(46);
    let ev = chain_events(&c, 30);
    assert_eq!(s.upload(c.as_str(), &ev).await.0, 200);
    let (st, headers, body) = s.get_text(&format!("/api/evidence/{c}"), Some(LEAD)).await;
    assert_eq!(st, 200);
    assert_eq!(headers["sealtrail-spec"], "sealtrail-audit-chain/1");
    let summary = verify_jsonl(body.as_bytes(), Options::default()).unwrap();
    assert_eq!(summary.events, 30);
    assert_eq!(
        summary.head.unwrap().to_hex(),
        ev[29]["hash"].as_str().unwrap()
    );
    // A later range resumes from the prior hash given in the headers.
    let (st, headers, body) = s
        .get_text(&format!("/api/evidence/{c}?from=10&to=19"), Some(LEAD))
        .await;
    assert_eq!(st, 200);
    let prev = Digest::parse(headers["sealtrail-prev"].to_str().unwrap()).unwrap();
    let prev_ts = Timestamp::parse(headers["sealtrail-prev-ts"].to_str().unwrap()).unwrap();
    assert_eq!(headers["sealtrail-prev-seq"], "9");
    let mut v = Verifier::resume(Options::default(), c.clone(), 9, prev, prev_ts);
    for line in body.lines() {
        v.push_line(line.as_bytes()).unwrap();
    }
    assert_eq!(v.finish().events, 10);
    // Without the prior hash the range does not verify from genesis.
    assert!(verify_jsonl(body.as_bytes(), Options::default()).is_err());
    let (_, json_form) = s
        .get(
            &format!("/api/evidence/{c}?from=10&format=json"),
            Some(LEAD),
        )
        .await;
    assert_eq!(json_form["spec"], json!("sealtrail-audit-chain/1"));
    assert_eq!(json_form["prev"]["hash"], ev[9]["hash"]);
    assert_eq!(json_form["events"].as_array().unwrap().len(), 20);
    assert_eq!(
        s.get(&format!("/api/evidence/{c}"), Some(NURSE)).await.0,
        403
    );
}

#[tokio::test]
async fn fhir_bundle_and_statistics() {
    let s = server().await;
    let c = chain_id(47);
    let ev = chain_events(&c, 14);
    assert_eq!(s.upload(c.as_str(), &ev).await.0, 200);
    let (st, b) = s.get("/api/fhir/AuditEvent", Some(ADMIN)).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["resourceType"], json!("Bundle"));
    assert_eq!(b["entry"].as_array().unwrap().len(), 14);
    assert_eq!(
        b["entry"][0]["resource"]["resourceType"],
        json!("AuditEvent")
    );
    let (_, none) = s
        .get(
            "/api/fhir/AuditEvent?from=2001-01-01T00:00:00.000Z&to=2001-01-02T00:00:00.000Z",
            Some(ADMIN),
        )
        .await;
    assert!(
        none.get("entry").is_none(),
        "FHIR has no empty arrays: {none}"
    );
    assert_eq!(none["total"], json!(0));
    assert_eq!(
        s.get("/api/fhir/AuditEvent?from=yesterday", Some(ADMIN))
            .await
            .0,
        400
    );

    let (st, h) = s.get("/api/stats/hours?tz=UTC", Some(LEAD)).await;
    assert_eq!(st, 200, "{h}");
    let total: u64 = h["counts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, 14);
    assert_eq!(h["counts"].as_array().unwrap().len(), 7);
    assert_eq!(
        s.get("/api/stats/hours?tz=Mars/Olympus", Some(LEAD))
            .await
            .0,
        400
    );

    let (st, d) = s.get("/api/stats/demographics", Some(LEAD)).await;
    assert_eq!(st, 200, "{d}");
    let groups = d["groups"].as_array().unwrap();
    let young = groups
        .iter()
        .find(|g| g["value"] == json!("13-15"))
        .unwrap();
    assert_eq!(young["attribute"], json!("ageBand"));
    assert_eq!(young["accesses"], json!(7));
    let bg: u64 = groups
        .iter()
        .map(|g| g["breakGlass"].as_u64().unwrap())
        .sum();
    assert_eq!(bg, 2);
}

#[tokio::test]
async fn every_read_is_recorded_in_a_verifiable_chain() {
    let s = server().await;
    assert_eq!(
        s.get("/api/break-glass/audit-log?days=7", Some(LEAD))
            .await
            .0,
        200
    );
    assert_eq!(
        s.get("/api/break-glass/audit-log", Some(ADMIN)).await.0,
        403
    );
    assert_eq!(
        s.get("/api/records/youth-9/access", Some(ADMIN)).await.0,
        200
    );
    let (st, log) = s.get("/api/read-log", Some(LEAD)).await;
    assert_eq!(st, 200, "{log}");
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        4,
        "three reads and the read of the log: {log}"
    );
    assert_eq!(entries[0]["actor"]["id"], json!("lead1"));
    assert_eq!(entries[0]["action"], json!("audit-read"));
    assert_eq!(
        entries[0]["detail"]["endpoint"],
        json!("/api/break-glass/audit-log")
    );
    assert_eq!(entries[0]["detail"]["query"], json!("days=7"));
    assert_eq!(entries[1]["outcome"], json!("denied"));
    assert_eq!(entries[2]["subject"]["recordId"], json!("youth-9"));
    let (_, _, jsonl) = s.get_text("/api/read-log?format=jsonl", Some(LEAD)).await;
    let summary = verify_jsonl(jsonl.as_bytes(), Options::default()).unwrap();
    assert_eq!(summary.events, 5);
    assert_eq!(
        summary.chain.unwrap().as_str(),
        log["chain"].as_str().unwrap()
    );
}

/// Runs `sql` on the collector's database: whether the store took it.
async fn took(s: &TestServer, sql: &str) -> bool {
    sqlx::query(sql)
        .execute(s.running.state.store.pool())
        .await
        .is_ok()
}

#[tokio::test]
async fn findings_anchors_chains_and_chain_heads_are_append_only() {
    let s = server().await;
    for sql in [
        "INSERT INTO findings (id, created_ms, kind, severity, rule, message, evidence) \
         VALUES ('f-1', 1, 'fork', 'critical', 'fork', 'm', '{}')",
        "INSERT INTO anchors (chain, seq, hash, received_ms) VALUES ('c-1', 1, 'h', 1)",
        "INSERT INTO chains (id, first_seen_ms) VALUES ('c-1', 1)",
        "INSERT INTO chain_heads (chain, seq, head, ts_ms, received_ms, durability, storage) \
         VALUES ('c-1', 4, 'h4', 1, 1, 'bestEffort', 'evictable')",
    ] {
        assert!(took(&s, sql).await, "{sql}");
    }
    for sql in [
        "UPDATE findings SET severity = 'low'",
        "DELETE FROM findings",
        "UPDATE anchors SET hash = 'x'",
        "DELETE FROM anchors",
        "DELETE FROM chains",
        "UPDATE chains SET id = 'c-2'",
        "UPDATE chains SET first_seen_ms = 0",
        "UPDATE chains SET first_seen_ms = 2",
        "DELETE FROM chain_heads",
        "UPDATE chain_heads SET seq = 5",
        "UPDATE chain_heads SET head = 'other'",
        "UPDATE chain_heads SET durability = 'strict'",
        "UPDATE chain_heads SET storage = 'persistent'",
    ] {
        assert!(!took(&s, sql).await, "refused: {sql}");
    }
    // A chain moves by appending its next head.
    assert!(
        took(
            &s,
            "INSERT INTO chain_heads (chain, seq, head, ts_ms, received_ms) VALUES ('c-1', 5, 'h5', 2, 2)"
        )
        .await
    );
    if s.url.starts_with("postgres") {
        for table in [
            "findings",
            "anchors",
            "chains",
            "chain_heads",
            "events",
            "events_archive",
            "read_log",
            "case_events",
        ] {
            assert!(
                !took(&s, &format!("TRUNCATE {table} CASCADE")).await,
                "{table}"
            );
        }
    }
}

#[tokio::test]
async fn retention_archives_and_the_store_refuses_edits() {
    let s = server().await;
    let c = chain_id(48);
    let ev = chain_events(&c, 10);
    // Retention goes by the collector's receive time, never the events' own `ts`.
    assert_eq!(s.upload(c.as_str(), &ev[..5]).await.0, 200);
    let between = now_ms() + 1;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(s.upload(c.as_str(), &ev[5..]).await.0, 200);
    let store = &s.running.state.store;
    // The store itself refuses to change or drop evidence.
    assert!(
        sqlx::query("UPDATE events SET action = 'view' WHERE chain = $1")
            .bind(c.as_str())
            .execute(store.pool())
            .await
            .is_err()
    );
    assert!(sqlx::query("DELETE FROM events WHERE chain = $1")
        .bind(c.as_str())
        .execute(store.pool())
        .await
        .is_err());
    assert_eq!(s.stored_count(c.as_str()).await, 10);
    // Everything received before the second batch moves to the archive.
    let moved = sealtrail_collector::archive_before(store, between, between)
        .await
        .unwrap();
    assert_eq!(moved, 5);
    assert_eq!(s.stored_count(c.as_str()).await, 5);
    // The chain still verifies and exports whole, and ingest continues.
    let (_, ver) = s.get(&format!("/api/chains/{c}/verify"), Some(LEAD)).await;
    assert_eq!(ver["valid"], json!(true), "{ver}");
    assert_eq!(ver["events"], json!(10));
    let (_, _, body) = s.get_text(&format!("/api/evidence/{c}"), Some(LEAD)).await;
    assert_eq!(
        verify_jsonl(body.as_bytes(), Options::default())
            .unwrap()
            .events,
        10
    );
    let more = chain_events(&c, 12);
    let (st, ack) = s.upload(c.as_str(), &more[4..]).await;
    assert_eq!(st, 200, "{ack}");
    assert_eq!(ack["ackedSeq"], json!(11));
    assert!(sqlx::query("DELETE FROM events_archive")
        .execute(store.pool())
        .await
        .is_err());
}

#[tokio::test]
async fn static_files_carry_types_and_the_csp() {
    let s = server().await;
    std::fs::write(
        s.dir().join("www/index.html"),
        "<!doctype html><title>t</title>",
    )
    .unwrap();
    std::fs::write(s.dir().join("www/app.js"), "export {};").unwrap();
    std::fs::write(s.dir().join("pkg/sealtrail_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(s.dir().join("pkg/sealtrail.js"), "export {};").unwrap();
    let check = |path: &'static str, ct: &'static str| {
        let s = &s;
        async move {
            let (st, h, _) = s.get_text(path, None).await;
            assert_eq!(st, 200, "{path}");
            assert!(
                h["content-type"].to_str().unwrap().starts_with(ct),
                "{path}: {:?}",
                h["content-type"]
            );
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("script-src 'self' 'wasm-unsafe-eval'")
                    && csp.contains("frame-ancestors 'none'")
            );
        }
    };
    check("/", "text/html").await;
    check("/app.js", "text/javascript").await;
    check("/pkg/sealtrail_bg.wasm", "application/wasm").await;
    check("/pkg/sealtrail.js", "text/javascript").await;
    assert_eq!(s.get_text("/nope.html", None).await.0, 404);
}

#[tokio::test]
async fn cors_answers_only_configured_origins() {
    let s = server_with(|c| c.allowed_origins = vec!["https://ehr.example".into()]).await;
    let preflight = |origin: &'static str| {
        s.http
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/api/chains/{}/events", s.base, chain_id(1)),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight("https://ehr.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://ehr.example"
    );
    let other = preflight("https://elsewhere.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_policy_sets_alert_rules_and_the_time_zone() {
    let policy =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pkg-config/policy.default.json");
    let s = server_with(|c| c.policy = Some(policy.clone())).await;
    let (st, h) = s.get("/api/stats/hours", Some(LEAD)).await;
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["timeZone"], json!("America/New_York"));
    assert_eq!(h["businessHours"]["start"], json!("08:00"));
    // A policy that does not parse stops the start, naming the file.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 1}").unwrap();
    let mut cfg = common::config(
        format!("sqlite://{}", dir.path().join("x.sqlite").display()),
        dir.path(),
    );
    cfg.policy = Some(bad);
    let err = sealtrail_collector::start(&cfg)
        .await
        .err()
        .expect("a bad policy is refused");
    assert!(err.to_string().contains("bad.json"), "{err}");
}

#[tokio::test]
async fn a_restart_resumes_chains_and_the_read_log() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    let url = common::database_url(dir.path()).await;
    let cfg = common::config(url, dir.path());
    let c = chain_id(60);
    let ev = chain_events(&c, 20);
    let http = reqwest::Client::new();
    let read_log_chain;
    {
        let running = sealtrail_collector::start(&cfg).await.unwrap();
        let base = format!("http://{}", running.addr);
        let resp = http
            .post(format!("{base}/api/chains/{c}/events"))
            .body(json!({ "events": &ev[..12] }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let log: Value = http
            .get(format!("{base}/api/read-log"))
            .bearer_auth(LEAD)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        read_log_chain = log["chain"].clone();
        running.task.abort();
        running.state.store.close().await;
    }
    let running = sealtrail_collector::start(&cfg).await.unwrap();
    let base = format!("http://{}", running.addr);
    // Ingest continues where it stopped; a retry of the old batch is idempotent.
    for part in [&ev[..12], &ev[10..]] {
        let resp = http
            .post(format!("{base}/api/chains/{c}/events"))
            .body(json!({ "events": part }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    // The read log is the same chain, continued, and verifies across the restart.
    let jsonl = http
        .get(format!("{base}/api/read-log?format=jsonl"))
        .bearer_auth(LEAD)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let summary = verify_jsonl(jsonl.as_bytes(), Options::default()).unwrap();
    assert_eq!(summary.events, 2);
    assert_eq!(json!(summary.chain.unwrap().as_str()), read_log_chain);
    let ver: Value = http
        .get(format!("{base}/api/chains/{c}/verify"))
        .bearer_auth(LEAD)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (ver["valid"].clone(), ver["events"].clone()),
        (json!(true), json!(20))
    );
}

#[tokio::test]
async fn read_apis_refuse_repeated_and_unknown_parameters_naming_them() {
    let s = server().await;
    let c = chain_id(61);
    assert_eq!(s.upload(c.as_str(), &chain_events(&c, 3)).await.0, 200);
    for (path, name) in [
        ("/api/break-glass/audit-log?days=99999&days=1", "days"),
        ("/api/break-glass/audit-log?days=1&days=1", "days"),
        ("/api/records/youth-1/access?limit=5&limit=6", "limit"),
        ("/api/alerts?kind=nonsense", "kind"),
        ("/api/alerts?severity=high&severity=medium", "severity"),
        ("/api/read-log?format=xml", "format"),
        (&format!("/api/evidence/{c}?format=csv"), "format"),
        ("/api/stats/hours?colour=red", "colour"),
        ("/api/chains?verbose=1", "verbose"),
        (&format!("/api/chains/{c}/verify?deep=1"), "deep"),
        ("/api/stats/hours?action=%00", "action"),
    ] {
        let (st, body) = s.get(path, Some(LEAD)).await;
        assert_eq!(st, 400, "{path}: {body}");
        assert_eq!(body["error"], json!("bad-request"), "{path}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{name}`")),
            "{path}: {body}"
        );
    }
    assert_eq!(s.get("/api/alerts?kind=tamper", Some(LEAD)).await.0, 200);
    assert_eq!(s.get("/api/read-log?format=jsonl", Some(LEAD)).await.0, 200);
}

#[tokio::test]
async fn errors_are_json_and_nul_in_a_path_is_a_400() {
    let s = server().await;
    for path in [
        "/api/records/%00/access",
        "/api/staff/a%00b/access",
        "/api/evidence/%00",
        "/api/chains/%00/verify",
    ] {
        let (st, body) = s.get(path, Some(LEAD)).await;
        assert_eq!(st, 400, "{path}: {body}");
        assert_eq!(body["error"], json!("bad-request"), "{path}: {body}");
    }
    let (st, body) = s.post("/api/chains/%00/events", "{}".into()).await;
    assert_eq!((st, body["error"].clone()), (400, json!("bad-request")));
    let (st, body) = s.get("/api/nothing-here", Some(LEAD)).await;
    assert_eq!(
        (st, body["error"].clone()),
        (404, json!("not-found")),
        "{body}"
    );
    let (st, body) = s
        .get(&format!("/api/chains/{}/events", chain_id(1)), None)
        .await;
    assert_eq!(
        (st, body["error"].clone()),
        (405, json!("method-not-allowed")),
        "{body}"
    );
}

/// Every string in `v` with its JSON Pointer.
fn strings(v: &Value, at: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((at, s.clone())),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| strings(x, format!("{at}/{i}"), out)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| strings(x, format!("{at}/{k}"), out)),
        _ => {}
    }
}

#[tokio::test]
async fn fhir_pages_count_every_match_link_the_next_and_validate() {
    let s = server().await;
    let c = chain_id(62);
    let mut w = ChainWriter::new(c.clone());
    let base = base_ms();
    let mut values: Vec<Value> = chain_events(&c, 0);
    for i in 0..7u64 {
        let mut d = draft(i);
        if i == 2 {
            // An empty search: `detail.query` is "" in the event.
            d.action = Action::Search;
            d.subject = None;
            d.detail.insert("query".into(), json!(""));
        }
        if i == 5 {
            d.action = Action::Export;
            d.actor.name = Some(String::new());
        }
        let e = w
            .append(d, Timestamp::from_millis(base + i as i64 * 1000).unwrap())
            .unwrap();
        values.push(serde_json::to_value(&e).unwrap());
    }
    assert_eq!(s.upload(c.as_str(), &values).await.0, 200);
    let (st, first) = s.get("/api/fhir/AuditEvent?limit=3", Some(ADMIN)).await;
    assert_eq!(st, 200, "{first}");
    assert_eq!(first["total"], json!(7), "total counts every match");
    assert_eq!(first["entry"].as_array().unwrap().len(), 3);
    let links = first["link"].as_array().unwrap();
    let url = |rel: &str| {
        links
            .iter()
            .find(|l| l["relation"] == json!(rel))
            .map(|l| l["url"].as_str().unwrap().to_owned())
    };
    assert!(url("self").unwrap().contains("offset=0"), "{links:?}");
    let mut pages = vec![first.clone()];
    let mut next = url("next");
    while let Some(n) = next {
        let (st, page) = s.get(&n, Some(ADMIN)).await;
        assert_eq!(st, 200, "{n}: {page}");
        assert_eq!(page["total"], json!(7));
        next = page["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == json!("next"))
            .map(|l| l["url"].as_str().unwrap().to_owned());
        pages.push(page);
    }
    let seen: usize = pages
        .iter()
        .map(|p| p["entry"].as_array().unwrap().len())
        .sum();
    assert_eq!((pages.len(), seen), (3, 7), "three pages, every match once");
    let mut found = Vec::new();
    for p in &pages {
        strings(p, String::new(), &mut found);
    }
    let empty: Vec<_> = found.iter().filter(|(_, s)| s.is_empty()).collect();
    assert!(empty.is_empty(), "FHIR forbids empty strings: {empty:?}");
    let (_, none) = s
        .get(
            "/api/fhir/AuditEvent?from=2001-01-01T00:00:00.000Z&to=2001-01-02T00:00:00.000Z",
            Some(ADMIN),
        )
        .await;
    assert_eq!(none["total"], json!(0));
    pages.push(none);
    fhir_r4_valid(&pages);
}

#[tokio::test]
async fn read_responses_are_never_cached_and_short_review_tokens_are_refused_at_start() {
    let s = server().await;
    for (path, token) in [
        ("/api/whoami", Some(LEAD)),
        ("/api/alerts", Some(ADMIN)),
        ("/api/chains", None),
    ] {
        let (_, headers, _) = s.get_text(path, token).await;
        assert_eq!(
            headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path}"
        );
    }
    let err = sealtrail_collector::TokenGrant::parse("short-but-eight=admin:a1").unwrap_err();
    assert!(err.contains("at least 32 characters"), "{err}");
}

#[tokio::test]
async fn alerts_page_by_offset_and_time_so_nothing_is_pushed_out_of_view() {
    let s = server().await;
    for i in 0..5 {
        let t = chain_id(300 + i);
        let mut bad = chain_events(&t, 3);
        bad[1]["outcome"] = json!("denied");
        assert_eq!(s.upload(t.as_str(), &bad).await.0, 409);
    }
    let (st, first) = s.get("/api/alerts?kind=tamper&limit=2", Some(ADMIN)).await;
    assert_eq!(st, 200, "{first}");
    assert_eq!(
        (
            first["total"].clone(),
            first["findings"].as_array().unwrap().len()
        ),
        (json!(5), 2)
    );
    let (_, last) = s
        .get("/api/alerts?kind=tamper&limit=2&offset=4", Some(ADMIN))
        .await;
    assert_eq!(last["findings"].as_array().unwrap().len(), 1);
    let ids: Vec<Value> = [&first, &last]
        .iter()
        .flat_map(|p| {
            p["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].clone())
        })
        .collect();
    assert_eq!(ids.len(), 3);
    let (_, none) = s
        .get(
            "/api/alerts?kind=tamper&to=2000-01-01T00:00:00.000Z",
            Some(ADMIN),
        )
        .await;
    assert_eq!(none["total"], json!(0), "{none}");
    let (_, all) = s
        .get(
            "/api/alerts?kind=tamper&from=2000-01-01T00:00:00.000Z",
            Some(ADMIN),
        )
        .await;
    assert_eq!(all["total"], json!(5), "{all}");
    assert_eq!(s.get("/api/alerts?offset=-1", Some(ADMIN)).await.0, 400);
}

#[tokio::test]
async fn safeguarding_only_text_is_redacted_for_every_other_role_on_every_read_path() {
    let s = server().await;
    let c = chain_id(400);
    let ev = chain_events(&c, 8);
    assert_eq!(s.upload(c.as_str(), &ev).await.0, 200);
    // A tamper finding whose evidence holds a break-glass event.
    let t = chain_id(401);
    let mut bad = chain_events(&t, 5);
    bad[3]["outcome"] = json!("denied");
    assert_eq!(s.upload(t.as_str(), &bad).await.0, 409);
    let secret = ["Assessing imminent risk", "night shift call", "ageBand"];
    let paths = [
        "/api/records/youth-3/access",
        "/api/staff/s0/access",
        "/api/staff/s2/access",
        "/api/fhir/AuditEvent?from=2000-01-01T00:00:00.000Z",
        "/api/alerts",
    ];
    for token in [ADMIN, COMPLIANCE, SUPERVISOR] {
        for path in paths {
            let (st, _, body) = s.get_text(path, Some(token)).await;
            if st == 403 {
                continue; // this role may not read it at all
            }
            assert_eq!(st, 200, "{path}: {body}");
            for text in secret {
                assert!(
                    !body.contains(text),
                    "{token} reads `{text}` at {path}: {body}"
                );
            }
        }
        // Evidence holding break-glass content leaves only with the safeguarding role.
        let (st, _, body) = s.get_text(&format!("/api/evidence/{c}"), Some(token)).await;
        assert_eq!(st, 403, "{body}");
    }
    let mut seen = String::new();
    for path in paths {
        seen.push_str(&s.get_text(path, Some(LEAD)).await.2);
    }
    for text in secret {
        assert!(seen.contains(text), "the safeguarding lead reads `{text}`");
    }
    assert_eq!(
        s.get_text(&format!("/api/evidence/{c}"), Some(LEAD))
            .await
            .0,
        200
    );
}
