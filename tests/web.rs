//! Browser tests of the web layer, in real headless Chromium
//! (`scripts/test-web.sh` runs them with wasm-bindgen-test-runner and
//! chromedriver). They drive the JS class exactly as a page does: through
//! the `Sealtrail` object's methods, with real IndexedDB and real `fetch`
//! against the scripted collector of `tests/support/fixture-server.mjs`,
//! whose URL the script passes at build time in `SEALTRAIL_FIXTURE_URL`.
//! (Tests run concurrently in one page, so none of them changes globals: the
//! missing-IndexedDB case is an end-to-end test in `tests/e2e/`.)
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

use sealtrail::web::timer::sleep;
use sealtrail::web::Sealtrail;

wasm_bindgen_test_configure!(run_in_browser);

const POLICY: &str = include_str!("../pkg-config/policy.default.json");
const RECORDS: &str = include_str!("../www/data/records.json");

fn fixture() -> &'static str {
    match option_env!("SEALTRAIL_FIXTURE_URL") {
        Some(url) => url,
        None => {
            panic!("SEALTRAIL_FIXTURE_URL is set by scripts/test-web.sh (the scripted collector)")
        }
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", js_sys::Math::random().to_bits())
}

fn record(id: &str) -> Value {
    let all: Vec<Value> = serde_json::from_str(RECORDS).unwrap();
    all.into_iter().find(|r| r["id"] == id).unwrap()
}

fn session(user: &str, role: &str, caseload: &[&str]) -> Value {
    let now = js_sys::Date::now();
    let iso = |ms: f64| String::from(js_sys::Date::new(&JsValue::from_f64(ms)).to_iso_string());
    json!({
        "userId": user, "name": format!("Test {role}"), "role": role,
        "caseload": caseload, "team": "team-north", "authStrength": "mfa",
        "authTime": iso(now - 60_000.0), "expiresAt": iso(now + 3_600_000.0),
        "sessionId": unique("s"), "client": "wasm-bindgen-test"
    })
}

fn js(v: &Value) -> JsValue {
    js_sys::JSON::parse(&v.to_string()).unwrap()
}

fn rs(v: &JsValue) -> Value {
    serde_json::from_str(&String::from(js_sys::JSON::stringify(v).unwrap())).unwrap()
}

/// Calls `method` on the JS object and awaits it when it returns a promise.
async fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: js_sys::Function = js_sys::Reflect::get(obj, &method.into())?.dyn_into()?;
    let out = f.apply(obj, &args.iter().collect::<js_sys::Array>())?;
    match out.dyn_into::<js_sys::Promise>() {
        Ok(p) => JsFuture::from(p).await,
        Err(v) => Ok(v),
    }
}

/// A started instance and the alerts it raised.
struct Started {
    st: JsValue,
    alerts: Rc<RefCell<Vec<Value>>>,
}

async fn start(db: &str, endpoint: &str, session: Value, extra: Value) -> Result<Started, JsValue> {
    let alerts = Rc::new(RefCell::new(Vec::new()));
    let sink = alerts.clone();
    let on_alert =
        Closure::<dyn FnMut(JsValue)>::new(move |a: JsValue| sink.borrow_mut().push(rs(&a)));
    let mut options = json!({ "dbName": db, "backoffMs": 40, "backoffMaxMs": 200, "batchDelayMs": 0, "timeoutMs": 2000 });
    if let (Value::Object(o), Value::Object(x)) = (&mut options, extra) {
        o.extend(x);
    }
    let options = js(&options);
    js_sys::Reflect::set(&options, &"onAlert".into(), &on_alert.into_js_value())?;
    let config = js(
        &json!({ "policy": serde_json::from_str::<Value>(POLICY).unwrap(), "session": session, "endpoint": endpoint }),
    );
    js_sys::Reflect::set(&config, &"options".into(), &options)?;
    let st = JsFuture::from(Sealtrail::start(config)).await?;
    Ok(Started { st, alerts })
}

async fn status(st: &JsValue) -> Value {
    rs(&call(st, "status", &[]).await.unwrap())
}

