//! Ships stored events to the collector, per `docs/protocol.md`: batches by
//! size and time, backs off exponentially with jitter, resends from
//! `expectedSeq` on `409 gap`, stops and raises an alert on any other `409`
//! (fork, tamper, clock), anchors heads, and deletes events only after a
//! `200` that acknowledges the batch sent ([`Acknowledged::check`]): any
//! other `200` (a sign-in page, a captive portal) and any redirect is a retry.
//! With the collector's log key in the options, deletes only once the
//! acknowledgement's log proof holds too ([`receipt`]).
//!
//! Each chain uploads under its own credential (`docs/protocol.md`,
//! "Credentials"): the live chain's is asked of the host ([`Obtain`]) at
//! start, before its `exp` and after a `401`, and stored beside the chain;
//! every other chain (an earlier page load, login or tab) uploads with the
//! one stored for it and is never signed anew. A chain without a usable
//! credential keeps its events and says why ([`Held`]).
//!
//! Everything here is `fetch` promises and timers on the event loop: the UI
//! thread never waits on the network. One pump runs at a time; a kick while it
//! runs makes it go round once more.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

mod config;
mod receipt;
mod wire;

pub use config::UploadConfig;

use super::journal::Journal;
use super::store::EventStore;
use super::tabs::{self, Channel, News};
use super::timer::{self, sleep};
use crate::event::ChainId;
use crate::page::{ChainCredential, ChainProgress, Held};
use crate::tlog::receipt::ReceiptError;
use crate::tlog::Leaf;
use crate::wire::{Acknowledged, Refusal, WireError};
use crate::Digest;
use receipt::Unproven;

/// Something the collector said that a reviewer must see.
#[derive(Debug, Clone)]
pub struct CollectorAlert {
    /// `fork`, `tamper`, `gap-lost`, `rejected`, or a failed log proof:
    /// `log-missing`, `log-malformed`, `log-signature`, `log-inclusion`,
    /// `log-consistency` (a rewritten log or a split view).
    pub error: String,
    /// The chain concerned.
    pub chain: String,
    /// The `seq` the collector named.
    pub seq: Option<u64>,
    /// What the collector answered, as text.
    pub detail: String,
}

/// Asks the host for the live chain's credential (checked by the core).
pub type Obtain =
    Rc<dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<ChainCredential, Held>>>>>;

/// The longest a browser timer waits (`setTimeout` takes 2^31 - 1 ms).
const TIMER_MAX_MS: i64 = 2_147_483_647;

struct State {
    chains: BTreeMap<String, ChainProgress>,
    /// What is known of each chain's credential (a few chains: a list).
    keys: Vec<Keyed>,
    /// When the refresh timer of the live chain's credential fires, ms.
    refresh_at: Option<i64>,
    attempt: u32,
    last_error: Option<String>,
    running: bool,
    again: bool,
    scheduled: bool,
    closed: bool,
    batch_events: u32,
    /// Wakes the [`Uploader::settle`] callers once the rounds running end.
    idle: Vec<js_sys::Function>,
}

impl State {
    /// The progress of `chain`, new when it was not seen before.
    fn progress(&mut self, chain: &str) -> &mut ChainProgress {
        self.chains
            .entry(chain.to_owned())
            .or_insert_with(|| ChainProgress {
                chain: chain.to_owned(),
                ..ChainProgress::default()
            })
    }
}

/// What the uploader knows of one chain's credential.
#[derive(Default)]
struct Keyed {
    chain: String,
    /// The credential it uploads with, once read or obtained.
    cred: Option<ChainCredential>,
    /// The live chain's credential was refused (`401`): ask again.
    stale: bool,
    /// Another chain's stored credential was refused: held until the next
    /// page load.
    refused: bool,
}

impl State {
    /// What is known of `chain`'s credential, new when nothing was.
    fn keyed(&mut self, chain: &str) -> &mut Keyed {
        let at = match self.keys.iter().position(|k| k.chain == chain) {
            Some(at) => at,
            None => {
                self.keys.push(Keyed {
                    chain: chain.to_owned(),
                    ..Keyed::default()
                });
                self.keys.len() - 1
            }
        };
        // INVARIANT: `at` was found in `keys` or pushed just above.
        #[allow(clippy::indexing_slicing)]
        &mut self.keys[at]
    }
}

