//! The durable half of the chain: events in IndexedDB until a collector
//! acknowledges them.
//!
//! Layout (database version 1):
//! - object store `events`, key path `["chain", "seq"]`, values
//!   `{chain, seq, line}` where `line` is the event's canonical JSON with its
//!   `hash` (what the uploader sends, byte for byte);
//! - object store `chains`, key path `chain`, values `{chain, created}`: every
//!   chain that may still hold events, so a later page load finds leftovers
//!   without scanning events.
//!
//! Version 2 adds the object store `log`: under the key `kept`, the last
//! signed checkpoint of the collector's transparency log this browser
//! verified (the next must be consistent with it); under `evidence-<ms>`,
//! each checkpoint that was not (a split view or a rewritten log).
//!
//! Version 3 adds the object store `credentials`: under a chain's id, the
//! upload credential (a JWT, opaque here) its host gave for it, so a chain
//! left by a page load or a login that ended still uploads with its own.
//!
//! Version 4 stores consecutive events of one chain in one row of `events`:
//! `{chain, seq, first, line}` holds seqs `first..=seq` (the key is the row's
//! last seq), their lines joined by `\n` (canonical JSON escapes every
//! control character, so no line holds one). A committed batch is a few puts
//! instead of one per event: IndexedDB's cost is per row, and a burst of
//! 1,000 views wrote twice as fast in Chromium. Rows hold at most
//! [`ROW_EVENTS`], so trimming the row an acknowledgement ends inside
//! rewrites little. A row without `first` (written by version 3) is one
//! event. The version is raised, with no store added, so that an older
//! package meeting rows it cannot read fails to open (closed) instead of
//! uploading them as one line.
//!
//! Every write is one `readwrite` transaction with `strict` durability: the
//! promise resolves only after the browser reports the data flushed, which is
//! what "stored before revealed" means. An engine that ignores the hint still
//! resolves only after `complete` (nothing is revealed earlier), but its
//! `complete` may precede the disk: [`EventStore::durability`] says which. Events are deleted only by
//! [`EventStore::acknowledge`], which the uploader calls after a `200`.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{IdbDatabase, IdbKeyRange, IdbTransaction, IdbTransactionMode};

use super::error::{describe, WebError};
use super::{guarantees, idb};
use crate::guarantees::Durability;

const VERSION: u32 = 4;
const EVENTS: &str = "events";
const CHAINS: &str = "chains";
const LOG: &str = "log";
const KEPT: &str = "kept";
const CREDENTIALS: &str = "credentials";
/// The most events one row holds.
pub const ROW_EVENTS: usize = 128;
/// The most rows one read asks for at a time.
const READ_ROWS: u32 = 16;

/// One stored event: its `seq` and canonical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in its chain.
    pub seq: u64,
    /// Canonical JSON of the event, `hash` included.
    pub line: String,
}

/// An open audit database.
#[derive(Debug, Clone)]
pub struct EventStore {
    db: IdbDatabase,
    closed: Rc<Cell<bool>>,
    durability: Durability,
}

