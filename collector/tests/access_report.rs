//! The patient access report: one record's accesses cut down for the
//! patient (no addresses, sessions, reason text or demographics, whatever
//! the reviewer's role), staff named per the policy (names, roles only,
//! stable pseudonyms), as JSON and as a valid FHIR R4 Bundle.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{json, Value};

/// A copy of the default policy with `review.staffNames` set, in `dir`.
fn policy_naming(dir: &std::path::Path, naming: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../pkg-config/policy.default.json"
    ))
    .unwrap();
    let mut policy: Value = serde_json::from_str(&text).unwrap();
    policy["review"]["staffNames"] = json!(naming);
    let path = dir.join(format!("policy-{naming}.json"));
    std::fs::write(&path, policy.to_string()).unwrap();
    path
}

/// A collector holding 12 events of one chain (records `youth-0..3`; event
/// 3, on `youth-3`, is a break-glass with reason text, context and an
/// incident reference), its policy naming staff `naming` (default: roles).
async fn server_naming(naming: Option<&str>) -> TestServer {
    let s = server().await;
    let chain = chain_id(70);
    let (st, body) = s.upload(chain.as_str(), &chain_events(&chain, 12)).await;
    assert_eq!(st, 200, "{body}");
    match naming {
        Some(n) => restart_naming(s, n).await,
        None => s,
    }
}

/// `s` restarted on its database with a policy naming staff `naming`.
async fn restart_naming(s: TestServer, naming: &str) -> TestServer {
    let policy = policy_naming(s.dir(), naming);
    s.restart_with(None, |c| c.policy = Some(policy)).await
}

/// What no patient report shows, whoever asks: the session, the address,
/// break-glass reason text, context and incident, demographics.
const NEVER_SHOWN: &[&str] = &[
    "10.0.0.7",
    "sess-1",
    "Assessing imminent risk",
    "night shift call",
    "INC-42",
    "ageBand",
    "13-15",
    "16-17",
    "mfa",
];

fn assert_cut_down(body: &Value) {
    let text = body.to_string();
    for secret in NEVER_SHOWN {
        assert!(!text.contains(secret), "`{secret}` shown: {text}");
    }
}

#[tokio::test]
async fn a_report_lists_one_records_accesses_cut_down_with_roles_by_default() {
    let s = server_naming(None).await;
    assert_eq!(s.get("/api/records/youth-3/report", None).await.0, 401);
    let (st, body) = s.get("/api/records/youth-3/report", Some(NURSE)).await;
    assert_eq!(st, 403, "{body}");
    // Even the safeguarding lead, who reads reason text elsewhere, gets the patient's cut.
    for token in [LEAD, ADMIN, COMPLIANCE] {
        let (st, body) = s.get("/api/records/youth-3/report", Some(token)).await;
        assert_eq!(st, 200, "{body}");
        assert_cut_down(&body);
        assert_eq!(body["recordId"], json!("youth-3"));
        assert_eq!(body["staffNames"], json!("roles"));
        // Events 3, 7 and 11 are about youth-3, newest first.
        assert_eq!(body["total"], json!(3));
        let entries = body["entries"].as_array().unwrap();
        let seqs: Vec<_> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [11, 7, 3]);
        for e in entries {
            assert_eq!(
                e["staff"].as_object().unwrap().keys().collect::<Vec<_>>(),
                ["role"]
            );
            assert_eq!(e["recordType"], json!("youth"));
        }
        let bg = &entries[2];
        assert_eq!(bg["action"], json!("break-glass"));
        assert_eq!(bg["purposeOfUse"], json!("BTG"));
        assert_eq!(bg["reasonCode"], json!("suicide-risk"));
        assert_eq!(bg["staff"]["role"], json!("safeguardingLead"));
        assert_eq!(entries[0]["action"], json!("view"));
        assert_eq!(entries[0]["outcome"], json!("success"));
        assert!(!body.to_string().contains("Staff 2"), "{body}");
    }
    // Another record's accesses are not in it; an unknown one is empty.
    let (_, body) = s.get("/api/records/youth-0/report", Some(ADMIN)).await;
    assert_eq!(body["total"], json!(3));
    let (_, body) = s.get("/api/records/nobody/report", Some(ADMIN)).await;
    assert_eq!(
        (body["total"].clone(), body["entries"].clone()),
        (json!(0), json!([]))
    );
    // The read is in the collector's own chain, with the record.
    let (_, log) = s.get("/api/read-log", Some(ADMIN)).await;
    assert!(
        log["entries"].as_array().unwrap().iter().any(|e| {
            e.to_string().contains("/api/records/youth-3/report")
                && e.to_string().contains("youth-3")
        }),
        "{log}"
    );
}

