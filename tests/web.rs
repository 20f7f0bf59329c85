//! Browser tests of the web layer, in real browsers: `scripts/test-web.sh`
//! runs them with wasm-bindgen-test-runner in Chromium (chromedriver), Firefox
//! ESR (geckodriver) and WebKitGTK (WebKitWebDriver). They drive the JS class exactly as a page does: through
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

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
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
        "sessionId": unique("s"), "client": "wasm-bindgen-test",
        "network": "onSite", "device": "managed"
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

/// The nurse of the demo data, whose caseload is `p-1001`.
fn nurse() -> Value {
    session("u-nurse-17", "nurse", &["p-1001"])
}

/// The safeguarding lead of the demo data, the role break-glass is for.
fn lead() -> Value {
    session("sg-001", "safeguardingLead", &[])
}

/// One run of a scenario the fixture collector scripts (`ok`, `down`,
/// `fail500x2`, `gap`, `fork`, `hang1`): its endpoint and its request log.
struct Collector {
    run: String,
    endpoint: String,
}

fn collector(scenario: &str) -> Collector {
    let run = unique(scenario);
    let endpoint = format!("{}/s/{scenario}/{run}", fixture());
    Collector { run, endpoint }
}

impl Collector {
    /// Every request of this run, in order.
    async fn log(&self) -> Vec<Value> {
        let window = web_sys::window().unwrap();
        let url = format!("{}/log/{}", fixture(), self.run);
        let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(&url))
            .await
            .unwrap()
            .dyn_into()
            .unwrap();
        let text = JsFuture::from(resp.text().unwrap()).await.unwrap();
        serde_json::from_str(&text.as_string().unwrap()).unwrap()
    }

    /// The event uploads of this run, in order.
    async fn uploads(&self) -> Vec<Value> {
        uploads_in(&self.log().await)
    }
}

/// The event uploads of a request log (not the head anchors).
fn uploads_in(log: &[Value]) -> Vec<Value> {
    log.iter()
        .filter(|e| e["kind"] == "events")
        .cloned()
        .collect()
}

/// How many events the uploads carried in all.
fn events_sent(uploads: &[Value]) -> u64 {
    uploads.iter().map(|e| e["count"].as_u64().unwrap()).sum()
}

/// Runs the core's verifier over chain lines.
fn verify_lines(
    lines: &[String],
) -> Result<sealtrail::verify::Summary, sealtrail::verify::VerifyError> {
    sealtrail::verify::verify_jsonl(lines.join("\n").as_bytes(), Default::default())
}

/// A started instance, the alerts it raised, the session its host mints
/// credentials for and every credential the host handed out, by chain.
struct Started {
    st: JsValue,
    alerts: Rc<RefCell<Vec<Value>>>,
    host: Rc<RefCell<Value>>,
    minted: Rc<RefCell<Vec<(String, String)>>>,
}

/// A credential as a host's backend mints it for `session` and `chain`,
/// valid `ttl` seconds (unsigned: the fixture collector reads claims only).
fn mint(chain: &str, session: &Value, ttl: i64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let now = (js_sys::Date::now() / 1000.0).floor() as i64;
    let claims = json!({
        "sub": session["userId"], "sid": session["sessionId"], "role": session["role"],
        "chain": chain, "iat": now, "exp": now + ttl
    });
    let part = |v: &str| URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.{}",
        part(r#"{"alg":"EdDSA","typ":"JWT"}"#),
        part(&claims.to_string()),
        part("unsigned")
    )
}

/// The claims of a credential the fixture logged (`auth`).
fn claims_of(token: &Value) -> Value {
    let part = token.as_str().unwrap().split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Starts an instance. `extra` overrides the test options; its
/// `credential` picks the host's callback: absent, one that mints for the
/// host's session (`credentialTtl` seconds, default an hour); `null`, none;
/// `"throws"`, one that rejects; `"other-user"`, one minting for another user.
async fn start(db: &str, endpoint: &str, session: Value, extra: Value) -> Result<Started, JsValue> {
    let policy = serde_json::from_str::<Value>(POLICY).unwrap();
    start_with(&policy, db, endpoint, session, extra).await
}

/// [`start`] under `policy`.
async fn start_with(
    policy: &Value,
    db: &str,
    endpoint: &str,
    session: Value,
    extra: Value,
) -> Result<Started, JsValue> {
    let alerts = Rc::new(RefCell::new(Vec::new()));
    let sink = alerts.clone();
    let on_alert =
        Closure::<dyn FnMut(JsValue)>::new(move |a: JsValue| sink.borrow_mut().push(rs(&a)));
    let mut options = json!({ "dbName": db, "backoffMs": 40, "backoffMaxMs": 200, "batchDelayMs": 0, "timeoutMs": 2000 });
    let mut kind = Some(Value::from("mint"));
    let mut ttl = 3600;
    if let (Value::Object(o), Value::Object(mut x)) = (&mut options, extra) {
        if let Some(k) = x.remove("credential") {
            kind = (!k.is_null()).then_some(k);
        }
        if let Some(t) = x.remove("credentialTtl") {
            ttl = t.as_i64().unwrap();
        }
        o.extend(x);
    }
    let options = js(&options);
    js_sys::Reflect::set(&options, &"onAlert".into(), &on_alert.into_js_value())?;
    let host = Rc::new(RefCell::new(session.clone()));
    let minted = Rc::new(RefCell::new(Vec::new()));
    if let Some(kind) = kind {
        let (host, minted) = (host.clone(), minted.clone());
        let credential =
            Closure::<dyn FnMut(String) -> js_sys::Promise>::new(move |chain: String| {
                let mut who = host.borrow().clone();
                match kind.as_str() {
                    Some("throws") => {
                        return js_sys::Promise::reject(&js_sys::Error::new(
                            "the login server is down",
                        ))
                    }
                    Some("other-user") => who["userId"] = json!("someone-else"),
                    _ => {}
                }
                let token = mint(&chain, &who, ttl);
                minted.borrow_mut().push((chain, token.clone()));
                js_sys::Promise::resolve(&JsValue::from(token))
            });
        js_sys::Reflect::set(&options, &"credential".into(), &credential.into_js_value())?;
    }
    let config = js(&json!({ "policy": policy, "session": session, "endpoint": endpoint }));
    js_sys::Reflect::set(&config, &"options".into(), &options)?;
    let st = JsFuture::from(Sealtrail::start(config)).await?;
    Ok(Started {
        st,
        alerts,
        host,
        minted,
    })
}

/// The nurse's instance on a fresh database, uploading to a fresh run of
/// `scenario`; `extra` overrides the test options.
async fn nurse_uploading_to(scenario: &str, extra: Value) -> (Started, Collector) {
    let to = collector(scenario);
    let s = start(&unique(scenario), &to.endpoint, nurse(), extra)
        .await
        .unwrap();
    (s, to)
}

/// An instance on a fresh database whose collector is down (uploads fail).
async fn offline(session: Value) -> Started {
    start(
        &unique("offline"),
        &collector("down").endpoint,
        session,
        json!({}),
    )
    .await
    .unwrap()
}

impl Started {
    /// The current chain's id.
    fn chain(&self) -> Value {
        rs(&js_sys::Reflect::get(&self.st, &"chain".into()).unwrap())
    }

    /// A copy of the alerts raised so far.
    fn alerts(&self) -> Vec<Value> {
        self.alerts.borrow().clone()
    }

    /// Fails, listing the alerts, unless one raised so far is `expected`.
    #[track_caller]
    fn assert_alerted(&self, expected: impl Fn(&Value) -> bool) {
        let alerts = self.alerts();
        assert!(alerts.iter().any(expected), "{alerts:?}");
    }

    /// Seals one demo record for viewing.
    async fn seal(&self, id: &str) -> Value {
        rs(&call(&self.st, "seal", &[js(&record(id)), "view".into()])
            .await
            .unwrap())
    }

    /// Seals several demo records for viewing in one call.
    async fn seal_many(&self, ids: &[&str]) {
        let records: Vec<Value> = ids.iter().map(|id| record(id)).collect();
        call(&self.st, "sealMany", &[js(&json!(records)), "view".into()])
            .await
            .unwrap();
    }

    async fn break_glass(&self, request: Value) -> Value {
        rs(&call(&self.st, "breakGlassHeadless", &[js(&request)])
            .await
            .unwrap())
    }

    async fn reveal(&self, id: &str, pointer: &str, grant: &JsValue) -> Result<JsValue, JsValue> {
        call(
            &self.st,
            "reveal",
            &[id.into(), pointer.into(), grant.clone()],
        )
        .await
    }

    async fn status(&self) -> Value {
        rs(&call(&self.st, "status", &[]).await.unwrap())
    }

    async fn flush(&self) -> Value {
        rs(&call(&self.st, "flush", &[]).await.unwrap())
    }

    /// Flushes until `done(status)`, or until [`patience`] of `ms` passed.
    async fn flush_until(&self, ms: u32, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = js_sys::Date::now() + patience(ms);
        loop {
            let s = self.flush().await;
            if done(&s) || js_sys::Date::now() >= deadline {
                return s;
            }
            sleep(50).await;
        }
    }

    /// Flushes until nothing is pending, within about `ms`; fails otherwise.
    async fn flush_all(&self, ms: u32) -> Value {
        let st = self.flush_until(ms, |s| s["pending"] == 0).await;
        assert_eq!(st["pending"], 0, "{st}");
        st
    }

    async fn close(self) {
        call(&self.st, "close", &[]).await.unwrap();
    }
}

/// How long, in real milliseconds, a wait for something that should happen
/// within about `ms` goes on before the test fails: four times that, since
/// the machines running the suite are often loaded (a wait ends as soon as
/// what it waits for happens, so patience costs a passing test nothing).
/// A failed assertion matters more here than in native tests: with
/// `panic = "abort"` it abandons the test's future mid-poll, and whatever
/// the harness frees of it afterwards can corrupt the heap the remaining
/// tests share, so one slow wait can fail the whole run far from its cause.
fn patience(ms: u32) -> f64 {
    f64::from(ms) * 4.0
}

fn error_code(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &"code".into())
        .unwrap()
        .as_string()
        .unwrap_or_default()
}

