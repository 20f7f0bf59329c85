//! The case workflow over HTTP: every finding and break-glass is a case;
//! roles decide who may assign, acknowledge, investigate, comment and
//! resolve; each step is in the collector's own chain and append-only; the
//! policy routes cases and sets their response time (overdue by the
//! collector's clock, moved here instead of waited for); the notification
//! hook signs its messages and retries a failing receiver.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use common::*;
use serde_json::{json, Value};

use sealtrail::chain::ChainWriter;
use sealtrail::event::Action;
use sealtrail::verify::{verify_jsonl, Options};
use sealtrail::Timestamp;

/// A collector with `tweak` applied (the harness's tokens: lead, admin,
/// compliance, supervisor, nurse).
async fn cases_server(tweak: impl FnOnce(&mut sealtrail_collector::Config)) -> TestServer {
    server_with(tweak).await
}

/// A chain with an export (a critical alert) by `s0` and a break-glass by
/// `s1`, uploaded; returns the chain id.
async fn upload_findings(s: &TestServer, seed: u64) -> String {
    let c = chain_id(seed);
    let mut w = ChainWriter::new(c.clone());
    let base = base_ms();
    let mut d = draft(0);
    d.action = Action::Export;
    let export = w.append(d, Timestamp::from_millis(base).unwrap()).unwrap();
    let bg = w
        .append(draft(3), Timestamp::from_millis(base + 1000).unwrap())
        .unwrap();
    let values: Vec<Value> = [export, bg]
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(s.upload(c.as_str(), &values).await.0, 200);
    c.as_str().to_owned()
}

