//! `Sealtrail`, the one class JavaScript sees: start, seal, break-glass,
//! reveal, log host actions, status, flush. Each method converts its
//! arguments, asks the core, stores the core's event in the journal and only
//! then answers.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::dialog::{self, Answer, DialogStrings, Field, Justification};
use super::entropy::CryptoEntropy;
use super::error::WebError;
use super::journal::Journal;
use super::store::{EventStore, DEFAULT_DB};
use super::timer;
use super::types::{from_js, from_text, to_js};
use super::upload::{CollectorAlert, UploadConfig, Uploader};
use crate::alerts::{AlertEngine, Finding};
use crate::breakglass::{BreakGlassGrant, BreakGlassRequest, Refusal};
use crate::chain::{ChainId, ChainWriter};
use crate::decision::{Access, Decision, FieldAction, HostAction, RecordFacts};
use crate::event::{Event, EventDraft, Outcome};
use crate::policy::Policy;
use crate::seal::{FieldDecision, Vault};
use crate::session::Session;

/// `options` of `start`, minus its callbacks (read separately).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Options {
    db_name: Option<String>,
    batch_events: Option<u32>,
    batch_bytes: Option<u32>,
    batch_delay_ms: Option<u32>,
    timeout_ms: Option<u32>,
    backoff_ms: Option<u32>,
    backoff_max_ms: Option<u32>,
    strings: Option<Value>,
}

/// The argument of `start`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartConfig {
    policy: Value,
    session: Value,
    endpoint: String,
    #[serde(default)]
    options: Options,
}

/// Where an event landed (the `EventRef` of the `.d.ts`).
#[derive(Debug, Serialize)]
struct EventRef<'a> {
    chain: &'a str,
    seq: u64,
    hash: String,
    action: &'a str,
    outcome: Outcome,
}

impl<'a> EventRef<'a> {
    fn of(e: &'a Event) -> Self {
        Self {
            chain: e.chain.as_str(),
            seq: e.seq,
            hash: e.hash.to_hex(),
            action: e.body.action.as_str(),
            outcome: e.body.outcome,
        }
    }
}

/// What the policy engine needs between calls.
struct Engine {
    policy: Policy,
    session: Session,
    /// The sealed values of the last sealing of each record, by record id.
    vaults: HashMap<String, Vault>,
    /// Grants issued by this instance, by id: `reveal` accepts no other.
    grants: HashMap<String, BreakGlassGrant>,
    alerts: AlertEngine,
}

/// The host's callbacks.
#[derive(Default)]
struct Callbacks {
    on_alert: Option<js_sys::Function>,
    on_event: Option<js_sys::Function>,
    on_status: Option<js_sys::Function>,
}

/// A page event listener kept alive while the instance runs.
type Listener = Closure<dyn FnMut(web_sys::Event)>;

struct Inner {
    engine: RefCell<Engine>,
    journal: Journal,
    uploader: Uploader,
    store: EventStore,
    strings: DialogStrings,
    callbacks: Callbacks,
    listeners: RefCell<Vec<(&'static str, Listener)>>,
    closed: Cell<bool>,
}

/// Field-level sealing, break-glass and a durable audit chain for one page.
///
/// Create it with `Sealtrail.start(config)`. Every answer that shows content
/// is given only after the event recording it is stored in IndexedDB.
#[wasm_bindgen]
pub struct Sealtrail {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl Sealtrail {
    /// Parses the policy and session, opens the audit database, starts a new
    /// chain for this page load and resumes uploading every chain earlier
    /// loads left behind. Fails closed when IndexedDB is missing or blocked.
    #[wasm_bindgen(unchecked_return_type = "Promise<Sealtrail>")]
    pub fn start(
        #[wasm_bindgen(unchecked_param_type = "StartConfig")] config: JsValue,
    ) -> js_sys::Promise {
        future_to_promise(async move {
            let inner = start(&config).await?;
            Ok(Sealtrail { inner }.into())
        })
    }

