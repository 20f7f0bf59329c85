//! Measures this browser's [`Guarantees`]: what IndexedDB did with the
//! `strict` durability hint, and whether `navigator.storage` granted
//! persistence. Neither is an error: a browser that lacks them still gets
//! log-before-reveal and delete-only-after-`200`; `status()` says what it
//! lacks. The module asks for persistence once at start and never waits
//! for the answer (Firefox answers `persist()` with a permission prompt that
//! a headless or kiosk browser never settles); `status()` reads what was
//! granted with `persisted()`, raced against a timer.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbTransaction;

use super::store::EventStore;
use super::timer;
use crate::guarantees::{Durability, Guarantees, Persistence};

/// How long `navigator.storage.persisted()` may take before the answer
/// counts as "evictable" (it is a local lookup; a browser that does not
/// answer at all must not stall `status()`).
const PERSISTED_WAIT_MS: u32 = 1_000;

/// What `tx`, opened with `durability: "strict"`, reports back: an engine
/// that knows the hint echoes `"strict"`; one that predates it has no
/// `durability` attribute and commits with relaxed durability.
pub fn durability(tx: &IdbTransaction) -> Durability {
    let echoed = js_sys::Reflect::get(tx, &"durability".into()).ok();
    if echoed.and_then(|v| v.as_string()).as_deref() == Some("strict") {
        Durability::Strict
    } else {
        Durability::BestEffort
    }
}

/// This browser's guarantees for events in `store` (`status().guarantees`,
/// and what each upload tells the collector).
pub async fn measured(store: &EventStore) -> Guarantees {
    Guarantees {
        durability: store.durability(),
        storage: persistence().await,
    }
}

/// `navigator.storage.persisted()`, `Evictable` when there is no
/// `navigator.storage` (WebKitGTK), when it fails, or when it does not
/// answer within [`PERSISTED_WAIT_MS`].
pub async fn persistence() -> Persistence {
    match persisted().await {
        Ok(true) => Persistence::Persistent,
        Ok(false) | Err(_) => Persistence::Evictable,
    }
}

/// `navigator.storage.persist()`, not awaited: Chromium grants or refuses
/// at once by its own heuristics, Firefox prompts the user. Nothing when
/// there is no `navigator.storage` (WebKitGTK).
pub fn ask_persistence() {
    let ask = || -> Result<(), JsValue> {
        let storage = storage_manager()?;
        if !storage.is_undefined() && !storage.is_null() {
            js_sys::Reflect::get(&storage, &"persist".into())?
                .dyn_into::<js_sys::Function>()?
                .call0(&storage)?;
        }
        Ok(())
    };
    let _ = ask();
}

/// `navigator.storage` (`undefined` where there is none).
fn storage_manager() -> Result<JsValue, JsValue> {
    let global = js_sys::global();
    let navigator = js_sys::Reflect::get(&global, &"navigator".into())?;
    js_sys::Reflect::get(&navigator, &"storage".into())
}

async fn persisted() -> Result<bool, JsValue> {
    let storage = storage_manager()?;
    if storage.is_undefined() || storage.is_null() {
        return Ok(false);
    }
    let asked = js_sys::Reflect::get(&storage, &"persisted".into())?
        .dyn_into::<js_sys::Function>()?
        .call0(&storage)?
        .dyn_into::<js_sys::Promise>()?;
    // The timer resolves with `undefined`: no answer in time is not `true`.
    let first = JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(
        &asked,
        &timer::after(PERSISTED_WAIT_MS),
    )))
    .await?;
    Ok(first.as_bool() == Some(true))
}
