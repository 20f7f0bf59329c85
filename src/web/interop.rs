//! Conversion between JS values and the core's serde types, and the host's
//! callbacks.
//!
//! Values cross the boundary as JSON (`JSON.stringify` in, `JSON.parse`
//! out): the core already carries serde_json, so this costs no extra code in
//! the `.wasm`, and errors come back with the JSON Pointer of the offending
//! member (`crate::located`).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::error::{describe, WebError};

/// A JS value as `T`, naming the offending member as a JSON Pointer under `at`.
pub fn from_js<T: DeserializeOwned>(value: &JsValue, at: &str) -> Result<T, WebError> {
    crate::located::from_value(&value_from_js(value, at)?)
        .map_err(|(pointer, message)| WebError::input(format!("{at}{pointer}"), message))
}

/// A JS value as JSON (anything `JSON.stringify` writes is JSON).
pub fn value_from_js(value: &JsValue, at: &str) -> Result<Value, WebError> {
    value_from_text(&to_json_text(value, at)?, at)
}

/// JSON text (as `JSON.stringify` writes it) as a JSON value.
pub fn value_from_text(text: &str, at: &str) -> Result<Value, WebError> {
    serde_json::from_slice(text.as_bytes()).map_err(|e| WebError::input(at, e.to_string()))
}

/// `JSON.stringify(value)`.
pub fn to_json_text(value: &JsValue, at: &str) -> Result<String, WebError> {
    if value.is_undefined() {
        return Err(WebError::input(at, "a value is required"));
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| WebError::input(at, "not representable as JSON"))
}

/// `value` as a JS value (via `JSON.parse`).
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, WebError> {
    let text = serde_json::to_string(value).map_err(|e| WebError::Core(e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|e| WebError::Core(describe(&e)))
}

/// The host's callbacks, from `options`.
#[derive(Default)]
pub struct Callbacks {
    /// `credential(chain)`: the upload credential of a chain.
    pub credential: Option<js_sys::Function>,
    /// `onAlert(alert)`.
    pub on_alert: Option<js_sys::Function>,
    /// `onEvent(event)`.
    pub on_event: Option<js_sys::Function>,
    /// `onStatus()`.
    pub on_status: Option<js_sys::Function>,
}

impl Callbacks {
    /// Reads `config.options.{credential,onAlert,onEvent,onStatus}`. A member that is
    /// there but not a function is refused by the core's option parser (it
    /// reaches the JSON), so here only functions are taken.
    pub fn read(config: &JsValue) -> Self {
        let options = js_sys::Reflect::get(config, &"options".into()).unwrap_or(JsValue::UNDEFINED);
        if !options.is_object() {
            return Self::default();
        }
        let get = |name: &str| {
            js_sys::Reflect::get(&options, &name.into())
                .ok()
                .and_then(|v| v.dyn_into::<js_sys::Function>().ok())
        };
        Self {
            credential: get("credential"),
            on_alert: get("onAlert"),
            on_event: get("onEvent"),
            on_status: get("onStatus"),
        }
    }
}

/// Calls a host callback with `arg`; a throwing callback cannot break the chain.
pub fn call(f: Option<&js_sys::Function>, arg: &JsValue) {
    if let Some(f) = f {
        let _ = f.call1(&JsValue::UNDEFINED, arg);
    }
}

/// Calls `f(arg)` and awaits its answer when it is a promise: the text it
/// gives, or why there is none (it threw, rejected, or gave no string).
pub async fn ask_text(f: &js_sys::Function, arg: &JsValue) -> Result<String, String> {
    let out = f
        .call1(&JsValue::UNDEFINED, arg)
        .map_err(|e| describe(&e))?;
    let out = match out.dyn_into::<js_sys::Promise>() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p)
            .await
            .map_err(|e| describe(&e))?,
        Err(v) => v,
    };
    out.as_string().ok_or_else(|| {
        format!(
            "expected a string, found {}",
            out.js_typeof().as_string().unwrap_or_default()
        )
    })
}