/// Reads every stored line of `chain` straight from IndexedDB: a row holds
/// consecutive events, their lines joined by newlines.
async fn stored_lines(db: &str, chain: &str) -> Vec<String> {
    stored_rows(db, chain)
        .await
        .iter()
        .flat_map(|r| r["line"].as_str().unwrap().split('\n').map(str::to_owned))
        .collect()
}

/// A connection of the test's own to database `db`, at `version` (an
/// upgrade, as another tab or package would run) or as it is.
async fn open_db(db: &str, version: Option<u32>) -> web_sys::IdbDatabase {
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    let open = match version {
        Some(v) => factory.open_with_u32(db, v),
        None => factory.open(db),
    };
    sealtrail::web::idb::request(&open.unwrap())
        .await
        .unwrap()
        .dyn_into()
        .unwrap()
}

/// Every stored row of `chain` in database `db`, as stored.
async fn stored_rows(db: &str, chain: &str) -> Vec<Value> {
    let conn = open_db(db, None).await;
    let tx = conn.transaction_with_str("events").unwrap();
    let lower = js_sys::Array::of2(&chain.into(), &0.into());
    let upper = js_sys::Array::of2(&chain.into(), &f64::INFINITY.into());
    let range = web_sys::IdbKeyRange::bound(&lower, &upper).unwrap();
    let req = tx
        .object_store("events")
        .unwrap()
        .get_all_with_key(&range)
        .unwrap();
    let rows = sealtrail::web::idb::request(&req).await.unwrap();
    conn.close();
    rs(&rows).as_array().unwrap().clone()
}

/// Replaces every row of database `db` by `rows` (a test's own writes,
/// as another version of the package might have left them).
async fn replace_rows(db: &str, rows: &[Value]) {
    let conn = open_db(db, None).await;
    let tx = conn
        .transaction_with_str_and_mode("events", web_sys::IdbTransactionMode::Readwrite)
        .unwrap();
    let store = tx.object_store("events").unwrap();
    store.clear().unwrap();
    for r in rows {
        store.put(&js(r)).unwrap();
    }
    let done = js_sys::Promise::new(&mut |resolve, _| tx.set_oncomplete(Some(&resolve)));
    JsFuture::from(done).await.unwrap();
    conn.close();
}

#[wasm_bindgen_test]
async fn a_batch_is_stored_in_rows_and_an_acknowledgement_inside_one_keeps_the_rest() {
    let db = unique("rows");
    let collector = collector("ok");
    let s = start(
        &db,
        &collector.endpoint,
        nurse(),
        json!({ "batchEvents": 2 }),
    )
    .await
    .unwrap();
    let chain = s.chain();
    let chain = chain.as_str().unwrap();
    s.seal_many(&["p-1001", "p-1002", "p-1003", "p-1004", "p-1005"])
        .await;
    // One commit, one row (before the uploader trims it).
    let rows = stored_rows(&db, chain).await;
    if rows.len() == 1 {
        assert_eq!(
            (rows[0]["first"].clone(), rows[0]["seq"].clone()),
            (json!(0), json!(4))
        );
    }
    let st = s.flush_all(3000).await;
    assert_eq!(st["pending"], 0, "{st}");
    let uploads = collector.uploads().await;
    assert!(uploads.len() >= 3, "batches of two: {uploads:?}");
    assert_eq!(
        events_sent(&uploads),
        5,
        "each event sent once: {uploads:?}"
    );
    let seqs: Vec<u64> = uploads
        .iter()
        .flat_map(|u| u["body"]["events"].as_array().unwrap().clone())
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4], "in order, none twice");
    assert!(stored_rows(&db, chain).await.is_empty());
    s.close().await;
}