/// Why one chain's upload stopped this round.
enum Halt {
    /// Try again later (network, timeout, 5xx, 429, ...).
    Retry(String),
    /// Never retry this chain: evidence for a reviewer.
    Stop(CollectorAlert),
    /// `401`: the collector refused the credential (its message).
    Unauthorized(String),
}

/// The uploader of one page load (and the leftovers of earlier ones, and
/// of other tabs: see `super::tabs`).
#[derive(Clone)]
pub struct Uploader {
    cfg: Rc<UploadConfig>,
    store: EventStore,
    journal: Journal,
    state: Rc<RefCell<State>>,
    on_alert: Rc<dyn Fn(CollectorAlert)>,
    on_change: Rc<dyn Fn()>,
    obtain: Obtain,
    /// The Web Lock an upload round holds: one per database.
    lock: Rc<str>,
    /// Where the tabs of this database tell each other about uploads.
    channel: Rc<RefCell<Option<Channel>>>,
}

impl Uploader {
    /// An idle uploader of database `db_name`; [`Uploader::kick`] starts it.
    pub fn new(
        cfg: UploadConfig,
        db_name: &str,
        store: EventStore,
        journal: Journal,
        on_alert: Rc<dyn Fn(CollectorAlert)>,
        on_change: Rc<dyn Fn()>,
        obtain: Obtain,
    ) -> Self {
        let batch_events = cfg.batch_events.max(1);
        let this = Self {
            cfg: Rc::new(cfg),
            store,
            journal,
            state: Rc::new(RefCell::new(State {
                chains: BTreeMap::new(),
                keys: Vec::new(),
                refresh_at: None,
                attempt: 0,
                last_error: None,
                running: false,
                again: false,
                idle: Vec::new(),
                scheduled: false,
                closed: false,
                batch_events,
            })),
            on_alert,
            on_change,
            obtain,
            lock: format!("sealtrail-upload:{db_name}").into(),
            channel: Rc::new(RefCell::new(None)),
        };
        let weak = Rc::downgrade(&this.state);
        let (on_alert, on_change) = (this.on_alert.clone(), this.on_change.clone());
        let heard = move |news: News| heard(&weak, &on_alert, &on_change, news);
        *this.channel.borrow_mut() =
            Channel::open(&format!("sealtrail-uploads:{db_name}"), Rc::new(heard));
        this
    }

    /// Tells the other tabs of this database.
    fn tell(&self, alert: Option<&CollectorAlert>) {
        let news = {
            let st = self.state.borrow();
            News {
                chains: st.chains.values().cloned().collect(),
                last_error: st.last_error.clone(),
                alert: alert.map(|a| (a.error.clone(), a.chain.clone(), a.seq, a.detail.clone())),
            }
        };
        if let Some(c) = self.channel.borrow().as_ref() {
            c.tell(&news);
        }
    }

    /// Progress of every chain seen, and the last error.
    pub fn progress(&self) -> (Vec<ChainProgress>, Option<String>) {
        let st = self.state.borrow();
        let current = self.journal.chain();
        let mut chains: Vec<ChainProgress> = st.chains.values().cloned().collect();
        if !st.chains.contains_key(&current) {
            chains.push(ChainProgress {
                chain: current.clone(),
                ..ChainProgress::default()
            });
        }
        for c in &mut chains {
            c.current = c.chain == current;
        }
        (chains, st.last_error.clone())
    }

    /// Stops all uploading (the page is closing the instance).
    pub fn close(&self) {
        self.state.borrow_mut().closed = true;
        if let Some(c) = self.channel.borrow_mut().take() {
            c.close();
        }
    }

    /// Uploads now (or right after the running round).
    pub fn kick(&self) {
        let start = {
            let mut st = self.state.borrow_mut();
            if st.closed {
                return;
            }
            if st.running {
                st.again = true;
                false
            } else {
                st.running = true;
                true
            }
        };
        if start {
            wasm_bindgen_futures::spawn_local(self.clone().pump());
        }
    }