async fn fixture_log(run: &str) -> Vec<Value> {
    let window = web_sys::window().unwrap();
    let resp: web_sys::Response =
        JsFuture::from(window.fetch_with_str(&format!("{}/log/{run}", fixture())))
            .await
            .unwrap()
            .dyn_into()
            .unwrap();
    let text = JsFuture::from(resp.text().unwrap()).await.unwrap();
    serde_json::from_str(&text.as_string().unwrap()).unwrap()
}

/// Flushes until `done(status)` or about `ms` passed.
async fn flush_until(st: &JsValue, ms: u32, done: impl Fn(&Value) -> bool) -> Value {
    let mut waited = 0;
    loop {
        let s = rs(&call(st, "flush", &[]).await.unwrap());
        if done(&s) || waited >= ms {
            return s;
        }
        sleep(50).await;
        waited += 50;
    }
}

fn error_code(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &"code".into())
        .unwrap()
        .as_string()
        .unwrap_or_default()
}

/// Reads every stored line of `chain` straight from IndexedDB.
async fn stored_lines(db: &str, chain: &str) -> Vec<String> {
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    let open = factory.open(db).unwrap();
    let conn = sealtrail::web::idb::request(&open).await.unwrap();
    let conn: web_sys::IdbDatabase = conn.dyn_into().unwrap();
    let tx = conn.transaction_with_str("events").unwrap();
    let lower = js_sys::Array::of2(&chain.into(), &0.into());
    let upper = js_sys::Array::of2(&chain.into(), &f64::INFINITY.into());
    let range = web_sys::IdbKeyRange::bound(&lower, &upper).unwrap();
    let req = tx
        .object_store("events")
        .unwrap()
        .get_all_with_key(&range)
        .unwrap();
    let rows: js_sys::Array = sealtrail::web::idb::request(&req)
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    conn.close();
    rows.iter()
        .map(|r| {
            js_sys::Reflect::get(&r, &"line".into())
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect()
}

#[wasm_bindgen_test]
async fn events_survive_a_reinit_and_verify() {
    let db = unique("persist");
    let endpoint = format!("{}/s/down/{}", fixture(), unique("run"));
    let a = start(
        &db,
        &endpoint,
        session("u-nurse-17", "nurse", &["p-1001"]),
        json!({}),
    )
    .await
    .unwrap();
    call(&a.st, "seal", &[js(&record("p-1001")), "view".into()])
        .await
        .unwrap();
    call(&a.st, "seal", &[js(&record("p-1002")), "view".into()])
        .await
        .unwrap();
    let chain_a = rs(&js_sys::Reflect::get(&a.st, &"chain".into()).unwrap());
    let sa = status(&a.st).await;
    assert_eq!(sa["head"]["seq"], 1);
    assert!(sa["pending"].as_u64().unwrap() >= 2, "{sa}");
    call(&a.st, "close", &[]).await.unwrap();

    // A new instance on the same database: a new chain, and the old one is still there.
    let b = start(
        &db,
        &endpoint,
        session("u-nurse-17", "nurse", &["p-1001"]),
        json!({}),
    )
    .await
    .unwrap();
    let chain_b = rs(&js_sys::Reflect::get(&b.st, &"chain".into()).unwrap());
    assert_ne!(chain_a, chain_b, "each page load starts a new chain");
    let sb = rs(&call(&b.st, "flush", &[]).await.unwrap());
    assert_eq!(sb["pending"], 2, "{sb}");
    let old = sb["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain"] == chain_a)
        .expect("old chain listed");
    assert_eq!(old["current"], false);
    assert!(sb["lastError"].as_str().unwrap().contains("503"), "{sb}");

    // What survived is a valid chain by the core's verifier.
    let lines = stored_lines(&db, chain_a.as_str().unwrap()).await;
    assert_eq!(lines.len(), 2);
    let summary =
        sealtrail::verify::verify_jsonl(lines.join("\n").as_bytes(), Default::default()).unwrap();
    assert_eq!(summary.events, 2);
    call(&b.st, "close", &[]).await.unwrap();
}

#[wasm_bindgen_test]
async fn reveal_returns_nothing_when_the_unseal_cannot_be_stored() {
    let db = unique("failclosed");
    let endpoint = format!("{}/s/down/{}", fixture(), unique("run"));
    let s = start(
        &db,
        &endpoint,
        session("sg-001", "safeguardingLead", &[]),
        json!({}),
    )
    .await
    .unwrap();
    let sealed = rs(
        &call(&s.st, "seal", &[js(&record("p-1002")), "view".into()])
            .await
            .unwrap(),
    );
    assert_eq!(
        sealed["view"]["diagnoses"]["$sealed"]["type"], "seal",
        "{sealed}"
    );
    assert!(sealed["view"]["diagnoses"]["$sealed"].get("salt").is_none());
    let request = json!({
        "recordId": "p-1002", "reasonCode": "abuseAllegation",
        "reasonText": "Strategy meeting needs the clinical picture now"
    });
    let granted = rs(&call(&s.st, "breakGlassHeadless", &[js(&request)])
        .await
        .unwrap());
    assert_eq!(granted["outcome"], "granted", "{granted}");
    let grant = js(&granted["grant"]);

    // With storage working, the value comes back after its event.
    let open = rs(&call(
        &s.st,
        "reveal",
        &["p-1002".into(), "/diagnoses".into(), grant.clone()],
    )
    .await
    .unwrap());
    assert_eq!(open["value"], json!(["Asthma"]));
    assert_eq!(open["event"]["action"], "unseal");

    // Another tab upgrades the database: our connection closes, storing fails.
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    let upgrade = factory.open_with_u32(&db, 2).unwrap();
    let conn: web_sys::IdbDatabase = sealtrail::web::idb::request(&upgrade)
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    let err = call(
        &s.st,
        "reveal",
        &["p-1002".into(), "/medications".into(), grant],
    )
    .await
    .unwrap_err();
    assert_eq!(error_code(&err), "storage-closed");
    let message = String::from(err.dyn_ref::<js_sys::Error>().unwrap().message());
    assert!(
        !message.contains("Salbutamol"),
        "no plaintext in the error: {message}"
    );
    assert!(js_sys::Reflect::get(&err, &"value".into())
        .unwrap()
        .is_undefined());
    assert_eq!(
        status_head_after_failure(&s.st).await,
        None,
        "status cannot read closed storage"
    );
    conn.close();
    call(&s.st, "close", &[]).await.unwrap();
}

/// `status()` on a closed database fails; `None` when it does.
async fn status_head_after_failure(st: &JsValue) -> Option<Value> {
    call(st, "status", &[])
        .await
        .ok()
        .map(|s| rs(&s)["head"].clone())
}

#[wasm_bindgen_test]
async fn bad_input_names_the_field() {
    let mut s = session("u-nurse-17", "nurse", &[]);
    s["authTime"] = json!("yesterday");
    let err = start(&unique("bad"), "http://127.0.0.1:9", s, json!({}))
        .await
        .err()
        .unwrap();
    assert_eq!(error_code(&err), "invalid-input");
    assert_eq!(
        js_sys::Reflect::get(&err, &"pointer".into())
            .unwrap()
            .as_string()
            .unwrap(),
        "/session/authTime"
    );
}

#[wasm_bindgen_test]
async fn unauthorised_break_glass_is_logged_and_alerts_locally() {
    let endpoint = format!("{}/s/down/{}", fixture(), unique("run"));
    let s = start(
        &unique("bg"),
        &endpoint,
        session("u-nurse-17", "nurse", &["p-1001"]),
        json!({}),
    )
    .await
    .unwrap();
    call(&s.st, "seal", &[js(&record("p-1001")), "view".into()])
        .await
        .unwrap();
    let request = json!({ "recordId": "p-1001", "reasonCode": "abuseAllegation", "reasonText": "I want to see the DV note please" });
    let denied = rs(&call(&s.st, "breakGlassHeadless", &[js(&request)])
        .await
        .unwrap());
    assert_eq!(denied["outcome"], "denied");
    assert_eq!(denied["event"]["action"], "break-glass");
    assert_eq!(denied["event"]["outcome"], "denied");
    assert!(
        denied["refusals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "roleNotAuthorised"),
        "{denied}"
    );
    sleep(10).await;
    assert!(
        s.alerts
            .borrow()
            .iter()
            .any(|a| a["rule"] == "break-glass-unauthorised" && a["source"] == "local"),
        "{:?}",
        s.alerts.borrow()
    );
    call(&s.st, "close", &[]).await.unwrap();
}

#[wasm_bindgen_test]
async fn uploads_anchors_and_deletes_only_after_200() {
    let run = unique("ok");
    let endpoint = format!("{}/s/ok/{run}", fixture());
    let s = start(
        &unique("up"),
        &endpoint,
        session("u-nurse-17", "nurse", &["p-1001"]),
        json!({}),
    )
    .await
    .unwrap();
    let records = js(&json!([
        record("p-1001"),
        record("p-1003"),
        record("p-1005")
    ]));
    call(&s.st, "sealMany", &[records, "view".into()])
        .await
        .unwrap();
    let st = flush_until(&s.st, 3000, |s| s["pending"] == 0).await;
    assert_eq!(st["pending"], 0, "{st}");
    let current = st["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(current["ackedSeq"], 2, "{st}");
    let log = fixture_log(&run).await;
    let uploads: Vec<&Value> = log.iter().filter(|e| e["kind"] == "events").collect();
    assert!(uploads.iter().all(|e| e["status"] == 200), "{log:?}");
    let sent: u64 = uploads.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(sent, 3, "each event sent once: {log:?}");
    let body = &uploads[0]["body"]["events"];
    let lines: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| sealtrail::canon::to_string(e).unwrap())
        .collect();
    assert!(
        sealtrail::verify::verify_jsonl(lines.join("\n").as_bytes(), Default::default()).is_ok()
    );
    // The head is anchored before the first upload, at or past its last seq.
    let anchor = log
        .iter()
        .position(|e| e["kind"] == "head")
        .expect("a head anchor");
    let upload = log.iter().position(|e| e["kind"] == "events").unwrap();
    assert!(anchor < upload, "{log:?}");
    assert!(log[anchor]["body"]["seq"].as_u64().unwrap() >= log[upload]["last"].as_u64().unwrap());
    assert!(log[anchor]["body"]["hash"].is_string());
    call(&s.st, "close", &[]).await.unwrap();
}

#[wasm_bindgen_test]
async fn retries_5xx_with_backoff_then_succeeds() {
    let run = unique("500");
    let endpoint = format!("{}/s/fail500x2/{run}", fixture());
    let s = start(
        &unique("retry"),
        &endpoint,
        session("u-nurse-17", "nurse", &["p-1001"]),
        json!({}),
    )
    .await
    .unwrap();
    call(&s.st, "seal", &[js(&record("p-1001")), "view".into()])
        .await
        .unwrap();
    let st = flush_until(&s.st, 4000, |s| s["pending"] == 0).await;
    assert_eq!(st["pending"], 0, "{st}");
    let statuses: Vec<Value> = fixture_log(&run)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "events")
        .map(|e| e["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(500), json!(500), json!(200)]);
    call(&s.st, "close", &[]).await.unwrap();
}

#[wasm_bindgen_test]
async fn resends_from_expected_seq_on_gap() {
    let run = unique("gap");
    let endpoint = format!("{}/s/gap/{run}", fixture());
    let s = start(
        &unique("gap"),
        &endpoint,
        session("u-nurse-17", "nurse", &["p-1001"]),
        json!({}),
    )
    .await
    .unwrap();
    call(
        &s.st,
        "sealMany",
        &[
            js(&json!([
                record("p-1001"),
                record("p-1002"),
                record("p-1003")
            ])),
            "view".into(),
        ],
    )
    .await
    .unwrap();
    let st = flush_until(&s.st, 3000, |s| s["pending"] == 0).await;
    assert_eq!(st["pending"], 0, "{st}");
    let uploads: Vec<Value> = fixture_log(&run)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "events")
        .collect();
    assert_eq!(uploads[0]["status"], 409);
    assert_eq!(
        uploads[1]["first"], 1,
        "resent from expectedSeq: {uploads:?}"
    );
    assert_eq!(uploads[1]["status"], 200);
    call(&s.st, "close", &[]).await.unwrap();
}

#[wasm_bindgen_test]
async fn stops_and_alerts_on_fork() {
    let run = unique("fork");
    let endpoint = format!("{}/s/fork/{run}", fixture());
    let s = start(
        &unique("fork"),
        &endpoint,
        session("u-nurse-17", "nurse", &["p-1001"]),
        json!({}),
    )
    .await
    .unwrap();
    call(&s.st, "seal", &[js(&record("p-1001")), "view".into()])
        .await
        .unwrap();
    let st = flush_until(&s.st, 2000, |s| {
        s["chains"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["stopped"] == "fork"))
    })
    .await;
    assert_eq!(st["pending"], 1, "evidence stays stored: {st}");
    assert!(st["lastError"].as_str().unwrap().contains("fork"), "{st}");
    assert!(
        s.alerts
            .borrow()
            .iter()
            .any(|a| a["rule"] == "collector-fork" && a["severity"] == "critical"),
        "{:?}",
        s.alerts.borrow()
    );
    let before = fixture_log(&run)
        .await
        .iter()
        .filter(|e| e["kind"] == "events")
        .count();
    call(&s.st, "seal", &[js(&record("p-1003")), "view".into()])
        .await
        .unwrap();
    call(&s.st, "flush", &[]).await.unwrap();
    sleep(100).await;
    let after = fixture_log(&run)
        .await
        .iter()
        .filter(|e| e["kind"] == "events")
        .count();
    assert_eq!(before, after, "never retried blindly");
    call(&s.st, "close", &[]).await.unwrap();
}

#[wasm_bindgen_test]
async fn times_out_and_retries() {
    let run = unique("hang");
    let endpoint = format!("{}/s/hang1/{run}", fixture());
    let s = start(
        &unique("hang"),
        &endpoint,
        session("u-nurse-17", "nurse", &["p-1001"]),
        json!({ "timeoutMs": 300 }),
    )
    .await
    .unwrap();
    call(&s.st, "seal", &[js(&record("p-1001")), "view".into()])
        .await
        .unwrap();
    let st = flush_until(&s.st, 4000, |s| s["pending"] == 0).await;
    assert_eq!(st["pending"], 0, "{st}");
    let uploads: Vec<Value> = fixture_log(&run)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "events")
        .collect();
    assert_eq!(uploads[0]["status"], "hung");
    assert_eq!(uploads.last().unwrap()["status"], 200);
    call(&s.st, "close", &[]).await.unwrap();
}