#[tokio::test]
async fn bad_report_parameters_are_named() {
    let s = server_naming(None).await;
    for (query, name) in [
        ("format=pdf", "format"),
        ("limit=1001", "limit"),
        ("days=0", "days"),
        ("offset=-1", "offset"),
        ("color=red", "color"),
    ] {
        let (st, body) = s
            .get(&format!("/api/records/youth-3/report?{query}"), Some(ADMIN))
            .await;
        assert_eq!(st, 400, "{query}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{name}`")),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn names_and_pseudonyms_follow_the_policy() {
    let s = server_naming(Some("names")).await;
    let (_, body) = s.get("/api/records/youth-3/report", Some(ADMIN)).await;
    assert_cut_down(&body);
    assert_eq!(body["staffNames"], json!("names"));
    assert_eq!(
        body["entries"][0]["staff"],
        json!({ "id": "s2", "name": "Staff 2", "role": "nurse" })
    );
    s.stop().await;

    let s = server_naming(Some("pseudonyms")).await;
    let (_, first) = s.get("/api/records/youth-3/report", Some(ADMIN)).await;
    assert_cut_down(&first);
    let pseudonyms: Vec<String> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let staff = e["staff"].as_object().unwrap();
            assert_eq!(staff.keys().collect::<Vec<_>>(), ["pseudonym", "role"]);
            staff["pseudonym"].as_str().unwrap().to_owned()
        })
        .collect();
    // Events 11 and 7: s2 and s1; event 3: s0.
    assert!(pseudonyms
        .iter()
        .all(|p| p.starts_with("staff-") && p.len() == 16));
    assert_eq!(
        pseudonyms
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );
    assert!(!first.to_string().contains("Staff "), "{first}");
    // Stable: the same staff member has the same pseudonym in every report,
    // after a restart too.
    let (_, other) = s.get("/api/records/youth-1/report", Some(ADMIN)).await;
    let s = restart_naming(s, "pseudonyms").await;
    let (_, again) = s.get("/api/records/youth-3/report", Some(ADMIN)).await;
    assert_eq!(again["entries"], first["entries"]);
    // youth-1's events 1, 5, 9 are by s1, s2, s0 (the same three people).
    let other_set: std::collections::BTreeSet<_> = other["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["staff"]["pseudonym"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(other_set, pseudonyms.iter().cloned().collect());
}

#[tokio::test]
async fn the_fhir_report_is_a_valid_bundle_naming_staff_per_the_policy() {
    for naming in ["roles", "names", "pseudonyms"] {
        let s = server_naming(Some(naming)).await;
        let (st, _, text) = s
            .get_text("/api/records/youth-3/report?format=fhir", Some(ADMIN))
            .await;
        assert_eq!(st, 200, "{text}");
        let bundle: Value = serde_json::from_str(&text).unwrap();
        assert_cut_down(&bundle);
        assert_eq!(bundle["resourceType"], json!("Bundle"));
        assert_eq!(bundle["type"], json!("searchset"));
        assert_eq!(bundle["total"], json!(3));
        let entries = bundle["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        for e in entries {
            let r = &e["resource"];
            assert_eq!(r["resourceType"], json!("AuditEvent"));
            assert_eq!(
                r["entity"][0]["what"]["identifier"]["value"],
                json!("youth-3")
            );
            let who = &r["agent"][0]["who"];
            match naming {
                "roles" => assert_eq!(
                    who.as_object().unwrap().keys().collect::<Vec<_>>(),
                    ["display"]
                ),
                "names" => assert!(who["display"].as_str().unwrap().starts_with("Staff ")),
                _ => {
                    assert_eq!(
                        who["identifier"]["system"],
                        json!("urn:sealtrail:staff-pseudonym")
                    );
                    assert!(who["display"].as_str().unwrap().starts_with("staff-"));
                }
            }
            assert!(r["agent"][0].get("network").is_none(), "{r}");
        }
        let bg = &entries[2]["resource"];
        assert_eq!(bg["purposeOfEvent"][0]["coding"][0]["code"], json!("BTG"));
        assert!(bg["purposeOfEvent"][0].get("text").is_none(), "{bg}");
        fhir_r4_valid(&[bundle]);
        s.stop().await;
    }
}
