//! Ingest over HTTP: valid chains, retries, gaps, every tamper kind, anchors, bad bodies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn stores_a_valid_chain_in_batches() {
    let s = server().await;
    let c = chain_id(1);
    let ev = chain_events(&c, 25);
    let (st, body) = s.upload(c.as_str(), &ev[..10]).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["chain"], json!(c.as_str()));
    assert_eq!(body["ackedSeq"], json!(9));
    assert_eq!(body["head"], ev[9]["hash"]);
    let (st, body) = s.upload(c.as_str(), &ev[10..]).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ackedSeq"], json!(24));
    assert_eq!(body["head"], ev[24]["hash"]);
    assert_eq!(s.stored_count(c.as_str()).await, 25);
    assert!(s.findings(c.as_str()).await.is_empty());
}

#[tokio::test]
async fn retries_are_idempotent_and_overlaps_store_only_new_events() {
    let s = server().await;
    let c = chain_id(2);
    let ev = chain_events(&c, 12);
    assert_eq!(s.upload(c.as_str(), &ev[..6]).await.0, 200);
    // The same batch again: acknowledged, nothing stored twice.
    let (st, body) = s.upload(c.as_str(), &ev[..6]).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ackedSeq"], json!(5));
    assert_eq!(s.stored_count(c.as_str()).await, 6);
    // A batch overlapping the stored part and going further.
    let (st, body) = s.upload(c.as_str(), &ev[3..12]).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ackedSeq"], json!(11));
    assert_eq!(s.stored_count(c.as_str()).await, 12);
    // An old prefix after the chain moved on: acknowledged within the batch
    // (an acknowledgement never names a seq the client did not send).
    let (st, body) = s.upload(c.as_str(), &ev[..2]).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ackedSeq"], json!(1));
    assert_eq!(body["head"], ev[1]["hash"]);
    assert!(s.findings(c.as_str()).await.is_empty());
}

#[tokio::test]
async fn a_gap_answers_the_expected_seq() {
    let s = server().await;
    let c = chain_id(3);
    let ev = chain_events(&c, 10);
    let (st, body) = s.upload(c.as_str(), &ev[2..5]).await;
    assert_eq!(
        (st, conflict(body)),
        (409, json!({"error": "gap", "expectedSeq": 0}))
    );
    let (_, chains) = s.get("/api/chains", Some(LEAD)).await;
    assert_eq!(
        chains["chains"],
        json!([]),
        "a gap to an unknown chain creates nothing"
    );
    assert_eq!(s.upload(c.as_str(), &ev[..4]).await.0, 200);
    let (st, body) = s.upload(c.as_str(), &ev[6..]).await;
    assert_eq!(
        (st, conflict(body)),
        (409, json!({"error": "gap", "expectedSeq": 4}))
    );
    assert_eq!(s.stored_count(c.as_str()).await, 4);
    assert!(
        s.findings(c.as_str()).await.is_empty(),
        "a gap is not evidence"
    );
}

/// Uploads `ev`, expects `409 {error, seq}`, nothing new stored, and one finding with `rule`.
async fn refused(s: &TestServer, chain: &str, ev: &[Value], error: &str, seq: u64, rule: &str) {
    let before = s.stored_count(chain).await;
    let (st, body) = s.upload(chain, ev).await;
    assert_eq!(
        (st, conflict(body)),
        (409, json!({"error": error, "seq": seq}))
    );
    assert_eq!(
        s.stored_count(chain).await,
        before,
        "a refused batch stores nothing"
    );
    let f = s.findings(chain).await;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].0.as_str(), f[0].1.as_str(), f[0].2),
        (error, rule, seq as i64)
    );
    // A blind retry of the same evidence is still refused and recorded once.
    assert_eq!(s.upload(chain, ev).await.0, 409);
    assert_eq!(s.findings(chain).await.len(), 1);
}

#[tokio::test]
async fn an_edited_event_is_tamper() {
    let s = server().await;
    let c = chain_id(10);
    let mut ev = chain_events(&c, 8);
    ev[4]["action"] = json!("view-sealed");
    refused(&s, c.as_str(), &ev, "tamper", 4, "hash").await;
    let f = s.findings(c.as_str()).await;
    assert_eq!(f[0].3["uploaded"]["action"], json!("view-sealed"));
}

