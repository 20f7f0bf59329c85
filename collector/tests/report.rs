//! The quarterly review report against a hand-computed fixture: one period
//! by the collector's receive time, break-glass staff and reasons,
//! demographic shares, case outcomes and accesses found inappropriate; the
//! reason text redacted for a role other than safeguarding, the CSV with a
//! spreadsheet formula defused. Runs on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{json, Value};

use sealtrail::chain::ChainWriter;
use sealtrail::event::{Action, Actor, EventDraft, Outcome, Reason, Relation, Subject};
use sealtrail::Timestamp;

/// Wednesday 2026-11-18, 12:00 in New York (the default business hours).
const T0: &str = "2026-11-18T17:00:00.000Z";

fn actor(id: &str, role: &str, name: &str) -> Actor {
    Actor {
        id: id.into(),
        role: role.into(),
        name: Some(name.into()),
        auth_strength: Some("mfa".into()),
        team: None,
    }
}

fn access(who: &Actor, action: Action, outcome: Outcome, record: &str, band: &str) -> EventDraft {
    let mut d = EventDraft::new(who.clone(), action, outcome);
    d.subject = Some(Subject {
        record_id: record.into(),
        record_type: Some("youth".into()),
        relation: Some(Relation::Caseload),
        demographics: BTreeMap::from([("ageBand".to_string(), band.to_string())]),
        related: false,
    });
    d
}

fn break_glass(
    who: &Actor,
    outcome: Outcome,
    record: &str,
    band: &str,
    code: &str,
    text: &str,
) -> EventDraft {
    let mut d = access(who, Action::BreakGlass, outcome, record, band);
    d.purpose_of_use = Some("BTG".into());
    d.reason = Some(Reason {
        code: code.into(),
        text: text.into(),
        context: Some("night call from the unit".into()),
        incident_ref: None,
    });
    d
}

/// Appends `drafts` a minute apart from `T0` and uploads them.
async fn upload(s: &TestServer, seed: u64, drafts: Vec<EventDraft>) -> String {
    let chain = chain_id(seed);
    let mut w = ChainWriter::new(chain.clone());
    let t0 = Timestamp::parse(T0).unwrap().millis();
    let events: Vec<Value> = drafts
        .into_iter()
        .zip(0i64..)
        .map(|(d, i)| {
            let e = w
                .append(d, Timestamp::from_millis(t0 + i * 60_000).unwrap())
                .unwrap();
            serde_json::to_value(&e).unwrap()
        })
        .collect();
    let (st, body) = s.upload(chain.as_str(), &events).await;
    assert_eq!(st, 200, "{body}");
    chain.as_str().to_owned()
}

async fn act(s: &TestServer, case: &str, op: &str, body: Value) {
    let resp = s
        .http
        .post(format!("{}/api/cases/{case}/{op}", s.base))
        .bearer_auth(LEAD)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{op} {case}: {}",
        resp.text().await.unwrap()
    );
}

/// Now by the collector's clock, strictly after everything received so far.
async fn boundary() -> i64 {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let t = now_ms();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    t
}

fn rfc(ms: i64) -> String {
    Timestamp::from_millis(ms).unwrap().to_string()
}

#[tokio::test]
async fn the_report_answers_the_five_questions_for_the_period_by_receive_time() {
    five_questions(server().await).await;
}

/// The same with event lines sealed at rest: the report opens them.
#[tokio::test]
async fn the_report_reads_event_lines_sealed_at_rest() {
    five_questions(server_with(|c| c.at_rest_key_hex = Some("5e".repeat(32))).await).await;
}

