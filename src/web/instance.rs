//! One running instance: the core's [`PageSession`], the [`Journal`] that
//! stores its events, the [`Uploader`], the page listeners and the host's
//! callbacks. Every answer goes through [`Inner::logged`]: the core's drafts
//! are stored in IndexedDB, then committed for the answer.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::dialog::{self, Answer};
use super::entropy::CryptoEntropy;
use super::error::{describe, WebError};
use super::guarantees;
use super::interop::{ask_text, call, to_js, value_from_js, Callbacks};
use super::journal::Journal;
use super::listener::Listener;
use super::store::EventStore;
use super::timer::{self, Slicer};
use super::upload::{CollectorAlert, Obtain, UploadConfig, Uploader};
use crate::breakglass::BreakGlassRequest;
use crate::chain::ChainWriter;
use crate::decision::FieldAction;
use crate::event::ChainId;
use crate::event::{Event, EventDraft};
use crate::page::{
    Alert, BreakGlassResult, ChainCredential, DialogStrings, Head, Held, PageSession, Pending,
    SealProgress, Sealing, StartConfig, Status, Step,
};

/// Units of sealing work per step (see `crate::seal::SealJob`): a few
/// milliseconds, so a [`Slicer`] can keep each task short.
const SEAL_BUDGET: usize = 256;

/// The state behind one `Sealtrail` object.
pub struct Inner {
    /// The core session.
    pub page: RefCell<PageSession>,
    journal: Journal,
    uploader: Uploader,
    store: EventStore,
    strings: DialogStrings,
    callbacks: Callbacks,
    /// Page listeners, removed when dropped (at `close`, or with the instance).
    listeners: RefCell<Vec<Listener>>,
    closed: Cell<bool>,
}