#[wasm_bindgen_test]
async fn bulk_access_alerts_locally() {
    let endpoint = format!("{}/s/down/{}", fixture(), unique("run"));
    let s = start(
        &unique("bulk"),
        &endpoint,
        session("sg-001", "safeguardingLead", &[]),
        json!({}),
    )
    .await
    .unwrap();
    let ids = ["p-1001", "p-1002", "p-1003", "p-1004", "p-1005", "p-1006"];
    let records: Vec<Value> = ids.iter().map(|id| record(id)).collect();
    call(&s.st, "sealMany", &[js(&json!(records)), "view".into()])
        .await
        .unwrap();
    sleep(10).await;
    {
        let alerts = s.alerts.borrow();
        let bulk = alerts
            .iter()
            .find(|a| a["rule"] == "bulk-access")
            .expect("a bulk-access alert");
        assert_eq!(bulk["severity"], "high");
        assert_eq!(bulk["source"], "local");
    }
    call(&s.st, "close", &[]).await.unwrap();
}

#[wasm_bindgen_test]
async fn batches_by_size() {
    let run = unique("size");
    let endpoint = format!("{}/s/ok/{run}", fixture());
    let s = start(
        &unique("size"),
        &endpoint,
        session("u-nurse-17", "nurse", &["p-1001"]),
        json!({ "batchBytes": 3000 }),
    )
    .await
    .unwrap();
    let ids = ["p-1001", "p-1002", "p-1003", "p-1004", "p-1005", "p-1006"];
    let records: Vec<Value> = ids.iter().map(|id| record(id)).collect();
    call(&s.st, "sealMany", &[js(&json!(records)), "view".into()])
        .await
        .unwrap();
    let st = flush_until(&s.st, 3000, |s| s["pending"] == 0).await;
    assert_eq!(st["pending"], 0, "{st}");
    let uploads: Vec<Value> = fixture_log(&run)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "events")
        .collect();
    assert!(uploads.len() >= 2, "several batches: {uploads:?}");
    for u in &uploads {
        assert!(
            u["body"].to_string().len() <= 3000 || u["count"] == 1,
            "{u:?}"
        );
    }
    let sent: u64 = uploads.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert_eq!(sent, 6);
    call(&s.st, "close", &[]).await.unwrap();
}
