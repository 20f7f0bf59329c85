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

const VERSION: u32 = 3;
const EVENTS: &str = "events";
const CHAINS: &str = "chains";
const LOG: &str = "log";
const KEPT: &str = "kept";
const CREDENTIALS: &str = "credentials";

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

    /// Stores `events` of `chain` in one transaction (and records the chain
    /// the first time). Resolves only once the transaction has committed.
    pub async fn append(&self, chain: &str, events: &[StoredEvent]) -> Result<(), WebError> {
        let tx = self.tx(&[EVENTS, CHAINS], IdbTransactionMode::Readwrite)?;
        let result = (|| {
            let store = tx.object_store(EVENTS)?;
            for e in events {
                store.put(&record(chain, e)?.into())?;
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
        rows.iter().map(|row| stored(&row)).collect()
    }

    /// Deletes `chain`'s events up to and including `through`: only ever
    /// called after a collector acknowledged them with `200`.
    pub async fn acknowledge(&self, chain: &str, through: u64) -> Result<(), WebError> {
        let tx = self.tx(&[EVENTS], IdbTransactionMode::Readwrite)?;
        #[allow(clippy::cast_precision_loss)]
        let upper = through as f64;
        tx.object_store(EVENTS)
            .and_then(|s| s.delete(&range(chain, 0, upper)?.into()))
            .map_err(|e| WebError::from_storage(&e))?;
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

    /// Keeps `signed` as the checkpoint to check the next one against
    /// (`evidence: false`), or as evidence of a log that contradicts it.
    pub async fn keep_checkpoint(&self, signed: &str, evidence: bool) -> Result<(), WebError> {
        let key = if evidence {
            format!("evidence-{}", js_sys::Date::now())
        } else {
            KEPT.to_owned()
        };
        let tx = self.tx(&[LOG], IdbTransactionMode::Readwrite)?;
        tx.object_store(LOG)
            .and_then(|s| s.put_with_key(&signed.into(), &key.into()))
            .map_err(|e| WebError::from_storage(&e))?;
        idb::done(&tx).await
    }

    /// How many events wait for an acknowledgement, over all chains.
    pub async fn pending(&self) -> Result<u64, WebError> {
        let tx = self.tx(&[EVENTS], IdbTransactionMode::Readonly)?;
        let req = tx
            .object_store(EVENTS)
            .and_then(|s| s.count())
            .map_err(|e| WebError::from_storage(&e))?;
        let n = idb::request(&req).await?.as_f64().unwrap_or(0.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(n as u64)
    }
}

/// Creates the stores of version 3 that are missing (all, `log`, `credentials`).
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

/// The stored form of one event.
fn record(chain: &str, e: &StoredEvent) -> Result<js_sys::Object, JsValue> {
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"chain".into(), &chain.into())?;
    #[allow(clippy::cast_precision_loss)]
    js_sys::Reflect::set(&o, &"seq".into(), &(e.seq as f64).into())?;
    js_sys::Reflect::set(&o, &"line".into(), &e.line.as_str().into())?;
    Ok(o)
}

/// Reads one stored row back.
fn stored(row: &JsValue) -> Result<StoredEvent, WebError> {
    let seq = js_sys::Reflect::get(row, &"seq".into())
        .ok()
        .and_then(|v| v.as_f64())
        .ok_or_else(|| WebError::Storage("a stored event has no `seq`".into()))?;
    let line = js_sys::Reflect::get(row, &"line".into())
        .ok()
        .and_then(|v| v.as_string())
        .ok_or_else(|| WebError::Storage("a stored event has no `line`".into()))?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(StoredEvent {
        seq: seq as u64,
        line,
    })
}