async fn five_questions(s: TestServer) {
    let sam = actor("sg1", "safeguardingLead", "Sam Okafor");
    let dee = actor("d1", "doctor", "Dee Doctor");
    let nia = actor("n1", "nurse", "Nia Nurse");
    let noa = actor("n2", "nurse", "Noa Nurse");

    // Before the period: a break-glass later found inappropriate, which the report leaves out.
    let before = upload(
        &s,
        900,
        vec![break_glass(
            &actor("sg2", "safeguardingLead", "Sol"),
            Outcome::Success,
            "youth-9",
            "13-15",
            "suicide-risk",
            "Earlier quarter, not in this report",
        )],
    )
    .await;
    let from = boundary().await;
    let during = upload(
        &s,
        901,
        vec![
            access(&nia, Action::View, Outcome::Success, "youth-1", "13-15"),
            access(&nia, Action::View, Outcome::Success, "youth-2", "16-17"),
            access(&noa, Action::View, Outcome::Success, "youth-3", "16-17"),
            access(&noa, Action::View, Outcome::Success, "youth-4", "16-17"),
            break_glass(
                &sam,
                Outcome::Success,
                "youth-1",
                "13-15",
                "suicide-risk",
                "Assessing imminent risk after disclosure",
            ),
            break_glass(
                &sam,
                Outcome::Success,
                "youth-1",
                "13-15",
                "abuse-allegation",
                "Reviewing disclosure details for the allegation",
            ),
            break_glass(
                &dee,
                Outcome::Denied,
                "youth-2",
                "16-17",
                "other",
                "=HYPERLINK(\"http://evil.example\",\"open\")",
            ),
        ],
    )
    .await;
    let to = boundary().await;
    let bg = |seq: u64| format!("bg-{during}-{seq}");

    act(
        &s,
        &format!("bg-{before}-0"),
        "resolve",
        json!({ "outcome": "inappropriate", "note": "Outside this quarter." }),
    )
    .await;
    act(
        &s,
        &bg(4),
        "resolve",
        json!({ "outcome": "appropriate", "note": "Reason confirmed." }),
    )
    .await;
    act(&s, &bg(5), "acknowledge", json!({})).await;
    act(
        &s,
        &bg(6),
        "resolve",
        json!({ "outcome": "inappropriate", "note": "No care reason." }),
    )
    .await;

    // The findings the alert rules stored in the period are cases too.
    let (st, alerts) = s
        .get(
            &format!("/api/alerts?from={}&to={}", rfc(from), rfc(to)),
            Some(LEAD),
        )
        .await;
    assert_eq!(st, 200, "{alerts}");
    let findings = alerts["total"].as_u64().unwrap();

    let query = format!("/api/report?from={}&to={}", rfc(from), rfc(to));
    let (st, r) = s.get(&query, Some(LEAD)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        r["period"],
        json!({ "from": rfc(from), "to": rfc(to), "by": "received" })
    );

    // 1. Which staff: Sam twice on one record, Dee refused once; Sol was before the period.
    assert_eq!(
        r["staff"],
        json!([
            { "id": "sg1", "name": "Sam Okafor", "role": "safeguardingLead", "uses": 2, "granted": 2, "refused": 0, "records": 1, "reviewed": 1, "inappropriate": 0 },
            { "id": "d1", "name": "Dee Doctor", "role": "doctor", "uses": 1, "granted": 0, "refused": 1, "records": 1, "reviewed": 1, "inappropriate": 1 },
        ])
    );
    // 2. The reasons, most used first, then by code; every attempt with its review.
    assert_eq!(
        r["reasons"]["byCode"],
        json!([{ "code": "abuse-allegation", "uses": 1 }, { "code": "other", "uses": 1 }, { "code": "suicide-risk", "uses": 1 }])
    );
    let uses = r["reasons"]["uses"].as_array().unwrap();
    assert_eq!(uses.len(), 3);
    assert_eq!(uses[0]["case"], json!(bg(4)));
    assert_eq!(
        uses[0]["reasonText"],
        json!("Assessing imminent risk after disclosure")
    );
    assert_eq!(uses[0]["context"], json!("night call from the unit"));
    assert_eq!(
        (&uses[0]["review"], &uses[0]["reviewOutcome"]),
        (&json!("resolved"), &json!("appropriate"))
    );
    assert_eq!(
        (&uses[1]["review"], &uses[1]["reviewOutcome"]),
        (&json!("acknowledged"), &Value::Null)
    );
    assert_eq!(uses[2]["outcome"], json!("denied"));
    // 3. Records: youth-1 (13-15); youth-2, -3, -4 (16-17). Broken into: youth-1 and youth-2.
    assert_eq!(r["demographics"]["accesses"], json!(7));
    assert_eq!(
        r["demographics"]["groups"],
        json!([
            { "attribute": "ageBand", "value": "13-15", "accesses": 3, "records": 1, "recordShare": 0.25, "breakGlass": 2, "breakGlassRecords": 1, "breakGlassShare": 0.5, "ratio": 2.0 },
            { "attribute": "ageBand", "value": "16-17", "accesses": 4, "records": 3, "recordShare": 0.75, "breakGlass": 1, "breakGlassRecords": 1, "breakGlassShare": 0.5, "ratio": 0.5 / 0.75 },
        ])
    );
    // 4. Three break-glass reviews (two resolved, one acknowledged) and the findings, still new.
    let o = &r["outcomes"];
    assert_eq!(o["cases"], json!(3 + findings));
    assert_eq!(
        (&o["resolved"], &o["acknowledged"], &o["underInvestigation"]),
        (&json!(2), &json!(1), &json!(0))
    );
    assert_eq!(o["new"], json!(findings));
    assert_eq!(
        (&o["breakGlassReviews"], &o["breakGlassReviewed"]),
        (&json!(3), &json!(2))
    );
    let by: BTreeMap<String, u64> = o["byOutcome"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["id"].as_str().unwrap().to_owned(),
                b["cases"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by.len(), 6, "every outcome of the policy, used or not: {o}");
    assert_eq!(
        (by["appropriate"], by["inappropriate"], by["coaching"]),
        (1, 1, 0)
    );
    // 5. Dee's attempt, found inappropriate; Sol's was not in the period.
    let bad = r["inappropriate"].as_array().unwrap();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(
        (&bad[0]["id"], &bad[0]["actorId"]),
        (&json!(bg(6)), &json!("d1"))
    );
    assert_eq!(
        bad[0]["outcomeLabel"],
        json!("Inappropriate: denied after review")
    );
    assert_eq!(
        r["totals"],
        json!({ "breakGlass": 3, "granted": 2, "staff": 2, "cases": 3 + findings, "resolved": 2, "open": 1 + findings, "inappropriate": 1 })
    );

    // The CSV holds the same figures, the typed formula defused.
    let csv_query = format!("{query}&format=csv");
    assert_eq!(
        s.get_text(&csv_query, None).await.0,
        401,
        "the CSV needs a token too"
    );
    let (st, headers, csv) = s.get_text(&csv_query, Some(LEAD)).await;
    assert_eq!(st, 200, "{csv}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(
        headers["content-disposition"].to_str().unwrap(),
        format!(
            "attachment; filename=\"sealtrail-review-{}-{}.csv\"",
            &rfc(from)[..10],
            &rfc(to)[..10]
        )
    );
    assert_eq!(headers["cache-control"], "no-store");
    // The case queue, like every review answer, is never cached either.
    let (st, headers, _) = s.get_text("/api/cases", Some(LEAD)).await;
    assert_eq!(
        (st, &headers["cache-control"]),
        (200, &"no-store".parse().unwrap())
    );
    assert!(csv.starts_with("question,item,measure,value\r\n"), "{csv}");
    for line in [
        "totals,,break-glass attempts,3\r\n",
        "1,\"sg1 (Sam Okafor, safeguardingLead)\",uses,2\r\n",
        "1,\"d1 (Dee Doctor, doctor)\",inappropriate,1\r\n",
        "2,abuse-allegation,uses,1\r\n",
        "3,ageBand=13-15,ratio,2\r\n",
        "4,,resolved,2\r\n",
        "4,inappropriate,resolved with,1\r\n",
    ] {
        assert!(csv.contains(line), "{line:?} not in\n{csv}");
    }
    assert!(
        csv.contains(&format!("5,{},state,resolved\r\n", bg(6))),
        "{csv}"
    );
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"open\"\")\""),
        "{csv}"
    );
    assert!(!csv.contains("Earlier quarter"), "{csv}");

    // Reason text and context: safeguarding staff only.
    let (st, c) = s.get(&query, Some(COMPLIANCE)).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["totals"], r["totals"]);
    let text = c["reasons"].to_string();
    assert!(
        !text.contains("Assessing imminent risk") && !text.contains("night call"),
        "{text}"
    );
    assert_eq!(
        c["reasons"]["uses"][0]["reasonText"],
        json!("[redacted: safeguarding only]")
    );
    assert_eq!(c["reasons"]["uses"][0]["reasonCode"], json!("suicide-risk"));
    for token in [NURSE, SUPERVISOR] {
        assert_eq!(s.get(&query, Some(token)).await.0, 403);
    }
}

#[tokio::test]
async fn a_period_that_is_not_one_is_refused_naming_the_parameter() {
    let s = server().await;
    for (query, names) in [
        (
            "from=2026-10-01T00:00:00.000Z&to=2026-07-01T00:00:00.000Z",
            "`from`",
        ),
        (
            "from=2026-07-01T00:00:00.000Z&to=2026-07-01T00:00:00.000Z",
            "`from`",
        ),
        ("from=yesterday", "`from`"),
        ("to=2026-13-01T00:00:00.000Z", "`to`"),
        ("format=xlsx", "`format`"),
        (
            "from=1990-01-01T00:00:00.000Z&to=2026-07-01T00:00:00.000Z",
            "`from`",
        ),
    ] {
        let (st, body) = s.get(&format!("/api/report?{query}"), Some(LEAD)).await;
        assert_eq!(st, 400, "{query}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(names),
            "{query}: {body}"
        );
    }
    // An empty period is a report of zeros.
    let (st, r) = s
        .get(
            "/api/report?from=2020-01-01T00:00:00.000Z&to=2020-04-01T00:00:00.000Z",
            Some(LEAD),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["totals"]["breakGlass"], json!(0));
    assert_eq!(r["staff"], json!([]));
}