    /// This page load's chain id.
    #[wasm_bindgen(getter)]
    pub fn chain(&self) -> String {
        self.inner.journal.chain()
    }

    /// Replaces the session (a new login or role): later decisions and
    /// events use it. The policy stays.
    #[wasm_bindgen(js_name = setSession)]
    pub fn set_session(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Session")] session: JsValue,
    ) -> Result<(), JsValue> {
        let session = parse_session(&session)?;
        self.inner.engine.borrow_mut().session = session;
        Ok(())
    }

    /// Seals `record` for `action` and resolves with the view once its
    /// `view` or `view-sealed` event is stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<SealedRecord>")]
    pub fn seal(
        &self,
        #[wasm_bindgen(unchecked_param_type = "JsonObject")] record: JsValue,
        #[wasm_bindgen(unchecked_param_type = "FieldAction")] action: JsValue,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let record: Value = from_js(&record, "/record")?;
            let action: FieldAction = from_js(&action, "/action")?;
            let mut out = seal_all(&inner, vec![record], action).await?;
            Ok(to_js(&out.pop().unwrap_or(Value::Null))?)
        })
    }

    /// Seals every record of `records` (one event each, one transaction).
    #[wasm_bindgen(js_name = sealMany, unchecked_return_type = "Promise<SealedRecord[]>")]
    pub fn seal_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "JsonObject[]")] records: JsValue,
        #[wasm_bindgen(unchecked_param_type = "FieldAction")] action: JsValue,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let records: Vec<Value> = from_js(&records, "/records")?;
            let action: FieldAction = from_js(&action, "/action")?;
            Ok(to_js(&seal_all(&inner, records, action).await?)?)
        })
    }

    /// Opens the break-glass dialog for `recordId` (sealed earlier by this
    /// instance) and resolves with the grant, the refusal or the cancel, each
    /// logged first. A role that may not break the glass sees why; the
    /// attempt is logged.
    #[wasm_bindgen(js_name = breakGlass, unchecked_return_type = "Promise<BreakGlassResult>")]
    pub fn break_glass(
        &self,
        #[wasm_bindgen(js_name = "recordId")] record_id: String,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { Ok(to_js(&break_glass_dialog(&inner, &record_id).await?)?) })
    }

    /// Break-glass for hosts with their own UI: the justification is given
    /// directly. Logged like the dialog's.
    #[wasm_bindgen(js_name = breakGlassHeadless, unchecked_return_type = "Promise<BreakGlassResult>")]
    pub fn break_glass_headless(
        &self,
        #[wasm_bindgen(unchecked_param_type = "BreakGlassRequest")] request: JsValue,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let mut value: serde_json::Map<String, Value> = from_js(&request, "")?;
            let record_id = match value.remove("recordId") {
                Some(Value::String(s)) => s,
                _ => {
                    return Err(
                        WebError::input("/recordId", "a record id string is required").into(),
                    )
                }
            };
            let request: BreakGlassRequest = from_text(&Value::Object(value).to_string(), "")?;
            Ok(to_js(
                &decide_break_glass(&inner, &record_id, &request).await?,
            )?)
        })
    }

    /// Reveals the sealed value at `pointer` of `recordId` under `grant`. The
    /// `unseal` event is stored in IndexedDB first; if it cannot be, the
    /// promise rejects and nothing is revealed. A refused unseal is logged too.
    #[wasm_bindgen(unchecked_return_type = "Promise<Opening>")]
    pub fn reveal(
        &self,
        #[wasm_bindgen(js_name = "recordId")] record_id: String,
        pointer: String,
        #[wasm_bindgen(unchecked_param_type = "BreakGlassGrant")] grant: JsValue,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let grant: BreakGlassGrant = from_js(&grant, "/grant")?;
            Ok(to_js(&reveal(&inner, &record_id, &pointer, &grant).await?)?)
        })
    }

    /// Decides and logs a host action (search, export, print, edit, delete,
    /// role change), on `record` when it concerns one. A `stepUp` decision
    /// means the host must authenticate the user again before retrying.
    #[wasm_bindgen(unchecked_return_type = "Promise<HostResult>")]
    pub fn log(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HostAction")] action: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "JsonObject")] record: Option<JsValue>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let action: HostAction = from_js(&action, "/action")?;
            let record: Option<Value> = match record {
                Some(r) if !r.is_null() && !r.is_undefined() => Some(from_js(&r, "/record")?),
                _ => None,
            };
            Ok(to_js(&log_host(&inner, &action, record.as_ref()).await?)?)
        })
    }

    /// Pending events, acknowledged seqs per chain, last error, online.
    #[wasm_bindgen(unchecked_return_type = "Promise<SealtrailStatus>")]
    pub fn status(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { Ok(to_js(&status(&inner).await?)?) })
    }

    /// Uploads now and resolves with the status once the round is over.
    #[wasm_bindgen(unchecked_return_type = "Promise<SealtrailStatus>")]
    pub fn flush(&self) -> js_sys::Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.uploader.settle().await;
            Ok(to_js(&status(&inner).await?)?)
        })
    }

    /// Stops uploading, removes the page listeners and closes the database.
    /// Stored events stay for the next page load.
    pub fn close(&self) {
        let inner = &self.inner;
        if inner.closed.replace(true) {
            return;
        }
        inner.uploader.close();
        if let Some(w) = web_sys::window() {
            for (name, c) in inner.listeners.borrow_mut().drain(..) {
                let _ = w.remove_event_listener_with_callback(name, c.as_ref().unchecked_ref());
            }
        }
        inner.store.close();
    }
}

