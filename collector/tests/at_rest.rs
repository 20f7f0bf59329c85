//! Encryption at rest: with a master key, event lines, findings evidence
//! and case notes are sealed in the database (the SQLite file, or the
//! PostgreSQL rows, hold no reason text or note), while every read path
//! sees the plaintext and every chain verifies; rotation (`rekey`) re-seals
//! the data keys under a new master key, after which the old key opens
//! nothing and every chain still verifies; without a key the collector
//! stores plaintext (and the same checks find the text).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{json, Value};

use sealtrail::verify::{verify_jsonl, Options};
use sealtrail_collector::at_rest::{AtRestError, MasterKey};
use sealtrail_collector::StartError;

const KEY_1: &str = "0101010101010101010101010101010101010101010101010101010101010101";
const KEY_2: &str = "0202020202020202020202020202020202020202020202020202020202020202";
/// The break-glass reason text of `common::draft`.
const REASON: &str = "Assessing imminent risk after disclosure";
const NOTE: &str = "Spoke with the lead nurse: cover arranged, follow up Friday";

/// Uploads a chain with a break-glass (reason text), forks it (a finding
/// whose evidence holds both versions, reason text included) and comments
/// on the break-glass's case. Returns the chain id.
async fn evening(s: &TestServer) -> String {
    let c = chain_id(90);
    let ev = chain_events(&c, 8);
    assert_eq!(s.upload(c.as_str(), &ev).await.0, 200);
    let mut forged = ev.clone();
    forged[3]["reason"]["code"] = json!("other");
    common::relink(&mut forged, 3);
    assert_eq!(s.upload(c.as_str(), &forged[3..]).await.0, 409);
    let resp = s
        .http
        .post(format!("{}/api/cases/bg-{c}-3/comment", s.base))
        .bearer_auth(LEAD)
        .body(json!({ "note": NOTE }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    c.as_str().to_owned()
}

/// Rows of `table` whose `column` holds `text` as stored, straight from the store.
async fn stored_with(s: &TestServer, table: &str, column: &str, text: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(&format!(
        "SELECT COUNT(*) AS n FROM {table} WHERE {column} LIKE $1"
    ))
    .bind(format!("%{text}%"))
    .fetch_one(s.store().pool())
    .await
    .unwrap()
    .try_get("n")
    .unwrap()
}

/// Every byte of the SQLite database (main file and write-ahead log), if it is one.
fn sqlite_bytes(s: &TestServer) -> Option<Vec<u8>> {
    let path = s
        .url
        .strip_prefix("sqlite://")?
        .split('?')
        .next()?
        .to_owned();
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
        bytes.extend(wal);
    }
    Some(bytes)
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

/// What every read path shows of `chain`: it verifies (stored and
/// exported), the break-glass log shows the reason, the case its note, the
/// fork finding both versions.
async fn reads_see_plaintext(s: &TestServer, chain: &str) {
    let (st, v) = s
        .get(&format!("/api/chains/{chain}/verify"), Some(ADMIN))
        .await;
    assert_eq!((st, v["valid"].clone()), (200, json!(true)), "{v}");
    let (st, _, jsonl) = s
        .get_text(&format!("/api/evidence/{chain}"), Some(LEAD))
        .await;
    assert_eq!(st, 200, "{jsonl}");
    // Verifies from seq 0 (an error names the broken rule otherwise).
    let summary = verify_jsonl(jsonl.as_bytes(), Options::default()).unwrap();
    assert_eq!(summary.events, 8);
    assert!(jsonl.contains(REASON));
    let (_, log) = s.get("/api/break-glass/audit-log", Some(LEAD)).await;
    assert!(log.to_string().contains(REASON), "{log}");
    let (_, case) = s.get(&format!("/api/cases/bg-{chain}-3"), Some(LEAD)).await;
    assert!(case.to_string().contains(NOTE), "{case}");
    let f = s.findings(chain).await;
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].3["stored"]["reason"]["text"], json!(REASON));
}

#[tokio::test]
async fn with_a_key_the_database_holds_no_reason_text_or_note_and_reads_see_them() {
    let s = server_with(|c| c.at_rest_key_hex = Some(KEY_1.into())).await;
    assert!(s.running.state.store.sealing().is_some());
    let chain = evening(&s).await;
    reads_see_plaintext(&s, &chain).await;
    for (table, column) in [
        ("events", "line"),
        ("findings", "evidence"),
        ("case_events", "note"),
    ] {
        assert_eq!(
            stored_with(&s, table, column, "Assessing").await,
            0,
            "{table}"
        );
        assert_eq!(
            stored_with(&s, table, column, "cover arranged").await,
            0,
            "{table}"
        );
        let unsealed = stored_with(&s, table, "COALESCE(key_id, '')", "").await
            - stored_with(&s, table, "key_id", "dk-").await;
        assert_eq!(unsealed, 0, "{table}: every row names its data key");
    }
    s.stop().await;
    if let Some(bytes) = sqlite_bytes(&s) {
        assert!(
            !holds(&bytes, "Assessing imminent risk"),
            "reason text in the file"
        );
        assert!(!holds(&bytes, "cover arranged"), "note in the file");
        assert!(
            !holds(&bytes, "night shift call"),
            "break-glass context in the file"
        );
    }
}