/// Random batches appended and random acknowledgements (some ending inside
/// a row), checked after each step against a row per event: what is read
/// from any seq, with any limit, and the pending count. Seeded, so a
/// failure names the seed and step that reproduce it.
#[wasm_bindgen_test]
async fn stored_rows_read_trim_and_count_as_a_row_per_event_would() {
    use sealtrail::web::store::{EventStore, StoredEvent};
    for seed in [1u64, 7, 42] {
        let mut state = seed;
        let mut rand = move |below: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % below.max(1)
        };
        let store = EventStore::open(&unique("rows-prop")).await.unwrap();
        let chain = "0123456789abcdef0123456789abcdef";
        let line = |seq: u64| format!("{{\"seq\":{seq}}}");
        let mut model: Vec<u64> = Vec::new();
        let mut next = 0;
        for step in 0..40 {
            let at = format!("seed {seed}, step {step}");
            match (rand(3), model.first().copied()) {
                (0, Some(first)) => {
                    let through = first + rand(model.len() as u64 + 2);
                    store.acknowledge(chain, through, None).await.unwrap();
                    model.retain(|s| *s > through);
                }
                _ => {
                    let n = 1 + rand(300);
                    let events: Vec<StoredEvent> = (next..next + n)
                        .map(|seq| StoredEvent {
                            seq,
                            line: line(seq),
                        })
                        .collect();
                    store.append(chain, &events).await.unwrap();
                    model.extend(next..next + n);
                    next += n;
                }
            }
            assert_eq!(store.pending().await.unwrap(), model.len() as u64, "{at}");
            let from = model.first().copied().unwrap_or(next) + rand(40);
            let max = 1 + rand(400) as u32;
            let got = store.read(chain, from, max).await.unwrap();
            let want: Vec<StoredEvent> = model
                .iter()
                .filter(|s| **s >= from)
                .take(max as usize)
                .map(|&seq| StoredEvent {
                    seq,
                    line: line(seq),
                })
                .collect();
            assert_eq!(got, want, "{at}: from {from}, max {max}");
        }
        store.close();
    }
}

#[wasm_bindgen_test]
async fn rows_of_one_event_each_as_version_3_wrote_them_still_upload() {
    let db = unique("rows-v3");
    let a = start(&db, &collector("down").endpoint, nurse(), json!({}))
        .await
        .unwrap();
    a.seal_many(&["p-1001", "p-1002", "p-1003"]).await;
    let chain = a.chain();
    let chain = chain.as_str().unwrap().to_owned();
    a.flush().await;
    a.close().await;
    // The same events, one row each, without `first`.
    let old: Vec<Value> = stored_lines(&db, &chain)
        .await
        .into_iter()
        .enumerate()
        .map(|(seq, line)| json!({ "chain": chain, "seq": seq, "line": line }))
        .collect();
    assert_eq!(old.len(), 3);
    replace_rows(&db, &old).await;

    let ok = collector("ok");
    let b = start(&db, &ok.endpoint, nurse(), json!({})).await.unwrap();
    assert_eq!(b.status().await["pending"], 3);
    let st = b.flush_until(3000, |s| s["pending"] == 0).await;
    assert_eq!(st["pending"], 0, "{st}");
    let sent: Vec<Value> = ok
        .uploads()
        .await
        .iter()
        .flat_map(|u| u["body"]["events"].as_array().unwrap().clone())
        .filter(|e| e["chain"] == chain.as_str())
        .collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    let lines: Vec<String> = sent
        .iter()
        .map(|e| sealtrail::canon::to_string(e).unwrap())
        .collect();
    assert_eq!(verify_lines(&lines).unwrap().events, 3);
    b.close().await;
}

#[wasm_bindgen_test]
async fn events_survive_a_reinit_and_verify() {
    let db = unique("persist");
    let down = collector("down");
    let a = start(&db, &down.endpoint, nurse(), json!({}))
        .await
        .unwrap();
    a.seal("p-1001").await;
    a.seal("p-1002").await;
    let chain_a = a.chain();
    let sa = a.status().await;
    assert_eq!(sa["head"]["seq"], 1);
    assert!(sa["pending"].as_u64().unwrap() >= 2, "{sa}");
    // One round, so the host's credential is stored beside the chain.
    a.flush().await;
    a.close().await;

    // A new instance on the same database: a new chain, and the old one is still there.
    let b = start(&db, &down.endpoint, nurse(), json!({}))
        .await
        .unwrap();
    assert_ne!(chain_a, b.chain(), "each page load starts a new chain");
    let sb = b.flush().await;
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
    let summary = verify_lines(&lines).unwrap();
    assert_eq!(summary.events, 2);
    b.close().await;
}

#[wasm_bindgen_test]
async fn reveal_returns_nothing_when_the_unseal_cannot_be_stored() {
    let db = unique("failclosed");
    let s = start(&db, &collector("down").endpoint, lead(), json!({}))
        .await
        .unwrap();
    let sealed = s.seal("p-1002").await;
    assert_eq!(
        sealed["view"]["diagnoses"]["$sealed"]["type"], "seal",
        "{sealed}"
    );
    assert!(sealed["view"]["diagnoses"]["$sealed"].get("salt").is_none());
    let granted = s
        .break_glass(json!({
            "recordId": "p-1002", "reasonCode": "abuseAllegation",
            "reasonText": "Strategy meeting needs the clinical picture now"
        }))
        .await;
    assert_eq!(granted["outcome"], "granted", "{granted}");
    let grant = js(&granted["grant"]);

    // With storage working, the value comes back after its event.
    let open = rs(&s.reveal("p-1002", "/diagnoses", &grant).await.unwrap());
    assert_eq!(open["value"], json!(["Asthma"]));
    assert_eq!(open["event"]["action"], "unseal");

    // Another tab upgrades the database: our connection closes, storing fails.
    let conn = open_db(&db, Some(1000)).await;
    let err = s
        .reveal("p-1002", "/medications", &grant)
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
    s.close().await;
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
    let s = offline(nurse()).await;
    s.seal("p-1001").await;
    let denied = s
        .break_glass(json!({ "recordId": "p-1001", "reasonCode": "abuseAllegation", "reasonText": "I want to see the DV note please" }))
        .await;
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
    s.assert_alerted(|a| a["rule"] == "break-glass-unauthorised" && a["source"] == "local");
    s.close().await;
}