async fn start(config: &JsValue) -> Result<Rc<Inner>, WebError> {
    let cfg: StartConfig = from_js(config, "")?;
    let policy = match &cfg.policy {
        Value::String(text) => Policy::parse(text),
        v => Policy::from_value(v),
    }
    .map_err(|e| WebError::input(format!("/policy{}", e.pointer()), e.to_string()))?;
    let session = Session::from_value(&cfg.session)
        .map_err(|e| WebError::input(format!("/session{}", e.pointer()), e.to_string()))?;
    if cfg.endpoint.trim().is_empty() {
        return Err(WebError::input(
            "/endpoint",
            "the collector endpoint is required",
        ));
    }
    let strings: DialogStrings = match &cfg.options.strings {
        Some(v) => from_text(&v.to_string(), "/options/strings")?,
        None => DialogStrings::default(),
    };
    let alerts = AlertEngine::new(
        policy.doc().alerts.clone(),
        policy.doc().break_glass.roles.iter().cloned(),
    )
    .map_err(|e| WebError::input("/policy/alerts", e.to_string()))?;
    let callbacks = read_callbacks(config)?;

    let store = EventStore::open(cfg.options.db_name.as_deref().unwrap_or(DEFAULT_DB)).await?;
    let chain =
        ChainId::random(&mut CryptoEntropy).map_err(|e| WebError::Entropy(e.to_string()))?;
    let mut up = UploadConfig::new(&cfg.endpoint);
    let o = &cfg.options;
    up.batch_events = o.batch_events.unwrap_or(up.batch_events);
    up.batch_bytes = o.batch_bytes.map_or(up.batch_bytes, |b| b as usize);
    up.delay_ms = o.batch_delay_ms.unwrap_or(up.delay_ms);
    up.timeout_ms = o.timeout_ms.unwrap_or(up.timeout_ms);
    up.backoff_ms = o.backoff_ms.unwrap_or(up.backoff_ms);
    up.backoff_max_ms = o.backoff_max_ms.unwrap_or(up.backoff_max_ms);

    let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
        let w = weak.clone();
        let journal = Journal::new(
            store.clone(),
            ChainWriter::new(chain),
            Rc::new(move |events: &[Event]| {
                if let Some(i) = w.upgrade() {
                    i.stored(events);
                }
            }),
        );
        let (wa, ws) = (weak.clone(), weak.clone());
        let uploader = Uploader::new(
            up,
            store.clone(),
            journal.clone(),
            Rc::new(move |a: CollectorAlert| {
                if let Some(i) = wa.upgrade() {
                    i.collector_alert(&a);
                }
            }),
            Rc::new(move || {
                if let Some(i) = ws.upgrade() {
                    call(i.callbacks.on_status.as_ref(), &JsValue::UNDEFINED);
                }
            }),
        );
        Inner {
            engine: RefCell::new(Engine {
                policy,
                session,
                vaults: HashMap::new(),
                grants: HashMap::new(),
                alerts,
            }),
            journal,
            uploader,
            store,
            strings,
            callbacks,
            listeners: RefCell::new(Vec::new()),
            closed: Cell::new(false),
        }
    });
    listen_page(&inner)?;
    inner.uploader.kick();
    Ok(inner)
}