#[tokio::test]
async fn an_edit_of_a_stored_event_is_a_fork_with_both_versions_kept() {
    let s = server().await;
    let c = chain_id(11);
    let ev = chain_events(&c, 8);
    assert_eq!(s.upload(c.as_str(), &ev).await.0, 200);
    let mut forged = ev.clone();
    forged[5]["actor"]["id"] = json!("someone-else");
    common::relink(&mut forged, 5);
    refused(&s, c.as_str(), &forged[5..], "fork", 5, "fork").await;
    let f = s.findings(c.as_str()).await;
    assert_eq!(f[0].3["stored"], ev[5]);
    assert_eq!(f[0].3["uploaded"]["actor"]["id"], json!("someone-else"));
}

#[tokio::test]
async fn a_deleted_event_is_tamper_at_the_following_seq() {
    let s = server().await;
    let c = chain_id(12);
    let mut ev = chain_events(&c, 8);
    ev.remove(3);
    refused(&s, c.as_str(), &ev, "tamper", 4, "seq").await;
}

#[tokio::test]
async fn swapped_events_are_tamper() {
    let s = server().await;
    let c = chain_id(13);
    let mut ev = chain_events(&c, 8);
    ev.swap(2, 3);
    refused(&s, c.as_str(), &ev, "tamper", 3, "seq").await;
}

#[tokio::test]
async fn a_wrong_prev_is_tamper() {
    let s = server().await;
    let c = chain_id(14);
    let mut ev = chain_events(&c, 8);
    ev[6]["prev"] = ev[4]["hash"].clone();
    rehash(&mut ev[6]);
    refused(&s, c.as_str(), &ev, "tamper", 6, "prev").await;
}

#[tokio::test]
async fn a_rehashed_edit_breaks_the_next_link() {
    let s = server().await;
    let c = chain_id(15);
    let mut ev = chain_events(&c, 8);
    ev[2]["reason"] = json!({"code": "x", "text": "rewritten afterwards"});
    rehash(&mut ev[2]);
    refused(&s, c.as_str(), &ev, "tamper", 3, "prev").await;
}

#[tokio::test]
async fn a_back_dated_event_is_tamper() {
    let s = server().await;
    let c = chain_id(16);
    let mut ev = chain_events(&c, 8);
    ev[5]["ts"] = ev[1]["ts"].clone();
    relink(&mut ev, 5);
    refused(&s, c.as_str(), &ev, "tamper", 5, "backdated").await;
}

#[tokio::test]
async fn a_batch_of_another_chain_is_a_400_and_marks_nothing() {
    let s = server().await;
    let c = chain_id(17);
    let other = chain_id(18);
    let foreign = chain_events(&other, 6);
    let (st, body) = s.upload(c.as_str(), &foreign[..4]).await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["error"], json!("bad-request"));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("/events/0/chain"),
        "{body}"
    );
    let (_, chains) = s.get("/api/chains", Some(LEAD)).await;
    assert_eq!(
        chains["chains"],
        json!([]),
        "an unknown chain is not listed"
    );
    // Mid-chain: events of another chain after a stored prefix leave the
    // intact chain as it was.
    let own = chain_events(&c, 4);
    assert_eq!(s.upload(c.as_str(), &own).await.0, 200);
    let mut mixed = chain_events(&c, 6)[4..].to_vec();
    mixed.push(foreign[5].clone());
    let (st, body) = s.upload(c.as_str(), &mixed).await;
    assert_eq!(st, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("/events/2/chain"),
        "{body}"
    );
    assert_eq!(s.stored_count(c.as_str()).await, 4);
    assert!(s.findings(c.as_str()).await.is_empty());
    let (_, chains) = s.get("/api/chains", Some(LEAD)).await;
    let listed = chains["chains"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{chains}");
    assert_eq!(listed[0]["chain"], json!(c.as_str()));
    assert_eq!(listed[0]["status"], json!("verified"));
    let (_, ver) = s.get(&format!("/api/chains/{c}/verify"), Some(LEAD)).await;
    assert_eq!(ver["valid"], json!(true), "{ver}");
}