    /// Uploads now and waits until the round (and its follow-ups) ended, or
    /// twice the request timeout passed. Woken when the rounds end, not by
    /// polling: `flush()` answers as soon as the upload is done.
    pub async fn settle(&self) {
        self.kick();
        let Some((ended, wake)) = timer::deferred() else {
            return;
        };
        {
            let mut st = self.state.borrow_mut();
            if !st.running {
                return;
            }
            st.idle.push(wake);
        }
        let limit = self.cfg.timeout_ms.saturating_mul(2).saturating_add(1000);
        let either = js_sys::Promise::race(&js_sys::Array::of2(&ended, &timer::after(limit)));
        let _ = JsFuture::from(either).await;
    }

    /// Uploads after the batching delay, unless a round is already scheduled.
    pub fn kick_soon(&self) {
        self.kick_after(self.cfg.delay_ms);
    }

    fn kick_after(&self, ms: u32) {
        {
            let mut st = self.state.borrow_mut();
            if st.scheduled || st.closed {
                return;
            }
            st.scheduled = true;
        }
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            sleep(ms).await;
            this.state.borrow_mut().scheduled = false;
            this.kick();
        });
    }

    /// Runs upload rounds until nothing is left or a retry is scheduled.
    async fn pump(self) {
        loop {
            // One tab of the database uploads at a time (see `super::tabs`).
            let outcome = tabs::exclusively(&self.lock, self.round()).await;
            let retry = {
                let mut st = self.state.borrow_mut();
                match &outcome {
                    Ok(()) => {
                        st.attempt = 0;
                        None
                    }
                    Err(msg) => {
                        st.last_error = Some(msg.clone());
                        st.attempt = st.attempt.saturating_add(1);
                        Some(self.cfg.backoff(st.attempt))
                    }
                }
            };
            self.tell(None);
            (self.on_change)();
            let (again, idle) = {
                let mut st = self.state.borrow_mut();
                let again = retry.is_none() && std::mem::take(&mut st.again) && !st.closed;
                if again {
                    (true, Vec::new())
                } else {
                    st.running = false;
                    (false, std::mem::take(&mut st.idle))
                }
            };
            for wake in idle {
                let _ = wake.call0(&JsValue::UNDEFINED);
            }
            if let Some(ms) = retry {
                self.kick_after(ms);
                return;
            }
            if !again {
                return;
            }
        }
    }

    /// One pass over every chain in storage, oldest first.
    async fn round(&self) -> Result<(), String> {
        let mut chains = self.store.chains().await.map_err(|e| e.to_string())?;
        let current = self.journal.chain();
        // Another tab may have uploaded and forgotten this chain's row.
        if !chains.contains(&current) {
            chains.push(current.clone());
        }
        // A held chain that a later round may pass: retried with backoff.
        let mut waiting = None;
        for chain in chains {
            let skip = {
                let mut st = self.state.borrow_mut();
                st.keyed(&chain).refused || st.progress(&chain).stopped.is_some()
            };
            if skip {
                continue;
            }
            let live = chain == current;
            let cred = match self.credential(&chain, live).await {
                Ok(c) => c,
                Err(held) => {
                    if held.may_pass() {
                        waiting = Some(held.to_string());
                    }
                    self.hold(&chain, Some(&held));
                    continue;
                }
            };
            self.hold(&chain, None);
            match self.upload_chain(&chain, &cred).await {
                Ok(()) => {
                    if !live {
                        self.store.forget(&chain).await.map_err(|e| e.to_string())?;
                    }
                }
                Err(Halt::Retry(msg)) => return Err(msg),
                Err(Halt::Stop(alert)) => self.stop(alert),
                Err(Halt::Unauthorized(message)) => {
                    let held = Held::Refused {
                        chain: chain.clone(),
                        message,
                    };
                    {
                        let mut st = self.state.borrow_mut();
                        let k = st.keyed(&chain);
                        k.stale = live;
                        k.refused = !live;
                    }
                    if live {
                        waiting = Some(held.to_string());
                    }
                    self.hold(&chain, Some(&held));
                }
            }
        }
        waiting.map_or(Ok(()), Err)
    }

    /// Says why `chain`'s events stay here (`None`: they no longer do).
    fn hold(&self, chain: &str, why: Option<&Held>) {
        let mut st = self.state.borrow_mut();
        if let Some(why) = why {
            st.last_error = Some(why.to_string());
        }
        st.progress(chain).held = why.map(Held::to_string);
    }

    /// The credential `chain` uploads with: for the `live` chain, the
    /// host's, asked again when none is held, it is due for refresh or the
    /// collector refused it (a failed refresh keeps one still live: the
    /// page may be offline); for any other, the one stored beside it.
    async fn credential(&self, chain: &str, live: bool) -> Result<ChainCredential, Held> {
        let none = || Held::NoneStored(chain.to_owned());
        let id = ChainId::parse(chain).map_err(|_| none())?;
        let (mut held, stale) = {
            let mut st = self.state.borrow_mut();
            let k = st.keyed(chain);
            (k.cred.clone(), k.stale)
        };
        if held.is_none() {
            if let Ok(Some(token)) = self.store.credential(chain).await {
                held = ChainCredential::stored(token, &id);
            }
        }
        let now = now_ms();
        let ask = live && (stale || held.as_ref().is_none_or(|c| c.due(now)));
        if !ask {
            return held.ok_or_else(none);
        }
        match (self.obtain)(chain.to_owned()).await {
            Ok(fresh) => {
                // Stored before use, so a later page load finds it; a store
                // that fails now only costs that.
                let _ = self.store.keep_credential(chain, fresh.token()).await;
                {
                    let mut st = self.state.borrow_mut();
                    let k = st.keyed(chain);
                    k.stale = false;
                    k.cred = Some(fresh.clone());
                }
                self.refresh_at(fresh.refresh_at_ms());
                Ok(fresh)
            }
            Err(why) => match held {
                Some(c) if !stale && c.live(now).is_ok() => Ok(c),
                _ => Err(why),
            },
        }
    }

    /// Uploads again at `at` (ms), when the live chain's credential is due.
    fn refresh_at(&self, at: i64) {
        {
            let mut st = self.state.borrow_mut();
            if st.refresh_at == Some(at) || st.closed {
                return;
            }
            st.refresh_at = Some(at);
        }
        let wait = u32::try_from(at.saturating_sub(now_ms()).clamp(0, TIMER_MAX_MS)).unwrap_or(0);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            sleep(wait).await;
            if this.state.borrow().refresh_at == Some(at) {
                this.kick();
            }
        });
    }

    /// Stops uploading a chain for good and raises the collector's refusal.
    fn stop(&self, alert: CollectorAlert) {
        {
            let mut st = self.state.borrow_mut();
            st.last_error = Some(format!(
                "the collector refused chain `{}` ({}); uploading it stopped: {}",
                alert.chain, alert.error, alert.detail
            ));
            let p = st.progress(&alert.chain);
            p.stopped = Some(alert.error.clone());
        }
        self.tell(Some(&alert));
        (self.on_alert)(alert);
    }

    /// Sends `chain`'s stored events until none is left.
    async fn upload_chain(&self, chain: &str, cred: &ChainCredential) -> Result<(), Halt> {
        let mut from = 0u64;
        loop {
            let max = self.state.borrow().batch_events;
            let events = self
                .store
                .read(chain, from, max)
                .await
                .map_err(|e| Halt::Retry(e.to_string()))?;
            let Some(first) = events.first().map(|e| e.seq) else {
                return Ok(());
            };
            if from > 0 && first != from {
                return Err(Halt::Stop(CollectorAlert {
                    error: "gap-lost".into(),
                    chain: chain.to_owned(),
                    seq: Some(from),
                    detail: format!(
                        "the collector expects seq {from}, which this browser no longer holds (it was acknowledged before)"
                    ),
                }));
            }
            // Anchor this page's head first: it covers at least this batch,
            // so the collector can tell if storage is rewritten later.
            if chain == self.journal.chain() {
                if let Some(alert) = self.anchor(cred).await {
                    return Err(Halt::Stop(alert));
                }
            }
            let said = super::guarantees::measured(&self.store).await;
            let (body, last) = wire::batch_body(&events, self.cfg.batch_bytes, said);
            let url = format!("{}/chains/{}/events", self.cfg.endpoint, chain);
            let (status, text) = wire::post(&url, &body, Some(cred.token()), self.cfg.timeout_ms)
                .await
                .map_err(Halt::Retry)?;
            match status {
                200 => {
                    let id = ChainId::parse(chain).map_err(|e| Halt::Retry(e.to_string()))?;
                    let local_hash =
                        |seq| events.iter().find(|e| e.seq == seq).and_then(wire::hash_of);
                    let ack = Acknowledged::check(&text, &id, first, last, local_hash)
                        .map_err(|e| Halt::Retry(format!("chain `{chain}`: {e}; retrying")))?;
                    let acked = ack.acked_seq;
                    let proof = ack.log.as_ref().map(|l| l.proof.as_str());
                    let checkpoint = self.prove(id, acked, ack.head, proof).await?;
                    self.store
                        .acknowledge(chain, acked, checkpoint.as_deref())
                        .await
                        .map_err(|e| Halt::Retry(e.to_string()))?;
                    {
                        let mut st = self.state.borrow_mut();
                        st.last_error = None;
                        if let Some(p) = st.chains.get_mut(chain) {
                            p.acked_seq = Some(acked);
                        }
                    }
                    (self.on_change)();
                    from = 0;
                }
                409 => match Refusal::parse(&text) {
                    Ok(Refusal::Gap { expected_seq, .. }) => from = expected_seq,
                    conflict => return Err(Halt::Stop(refusal(chain, conflict, text))),
                },
                413 => {
                    let mut st = self.state.borrow_mut();
                    if st.batch_events <= 1 {
                        return Err(Halt::Stop(CollectorAlert {
                            error: "rejected".into(),
                            chain: chain.to_owned(),
                            seq: Some(first),
                            detail: "the collector refuses even a single event as too large".into(),
                        }));
                    }
                    st.batch_events = (st.batch_events / 2).max(1);
                }
                401 => {
                    let message = Refusal::parse(&text).map_or_else(
                        |_| "`401` without a reason".to_owned(),
                        |r| r.message().to_owned(),
                    );
                    return Err(Halt::Unauthorized(message));
                }
                403 => return Err(Halt::Stop(refusal(chain, Refusal::parse(&text), text))),
                400 => {
                    return Err(Halt::Stop(CollectorAlert {
                        error: "rejected".into(),
                        chain: chain.to_owned(),
                        seq: Some(first),
                        detail: text,
                    }))
                }
                other => {
                    return Err(Halt::Retry(format!(
                        "the collector answered {other} for chain `{chain}`; retrying"
                    )))
                }
            }
        }
    }

    /// With the collector's log key pinned: proves the acknowledged event
    /// (`acked` of `chain`, whose hash `head` the acknowledgement showed to
    /// be the local one) is in the collector's log, before anything is
    /// deleted. A proof that fails stops the chain with a critical alert.
    /// Answers the newer checkpoint to keep when the events are deleted.
    async fn prove(
        &self,
        chain: ChainId,
        acked: u64,
        head: Digest,
        proof: Option<&str>,
    ) -> Result<Option<String>, Halt> {
        let Some(trust) = &self.cfg.log else {
            return Ok(None);
        };
        let lie = |error: &str, detail: String| {
            Halt::Stop(CollectorAlert {
                error: error.to_owned(),
                chain: chain.to_string(),
                seq: Some(acked),
                detail: format!("{detail}; nothing was deleted"),
            })
        };
        let Some(proof) = proof else {
            return Err(lie(
                "log-missing",
                "the acknowledgement carries no proof of the transparency log".into(),
            ));
        };
        let leaf = Leaf {
            chain: chain.clone(),
            seq: acked,
            hash: head,
        };
        let (endpoint, timeout) = (&self.cfg.endpoint, self.cfg.timeout_ms);
        match receipt::prove(trust, &self.store, endpoint, timeout, &leaf, proof).await {
            Ok(keep) => Ok(keep),
            Err(Unproven::Retry(why)) => Err(Halt::Retry(why)),
            Err(Unproven::Lie(e)) => {
                let code = match e {
                    ReceiptError::Malformed(_) => "log-malformed",
                    ReceiptError::Signature(_) => "log-signature",
                    ReceiptError::Inclusion(_) => "log-inclusion",
                    ReceiptError::Consistency(_) => "log-consistency",
                };
                Err(lie(code, e.to_string()))
            }
        }
    }

    /// Anchors the current chain's durable head when it moved past what the
    /// collector has. A network failure only delays the next anchor; a
    /// `409 tamper` (the stored chain does not pass through an earlier
    /// anchor) is evidence, returned for the caller to raise.
    async fn anchor(&self, cred: &ChainCredential) -> Option<CollectorAlert> {
        let (seq, hash) = self.journal.head()?;
        let chain = self.journal.chain();
        let due = {
            let st = self.state.borrow();
            st.chains.get(&chain).is_none_or(|p| {
                p.stopped.is_none()
                    && p.acked_seq.is_none_or(|a| a < seq)
                    && p.anchored_seq.is_none_or(|a| a < seq)
            })
        };
        if !due {
            return None;
        }
        let url = format!("{}/chains/{}/head", self.cfg.endpoint, chain);
        let body = wire::head_body(seq, &hash, cred.token());
        match wire::post(&url, &body, None, self.cfg.timeout_ms).await {
            Ok((200, _)) => {
                let mut st = self.state.borrow_mut();
                let p = st.progress(&chain);
                p.anchored_seq = Some(seq);
                None
            }
            Ok((403 | 409, text)) => Some(refusal(&chain, Refusal::parse(&text), text)),
            _ => None,
        }
    }

    /// Anchors the head with `navigator.sendBeacon` (for `pagehide`, when a
    /// `fetch` may not finish). Returns whether the browser queued it.
    pub fn beacon(&self) -> bool {
        let Some((seq, hash)) = self.journal.head() else {
            return false;
        };
        let chain = self.journal.chain();
        let Some(cred) = self.state.borrow_mut().keyed(&chain).cred.clone() else {
            return false;
        };
        let url = format!("{}/chains/{}/head", self.cfg.endpoint, chain);
        let body = wire::head_body(seq, &hash, cred.token());
        web_sys::window()
            .and_then(|w| {
                w.navigator()
                    .send_beacon_with_opt_str(&url, Some(&body))
                    .ok()
            })
            .unwrap_or(false)
    }
}