/// `pagehide` and a hidden tab: anchor the head by beacon and upload;
/// `online`: upload.
fn listen_page(inner: &Rc<Inner>) -> Result<(), WebError> {
    let window = web_sys::window().ok_or(WebError::NoWindow)?;
    let mut listeners = inner.listeners.borrow_mut();
    for name in ["pagehide", "visibilitychange", "online"] {
        let w = Rc::downgrade(inner);
        let c = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(i) = w.upgrade() else { return };
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
            if e.type_() == "pagehide" || (e.type_() == "visibilitychange" && hidden) {
                i.uploader.beacon();
            }
            i.uploader.kick();
        });
        let target: web_sys::EventTarget = if name == "visibilitychange" {
            window.document().ok_or(WebError::NoWindow)?.into()
        } else {
            window.clone().into()
        };
        target
            .add_event_listener_with_callback(name, c.as_ref().unchecked_ref())
            .map_err(|e| WebError::Core(super::error::describe(&e)))?;
        listeners.push((name, c));
    }
    Ok(())
}

fn read_callbacks(config: &JsValue) -> Result<Callbacks, WebError> {
    let options = js_sys::Reflect::get(config, &"options".into()).unwrap_or(JsValue::UNDEFINED);
    if options.is_undefined() || options.is_null() {
        return Ok(Callbacks::default());
    }
    let get = |name: &str| -> Result<Option<js_sys::Function>, WebError> {
        let v = js_sys::Reflect::get(&options, &name.into()).unwrap_or(JsValue::UNDEFINED);
        if v.is_undefined() || v.is_null() {
            return Ok(None);
        }
        v.dyn_into::<js_sys::Function>()
            .map(Some)
            .map_err(|_| WebError::input(format!("/options/{name}"), "expected a function"))
    };
    Ok(Callbacks {
        on_alert: get("onAlert")?,
        on_event: get("onEvent")?,
        on_status: get("onStatus")?,
    })
}

fn parse_session(value: &JsValue) -> Result<Session, WebError> {
    let v: Value = from_js(value, "/session")?;
    Session::from_value(&v)
        .map_err(|e| WebError::input(format!("/session{}", e.pointer()), e.to_string()))
}

/// Calls a host callback; a throwing callback cannot break the chain.
fn call(f: Option<&js_sys::Function>, arg: &JsValue) {
    if let Some(f) = f {
        let _ = f.call1(&JsValue::UNDEFINED, arg);
    }
}