/// Parses `config`, opens the database and starts uploading.
pub async fn start(config: &JsValue) -> Result<Rc<Inner>, WebError> {
    refuse_non_finite_options(config)?;
    let cfg = StartConfig::from_value(value_from_js(config, "")?, timer::now()?)?;
    let callbacks = Callbacks::read(config);
    let page =
        PageSession::new(cfg.policy, cfg.session)?.with_record_key(cfg.options.record_key.clone());
    let store = EventStore::open(&cfg.options.db_name).await?;
    let chain =
        ChainId::random(&mut CryptoEntropy).map_err(|e| WebError::Entropy(e.to_string()))?;
    let up = UploadConfig::new(&cfg.endpoint, &cfg.options);
    let db_name = cfg.options.db_name.clone();
    let strings = cfg.options.strings;
    guarantees::ask_persistence();

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
        let (wa, ws, wc) = (weak.clone(), weak.clone(), weak.clone());
        let obtain: Obtain = Rc::new(move |chain: String| {
            let w = wc.clone();
            Box::pin(async move {
                match w.upgrade() {
                    Some(i) => i.obtain_credential(&chain).await,
                    None => Err(Held::NoSource),
                }
            })
        });
        let uploader = Uploader::new(
            up,
            &db_name,
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
            obtain,
        );
        Inner {
            page: RefCell::new(page),
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

/// Numbers JSON cannot carry (`NaN`, `Infinity`) become `null` in
/// `JSON.stringify`; among the options that would pass for "not given", so
/// they are refused here, naming the option.
fn refuse_non_finite_options(config: &JsValue) -> Result<(), WebError> {
    let options = js_sys::Reflect::get(config, &"options".into()).unwrap_or(JsValue::UNDEFINED);
    if !options.is_object() {
        return Ok(());
    }
    for entry in js_sys::Object::entries(options.unchecked_ref()).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let value = pair.get(1);
        if let Some(n) = value.as_f64().filter(|n| !n.is_finite()) {
            let name = pair.get(0).as_string().unwrap_or_default();
            return Err(WebError::input(
                crate::pointer::push("/options", &name),
                format!(
                    "expected a finite whole number, found `{}`",
                    if n.is_nan() {
                        "NaN"
                    } else if n > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// `pagehide` and a hidden tab: anchor the head by beacon and upload;
/// `online`: upload.
fn listen_page(inner: &Rc<Inner>) -> Result<(), WebError> {
    let window = web_sys::window().ok_or(WebError::NoWindow)?;
    let document = window.document().ok_or(WebError::NoWindow)?;
    let mut listeners = inner.listeners.borrow_mut();
    for name in ["pagehide", "visibilitychange", "online"] {
        let w = Rc::downgrade(inner);
        let target: &web_sys::EventTarget = if name == "visibilitychange" {
            &document
        } else {
            &window
        };
        let listener = Listener::new(target, name, move |e: web_sys::Event| {
            let Some(i) = w.upgrade() else { return };
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
            if e.type_() == "pagehide" || (e.type_() == "visibilitychange" && hidden) {
                i.uploader.beacon();
            }
            i.uploader.kick();
        })
        .map_err(|e| WebError::Core(describe(&e)))?;
        listeners.push(listener);
    }
    Ok(())
}

impl Inner {
    /// This page load's chain id.
    pub fn chain(&self) -> String {
        self.journal.chain()
    }

    /// Replaces the login session (checked against the policy now); another
    /// owner (user, login session or role) gets a new chain, and the old one
    /// uploads on with its own stored credential.
    pub fn set_session(&self, session: &Value) -> Result<(), WebError> {
        let next =
            ChainId::random(&mut CryptoEntropy).map_err(|e| WebError::Entropy(e.to_string()))?;
        if self.page.borrow_mut().set_session(session, timer::now()?)? {
            self.journal.rotate(ChainWriter::new(next));
            self.uploader.kick();
        }
        Ok(())
    }

    /// Asks the host's `credential` callback for `chain`'s upload
    /// credential, and the core whether it fits this chain and login.
    async fn obtain_credential(&self, chain: &str) -> Result<ChainCredential, Held> {
        let Some(f) = self.callbacks.credential.clone() else {
            return Err(Held::NoSource);
        };
        let host = |why: String| Held::Host {
            chain: chain.to_owned(),
            why,
        };
        let id = ChainId::parse(chain).map_err(|e| host(e.to_string()))?;
        let token = ask_text(&f, &JsValue::from_str(chain))
            .await
            .map_err(host)?;
        let session = self.page.borrow().session().clone();
        #[allow(clippy::cast_possible_truncation)]
        let now = js_sys::Date::now() as i64;
        ChainCredential::accept(token, &id, &session, now)
    }

    /// Runs after each committed batch: local alert rules, the host's
    /// `onEvent`, and a batched upload.
    fn stored(&self, events: &[Event]) {
        let alerts = self.page.borrow_mut().observe(events);
        if self.callbacks.on_event.is_some() {
            for e in events {
                if let Ok(v) = to_js(e) {
                    call(self.callbacks.on_event.as_ref(), &v);
                }
            }
        }
        for a in &alerts {
            self.alert(a);
        }
        self.uploader.kick_soon();
    }

    fn collector_alert(&self, a: &CollectorAlert) {
        self.alert(&Alert::collector(&a.error, &a.chain, a.seq, &a.detail));
    }

    fn alert(&self, a: &Alert) {
        if let Ok(js) = to_js(a) {
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

    /// Seals `records` (each with its pointer among the call's arguments)
    /// in steps of [`SEAL_BUDGET`] units of work, letting the page run
    /// between slices of `slicer`.
    pub async fn seal_in_steps(
        &self,
        records: Vec<(String, Value)>,
        action: FieldAction,
        slicer: &mut Slicer,
    ) -> Result<Pending<Sealing>, WebError> {
        let now = timer::now()?;
        let mut run = self.page.borrow().start_seal(records, action, now);
        loop {
            let progress = self
                .page
                .borrow()
                .seal_step(run, SEAL_BUDGET, &mut CryptoEntropy)?;
            match progress {
                SealProgress::More(r) => run = r,
                SealProgress::Done(pending) => return Ok(pending),
            }
            slicer.tick().await;
        }
    }

    /// Stores the drafts of `pending` durably, then commits it: the answer
    /// exists only once its events are in IndexedDB.
    pub async fn logged<S: Step>(&self, pending: Pending<S>) -> Result<S::Answer, WebError> {
        let events = self.log(pending.drafts().to_vec()).await?;
        Ok(pending.commit(&mut self.page.borrow_mut(), &events)?)
    }

    /// The break-glass dialog for `record_id`, then the core's verdict on
    /// what was typed. A role that may not break the glass has its attempt
    /// logged before the refusal is shown. When the policy spares the prompt
    /// (treating team, re-prompt window) no dialog is shown: the grant is
    /// logged with why, and answered.
    pub async fn break_glass_dialog(
        self: &Rc<Self>,
        record_id: &str,
    ) -> Result<BreakGlassResult, WebError> {
        let form = self
            .page
            .borrow()
            .break_glass_form(record_id, timer::now()?)?;
        let nothing_typed = BreakGlassRequest {
            reason_code: String::new(),
            reason_text: String::new(),
            context: None,
            incident_ref: None,
        };
        if form.exemption.is_some() {
            let granted = self.page.borrow().break_glass(
                record_id,
                &nothing_typed,
                timer::now()?,
                &mut CryptoEntropy,
            )?;
            return self.logged(granted).await;
        }
        if !form.authorised {
            let attempt = self.page.borrow().break_glass(
                record_id,
                &nothing_typed,
                timer::now()?,
                &mut CryptoEntropy,
            )?;
            let logged = self.logged(attempt).await?;
            let ask = dialog::Ask {
                record: record_id,
                form: &form,
                check: Box::new(|_| Vec::new()),
            };
            dialog::ask(&self.strings, ask).await?;
            return Ok(logged);
        }
        let checker = self.clone();
        let ask = dialog::Ask {
            record: record_id,
            form: &form,
            // Live feedback only: without a clock there is none, and the
            // verdict after confirming reads the clock again and fails there.
            check: Box::new(move |request: &BreakGlassRequest| match timer::now() {
                Ok(now) => checker.page.borrow().check_break_glass(request, now),
                Err(_) => Vec::new(),
            }),
        };
        let answer = dialog::ask(&self.strings, ask).await?;
        let now = timer::now()?;
        let pending = match answer {
            Answer::Confirmed(request) => {
                self.page
                    .borrow()
                    .break_glass(record_id, &request, now, &mut CryptoEntropy)?
            }
            Answer::Cancelled | Answer::Refused => {
                self.page.borrow().break_glass_cancelled(record_id, now)?
            }
        };
        self.logged(pending).await
    }

    /// Pending events, acknowledged seqs per chain, last error, online.
    pub async fn status(&self) -> Result<Status, WebError> {
        let pending = self.store.pending().await?;
        let (chains, last_error) = self.uploader.progress();
        Ok(Status {
            chain: self.journal.chain(),
            head: self.journal.head().map(|(seq, hash)| Head { seq, hash }),
            pending,
            chains,
            last_error,
            online: web_sys::window().is_some_and(|w| w.navigator().on_line()),
            guarantees: guarantees::measured(&self.store).await,
        })
    }

    /// Uploads now and waits for the round to end.
    pub async fn settle(&self) {
        self.uploader.settle().await;
    }

    /// Stops uploading, removes the page listeners and closes the database.
    pub fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.uploader.close();
        self.listeners.borrow_mut().clear();
        self.store.close();
    }
}

impl Drop for Inner {
    /// An instance the page dropped (`free()`) stops like a closed one.
    fn drop(&mut self) {
        self.close();
    }
}