async fn act(s: &TestServer, token: &str, case: &str, op: &str, body: Value) -> (u16, Value) {
    let resp = s
        .http
        .post(format!("{}/api/cases/{case}/{op}", s.base))
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn ids(list: &Value) -> Vec<String> {
    list["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn findings_and_break_glass_are_cases_triaged_by_role_and_logged() {
    let s = cases_server(|_| {}).await;
    let chain = upload_findings(&s, 70).await;
    let bg_case = format!("bg-{chain}-1");

    let (st, q) = s.get("/api/cases", Some(LEAD)).await;
    assert_eq!(st, 200, "{q}");
    let all = ids(&q);
    assert!(all.contains(&bg_case), "{q}");
    let export = q["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == json!("export"))
        .unwrap()
        .clone();
    let export_case = export["id"].as_str().unwrap().to_owned();
    assert_eq!(export["state"], json!("new"));
    assert_eq!(export["severity"], json!("critical"));
    assert_eq!(export["overdue"], json!(false));
    assert_eq!(q["counts"]["new"], json!(all.len()));
    assert_eq!(q["outcomes"].as_array().unwrap().len(), 6);
    // Critical first.
    assert_eq!(q["cases"][0]["severity"], json!("critical"));

    // Break-glass reviews are for safeguarding staff; nurses see no cases.
    let (st, admin) = s.get("/api/cases", Some(ADMIN)).await;
    assert_eq!(st, 200);
    assert!(!ids(&admin).contains(&bg_case));
    assert!(ids(&admin).contains(&export_case));
    // What only safeguarding staff read stays redacted for the admin.
    let (st, seen) = s
        .get(&format!("/api/cases/{export_case}"), Some(ADMIN))
        .await;
    assert_eq!(st, 200, "{seen}");
    let text = seen["evidence"].to_string();
    assert!(
        !text.contains("Assessing imminent risk") && !text.contains("ageBand"),
        "{text}"
    );
    assert_eq!(s.get("/api/cases", Some(NURSE)).await.0, 403);
    assert_eq!(
        s.get(&format!("/api/cases/{bg_case}"), Some(ADMIN)).await.0,
        403
    );
    let (st, view) = s.get(&format!("/api/cases/{bg_case}"), Some(LEAD)).await;
    assert_eq!(st, 200, "{view}");
    assert_eq!(
        view["evidence"]["event"]["reason"]["code"],
        json!("suicide-risk")
    );
    assert_eq!(view["may"]["resolve"], json!(true));

    // Roles: admin and compliance may not acknowledge; compliance may comment.
    let (st, e) = act(&s, ADMIN, &export_case, "acknowledge", json!({})).await;
    assert_eq!(st, 403, "{e}");
    assert_eq!(
        act(&s, COMPLIANCE, &export_case, "acknowledge", json!({}))
            .await
            .0,
        403
    );
    assert_eq!(
        act(&s, SUPERVISOR, &bg_case, "acknowledge", json!({}))
            .await
            .0,
        403,
        "break-glass reviews are the safeguarding lead's"
    );
    let (st, c) = act(
        &s,
        COMPLIANCE,
        &export_case,
        "comment",
        json!({"note": "asked the ward"}),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["case"]["state"], json!("new"));

    // The workflow: acknowledge, investigate, assign, resolve.
    let (st, c) = act(&s, SUPERVISOR, &export_case, "acknowledge", json!({})).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["case"]["state"], json!("acknowledged"));
    assert_eq!(
        act(&s, SUPERVISOR, &export_case, "acknowledge", json!({}))
            .await
            .0,
        409
    );
    let (st, c) = act(&s, LEAD, &export_case, "investigate", json!({})).await;
    assert_eq!(
        (st, &c["case"]["state"]),
        (200, &json!("underInvestigation"))
    );
    let (st, c) = act(
        &s,
        LEAD,
        &export_case,
        "assign",
        json!({"assignee": "sup1"}),
    )
    .await;
    assert_eq!((st, &c["case"]["assignee"]), (200, &json!("sup1")));
    // Resolving takes an outcome the policy defines and a note, from the lead only.
    let (st, e) = act(&s, LEAD, &export_case, "resolve", json!({"note": "x"})).await;
    assert_eq!(st, 400);
    assert!(
        e["message"].as_str().unwrap().starts_with("`/outcome`"),
        "{e}"
    );
    let (st, e) = act(
        &s,
        LEAD,
        &export_case,
        "resolve",
        json!({"outcome": "fine", "note": "x"}),
    )
    .await;
    assert_eq!(st, 400, "{e}");
    assert_eq!(
        act(
            &s,
            LEAD,
            &export_case,
            "resolve",
            json!({"outcome": "coaching"})
        )
        .await
        .0,
        400
    );
    assert_eq!(
        act(
            &s,
            SUPERVISOR,
            &export_case,
            "resolve",
            json!({"outcome": "coaching", "note": "n"})
        )
        .await
        .0,
        403
    );
    let (st, c) = act(
        &s,
        LEAD,
        &export_case,
        "resolve",
        json!({"outcome": "coaching", "note": "export was for a court request; coached on the process"}),
    )
    .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["case"]["state"], json!("resolved"));
    assert_eq!(c["case"]["outcome"], json!("coaching"));
    assert!(c["case"]["resolved"].is_string());
    assert_eq!(c["steps"].as_array().unwrap().len(), 5);
    assert_eq!(c["may"]["resolve"], json!(false));
    assert_eq!(c["may"]["comment"], json!(true));
    // Resolved: only comments.
    assert_eq!(
        act(&s, LEAD, &export_case, "investigate", json!({}))
            .await
            .0,
        409
    );
    assert_eq!(
        act(
            &s,
            LEAD,
            &export_case,
            "comment",
            json!({"note": "follow-up done"})
        )
        .await
        .0,
        200
    );

    // Filters.
    let (_, resolved) = s.get("/api/cases?state=resolved", Some(LEAD)).await;
    assert_eq!(ids(&resolved), [export_case.as_str()]);
    let (_, open) = s.get("/api/cases?state=new,acknowledged", Some(LEAD)).await;
    assert!(!ids(&open).contains(&export_case));
    let (_, mine) = s.get("/api/cases?assignee=sup1", Some(LEAD)).await;
    assert_eq!(ids(&mine), [export_case.as_str()]);
    let (_, bgs) = s.get("/api/cases?source=break-glass", Some(LEAD)).await;
    assert_eq!(ids(&bgs), [bg_case.as_str()]);
    for bad in [
        "state=done",
        "severity=low",
        "overdue=maybe",
        "limit=0",
        "x=1",
    ] {
        let (st, e) = s.get(&format!("/api/cases?{bad}"), Some(LEAD)).await;
        assert_eq!(st, 400, "{bad}: {e}");
    }
    for bad in ["f-12", "bg-zz-1", "case-1"] {
        assert_eq!(s.get(&format!("/api/cases/{bad}"), Some(LEAD)).await.0, 400);
    }
    let missing = format!("f-{}", "0".repeat(64));
    assert_eq!(
        s.get(&format!("/api/cases/{missing}"), Some(LEAD)).await.0,
        404
    );

    // Every step, refused ones too, is in the collector's chain, which verifies.
    let (_, _, jsonl) = s.get_text("/api/read-log?format=jsonl", Some(LEAD)).await;
    verify_jsonl(jsonl.as_bytes(), Options::default()).unwrap();
    let entries: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let done: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e["detail"]["case"] == json!(export_case))
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["detail"]["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        done,
        [
            ("case-comment", "new"),
            ("case-acknowledge", "acknowledged"),
            ("case-investigate", "underInvestigation"),
            ("case-assign", "underInvestigation"),
            ("case-resolve", "resolved"),
            ("case-comment", "resolved"),
        ]
    );
    let resolve = entries
        .iter()
        .find(|e| e["action"] == json!("case-resolve") && e["outcome"] == json!("success"))
        .unwrap();
    assert_eq!(resolve["detail"]["outcome"], json!("coaching"));
    // The chain commits to the note without holding its text.
    assert!(resolve["detail"]["noteSha256"].is_string());
    assert!(!jsonl.contains("court request"));
    let denied = entries
        .iter()
        .filter(|e| {
            e["outcome"] == json!("denied") && e["action"].as_str().unwrap().starts_with("case-")
        })
        .count();
    assert!(denied >= 8, "{denied} refused steps logged");
}