#[tokio::test]
async fn the_peer_address_is_kept_beside_each_event() {
    let s = server().await;
    let c = chain_id(21);
    let ev = chain_events(&c, 8);
    // A forwarded-for header from an untrusted peer is ignored.
    let resp = s
        .http
        .post(format!("{}/api/chains/{c}/events", s.base))
        .header("x-forwarded-for", "203.0.113.9")
        .body(json!({ "events": ev }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, log) = s.get("/api/break-glass/audit-log", Some(LEAD)).await;
    let entry = &log["entries"][0];
    assert_eq!(entry["uploadIp"], json!("127.0.0.1"), "{log}");
    assert_eq!(
        entry["ip"],
        json!("10.0.0.7"),
        "the event's own claim stays"
    );
    let (_, hist) = s.get("/api/records/youth-1/access", Some(LEAD)).await;
    assert_eq!(hist["entries"][0]["uploadIp"], json!("127.0.0.1"), "{hist}");
    // The hashed event is unchanged: the export verifies as uploaded.
    let (_, _, body) = s.get_text(&format!("/api/evidence/{c}"), Some(LEAD)).await;
    assert!(!body.contains("127.0.0.1"));

    // Behind a trusted proxy, the client it names.
    let p = server_with(|cfg| cfg.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let resp = p
        .http
        .post(format!("{}/api/chains/{c}/events", p.base))
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
        .body(json!({ "events": ev }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, log) = p.get("/api/break-glass/audit-log", Some(LEAD)).await;
    assert_eq!(log["entries"][0]["uploadIp"], json!("203.0.113.9"), "{log}");
}

#[tokio::test]
async fn a_chain_skipping_an_anchored_head_is_tamper() {
    let s = server().await;
    let c = chain_id(19);
    let ev = chain_events(&c, 10);
    assert_eq!(s.upload(c.as_str(), &ev[..4]).await.0, 200);
    // The browser anchored its head at seq 7 before anything past 3 was uploaded.
    let (st, body) = s
        .anchor(c.as_str(), 7, ev[7]["hash"].as_str().unwrap())
        .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["anchoredSeq"], json!(7));
    // Someone with the browser's storage rewrites 5.. consistently.
    let mut rewritten = ev.clone();
    rewritten[5]["subject"]["recordId"] = json!("youth-other");
    relink(&mut rewritten, 5);
    refused(&s, c.as_str(), &rewritten[4..], "tamper", 7, "anchor").await;
    // The genuine chain passes through the anchor.
    let (st, body) = s.upload(c.as_str(), &ev[4..]).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["ackedSeq"], json!(9));
}

#[tokio::test]
async fn an_anchor_contradicting_stored_events_is_tamper() {
    let s = server().await;
    let c = chain_id(20);
    let ev = chain_events(&c, 6);
    assert_eq!(s.upload(c.as_str(), &ev).await.0, 200);
    assert_eq!(
        s.anchor(c.as_str(), 5, ev[5]["hash"].as_str().unwrap())
            .await
            .0,
        200
    );
    let (st, body) = s
        .anchor(c.as_str(), 3, ev[2]["hash"].as_str().unwrap())
        .await;
    assert_eq!(
        (st, conflict(body)),
        (409, json!({"error": "tamper", "seq": 3}))
    );
    let f = s.findings(c.as_str()).await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].1, "anchor");
    assert_eq!(f[0].3["stored"], ev[3]);
}

#[tokio::test]
async fn bad_bodies_are_400_and_oversized_413() {
    let s = server().await;
    let c = chain_id(30);
    let path = format!("/api/chains/{c}/events");
    for body in [
        "not json".to_string(),
        "[]".to_string(),
        json!({"event": []}).to_string(),
        json!({"events": []}).to_string(),
        json!({"events": [1, 2]}).to_string(),
        json!({"events": [{"v": 1}]}).to_string(),
    ] {
        let (st, resp) = s.post(&path, body.clone()).await;
        assert_eq!(st, 400, "{body} -> {resp}");
        assert_eq!(resp["error"], json!("bad-request"));
        assert!(resp["message"].as_str().unwrap().len() > 10, "{resp}");
    }
    let (st, resp) = s
        .post(
            "/api/chains/NOT-A-CHAIN/events",
            json!({"events": []}).to_string(),
        )
        .await;
    assert_eq!(st, 400, "{resp}");
    // Events missing a required member name it.
    let mut ev = chain_events(&c, 1);
    ev[0].as_object_mut().unwrap().remove("actor");
    let (st, resp) = s.upload(c.as_str(), &ev).await;
    assert_eq!(st, 400);
    assert!(
        resp["message"].as_str().unwrap().contains("/events/0"),
        "{resp}"
    );
    // Over the 256 KiB limit of the test server.
    let big = chain_events(&c, 600);
    let (st, resp) = s.upload(c.as_str(), &big).await;
    assert_eq!(st, 413, "{resp}");
    assert_eq!(s.stored_count(c.as_str()).await, 0);
    let (st, _) = s
        .post(&format!("/api/chains/{c}/head"), "{\"seq\": 1}".into())
        .await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn concurrent_chains_ingest_in_parallel() {
    let s = std::sync::Arc::new(server().await);
    let mut tasks = Vec::new();
    for k in 0..6u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let c = chain_id(100 + k);
            let ev = chain_events(&c, 60);
            for part in ev.chunks(20) {
                let (st, body) = s.upload(c.as_str(), part).await;
                assert_eq!(st, 200, "{body}");
            }
            s.stored_count(c.as_str()).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 60);
    }
}