#[wasm_bindgen_test]
async fn edits_and_deletions_are_logged_with_what_they_touched() {
    let db = unique("integrity");
    let s = start(&db, &collector("down").endpoint, lead(), json!({}))
        .await
        .unwrap();
    let r = js(&record("p-1001"));
    let three_days_ago =
        js_sys::Date::new(&JsValue::from_f64(js_sys::Date::now() - 3.0 * 86_400_000.0));
    let edit = json!({
        "type": "edit", "fields": ["/address/street"],
        "effectiveAt": String::from(three_days_ago.to_iso_string())
    });
    let out = rs(&call(&s.st, "log", &[js(&edit), r.clone()]).await.unwrap());
    assert_eq!(out["event"]["action"], "edit");
    let delete = json!({ "type": "delete", "fields": ["/notes/1"] });
    let out = rs(&call(&s.st, "log", &[js(&delete), r]).await.unwrap());
    assert_eq!(out["event"]["action"], "delete");
    let chain = s.chain().as_str().unwrap().to_owned();
    let lines: Vec<Value> = stored_lines(&db, &chain)
        .await
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["fields"], json!(["/address/street"]));
    assert!(
        lines[0]["detail"]["effectiveAt"].is_string(),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["detail"]["notes"], 1);
    assert_eq!(lines[1]["noteTypes"], json!(["dvIndicator"]));
    sleep(10).await;
    s.assert_alerted(|a| a["rule"] == "backdated-entry" && a["severity"] == "high");
    s.assert_alerted(|a| a["rule"] == "note-deleted");
    // A field that is not a pointer is refused, naming it.
    let bad = json!({ "type": "edit", "fields": ["address"] });
    let e = call(&s.st, "log", &[js(&bad), js(&record("p-1001"))])
        .await
        .unwrap_err();
    assert_eq!(error_code(&e), "invalid-input");
    assert_eq!(
        js_sys::Reflect::get(&e, &"pointer".into())
            .unwrap()
            .as_string()
            .unwrap(),
        "/action/fields/0"
    );
    s.close().await;
}

#[wasm_bindgen_test]
async fn the_treating_team_breaks_the_glass_without_a_dialog_and_related_records_alert() {
    let mut policy: Value = serde_json::from_str(POLICY).unwrap();
    policy["breakGlass"]["exemptions"] = json!({ "treatingTeam": true });
    let mut session = lead();
    session["relatedRecords"] = json!(["p-1002"]);
    let s = start_with(
        &policy,
        &unique("exempt"),
        &collector("down").endpoint,
        session,
        json!({}),
    )
    .await
    .unwrap();
    s.seal("p-1001").await;
    // Team north is the lead's team: no dialog, a grant that says why.
    let bg = rs(&call(&s.st, "breakGlass", &["p-1001".into()]).await.unwrap());
    assert_eq!(bg["outcome"], "granted", "{bg}");
    assert_eq!(bg["exemption"], json!({ "type": "treatingTeam" }));
    let document = web_sys::window().unwrap().document().unwrap();
    assert!(document.query_selector("dialog[open]").unwrap().is_none());
    let grant = js(&bg["grant"]);
    let opened = rs(&s.reveal("p-1001", "/diagnoses", &grant).await.unwrap());
    assert_eq!(opened["value"], record("p-1001")["diagnoses"], "{opened}");
    // A record the lead declared a link to is flagged.
    let sealed = s.seal("p-1002").await;
    assert_eq!(sealed["recordId"], "p-1002");
    sleep(10).await;
    s.assert_alerted(|a| a["rule"] == "related-record" && a["records"] == json!(["p-1002"]));
    s.close().await;
}

#[wasm_bindgen_test]
async fn uploads_anchors_and_deletes_only_after_200() {
    let (s, collector) = nurse_uploading_to("ok", json!({})).await;
    s.seal_many(&["p-1001", "p-1003", "p-1005"]).await;
    let st = s.flush_all(3000).await;
    let current = st["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(current["ackedSeq"], 2, "{st}");
    let log = collector.log().await;
    let uploads = uploads_in(&log);
    assert!(uploads.iter().all(|e| e["status"] == 200), "{log:?}");
    assert_eq!(events_sent(&uploads), 3, "each event sent once: {log:?}");
    let lines: Vec<String> = uploads[0]["body"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| sealtrail::canon::to_string(e).unwrap())
        .collect();
    assert!(verify_lines(&lines).is_ok());
    // The head is anchored before the first upload, at or past its last seq.
    let anchor = log
        .iter()
        .position(|e| e["kind"] == "head")
        .expect("a head anchor");
    let upload = log.iter().position(|e| e["kind"] == "events").unwrap();
    assert!(anchor < upload, "{log:?}");
    assert!(log[anchor]["body"]["seq"].as_u64().unwrap() >= log[upload]["last"].as_u64().unwrap());
    assert!(log[anchor]["body"]["hash"].is_string());
    s.close().await;
}

#[wasm_bindgen_test]
async fn retries_5xx_with_backoff_then_succeeds() {
    let (s, collector) = nurse_uploading_to("fail500x2", json!({})).await;
    s.seal("p-1001").await;
    s.flush_all(4000).await;
    let statuses: Vec<Value> = collector
        .uploads()
        .await
        .into_iter()
        .map(|e| e["status"].clone())
        .collect();
    assert_eq!(statuses, vec![json!(500), json!(500), json!(200)]);
    s.close().await;
}

#[wasm_bindgen_test]
async fn resends_from_expected_seq_on_gap() {
    let (s, collector) = nurse_uploading_to("gap", json!({})).await;
    s.seal_many(&["p-1001", "p-1002", "p-1003"]).await;
    s.flush_all(3000).await;
    let uploads = collector.uploads().await;
    assert_eq!(uploads[0]["status"], 409);
    assert_eq!(
        uploads[1]["first"], 1,
        "resent from expectedSeq: {uploads:?}"
    );
    assert_eq!(uploads[1]["status"], 200);
    s.close().await;
}

#[wasm_bindgen_test]
async fn stops_and_alerts_on_fork() {
    let (s, collector) = nurse_uploading_to("fork", json!({})).await;
    s.seal("p-1001").await;
    let st = s
        .flush_until(2000, |s| {
            s["chains"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["stopped"] == "fork"))
        })
        .await;
    assert_eq!(st["pending"], 1, "evidence stays stored: {st}");
    assert!(st["lastError"].as_str().unwrap().contains("fork"), "{st}");
    s.assert_alerted(|a| a["rule"] == "collector-fork" && a["severity"] == "critical");
    let before = collector.uploads().await.len();
    s.seal("p-1003").await;
    s.flush().await;
    sleep(100).await;
    let after = collector.uploads().await.len();
    assert_eq!(before, after, "never retried blindly");
    s.close().await;
}

#[wasm_bindgen_test]
async fn halves_batches_on_413() {
    let (s, collector) = nurse_uploading_to("max2", json!({ "batchDelayMs": 200 })).await;
    s.seal_many(&["p-1001", "p-1002", "p-1003", "p-1004", "p-1005", "p-1006"])
        .await;
    s.flush_all(4000).await;
    let log = collector.uploads().await;
    assert!(log.iter().any(|u| u["status"] == 413), "{log:?}");
    let stored: Vec<&Value> = log.iter().filter(|u| u["status"] == 200).collect();
    assert!(
        stored.iter().all(|u| u["count"].as_u64().unwrap() <= 2),
        "{log:?}"
    );
    assert_eq!(
        stored
            .iter()
            .map(|u| u["count"].as_u64().unwrap())
            .sum::<u64>(),
        6,
        "every event stored once: {log:?}"
    );
    s.close().await;
}