#[tokio::test]
async fn case_events_are_append_only_and_own_access_is_not_self_reviewed() {
    let s = cases_server(|_| {}).await;
    // A break-glass by `lead1` (the lead's own token user).
    let c = chain_id(71);
    let mut w = ChainWriter::new(c.clone());
    let mut d = draft(3);
    d.actor.id = "lead1".into();
    let e = w
        .append(d, Timestamp::from_millis(base_ms()).unwrap())
        .unwrap();
    assert_eq!(
        s.upload(c.as_str(), &[serde_json::to_value(&e).unwrap()])
            .await
            .0,
        200
    );
    let own = format!("bg-{}-0", c.as_str());
    let (st, view) = s.get(&format!("/api/cases/{own}"), Some(LEAD)).await;
    assert_eq!(st, 200, "{view}");
    assert_eq!(view["may"]["acknowledge"], json!(false));
    let (st, e) = act(&s, LEAD, &own, "acknowledge", json!({})).await;
    assert_eq!(st, 403, "{e}");
    assert!(e["message"].as_str().unwrap().contains("own access"), "{e}");

    let chain = upload_findings(&s, 72).await;
    let bg = format!("bg-{chain}-1");
    assert_eq!(act(&s, LEAD, &bg, "acknowledge", json!({})).await.0, 200);
    let pool = s.store().pool();
    for sql in [
        "UPDATE case_events SET op = 'resolve'",
        "DELETE FROM case_events",
    ] {
        assert!(sqlx::query(sql).execute(pool).await.is_err(), "{sql}");
    }
    let (_, view) = s.get(&format!("/api/cases/{bg}"), Some(LEAD)).await;
    assert_eq!(view["case"]["state"], json!("acknowledged"));
}

/// A policy whose `review` routes high and critical cases and answers in 30 minutes.
fn routing_policy(dir: &std::path::Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../pkg-config/policy.default.json"
    ))
    .unwrap();
    let mut policy: Value = serde_json::from_str(&text).unwrap();
    policy["review"]["routing"]["critical"] = json!({
        "primary": "lead1", "backup": "lead2",
        "escalation": ["director"], "respondWithinMinutes": 30
    });
    let path = dir.join("policy.json");
    std::fs::write(&path, policy.to_string()).unwrap();
    path
}

#[tokio::test]
async fn routing_assigns_the_primary_and_a_case_new_past_its_time_is_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let policy = routing_policy(dir.path());
    let s = cases_server(|c| c.policy = Some(policy)).await;
    upload_findings(&s, 73).await;
    let (_, q) = s
        .get("/api/cases?severity=critical", Some(SUPERVISOR))
        .await;
    let case = &q["cases"][0];
    assert_eq!(case["assignee"], json!("lead1"));
    assert_eq!(case["routing"]["backup"], json!("lead2"));
    assert_eq!(case["overdue"], json!(false));
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(
        s.get("/api/cases?overdue=true", Some(LEAD)).await.1["total"],
        json!(0)
    );

    // 31 minutes on (the chains are an hour old, but cases open when stored).
    s.running.state.clock.advance(31 * 60_000);
    let (_, q) = s.get("/api/cases?overdue=true", Some(LEAD)).await;
    assert_eq!(ids(&q), [id.as_str()], "{q}");
    assert_eq!(q["cases"][0]["escalatedTo"], json!(["director"]));
    assert_eq!(q["counts"]["overdue"], json!(1));
    // A response ends it.
    assert_eq!(
        act(&s, SUPERVISOR, &id, "acknowledge", json!({})).await.0,
        200
    );
    let (_, q) = s.get("/api/cases?overdue=true", Some(LEAD)).await;
    assert_eq!(q["total"], json!(0));
}

