//! IndexedDB requests and transactions as futures (the callback layer of
//! IndexedDB, wrapped once so `store` reads top to bottom).
//!
//! Callers never await inside a transaction: they issue every request of a
//! transaction synchronously, then await [`done`] (the `complete` event), so
//! the browser's auto-commit cannot close a transaction under them.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbOpenDbRequest, IdbRequest, IdbTransaction};

use super::error::WebError;

/// A transaction over `stores` with `strict` durability: `complete` fires only
/// after the browser flushed the data to disk.
pub fn strict_transaction(
    db: &web_sys::IdbDatabase,
    stores: &[&str],
    write: bool,
) -> Result<IdbTransaction, JsValue> {
    let names = stores
        .iter()
        .map(|s| JsValue::from_str(s))
        .collect::<js_sys::Array>();
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"durability".into(), &"strict".into())?;
    let mode = if write { "readwrite" } else { "readonly" };
    // `db.transaction(stores, mode, {durability})`: web-sys keeps the options
    // argument behind its unstable-API flag, so it is called by name.
    js_sys::Reflect::get(db, &"transaction".into())?
        .dyn_into::<js_sys::Function>()?
        .call3(db, &names, &mode.into(), &options)?
        .dyn_into::<IdbTransaction>()
}

/// The result of `req` once its `success` event fires.
pub async fn request(req: &IdbRequest) -> Result<JsValue, WebError> {
    JsFuture::from(request_promise(req))
        .await
        .map_err(|e| WebError::from_storage(&e))
}

/// Resolves when `tx` commits; fails with the transaction's error when it aborts.
pub async fn done(tx: &IdbTransaction) -> Result<(), WebError> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let on_ok = Closure::once_into_js(move |_e: web_sys::Event| {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        });
        let fail_tx = tx.clone();
        let reject2 = reject.clone();
        let on_abort = Closure::once_into_js(move |_e: web_sys::Event| {
            let err = fail_tx.error().map(JsValue::from);
            let _ = reject.call1(&JsValue::UNDEFINED, &err.unwrap_or(JsValue::NULL));
        });
        // `error` bubbles from a failed request to the transaction, which then
        // aborts; reject on whichever comes first (a promise settles once).
        let err_tx = tx.clone();
        let on_err = Closure::once_into_js(move |_e: web_sys::Event| {
            let err = err_tx.error().map(JsValue::from);
            let _ = reject2.call1(&JsValue::UNDEFINED, &err.unwrap_or(JsValue::NULL));
        });
        tx.set_oncomplete(Some(on_ok.unchecked_ref()));
        tx.set_onabort(Some(on_abort.unchecked_ref()));
        tx.set_onerror(Some(on_err.unchecked_ref()));
    });
    JsFuture::from(promise).await.map(|_| ()).map_err(|e| {
        if e.is_null() {
            WebError::Storage("the transaction was aborted".into())
        } else {
            WebError::from_storage(&e)
        }
    })
}

/// Opens database `name` at `version`, running `upgrade` when it is new or
/// older; fails closed when another tab blocks the upgrade, or when the
/// database is newer than `version`.
pub async fn open(
    factory: &web_sys::IdbFactory,
    name: &str,
    version: u32,
    upgrade: fn(&web_sys::IdbDatabase) -> Result<(), JsValue>,
) -> Result<web_sys::IdbDatabase, WebError> {
    let req: IdbOpenDbRequest = factory
        .open_with_u32(name, version)
        .map_err(|e| WebError::StorageMissing(super::error::describe(&e)))?;
    let up_req = req.clone();
    let on_upgrade = Closure::once_into_js(move |_e: web_sys::IdbVersionChangeEvent| {
        if let Some(db) = up_req
            .result()
            .ok()
            .and_then(|r| r.dyn_into::<web_sys::IdbDatabase>().ok())
        {
            if upgrade(&db).is_err() {
                if let Some(tx) = up_req.transaction() {
                    let _ = tx.abort();
                }
            }
        }
    });
    req.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let blocked_name = name.to_owned();
    let blocked = js_sys::Promise::new(&mut |_resolve, reject| {
        let on_blocked = Closure::once_into_js(move |_e: web_sys::Event| {
            let _ = reject.call1(&JsValue::UNDEFINED, &JsValue::from_str("blocked"));
        });
        req.set_onblocked(Some(on_blocked.unchecked_ref()));
    });
    let either = js_sys::Promise::race(&js_sys::Array::of2(&request_promise(&req), &blocked));
    match JsFuture::from(either).await {
        Ok(v) => v
            .dyn_into::<web_sys::IdbDatabase>()
            .map_err(|_| WebError::Storage("opening did not yield a database".into())),
        Err(e) if e.as_string().as_deref() == Some("blocked") => {
            Err(WebError::StorageBlocked(blocked_name))
        }
        Err(e)
            if e.dyn_ref::<web_sys::DomException>()
                .map(|d| d.name())
                .as_deref()
                == Some("VersionError") =>
        {
            Err(WebError::StorageNewer(blocked_name))
        }
        Err(e) => Err(WebError::from_storage(&e)),
    }
}

/// `request` as a bare promise, for racing against other events.
fn request_promise(req: &IdbRequest) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, reject| {
        let ok_req = req.clone();
        let on_ok = Closure::once_into_js(move |_e: web_sys::Event| {
            let _ = resolve.call1(
                &JsValue::UNDEFINED,
                &ok_req.result().unwrap_or(JsValue::UNDEFINED),
            );
        });
        let err_req = req.clone();
        let on_err = Closure::once_into_js(move |_e: web_sys::Event| {
            let err = err_req.error().ok().flatten().map(JsValue::from);
            let _ = reject.call1(&JsValue::UNDEFINED, &err.unwrap_or(JsValue::NULL));
        });
        req.set_onsuccess(Some(on_ok.unchecked_ref()));
        req.set_onerror(Some(on_err.unchecked_ref()));
    })
}