#[wasm_bindgen_test]
async fn stops_on_400_and_keeps_the_events() {
    let (s, collector) = nurse_uploading_to("reject400", json!({})).await;
    s.seal("p-1001").await;
    let st = s
        .flush_until(2000, |s| {
            s["chains"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["stopped"] == "rejected"))
        })
        .await;
    assert_eq!(st["pending"], 1, "nothing deleted without a 200: {st}");
    s.assert_alerted(|a| a["rule"] == "collector-rejected");
    let before = collector.uploads().await.len();
    s.flush().await;
    sleep(100).await;
    assert_eq!(before, collector.uploads().await.len(), "not retried");
    s.close().await;
}

#[wasm_bindgen_test]
async fn times_out_and_retries() {
    let (s, collector) = nurse_uploading_to("hang1", json!({ "timeoutMs": 300 })).await;
    s.seal("p-1001").await;
    s.flush_all(4000).await;
    let uploads = collector.uploads().await;
    assert_eq!(uploads[0]["status"], "hung");
    assert_eq!(uploads.last().unwrap()["status"], 200);
    s.close().await;
}

#[wasm_bindgen_test]
async fn bulk_access_alerts_locally() {
    let s = offline(lead()).await;
    s.seal_many(&["p-1001", "p-1002", "p-1003", "p-1004", "p-1005", "p-1006"])
        .await;
    sleep(10).await;
    let alerts = s.alerts();
    let bulk = alerts
        .iter()
        .find(|a| a["rule"] == "bulk-access")
        .expect("a bulk-access alert");
    assert_eq!(bulk["severity"], "high");
    assert_eq!(bulk["source"], "local");
    s.close().await;
}

#[wasm_bindgen_test]
async fn batches_by_size() {
    let (s, collector) = nurse_uploading_to("ok", json!({ "batchBytes": 3000 })).await;
    s.seal_many(&["p-1001", "p-1002", "p-1003", "p-1004", "p-1005", "p-1006"])
        .await;
    s.flush_all(3000).await;
    let uploads = collector.uploads().await;
    assert!(uploads.len() >= 2, "several batches: {uploads:?}");
    for u in &uploads {
        assert!(
            u["body"].to_string().len() <= 3000 || u["count"] == 1,
            "{u:?}"
        );
    }
    assert_eq!(events_sent(&uploads), 6);
    s.close().await;
}

/// What a rejected call hands the host: `(name, code, pointer, message)`;
/// `pointer` is `None` for `null`. Fails unless it is a JS `Error`.
fn report(e: &JsValue) -> (String, String, Option<String>, String) {
    let err = e.dyn_ref::<js_sys::Error>().expect("a JS Error");
    let pointer = js_sys::Reflect::get(e, &"pointer".into()).unwrap();
    assert!(
        pointer.is_null() || pointer.is_string(),
        "pointer is a string or null: {pointer:?}"
    );
    (
        String::from(err.name()),
        error_code(e),
        pointer.as_string(),
        String::from(err.message()),
    )
}

#[wasm_bindgen_test]
async fn errors_carry_a_code_a_pointer_and_a_message() {
    let s = offline(lead()).await;
    s.seal("p-1002").await;
    let mut no_id = record("p-1001");
    no_id.as_object_mut().unwrap().remove("id");
    let e = call(&s.st, "seal", &[js(&no_id), "view".into()])
        .await
        .unwrap_err();
    let (name, code, pointer, message) = report(&e);
    assert_eq!(name, "SealtrailError");
    assert_eq!(code, "invalid-input");
    assert_eq!(pointer.as_deref(), Some("/record/id"));
    assert!(message.contains("/record/id"), "{message}");

    for (method, args, pointer) in [
        (
            "sealMany",
            vec![js(&json!([record("p-1001"), no_id])), "view".into()],
            "/records/1/id",
        ),
        (
            "breakGlassHeadless",
            vec![js(
                &json!({ "reasonCode": "abuseAllegation", "reasonText": "Strategy meeting now" }),
            )],
            "/recordId",
        ),
        (
            "log",
            vec![js(
                &json!({ "type": "search", "query": "q", "filters": { "age": 1.5 } }),
            )],
            "/action/filters/age",
        ),
    ] {
        let e = call(&s.st, method, &args).await.unwrap_err();
        assert_eq!(report(&e).2.as_deref(), Some(pointer), "{method}");
    }

    // A grant this page did not issue: code `grant`, nothing logged, nothing shown.
    let forged = json!({
        "id": "00112233445566778899aabbccddeeff", "userId": "sg-001", "role": "safeguardingLead",
        "recordId": "p-1002", "reasonCode": "abuseAllegation",
        "issuedAt": "2026-01-01T00:00:00.000Z", "expiresAt": "2099-01-01T00:00:00.000Z",
        "policy": "sha256:00"
    });
    let before = s.status().await["head"]["seq"].clone();
    let e = s
        .reveal("p-1002", "/diagnoses", &js(&forged))
        .await
        .unwrap_err();
    let (_, code, pointer, message) = report(&e);
    assert_eq!(
        (code.as_str(), pointer.as_deref()),
        ("grant", Some("/grant"))
    );
    assert!(!message.contains("Asthma"), "{message}");
    assert_eq!(s.status().await["head"]["seq"], before, "nothing logged");
    s.close().await;
}

/// `start` with `options` (a JS object: NaN has no JSON form) on a fresh database.
async fn start_with_options(options: &JsValue) -> Result<JsValue, JsValue> {
    let config = js(&json!({
        "policy": serde_json::from_str::<Value>(POLICY).unwrap(),
        "session": nurse(),
        "endpoint": collector("down").endpoint,
    }));
    js_sys::Reflect::set(&config, &"options".into(), options)?;
    JsFuture::from(Sealtrail::start(config)).await
}