/// A receiver that answers 500 to its first `fail` requests and records each one.
async fn receiver(fail: usize) -> (String, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    let seen: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let log = Arc::clone(&log);
            async move {
                let mut l = log.lock().unwrap();
                l.push((headers, body));
                if l.len() <= fail {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn the_hook_signs_each_message_and_retries_a_failing_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let policy = routing_policy(dir.path());
    let (url, seen) = receiver(1).await;
    let secret = "a-long-hook-secret-0123";
    let s = cases_server(|c| {
        c.policy = Some(policy);
        c.notify_url = Some(url);
        c.notify_secret = Some(secret.into());
    })
    .await;
    let state = &s.running.state;
    // A first round sets the cursor; cases stored after it are announced.
    state.notifier.tick(state).await.unwrap();
    upload_findings(&s, 74).await;
    let round = state.notifier.tick(state).await.unwrap();
    assert!(round.queued >= 2, "{round:?}");
    assert_eq!(round.failed, 1, "the receiver fails the first: {round:?}");
    let failed_first = seen.lock().unwrap()[0].1.clone();
    // Not yet due: nothing is sent again.
    let again = state.notifier.tick(state).await.unwrap();
    assert_eq!((again.queued, again.delivered, again.failed), (0, 0, 0));
    // After the pause it is retried and delivered.
    state
        .clock
        .advance(sealtrail_collector::notify::FIRST_PAUSE_MS + 1);
    let retry = state.notifier.tick(state).await.unwrap();
    assert_eq!(retry.failed, 0, "{retry:?}");
    assert!(retry.delivered >= 1);
    let seen = seen.lock().unwrap();
    assert!(seen.iter().skip(1).any(|(_, b)| *b == failed_first));
    for (headers, body) in seen.iter() {
        let sig = headers["sealtrail-signature"].to_str().unwrap();
        assert_eq!(
            sig,
            format!(
                "sha256={}",
                sealtrail_collector::notify::sign(secret.as_bytes(), body.as_bytes())
            )
        );
        assert_ne!(
            sig,
            format!(
                "sha256={}",
                sealtrail_collector::notify::sign(b"another-secret-0123", body.as_bytes())
            )
        );
        let msg: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            headers["sealtrail-delivery"].to_str().unwrap(),
            msg["delivery"].as_str().unwrap()
        );
        // Ids, never evidence.
        assert!(!body.contains("suicide-risk") && !body.contains("Assessing"));
    }
    let opened: Vec<Value> = seen
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap())
        .filter(|m| m["type"] == json!("case.opened") && m["case"]["severity"] == json!("critical"))
        .collect();
    assert!(!opened.is_empty());
    assert_eq!(
        opened[0]["recipients"],
        json!([{"id": "lead1", "as": "primary"}, {"id": "lead2", "as": "backup"}])
    );
}

#[tokio::test]
async fn an_overdue_case_escalates_once() {
    let dir = tempfile::tempdir().unwrap();
    let policy = routing_policy(dir.path());
    let (url, seen) = receiver(0).await;
    let s = cases_server(|c| {
        c.policy = Some(policy);
        c.notify_url = Some(url);
        c.notify_secret = Some("a-long-hook-secret-0123".into());
    })
    .await;
    let state = &s.running.state;
    upload_findings(&s, 75).await;
    state.notifier.tick(state).await.unwrap();
    state.clock.advance(31 * 60_000);
    state.notifier.tick(state).await.unwrap();
    state.clock.advance(60_000);
    state.notifier.tick(state).await.unwrap();
    let escalated: Vec<Value> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap())
        .filter(|m| m["type"] == json!("case.escalated"))
        .collect();
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    assert_eq!(
        escalated[0]["recipients"],
        json!([{"id": "director", "as": "escalation"}])
    );
    assert_eq!(escalated[0]["case"]["overdue"], json!(true));
}