#[tokio::test]
async fn without_a_key_the_same_checks_find_the_plaintext() {
    let s = server().await;
    assert!(s.running.state.store.sealing().is_none());
    let chain = evening(&s).await;
    reads_see_plaintext(&s, &chain).await;
    assert!(stored_with(&s, "events", "line", "Assessing").await > 0);
    assert!(stored_with(&s, "findings", "evidence", "Assessing").await > 0);
    assert!(stored_with(&s, "case_events", "note", "cover arranged").await > 0);
    s.stop().await;
    if let Some(bytes) = sqlite_bytes(&s) {
        assert!(holds(&bytes, "Assessing imminent risk"));
    }
}

/// Starting on `s`'s database with `key` (none: no key).
async fn start_with(s: &TestServer, key: Option<&str>) -> Result<(), StartError> {
    let mut cfg = common::config(s.url.clone(), s.dir());
    cfg.at_rest_key_hex = key.map(str::to_owned);
    let running = sealtrail_collector::start(&cfg).await?;
    running.task.abort();
    running.state.store.close().await;
    Ok(())
}

#[tokio::test]
async fn rotation_reseals_the_data_keys_and_every_chain_still_verifies() {
    let s = server_with(|c| c.at_rest_key_hex = Some(KEY_1.into())).await;
    let chain = evening(&s).await;
    s.stop().await;

    // `sealtrail-collector rekey`, as an operator runs it.
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (dir.path().join("old.key"), dir.path().join("new.key"));
    std::fs::write(&old, format!("{KEY_1}\n")).unwrap();
    let keygen = std::process::Command::new(env!("CARGO_BIN_EXE_sealtrail-collector"))
        .args(["keygen", "--at-rest-key"])
        .arg(&new)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{keygen:?}");
    let new_hex = std::fs::read_to_string(&new).unwrap().trim().to_owned();
    assert_eq!(new_hex.len(), 64);
    let rekey = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sealtrail-collector"))
            .args(["rekey", "--database", &s.url, "--old-key"])
            .arg(&old)
            .arg("--new-key")
            .arg(&new)
            .output()
            .unwrap()
    };
    let out = rekey();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    assert!(said.contains("re-sealed 1 data key"), "{said}");
    // Run again (a rotation cut short is finished so): nothing left under the old key.
    let again = rekey();
    assert!(again.status.success(), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stdout).contains("re-sealed 0 data key"));

    // The old key opens nothing any more; no key at all is refused too.
    let refused = start_with(&s, Some(KEY_1)).await.unwrap_err();
    assert!(
        matches!(refused, StartError::AtRest(AtRestError::OtherMaster { .. })),
        "{refused}"
    );
    assert!(refused.to_string().contains("rekey"), "{refused}");
    let refused = start_with(&s, None).await.unwrap_err();
    assert!(
        matches!(refused, StartError::AtRest(AtRestError::Locked)),
        "{refused}"
    );

    // Under the new key: everything reads and verifies, and new rows go
    // under the new data key while the old rows stay as they were.
    let s = s
        .restart_with(None, |c| c.at_rest_key_hex = Some(new_hex.clone()))
        .await;
    reads_see_plaintext(&s, &chain).await;
    let current = s.running.state.store.sealing().unwrap().id().to_owned();
    let c2 = chain_id(91);
    assert_eq!(s.upload(c2.as_str(), &chain_events(&c2, 5)).await.0, 200);
    let (_, v) = s
        .get(&format!("/api/chains/{}/verify", c2.as_str()), Some(ADMIN))
        .await;
    assert_eq!(v["valid"], json!(true), "{v}");
    assert_eq!(stored_with(&s, "events", "key_id", &current).await, 5);
    assert_eq!(stored_with(&s, "events", "line", "Assessing").await, 0);
    let (_, chains) = s.get("/api/chains", Some(ADMIN)).await;
    for c in chains["chains"].as_array().unwrap() {
        let id = c["chain"].as_str().unwrap();
        let (_, v): (u16, Value) = s
            .get(&format!("/api/chains/{id}/verify"), Some(ADMIN))
            .await;
        assert_eq!(v["valid"], json!(true), "{id}: {v}");
    }
}

#[test]
fn master_keys_are_64_hex_digits() {
    for bad in [
        "",
        "01",
        &"0".repeat(63),
        &format!("{KEY_1}00"),
        &KEY_1.replace('0', "g"),
    ] {
        let e = MasterKey::from_hex(bad).unwrap_err();
        assert!(e.to_string().contains("64 hex digits"), "{e}");
    }
    let k = MasterKey::from_hex(&format!("  {KEY_1}\n")).unwrap();
    assert!(
        k.id().starts_with("mk-") && k.id().len() == 19,
        "{}",
        k.id()
    );
    assert_ne!(k.id(), MasterKey::from_hex(KEY_2).unwrap().id());
}