#[wasm_bindgen_test]
async fn start_refuses_options_of_the_wrong_type_or_range() {
    let numbers = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 2.5, 1e12];
    for n in numbers {
        let options = js(&json!({ "dbName": unique("opts") }));
        js_sys::Reflect::set(&options, &"batchDelayMs".into(), &JsValue::from_f64(n)).unwrap();
        let e = start_with_options(&options).await.unwrap_err();
        let (_, code, pointer, message) = report(&e);
        assert_eq!(code, "invalid-input", "{n}: {message}");
        assert_eq!(
            pointer.as_deref(),
            Some("/options/batchDelayMs"),
            "{n}: {message}"
        );
        // A number the page's developer would write, as JavaScript names it.
        let named = match n {
            n if n.is_nan() => Some("`NaN`"),
            f64::INFINITY => Some("`Infinity`"),
            f64::NEG_INFINITY => Some("`-Infinity`"),
            _ => None,
        };
        if let Some(named) = named {
            assert!(message.contains(named), "{n}: {message}");
        }
    }
    let function = js_sys::Function::new_no_args("");
    for (options, pointer) in [
        (json!({ "dbName": "" }), "/options/dbName"),
        (
            json!({ "dbName": unique("opts"), "onAlert": "not a function" }),
            "/options/onAlert",
        ),
        (
            json!({ "dbName": unique("opts"), "batchSize": 5 }),
            "/options/batchSize",
        ),
        (
            json!({ "dbName": unique("opts"), "strings": { "titel": "x" } }),
            "/options/strings/titel",
        ),
    ] {
        let e = start_with_options(&js(&options)).await.unwrap_err();
        assert_eq!(report(&e).2.as_deref(), Some(pointer), "{options}");
    }
    // Functions are callbacks, read beside the JSON: accepted.
    let options = js(&json!({ "dbName": unique("opts"), "batchDelayMs": 0 }));
    js_sys::Reflect::set(&options, &"onStatus".into(), &function).unwrap();
    let st = start_with_options(&options).await.unwrap();
    call(&st, "close", &[]).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_database_left_by_a_newer_package_fails_closed_and_says_so() {
    let db = unique("newer");
    let conn = open_db(&db, Some(5)).await;
    conn.close();
    let e = start(&db, &collector("down").endpoint, nurse(), json!({}))
        .await
        .err()
        .expect("an older package refuses a newer database");
    let (_, code, pointer, message) = report(&e);
    assert_eq!(code, "storage-failed", "{message}");
    assert_eq!(pointer, None);
    assert!(message.contains("newer version of sealtrail"), "{message}");
}

#[wasm_bindgen_test]
async fn storage_errors_blame_no_argument() {
    let db = unique("closed");
    let s = start(&db, &collector("down").endpoint, nurse(), json!({}))
        .await
        .unwrap();
    s.seal("p-1001").await;
    let conn = open_db(&db, Some(1000)).await;
    let e = call(&s.st, "seal", &[js(&record("p-1001")), "view".into()])
        .await
        .unwrap_err();
    let (_, code, pointer, _) = report(&e);
    assert_eq!(code, "storage-closed");
    assert_eq!(pointer, None);
    conn.close();
    s.close().await;
}

#[wasm_bindgen_test]
async fn a_listener_is_removed_when_its_owner_drops_it() {
    use sealtrail::web::listener::Listener;
    let doc = web_sys::window().unwrap().document().unwrap();
    let target = doc.create_element("div").unwrap();
    let heard = Rc::new(std::cell::Cell::new(0));
    let count = heard.clone();
    let listener = Listener::new(&target, "ping", move |_| count.set(count.get() + 1)).unwrap();
    // A listener left registered after its closure is dropped would throw
    // when called; the browser reports that as an `error` event.
    let window = web_sys::window().unwrap();
    let errors = Rc::new(std::cell::Cell::new(0));
    let seen = errors.clone();
    let _errors = Listener::new(&window, "error", move |_| seen.set(seen.get() + 1)).unwrap();
    let ping = || {
        target
            .dispatch_event(&web_sys::Event::new("ping").unwrap())
            .unwrap()
    };
    ping();
    assert_eq!(heard.get(), 1);
    drop(listener);
    ping();
    assert_eq!(heard.get(), 1, "not called once dropped");
    assert_eq!(
        errors.get(),
        0,
        "and not left registered behind a dropped closure"
    );
}

/// Seals three records on a fresh instance uploading to `scenario`, flushes
/// until it retried, and checks nothing was deleted: every event still
/// pending, no chain acknowledged nor stopped, and `lastError` naming why.
async fn nothing_deleted_by(scenario: &str, reason: &str) {
    let (s, collector) = nurse_uploading_to(scenario, json!({})).await;
    s.seal_many(&["p-1001", "p-1002", "p-1003"]).await;
    let deadline = js_sys::Date::now() + patience(3000);
    while collector.uploads().await.len() < 2 && js_sys::Date::now() < deadline {
        s.flush().await;
        sleep(50).await;
    }
    let uploads = collector.uploads().await;
    assert!(uploads.len() >= 2, "retried: {uploads:?}");
    let st = s.status().await;
    assert_eq!(st["pending"], 3, "nothing deleted: {st}");
    let error = st["lastError"].as_str().unwrap_or_default();
    assert!(error.contains(reason), "{st}");
    assert!(
        st["chains"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ackedSeq"].is_null() && c["stopped"].is_null()),
        "a retry, not an acknowledgement nor a stop: {st}"
    );
    s.close().await;
}

/// What this browser promises about stored events, as `status()` reports it.
/// Every engine tested (Chromium, Firefox ESR, WebKitGTK) echoes the
/// `strict` durability hint; persistence is what `navigator.storage` says,
/// and WebKitGTK has no `navigator.storage` at all, so its storage is
/// evictable. A browser lacking either still logs before revealing.
#[wasm_bindgen_test]
async fn status_reports_the_guarantees_of_this_browser() {
    let s = offline(nurse()).await;
    let before = s.status().await;
    assert_eq!(before["guarantees"]["durability"], "strict", "{before}");
    let storage = js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"storage".into()))
        .unwrap();
    let expected = if storage.is_undefined() {
        "evictable"
    } else {
        let persisted = call(&storage, "persisted", &[]).await.unwrap();
        if persisted.as_bool() == Some(true) {
            "persistent"
        } else {
            "evictable"
        }
    };
    assert_eq!(before["guarantees"]["storage"], expected, "{before}");
    // The guarantees describe the browser, not a moment: a view changes nothing.
    s.seal("p-1001").await;
    assert_eq!(s.status().await["guarantees"], before["guarantees"]);
    s.close().await;
    // And every upload tells the collector, which records them per chain.
    let (s, collector) = nurse_uploading_to("ok", json!({})).await;
    s.seal("p-1001").await;
    let st = s.flush_all(3000).await;
    let uploads = collector.uploads().await;
    assert!(!uploads.is_empty());
    assert!(
        uploads
            .iter()
            .all(|u| u["body"]["guarantees"] == st["guarantees"]),
        "{uploads:?}"
    );
    s.close().await;
}

