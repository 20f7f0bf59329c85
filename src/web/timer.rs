//! Time from the browser: the clock the core never reads itself, and sleeps.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::error::WebError;
use crate::Timestamp;

/// Now, from `Date.now()`.
pub fn now() -> Result<Timestamp, WebError> {
    // Date.now() is an integral number of ms well inside the i64 range.
    #[allow(clippy::cast_possible_truncation)]
    let ms = js_sys::Date::now() as i64;
    Timestamp::from_millis(ms).map_err(|e| WebError::Core(e.to_string()))
}

/// Resolves after `ms` milliseconds (a `setTimeout` promise; never blocks).
pub async fn sleep(ms: u32) {
    let _ = JsFuture::from(after(ms)).await;
}

/// A promise that resolves with `undefined` after `ms` milliseconds, to race
/// a browser promise that may never settle.
pub fn after(ms: u32) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(f) = set_timeout {
            let _ = f.call2(&global, &resolve, &JsValue::from(ms));
        } else {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    })
}