#[tokio::test]
async fn a_refused_batch_leaves_batches_committed_with_it_alone() {
    // Uploads arriving together are committed together on SQLite (one
    // transaction, one savepoint per batch): a tampered one among them must
    // roll back alone.
    let s = std::sync::Arc::new(server().await);
    let mut tasks = Vec::new();
    for k in 0..12u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let c = chain_id(200 + k);
            let mut ev = chain_events(&c, 30);
            let bad = k % 4 == 1;
            if bad {
                ev[17]["outcome"] = json!("denied");
            }
            let (st, body) = s.upload(c.as_str(), &ev).await;
            (c, bad, st, body)
        }));
    }
    for t in tasks {
        let (c, bad, st, body) = t.await.unwrap();
        if bad {
            assert_eq!(
                (st, conflict(body)),
                (409, json!({"error": "tamper", "seq": 17}))
            );
            assert_eq!(s.stored_count(c.as_str()).await, 0);
            assert_eq!(s.findings(c.as_str()).await.len(), 1);
        } else {
            assert_eq!(st, 200, "{body}");
            assert_eq!(s.stored_count(c.as_str()).await, 30);
        }
    }
}

/// `line` with its `hash` recomputed the way a lenient reader would (last
/// duplicate wins, any number canonicalized in ECMAScript form), so only
/// the strict profile can refuse it.
fn lenient_rehash(line: &str) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    let old = v["hash"].as_str().unwrap().to_owned();
    v.as_object_mut().unwrap().remove("hash");
    let canonical = sealtrail::canon::to_vec(&v).unwrap();
    line.replacen(&old, &sealtrail::Digest::of(&canonical).to_hex(), 1)
}