/// Large values cross the boundary a part at a time with the same result
/// as in one piece, `JSON.stringify`'s rules included (`undefined` members
/// dropped, `null` in arrays, a `Date` as its ISO text).
#[wasm_bindgen_test]
async fn sliced_conversions_give_the_same_values() {
    use sealtrail::web::sliced::{value_from_js, value_into_js};
    use sealtrail::web::timer::Slicer;
    let mut slicer = Slicer::new();
    let notes: Vec<Value> = (0..300)
        .map(|k| json!({"id": format!("n{k}"), "type": "dvIndicator", "text": "x"}))
        .collect();
    let wide = json!({"id": "p-big", "notes": notes});
    let there = value_into_js(wide.clone(), &mut slicer).await.unwrap();
    assert_eq!(rs(&there), wide);
    let back = value_from_js(&there, "/record", &mut slicer).await.unwrap();
    assert_eq!(back, wide);
    let odd = js(&json!({"a": [1, 2], "b": {"c": "d"}}));
    js_sys::Reflect::set(&odd, &"gone".into(), &JsValue::UNDEFINED).unwrap();
    js_sys::Reflect::set(
        &odd,
        &"when".into(),
        &js_sys::Date::new(&JsValue::from_f64(0.0)),
    )
    .unwrap();
    let list: js_sys::Array = js_sys::Reflect::get(&odd, &"a".into())
        .unwrap()
        .unchecked_into();
    list.push(&JsValue::UNDEFINED);
    let whole: Value = rs(&odd);
    assert_eq!(value_from_js(&odd, "", &mut slicer).await.unwrap(), whole);
    assert_eq!(whole["when"], "1970-01-01T00:00:00.000Z");
    assert_eq!(whole["a"][2], Value::Null);
    // Errors still name the member.
    let bad = js(&json!({"notes": (0..300).collect::<Vec<_>>()}));
    let notes: js_sys::Array = js_sys::Reflect::get(&bad, &"notes".into())
        .unwrap()
        .unchecked_into();
    notes.set(299, JsValue::from_f64(f64::NAN));
    let v = value_from_js(&bad, "/record", &mut slicer).await.unwrap();
    assert_eq!(
        v["notes"][299],
        Value::Null,
        "NaN is null in JSON, as JSON.stringify has it"
    );
}

#[wasm_bindgen_test]
async fn a_200_that_is_no_acknowledgement_deletes_nothing() {
    nothing_deleted_by("notack", "is not an acknowledgement").await;
}

#[wasm_bindgen_test]
async fn a_200_from_a_login_page_deletes_nothing() {
    nothing_deleted_by("login200", "is not JSON").await;
}

#[wasm_bindgen_test]
async fn a_redirect_deletes_nothing() {
    nothing_deleted_by("redirect", "could not reach the collector").await;
}

#[wasm_bindgen_test]
async fn an_acknowledgement_past_the_batch_deletes_nothing() {
    nothing_deleted_by("ackpast", "outside the batch sent").await;
}

/// The fixture log's key (`key`) and another of the same name (`other`).
async fn fixture_keys() -> Value {
    let window = web_sys::window().unwrap();
    let url = format!("{}/key", fixture());
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(&url))
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    let text = JsFuture::from(resp.text().unwrap()).await.unwrap();
    serde_json::from_str(&text.as_string().unwrap()).unwrap()
}

/// The `log` store's entries (kept checkpoint, evidence) of database `db`.
async fn log_store(db: &str) -> Vec<(String, String)> {
    let conn = open_db(db, None).await;
    let store = conn
        .transaction_with_str("log")
        .unwrap()
        .object_store("log")
        .unwrap();
    let keys: js_sys::Array = sealtrail::web::idb::request(&store.get_all_keys().unwrap())
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    let values: js_sys::Array = sealtrail::web::idb::request(&store.get_all().unwrap())
        .await
        .unwrap()
        .dyn_into()
        .unwrap();
    conn.close();
    keys.iter()
        .zip(values.iter())
        .map(|(k, v)| (k.as_string().unwrap(), v.as_string().unwrap()))
        .collect()
}

/// The nurse's instance with the fixture log's key pinned (`key`, or
/// `other` for a wrong one), uploading to `scenario` on database `db`.
async fn pinned(scenario: &str, key: &str, db: &str) -> (Started, Collector) {
    let keys = fixture_keys().await;
    let to = collector(scenario);
    let s = start(
        db,
        &to.endpoint,
        nurse(),
        json!({ "collectorKey": keys[key] }),
    )
    .await
    .unwrap();
    (s, to)
}

#[wasm_bindgen_test]
async fn a_proven_acknowledgement_deletes_and_keeps_its_checkpoint() {
    let db = unique("log");
    let (s, collector) = pinned("log", "key", &db).await;
    s.seal_many(&["p-1001", "p-1003", "p-1005"]).await;
    s.flush_all(3000).await;
    let kept = log_store(&db).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].0, "kept");
    assert!(kept[0].1.contains("\n3\n"), "size 3: {kept:?}");
    // The next acknowledgement extends the kept checkpoint, proven by a consistency proof.
    s.seal("p-1003").await;
    let st = s.flush_all(3000).await;
    assert_eq!(st["lastError"], Value::Null, "{st}");
    let log = collector.log().await;
    assert!(
        log.iter()
            .any(|e| e["kind"] == "consistency" && e["old"] == 3 && e["new"] == 4),
        "{log:?}"
    );
    assert!(log_store(&db).await[0].1.contains("\n4\n"));
    assert!(s.alerts().is_empty(), "{:?}", s.alerts());
    s.close().await;
}

/// Stops on a proof that fails: the event stays, the alert is critical and
/// names the failure, and the chain is not retried.
async fn refuses_the_proof(s: &Started, code: &str) -> Value {
    let st = s
        .flush_until(3000, |s| {
            s["chains"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["stopped"] == code))
        })
        .await;
    assert!(
        st["pending"].as_u64().unwrap() >= 1,
        "nothing deleted: {st}"
    );
    assert!(st["lastError"].as_str().unwrap().contains(code), "{st}");
    s.assert_alerted(|a| a["rule"] == format!("collector-{code}") && a["severity"] == "critical");
    st
}

#[wasm_bindgen_test]
async fn a_checkpoint_not_signed_by_the_pinned_key_deletes_nothing() {
    // The collector signs with another key; or the host pinned the wrong one.
    for (scenario, key) in [("logbadsig", "key"), ("log", "other")] {
        let (s, _) = pinned(scenario, key, &unique(scenario)).await;
        s.seal("p-1001").await;
        let st = refuses_the_proof(&s, "log-signature").await;
        assert_eq!(st["pending"], 1, "{scenario} {key}: {st}");
        s.close().await;
    }
}

#[wasm_bindgen_test]
async fn a_wrong_inclusion_proof_deletes_nothing() {
    let (s, _) = pinned("logbadpath", "key", &unique("logbadpath")).await;
    s.seal_many(&["p-1001", "p-1003"]).await;
    let st = refuses_the_proof(&s, "log-inclusion").await;
    assert_eq!(st["pending"], 2, "{st}");
    s.close().await;
}

#[wasm_bindgen_test]
async fn a_checkpoint_inconsistent_with_the_kept_one_deletes_nothing_and_is_evidence() {
    let db = unique("logsplit");
    let (s, _) = pinned("logsplit", "key", &db).await;
    s.seal("p-1001").await;
    s.flush_all(3000).await;
    // The collector rewrites its first leaf: its next checkpoint cannot extend the kept one.
    s.seal("p-1003").await;
    let st = refuses_the_proof(&s, "log-consistency").await;
    assert_eq!(st["pending"], 1, "{st}");
    let entries = log_store(&db).await;
    let kept = entries.iter().find(|(k, _)| k == "kept").unwrap();
    assert!(
        kept.1.contains("\n1\n"),
        "the first checkpoint stays kept: {entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|(k, v)| k.starts_with("evidence-") && v.contains("\n2\n")),
        "the contradicting checkpoint is evidence: {entries:?}"
    );
    s.close().await;
}