impl Inner {
    /// Runs after each committed batch: local alert rules, the host's
    /// `onEvent`, and a batched upload.
    fn stored(&self, events: &[Event]) {
        let findings: Vec<Finding> = {
            let mut engine = self.engine.borrow_mut();
            events.iter().flat_map(|e| engine.alerts.push(e)).collect()
        };
        if self.callbacks.on_event.is_some() {
            for e in events {
                if let Ok(v) = to_js(e) {
                    call(self.callbacks.on_event.as_ref(), &v);
                }
            }
        }
        for f in &findings {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("source".into(), "local".into());
            }
            if let Ok(js) = to_js(&v) {
                call(self.callbacks.on_alert.as_ref(), &js);
            }
        }
        self.uploader.kick_soon();
    }

    fn collector_alert(&self, a: &CollectorAlert) {
        let v = serde_json::json!({
            "source": "collector",
            "rule": format!("collector-{}", a.error),
            "severity": "critical",
            "summary": format!("the collector refused chain {} ({}): {}", a.chain, a.error, a.detail),
            "chain": a.chain,
            "seq": a.seq,
        });
        if let Ok(js) = to_js(&v) {
            call(self.callbacks.on_alert.as_ref(), &js);
        }
    }

    /// Stores `drafts` as events (log first).
    async fn log(&self, drafts: Vec<EventDraft>) -> Result<Vec<Event>, WebError> {
        if self.closed.get() {
            return Err(WebError::NotStarted);
        }
        self.journal.append(drafts, timer::now()?).await
    }
}

/// Seals each record, logs one event per record, then answers.
async fn seal_all(
    inner: &Inner,
    records: Vec<Value>,
    action: FieldAction,
) -> Result<Vec<Value>, WebError> {
    let now = timer::now()?;
    let mut sealed = Vec::with_capacity(records.len());
    {
        let engine = inner.engine.borrow();
        let access = Access::new(&engine.policy, &engine.session, now, &[]);
        for (i, record) in records.into_iter().enumerate() {
            let s = access
                .seal(record, action, &mut CryptoEntropy)
                .map_err(|e| {
                    WebError::input(format!("/records/{i}{}", e.pointer()), e.to_string())
                })?;
            sealed.push(s);
        }
    }
    let drafts = sealed.iter().map(|s| s.draft.clone()).collect();
    let events = inner.log(drafts).await?;
    let mut engine = inner.engine.borrow_mut();
    let mut out = Vec::with_capacity(sealed.len());
    for (s, e) in sealed.into_iter().zip(&events) {
        let record_id = s.vault.record_id().to_owned();
        out.push(serde_json::json!({
            "recordId": record_id,
            "view": s.view,
            "decisions": decisions_json(&s.decisions),
            "event": EventRef::of(e),
        }));
        engine.vaults.insert(record_id, s.vault);
    }
    Ok(out)
}

fn decisions_json(d: &[FieldDecision]) -> Value {
    serde_json::to_value(d).unwrap_or(Value::Null)
}

/// The dialog, then the core's verdict on what was typed.
async fn break_glass_dialog(inner: &Rc<Inner>, record_id: &str) -> Result<Value, WebError> {
    let (authorised, role, codes, min, max, ctx_max) = {
        let engine = inner.engine.borrow();
        let now = timer::now()?;
        let access = Access::new(&engine.policy, &engine.session, now, &[]);
        let rules = &engine.policy.doc().break_glass;
        (
            access.may_break_glass(),
            engine.session.role.clone(),
            rules
                .reason_codes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>(),
            rules.reason_min_chars,
            rules.reason_max_chars,
            rules.context_max_chars,
        )
    };
    subject_of(inner, record_id)?;
    if !authorised {
        // The attempt is evidence: log it before showing the refusal.
        let logged = decide_break_glass(
            inner,
            record_id,
            &BreakGlassRequest {
                reason_code: String::new(),
                reason_text: String::new(),
                context: None,
                incident_ref: None,
            },
        )
        .await?;
        dialog::ask(
            &inner.strings,
            dialog::Ask {
                record: record_id,
                role: &role,
                authorised: false,
                reason_codes: &codes,
                reason_min: min,
                reason_max: max,
                context_max: ctx_max,
                check: Box::new(|_| Vec::new()),
            },
        )
        .await?;
        return Ok(logged);
    }
    let checker = inner.clone();
    let answer = dialog::ask(
        &inner.strings,
        dialog::Ask {
            record: record_id,
            role: &role,
            authorised: true,
            reason_codes: &codes,
            reason_min: min,
            reason_max: max,
            context_max: ctx_max,
            check: Box::new(move |j: &Justification| {
                let engine = checker.engine.borrow();
                let now = match timer::now() {
                    Ok(now) => now,
                    Err(e) => return vec![(Field::Form, e.to_string())],
                };
                let access = Access::new(&engine.policy, &engine.session, now, &[]);
                access
                    .check_break_glass(&request_of(j))
                    .iter()
                    .map(|r| (field_of(r), r.to_string()))
                    .collect()
            }),
        },
    )
    .await?;
    match answer {
        Answer::Confirmed(j) => decide_break_glass(inner, record_id, &request_of(&j)).await,
        Answer::Cancelled | Answer::Refused => {
            let draft = {
                let engine = inner.engine.borrow();
                let access = Access::new(&engine.policy, &engine.session, timer::now()?, &[]);
                access.break_glass_cancelled(&subject_of_engine(&engine, record_id)?)
            };
            let events = inner.log(vec![draft]).await?;
            Ok(serde_json::json!({
                "outcome": "cancelled",
                "event": events.first().map(EventRef::of),
            }))
        }
    }
}