/// Takes in another tab's news: its chains' progress (never behind what
/// this tab knew), its last error, and the alert of a chain it stopped.
fn heard(
    state: &Weak<RefCell<State>>,
    on_alert: &Rc<dyn Fn(CollectorAlert)>,
    on_change: &Rc<dyn Fn()>,
    news: News,
) {
    let Some(state) = state.upgrade() else {
        return;
    };
    {
        let mut st = state.borrow_mut();
        for theirs in news.chains {
            let ours = st.progress(&theirs.chain);
            ours.acked_seq = ours.acked_seq.max(theirs.acked_seq);
            ours.anchored_seq = ours.anchored_seq.max(theirs.anchored_seq);
            if ours.stopped.is_none() {
                ours.stopped = theirs.stopped;
            }
        }
        st.last_error = news.last_error;
    }
    if let Some((error, chain, seq, detail)) = news.alert {
        on_alert(CollectorAlert {
            error,
            chain,
            seq,
            detail,
        });
    }
    on_change();
}

/// The alert for a `409` that stops a chain: the collector's conflict, or
/// an answer that is not one (kept as the detail for the reviewer).
fn refusal(chain: &str, conflict: Result<Refusal, WireError>, text: String) -> CollectorAlert {
    let (error, seq, detail) = match conflict {
        Ok(c) => (c.code(), c.seq(), text),
        Err(why) => ("conflict", None, format!("{why}: `{text}`")),
    };
    CollectorAlert {
        error: error.to_owned(),
        chain: chain.to_owned(),
        seq,
        detail,
    }
}

/// The browser's clock, ms since 1970.
fn now_ms() -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let ms = js_sys::Date::now() as i64;
    ms
}