/// The progress of the current chain in a status.
fn current(st: &Value) -> Value {
    st["chains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["current"] == true)
        .cloned()
        .unwrap()
}

#[wasm_bindgen_test]
async fn every_upload_and_anchor_carries_the_chains_credential() {
    let (s, collector) = nurse_uploading_to("cred", json!({})).await;
    s.seal_many(&["p-1001", "p-1003"]).await;
    s.flush_all(3000).await;
    let minted = s.minted.borrow().clone();
    assert_eq!(minted.len(), 1, "asked once: {minted:?}");
    assert_eq!(s.chain(), minted[0].0.as_str());
    let log = collector.log().await;
    assert!(log.iter().any(|e| e["kind"] == "head"), "{log:?}");
    assert!(log.iter().any(|e| e["kind"] == "events"), "{log:?}");
    for e in &log {
        assert_eq!(e["auth"], json!(minted[0].1), "{e}");
        assert_eq!(e["status"], 200, "{e}");
    }
    let claims = claims_of(&log[0]["auth"]);
    assert_eq!(claims["sub"], "u-nurse-17");
    s.close().await;
}

#[wasm_bindgen_test]
async fn without_a_credential_events_stay_here_and_status_says_why() {
    for (kind, why) in [
        (Value::Null, "options.credential"),
        (json!("throws"), "the login server is down"),
        (json!("other-user"), "someone-else"),
    ] {
        let (s, collector) = nurse_uploading_to("cred", json!({ "credential": kind })).await;
        s.seal("p-1001").await;
        let st = s.flush().await;
        assert_eq!(st["pending"], 1, "{kind}: {st}");
        let held = current(&st)["held"].as_str().unwrap_or_default().to_owned();
        assert!(held.contains(why), "{kind}: {st}");
        assert!(
            st["lastError"].as_str().unwrap().contains(why),
            "{kind}: {st}"
        );
        assert_eq!(
            collector.log().await,
            Vec::<Value>::new(),
            "{kind}: nothing sent"
        );
        s.close().await;
    }
}

#[wasm_bindgen_test]
async fn asks_again_before_exp() {
    // A 4 s credential is asked for again 2 s before its `exp`.
    let (s, collector) = nurse_uploading_to("cred", json!({ "credentialTtl": 4 })).await;
    s.seal("p-1001").await;
    s.flush_all(3000).await;
    assert_eq!(s.minted.borrow().len(), 1);
    sleep(2500).await;
    s.seal("p-1003").await;
    s.flush_all(3000).await;
    let minted = s.minted.borrow().clone();
    assert!(minted.len() >= 2, "{minted:?}");
    let uploads = collector.uploads().await;
    let last = uploads.last().unwrap();
    assert_eq!(last["status"], 200, "{uploads:?}");
    // On a slow machine the flush can outlast the second credential's own
    // refresh point, so a third may be minted after the last upload: the
    // upload must carry one of the fresh ones, never the first.
    let fresh: Vec<Value> = minted[1..].iter().map(|m| json!(m.1)).collect();
    assert!(fresh.contains(&last["auth"]), "{uploads:?} {minted:?}");
    s.close().await;
}

#[wasm_bindgen_test]
async fn asks_again_after_a_401() {
    let (s, collector) = nurse_uploading_to("cred401x1", json!({})).await;
    s.seal("p-1001").await;
    s.flush_all(3000).await;
    let minted = s.minted.borrow().clone();
    assert_eq!(minted.len(), 2, "{minted:?}");
    let uploads = collector.uploads().await;
    assert_eq!(uploads[0]["status"], 401, "{uploads:?}");
    let last = uploads.last().unwrap();
    assert_eq!(
        (&last["status"], &last["auth"]),
        (&json!(200), &json!(minted[1].1))
    );
    assert_eq!(current(&s.status().await)["held"], Value::Null);
    s.close().await;
}

#[wasm_bindgen_test]
async fn an_old_chain_uploads_after_logout_with_its_own_credential() {
    let db = unique("logout");
    let run = unique("logout");
    let down = format!("{}/s/down/{run}", fixture());
    let up = format!("{}/s/cred/{run}", fixture());
    let nurse_page = start(&db, &down, nurse(), json!({})).await.unwrap();
    nurse_page.seal("p-1001").await;
    nurse_page.flush().await;
    let nurse_chain = nurse_page.chain();
    let nurse_token = nurse_page.minted.borrow()[0].1.clone();
    nurse_page.close().await;

    // The nurse logged out; the lead logs in on the same browser.
    let lead_page = start(&db, &up, lead(), json!({})).await.unwrap();
    lead_page.seal("p-1003").await;
    lead_page.flush_all(4000).await;
    let minted = lead_page.minted.borrow().clone();
    assert!(
        minted.iter().all(|(c, _)| lead_page.chain() == c.as_str()),
        "the lead's login never signs the nurse's chain: {minted:?}"
    );
    let log = Collector { run, endpoint: up }.uploads().await;
    let of = |chain: &Value| -> Vec<Value> {
        log.iter()
            .filter(|e| e["chain"] == *chain && e["status"] == 200)
            .map(|e| e["auth"].clone())
            .collect()
    };
    assert_eq!(of(&nurse_chain), vec![json!(nurse_token)], "{log:?}");
    assert!(!of(&lead_page.chain()).is_empty(), "{log:?}");
    lead_page.close().await;
}

#[wasm_bindgen_test]
async fn another_owner_gets_a_new_chain_and_the_old_one_keeps_its_credential() {
    let (s, collector) = nurse_uploading_to("cred", json!({})).await;
    s.seal("p-1001").await;
    // The host gave the nurse's chain its credential (at start, as a page
    // does long before its user changes)...
    s.flush_all(3000).await;
    // ...and these events are still here when the user changes.
    s.seal("p-1001").await;
    let first = s.chain();
    // The same login with another caseload: the same chain.
    let mut same = s.host.borrow().clone();
    same["caseload"] = json!(["p-1001", "p-1003"]);
    call(&s.st, "setSession", &[js(&same)]).await.unwrap();
    assert_eq!(s.chain(), first);
    // Another user: a new chain, under a credential for that user.
    let lead = lead();
    *s.host.borrow_mut() = lead.clone();
    call(&s.st, "setSession", &[js(&lead)]).await.unwrap();
    let second = s.chain();
    assert_ne!(second, first);
    s.seal("p-1003").await;
    s.flush_all(4000).await;
    let uploads = collector.uploads().await;
    for (chain, user) in [(&first, "u-nurse-17"), (&second, "sg-001")] {
        let mine: Vec<&Value> = uploads.iter().filter(|e| e["chain"] == *chain).collect();
        assert!(!mine.is_empty(), "{chain}: {uploads:?}");
        for e in mine {
            assert_eq!(claims_of(&e["auth"])["sub"], user, "{e}");
            assert!(e["body"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|ev| ev["actor"]["id"] == user));
        }
    }
    s.close().await;
}