fn request_of(j: &Justification) -> BreakGlassRequest {
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
    BreakGlassRequest {
        reason_code: j.code.clone(),
        reason_text: j.text.clone(),
        context: opt(&j.context),
        incident_ref: opt(&j.incident_ref),
    }
}

fn field_of(r: &Refusal) -> Field {
    match r.pointer() {
        "/reasonCode" => Field::Code,
        "/reasonText" => Field::Text,
        "/context" => Field::Context,
        "/incidentRef" => Field::IncidentRef,
        _ => Field::Form,
    }
}

fn subject_of(inner: &Inner, record_id: &str) -> Result<crate::event::Subject, WebError> {
    subject_of_engine(&inner.engine.borrow(), record_id)
}

fn subject_of_engine(engine: &Engine, record_id: &str) -> Result<crate::event::Subject, WebError> {
    engine
        .vaults
        .get(record_id)
        .map(|v| v.subject().clone())
        .ok_or_else(|| {
            WebError::input(
                "/recordId",
                format!("record `{record_id}` has not been sealed in this page; call `seal` first"),
            )
        })
}

/// The core's verdict on a justification, logged before it is returned.
async fn decide_break_glass(
    inner: &Inner,
    record_id: &str,
    request: &BreakGlassRequest,
) -> Result<Value, WebError> {
    let verdict = {
        let engine = inner.engine.borrow();
        let subject = subject_of_engine(&engine, record_id)?;
        let access = Access::new(&engine.policy, &engine.session, timer::now()?, &[]);
        access.break_glass(&subject, request, &mut CryptoEntropy)
    };
    match verdict {
        Ok(granted) => {
            let events = inner.log(vec![granted.draft]).await?;
            inner
                .engine
                .borrow_mut()
                .grants
                .insert(granted.grant.id.clone(), granted.grant.clone());
            Ok(serde_json::json!({
                "outcome": "granted",
                "grant": granted.grant,
                "event": events.first().map(EventRef::of),
            }))
        }
        Err(refused) => {
            let events = inner.log(vec![*refused.draft]).await?;
            let refusals: Vec<Value> = refused
                .error
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "type": serde_json::to_value(r).ok().and_then(|v| v.get("type").cloned()),
                        "pointer": r.pointer(),
                        "message": r.to_string(),
                    })
                })
                .collect();
            Ok(serde_json::json!({
                "outcome": "denied",
                "refusals": refusals,
                "event": events.first().map(EventRef::of),
            }))
        }
    }
}