impl EventStore {
    /// Opens (creating if needed) database `name`. Fails closed when there is
    /// no IndexedDB or another tab blocks it.
    pub async fn open(name: &str) -> Result<Self, WebError> {
        let global = js_sys::global();
        let factory = js_sys::Reflect::get(&global, &"indexedDB".into())
            .map_err(|e| WebError::StorageMissing(describe(&e)))?
            .dyn_into::<web_sys::IdbFactory>()
            .map_err(|_| WebError::StorageMissing("this page has no `indexedDB`".into()))?;
        let db = idb::open(&factory, name, VERSION, upgrade).await?;
        let probe = idb::strict_transaction(&db, &[EVENTS], false)
            .map_err(|e| WebError::from_storage(&e))?;
        let durability = guarantees::durability(&probe);
        let closed = Rc::new(Cell::new(false));
        // Another tab wants to upgrade or delete the database: let it, and
        // fail every later write closed instead of writing to a stale schema.
        let (db2, closed2) = (db.clone(), closed.clone());
        let on_change = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e| {
            closed2.set(true);
            db2.close();
        });
        db.set_onversionchange(Some(on_change.as_ref().unchecked_ref()));
        on_change.forget();
        let closed3 = closed.clone();
        let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(move |_e| closed3.set(true));
        db.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();
        Ok(Self {
            db,
            closed,
            durability,
        })
    }

    /// Whether this browser's writes are on disk when they report `complete`.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Closes the connection; later calls fail with `storage-closed`.
    pub fn close(&self) {
        self.closed.set(true);
        self.db.close();
    }

    fn tx(&self, stores: &[&str], mode: IdbTransactionMode) -> Result<IdbTransaction, WebError> {
        if self.closed.get() {
            return Err(WebError::StorageClosed);
        }
        idb::strict_transaction(&self.db, stores, mode == IdbTransactionMode::Readwrite)
            .map_err(|e| WebError::from_storage(&e))
    }

    /// Stores `events` of `chain` (consecutive seqs, as the journal appends
    /// them) in one transaction, in rows of up to [`ROW_EVENTS`], and
    /// records the chain the first time. Resolves only once the transaction
    /// has committed.
    pub async fn append(&self, chain: &str, events: &[StoredEvent]) -> Result<(), WebError> {
        let tx = self.tx(&[EVENTS, CHAINS], IdbTransactionMode::Readwrite)?;
        let result = (|| {
            let store = tx.object_store(EVENTS)?;
            for rows in events.chunks(ROW_EVENTS) {
                store.put(&row(chain, rows)?.into())?;
            }
            // Every write names its chain, even if another tab uploaded and
            // forgot it meanwhile: no stored event is ever without its row.
            if !events.is_empty() {
                let meta = js_sys::Object::new();
                js_sys::Reflect::set(&meta, &"chain".into(), &chain.into())?;
                js_sys::Reflect::set(&meta, &"created".into(), &js_sys::Date::now().into())?;
                tx.object_store(CHAINS)?.put(&meta)?;
            }
            Ok::<(), JsValue>(())
        })();
        if let Err(e) = result {
            let _ = tx.abort();
            return Err(WebError::from_storage(&e));
        }
        idb::done(&tx).await
    }

    /// Up to `max` of `chain`'s stored events, oldest first, from `from` on.
    pub async fn read(
        &self,
        chain: &str,
        from: u64,
        max: u32,
    ) -> Result<Vec<StoredEvent>, WebError> {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        // Rows whose last seq is at or past `from`: the first holds `from`.
        let mut lower = from;
        while out.len() < max {
            let rows = self.rows(chain, lower, READ_ROWS).await?;
            for r in &rows {
                let events = events_of(r)?;
                out.extend(events.into_iter().filter(|e| e.seq >= from));
            }
            match rows.last() {
                Some(r) if rows.len() == READ_ROWS as usize => lower = r.last.saturating_add(1),
                _ => break,
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// Up to `max` rows of `chain` whose last seq is `from` or later.
    async fn rows(&self, chain: &str, from: u64, max: u32) -> Result<Vec<Row>, WebError> {
        let tx = self.tx(&[EVENTS], IdbTransactionMode::Readonly)?;
        let req = tx
            .object_store(EVENTS)
            .and_then(|s| {
                s.get_all_with_key_and_limit(&range(chain, from, f64::INFINITY)?.into(), max)
            })
            .map_err(|e| WebError::from_storage(&e))?;
        let rows = idb::request(&req).await?;
        let rows = rows
            .dyn_into::<js_sys::Array>()
            .map_err(|_| WebError::Storage("`getAll` did not return a list".into()))?;
        rows.iter().map(|r| Row::from_js(&r)).collect()
    }

    /// Deletes `chain`'s events up to and including `through`: only ever
    /// called after a collector acknowledged them with `200`; with
    /// `checkpoint` (the log checkpoint that proved them, when newer than
    /// the kept one), keeps it in the same transaction. The row that
    /// `through` ends inside keeps its later events. It is read first, in a
    /// transaction of its own: only the tab holding the upload lock
    /// acknowledges, and the chain's writer only adds rows after it.
    pub async fn acknowledge(
        &self,
        chain: &str,
        through: u64,
        checkpoint: Option<&str>,
    ) -> Result<(), WebError> {
        let straddling = self
            .rows(chain, through.saturating_add(1), 1)
            .await?
            .into_iter()
            .find(|r| r.first <= through);
        let trimmed = match &straddling {
            Some(r) => {
                let rest: Vec<StoredEvent> = events_of(r)?
                    .into_iter()
                    .filter(|e| e.seq > through)
                    .collect();
                Some(row(chain, &rest).map_err(|e| WebError::from_storage(&e))?)
            }
            None => None,
        };
        let stores: &[&str] = if checkpoint.is_some() {
            &[EVENTS, LOG]
        } else {
            &[EVENTS]
        };
        let tx = self.tx(stores, IdbTransactionMode::Readwrite)?;
        #[allow(clippy::cast_precision_loss)]
        let upper = through as f64;
        let result = (|| {
            let s = tx.object_store(EVENTS)?;
            s.delete(&range(chain, 0, upper)?.into())?;
            if let Some(row) = &trimmed {
                s.put(row)?;
            }
            if let Some(signed) = checkpoint {
                tx.object_store(LOG)?
                    .put_with_key(&signed.into(), &KEPT.into())?;
            }
            Ok::<(), JsValue>(())
        })();
        if let Err(e) = result {
            let _ = tx.abort();
            return Err(WebError::from_storage(&e));
        }
        idb::done(&tx).await
    }

    /// Every chain that may still hold events, oldest first.
    pub async fn chains(&self) -> Result<Vec<String>, WebError> {
        let tx = self.tx(&[CHAINS], IdbTransactionMode::Readonly)?;
        let req = tx
            .object_store(CHAINS)
            .and_then(|s| s.get_all())
            .map_err(|e| WebError::from_storage(&e))?;
        let rows = idb::request(&req).await?;
        let rows = rows
            .dyn_into::<js_sys::Array>()
            .map_err(|_| WebError::Storage("`getAll` did not return a list".into()))?;
        let mut out: Vec<(f64, String)> = rows
            .iter()
            .filter_map(|r| {
                let chain = js_sys::Reflect::get(&r, &"chain".into())
                    .ok()?
                    .as_string()?;
                let created = js_sys::Reflect::get(&r, &"created".into())
                    .ok()?
                    .as_f64()
                    .unwrap_or(0.0);
                Some((created, chain))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(out.into_iter().map(|(_, c)| c).collect())
    }

    /// Forgets a chain whose events are all acknowledged. Callers pass only
    /// chains of earlier page loads, which nothing appends to any more.
    pub async fn forget(&self, chain: &str) -> Result<(), WebError> {
        if !self.read(chain, 0, 1).await?.is_empty() {
            return Ok(());
        }
        let tx = self.tx(&[CHAINS, CREDENTIALS], IdbTransactionMode::Readwrite)?;
        let key = JsValue::from_str(chain);
        tx.object_store(CHAINS)
            .and_then(|s| s.delete(&key))
            .and_then(|_| tx.object_store(CREDENTIALS))
            .and_then(|s| s.delete(&key))
            .map_err(|e| WebError::from_storage(&e))?;
        idb::done(&tx).await
    }

    /// The upload credential stored for `chain`.
    pub async fn credential(&self, chain: &str) -> Result<Option<String>, WebError> {
        let tx = self.tx(&[CREDENTIALS], IdbTransactionMode::Readonly)?;
        let req = tx
            .object_store(CREDENTIALS)
            .and_then(|s| s.get(&chain.into()))
            .map_err(|e| WebError::from_storage(&e))?;
        Ok(idb::request(&req).await?.as_string())
    }

    /// Stores `token` as `chain`'s upload credential (replacing an older one).
    pub async fn keep_credential(&self, chain: &str, token: &str) -> Result<(), WebError> {
        let tx = self.tx(&[CREDENTIALS], IdbTransactionMode::Readwrite)?;
        tx.object_store(CREDENTIALS)
            .and_then(|s| s.put_with_key(&token.into(), &chain.into()))
            .map_err(|e| WebError::from_storage(&e))?;
        idb::done(&tx).await
    }

    /// The signed checkpoint kept from the last verified acknowledgement.
    pub async fn kept_checkpoint(&self) -> Result<Option<String>, WebError> {
        let tx = self.tx(&[LOG], IdbTransactionMode::Readonly)?;
        let req = tx
            .object_store(LOG)
            .and_then(|s| s.get(&KEPT.into()))
            .map_err(|e| WebError::from_storage(&e))?;
        Ok(idb::request(&req).await?.as_string())
    }

    /// Keeps `signed` as evidence of a log that contradicts the kept
    /// checkpoint (the one to check the next against is kept by
    /// [`EventStore::acknowledge`]).
    pub async fn keep_evidence(&self, signed: &str) -> Result<(), WebError> {
        let key = format!("evidence-{}", js_sys::Date::now());
        let tx = self.tx(&[LOG], IdbTransactionMode::Readwrite)?;
        tx.object_store(LOG)
            .and_then(|s| s.put_with_key(&signed.into(), &key.into()))
            .map_err(|e| WebError::from_storage(&e))?;
        idb::done(&tx).await
    }

    /// How many events wait for an acknowledgement, over all chains: from
    /// the rows' keys, and each chain's first row (its `first`), since a
    /// chain's rows hold consecutive seqs.
    pub async fn pending(&self) -> Result<u64, WebError> {
        let tx = self.tx(&[EVENTS], IdbTransactionMode::Readonly)?;
        let req = tx
            .object_store(EVENTS)
            .and_then(|s| s.get_all_keys())
            .map_err(|e| WebError::from_storage(&e))?;
        let keys = idb::request(&req)
            .await?
            .dyn_into::<js_sys::Array>()
            .map_err(|_| WebError::Storage("`getAllKeys` did not return a list".into()))?;
        // Keys come sorted: each chain's rows are one run, first to last.
        let mut spans: Vec<(String, u64, u64)> = Vec::new();
        for key in keys.iter() {
            let (chain, seq) = key_parts(&key)?;
            match spans.last_mut() {
                Some((c, _, last)) if *c == chain => *last = seq,
                _ => spans.push((chain, seq, seq)),
            }
        }
        let mut total = 0;
        for (chain, first_key, last) in spans {
            // The first row may have been trimmed or deleted since (another
            // tab's acknowledgement): then at least its last event waits.
            let first = match self.rows(&chain, first_key, 1).await?.first() {
                Some(r) if r.last == first_key => r.first,
                _ => first_key,
            };
            total += last.saturating_sub(first) + 1;
        }
        Ok(total)
    }
}

/// Creates the stores that are missing (all, `log`, `credentials`); version
/// 4 changed the rows, not the stores.
fn upgrade(db: &IdbDatabase) -> Result<(), JsValue> {
    let names = db.object_store_names();
    if !names.contains(EVENTS) {
        let params = web_sys::IdbObjectStoreParameters::new();
        let key = js_sys::Array::of2(&"chain".into(), &"seq".into());
        params.set_key_path(&key);
        db.create_object_store_with_optional_parameters(EVENTS, &params)?;
    }
    if !names.contains(CHAINS) {
        let params = web_sys::IdbObjectStoreParameters::new();
        params.set_key_path(&"chain".into());
        db.create_object_store_with_optional_parameters(CHAINS, &params)?;
    }
    if !names.contains(LOG) {
        db.create_object_store(LOG)?;
    }
    if !names.contains(CREDENTIALS) {
        db.create_object_store(CREDENTIALS)?;
    }
    Ok(())
}

/// The key range `[chain, from] ..= [chain, to]`.
fn range(chain: &str, from: u64, to: f64) -> Result<IdbKeyRange, JsValue> {
    #[allow(clippy::cast_precision_loss)]
    let lower = js_sys::Array::of2(&chain.into(), &(from as f64).into());
    let upper = js_sys::Array::of2(&chain.into(), &to.into());
    IdbKeyRange::bound(&lower, &upper)
}

/// One stored row: consecutive events `first..=last` of a chain.
#[derive(Debug)]
struct Row {
    first: u64,
    last: u64,
    lines: String,
}

impl Row {
    fn from_js(row: &JsValue) -> Result<Self, WebError> {
        let number = |name: &str| {
            js_sys::Reflect::get(row, &name.into())
                .ok()
                .and_then(|v| v.as_f64())
        };
        let last = number("seq")
            .and_then(seq_of)
            .ok_or_else(|| WebError::Storage("a stored row has no `seq`".into()))?;
        let first = match number("first") {
            None => last,
            Some(n) => seq_of(n).filter(|f| *f <= last).ok_or_else(|| {
                WebError::Storage(format!(
                    "the stored row ending at seq {last} has a bad `first`"
                ))
            })?,
        };
        let lines = js_sys::Reflect::get(row, &"line".into())
            .ok()
            .and_then(|v| v.as_string())
            .ok_or_else(|| {
                WebError::Storage(format!("the stored row ending at seq {last} has no `line`"))
            })?;
        Ok(Self { first, last, lines })
    }
}

/// A whole, non-negative `seq` read from storage.
fn seq_of(n: f64) -> Option<u64> {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0).then_some(n as u64)
}

/// The events of `row`, one per line, numbered from its `first`.
fn events_of(row: &Row) -> Result<Vec<StoredEvent>, WebError> {
    let events: Vec<StoredEvent> = (row.first..)
        .zip(row.lines.split('\n'))
        .map(|(seq, line)| StoredEvent {
            seq,
            line: line.to_owned(),
        })
        .collect();
    if events.last().map(|e| e.seq) != Some(row.last) {
        return Err(WebError::Storage(format!(
            "the stored row of seqs {}..={} holds {} lines",
            row.first,
            row.last,
            events.len()
        )));
    }
    Ok(events)
}

/// The stored form of `events` (consecutive, at least one): one row.
fn row(chain: &str, events: &[StoredEvent]) -> Result<js_sys::Object, JsValue> {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Err(JsValue::from_str("an empty row"));
    };
    let mut lines = String::with_capacity(events.iter().map(|e| e.line.len() + 1).sum());
    for e in events {
        if !lines.is_empty() {
            lines.push('\n');
        }
        lines.push_str(&e.line);
    }
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"chain".into(), &chain.into())?;
    #[allow(clippy::cast_precision_loss)]
    {
        js_sys::Reflect::set(&o, &"seq".into(), &(last.seq as f64).into())?;
        js_sys::Reflect::set(&o, &"first".into(), &(first.seq as f64).into())?;
    }
    js_sys::Reflect::set(&o, &"line".into(), &lines.into())?;
    Ok(o)
}

/// The chain and seq of a key of `events`.
fn key_parts(key: &JsValue) -> Result<(String, u64), WebError> {
    let bad = || WebError::Storage("a stored row has a key other than `[chain, seq]`".into());
    let chain = js_sys::Reflect::get_u32(key, 0)
        .ok()
        .and_then(|v| v.as_string())
        .ok_or_else(bad)?;
    let seq = js_sys::Reflect::get_u32(key, 1)
        .ok()
        .and_then(|v| v.as_f64())
        .and_then(seq_of)
        .ok_or_else(bad)?;
    Ok((chain, seq))
}