#[tokio::test]
async fn events_outside_the_strict_profile_are_400_format_and_store_nothing() {
    let s = server().await;
    let c = chain_id(40);
    let ev = chain_events(&c, 2);
    let lines: Vec<String> = ev
        .iter()
        .map(|e| sealtrail::canon::to_string(e).unwrap())
        .collect();
    let edit = |k: usize, from: &str, to: &str| {
        assert!(lines[k].contains(from), "{from} not in {}", lines[k]);
        lenient_rehash(&lines[k].replacen(from, to, 1))
    };
    let actor = format!(r#""actor":{}"#, ev[1]["actor"]);
    let ts = ev[1]["ts"].as_str().unwrap();
    let cases: Vec<(&str, usize, String)> = vec![
        // Last wins for a lenient reader: the first `actor` silently dropped.
        (
            "duplicate actor",
            1,
            lines[1].replacen(
                &actor,
                &format!(r#""actor":{{"id":"intruder","role":"nurse"}},{actor}"#),
                1,
            ),
        ),
        ("fraction", 1, edit(1, r#""v":1"#, r#""v":1,"zz":2.0"#)),
        ("exponent", 1, edit(1, r#""v":1"#, r#""v":1,"zz":1e2"#)),
        ("minus zero", 0, edit(0, r#""v":1"#, r#""v":1,"zz":-0"#)),
        (
            "past 2^53",
            1,
            edit(1, r#""v":1"#, r#""v":1,"zz":9007199254740993"#),
        ),
        (
            "U+0000 in a string",
            1,
            edit(1, r#""action":"view""#, r#""action":"view\u0000""#),
        ),
        (
            "U+0000 in a name",
            1,
            edit(1, r#""v":1"#, r#""v":1,"z\u0000":1"#),
        ),
        (
            "no milliseconds",
            1,
            edit(1, ts, &format!("{}Z", &ts[..19])),
        ),
        ("an offset", 1, edit(1, ts, &format!("{}+00:00", &ts[..23]))),
        (
            "a leap second",
            1,
            edit(1, ts, &format!("{}60{}", &ts[..17], &ts[19..])),
        ),
    ];
    for (what, k, bad) in cases {
        assert_ne!(bad, lines[k], "{what}: the edit did nothing");
        let mut batch: Vec<String> = lines[..k].to_vec();
        batch.push(bad);
        let body = format!(r#"{{"events":[{}]}}"#, batch.join(","));
        let (st, resp) = s.post(&format!("/api/chains/{c}/events"), body).await;
        assert_eq!(st, 400, "{what}: {resp}");
        let message = resp["message"].as_str().unwrap();
        assert!(message.contains("`format` rule"), "{what}: {message}");
        assert_eq!(resp["rule"], json!("format"), "{what}: {resp}");
        assert!(
            message.contains(&format!("/events/{k}")),
            "{what}: {message}"
        );
        assert_eq!(s.stored_count(c.as_str()).await, 0, "{what}");
    }
    // The chain is not poisoned: the genuine events upload.
    let (st, resp) = s.upload(c.as_str(), &ev).await;
    assert_eq!(st, 200, "{resp}");
    assert!(s.findings(c.as_str()).await.is_empty());
}

/// The browser's guarantees ride along with each batch; the chain keeps the
/// weakest any batch reported, and `/api/chains` says whether its browser
/// could have lost events before uploading them.
#[tokio::test]
async fn a_chain_keeps_the_weakest_guarantees_its_batches_reported() {
    let s = server().await;
    let c = chain_id(40);
    let ev = chain_events(&c, 4);
    let path = format!("/api/chains/{c}/events");
    let listed = |chains: &Value| {
        chains["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["chain"] == c.as_str())
            .cloned()
            .unwrap()
    };
    // An older client says nothing: unknown, not "could lose".
    assert_eq!(s.upload(c.as_str(), &ev[..1]).await.0, 200);
    let row = listed(&s.get("/api/chains", Some(LEAD)).await.1);
    assert_eq!(
        row["guarantees"],
        json!({"durability": null, "storage": null})
    );
    assert_eq!(row["couldLose"], json!(false));
    let send = |from: usize, to: usize, durability: &str, storage: &str| {
        json!({ "events": ev[from..to], "guarantees": { "durability": durability, "storage": storage } })
            .to_string()
    };
    assert_eq!(
        s.post(&path, send(1, 2, "strict", "persistent")).await.0,
        200
    );
    let row = listed(&s.get("/api/chains", Some(LEAD)).await.1);
    assert_eq!(
        row["guarantees"],
        json!({"durability": "strict", "storage": "persistent"})
    );
    assert_eq!(row["couldLose"], json!(false));
    // One weaker batch marks the chain for good, whatever follows.
    assert_eq!(
        s.post(&path, send(2, 3, "bestEffort", "persistent"))
            .await
            .0,
        200
    );
    assert_eq!(
        s.post(&path, send(3, 4, "strict", "evictable")).await.0,
        200
    );
    let row = listed(&s.get("/api/chains", Some(LEAD)).await.1);
    assert_eq!(
        row["guarantees"],
        json!({"durability": "bestEffort", "storage": "evictable"})
    );
    assert_eq!(row["couldLose"], json!(true));
    // Guarantees that do not read are a 400 naming the member, storing nothing.
    let c2 = chain_id(41);
    let ev2 = chain_events(&c2, 1);
    for bad in [
        json!("strict"),
        json!({"durability": "relaxed", "storage": "evictable"}),
        json!({"durability": "strict"}),
    ] {
        let body = json!({ "events": ev2, "guarantees": bad }).to_string();
        let (st, resp) = s.post(&format!("/api/chains/{c2}/events"), body).await;
        assert_eq!(st, 400, "{bad}: {resp}");
        assert!(
            resp["message"].as_str().unwrap().contains("`/guarantees`"),
            "{resp}"
        );
    }
    assert_eq!(s.stored_count(c2.as_str()).await, 0);
}