/// Log, then reveal: the opening is returned only after the `unseal` event
/// is committed to IndexedDB.
async fn reveal(
    inner: &Inner,
    record_id: &str,
    pointer: &str,
    grant: &BreakGlassGrant,
) -> Result<Value, WebError> {
    let prepared = {
        let engine = inner.engine.borrow();
        if engine.grants.get(&grant.id) != Some(grant) {
            return Err(WebError::Grant(format!(
                "grant `{}` was not issued by this page; ask for break-glass access first",
                grant.id
            )));
        }
        let vault = engine.vaults.get(record_id).ok_or_else(|| {
            WebError::input(
                "/recordId",
                format!("record `{record_id}` has not been sealed in this page; call `seal` first"),
            )
        })?;
        let access = Access::new(&engine.policy, &engine.session, timer::now()?, &[]);
        vault.prepare_unseal(&access, grant, pointer)
    };
    match prepared {
        Ok(pending) => {
            let events = inner.log(vec![pending.draft().clone()]).await?;
            let event = events
                .first()
                .ok_or_else(|| WebError::Storage("the unseal event was not stored".into()))?;
            let opening = pending
                .reveal(event)
                .map_err(|e| WebError::Grant(e.to_string()))?;
            let mut v =
                serde_json::to_value(&opening).map_err(|e| WebError::Core(e.to_string()))?;
            if let Value::Object(m) = &mut v {
                m.insert(
                    "event".into(),
                    serde_json::to_value(EventRef::of(event)).unwrap_or(Value::Null),
                );
            }
            Ok(v)
        }
        Err(refused) => {
            inner.log(vec![*refused.draft]).await?;
            Err(WebError::Grant(refused.error.to_string()))
        }
    }
}

async fn log_host(
    inner: &Inner,
    action: &HostAction,
    record: Option<&Value>,
) -> Result<Value, WebError> {
    let decided = {
        let engine = inner.engine.borrow();
        let facts = record
            .map(|r| RecordFacts::read(&engine.policy, r))
            .transpose()
            .map_err(|e| WebError::input(format!("/record{}", e.pointer()), e.to_string()))?;
        let access = Access::new(&engine.policy, &engine.session, timer::now()?, &[]);
        access
            .decide_host(action, facts.as_ref())
            .map_err(|e| WebError::input(format!("/action{}", e.pointer()), e.to_string()))?
    };
    let events = inner.log(vec![decided.draft]).await?;
    let decision: &Decision = &decided.decision;
    Ok(serde_json::json!({
        "decision": decision,
        "event": events.first().map(EventRef::of),
    }))
}

async fn status(inner: &Inner) -> Result<Value, WebError> {
    let pending = inner.store.pending().await?;
    let (chains, last_error) = inner.uploader.progress();
    let online = web_sys::window().is_some_and(|w| w.navigator().on_line());
    Ok(serde_json::json!({
        "chain": inner.journal.chain(),
        "head": inner.journal.head().map(|(seq, hash)| serde_json::json!({"seq": seq, "hash": hash})),
        "pending": pending,
        "chains": chains,
        "lastError": last_error,
        "online": online,
    }))
}

/// `hash(event)` of the wire contract: lowercase hex SHA-256 of the RFC 8785
/// canonical JSON of `event` without its `hash` member. For hosts that check
/// events themselves (and the append benchmark).
#[wasm_bindgen(js_name = hashEvent)]
pub fn hash_event(
    #[wasm_bindgen(unchecked_param_type = "JsonObject")] event: JsValue,
) -> Result<String, JsValue> {
    // Plain serde_json here: this is the hot path of hosts that check chains,
    // and an event that is not an object needs no pointer to explain.
    let text = super::types::to_json_text(&event, "")?;
    let map: serde_json::Map<String, Value> = serde_json::from_str(&text)
        .map_err(|e| WebError::input("", format!("not an event object: {e}")))?;
    crate::chain::hash_event(&map)
        .map(|d| d.to_hex())
        .map_err(|e| WebError::input("", e.to_string()).into())
}
