//! Time from the browser: the clock the core never reads itself, sleeps,
//! waiting for another task to say it is done, and handing the main thread
//! back to the page during long work.

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

/// A promise and the function that resolves it: how one task waits for
/// another to say it is done.
pub fn deferred() -> Option<(js_sys::Promise, js_sys::Function)> {
    let mut resolve = None;
    let promise = js_sys::Promise::new(&mut |r, _reject| resolve = Some(r));
    resolve.map(|r| (promise, r))
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

/// Milliseconds of work after which long work hands the main thread back
/// to the page: well under the 50 ms a task may take before the page feels
/// stuck.
pub const SLICE_MS: f64 = 12.0;

/// Paces long work on the main thread: [`Slicer::tick`] between small steps
/// yields to the event loop ([`yield_now`]) once a slice of [`SLICE_MS`] has
/// run.
#[derive(Debug)]
pub struct Slicer {
    since: f64,
    yields: u32,
}

impl Slicer {
    /// A slice starting now.
    pub fn new() -> Self {
        Self {
            since: js_sys::Date::now(),
            yields: 0,
        }
    }

    /// Yields to the event loop (input, rendering, timers run) when this
    /// slice has run [`SLICE_MS`]; otherwise returns at once.
    pub async fn tick(&mut self) {
        if js_sys::Date::now() - self.since >= SLICE_MS {
            yield_now().await;
            self.yields += 1;
            self.since = js_sys::Date::now();
        }
    }

    /// How many times it yielded.
    pub fn yields(&self) -> u32 {
        self.yields
    }
}

impl Default for Slicer {
    fn default() -> Self {
        Self::new()
    }
}

/// Lets the event loop run (timers, input, rendering) and continues in a
/// new task: a `MessageChannel` message, which browsers do not clamp as
/// they clamp nested `setTimeout(0)`; `setTimeout(0)` where there is none.
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if post_to_self(&resolve).is_none() {
            let global = js_sys::global();
            let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
            match set_timeout {
                Some(f) => {
                    let _ = f.call2(&global, &resolve, &JsValue::from(0));
                }
                None => {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Calls `f` from a new task through a fresh `MessageChannel`; `None` when
/// there is no `MessageChannel`.
fn post_to_self(f: &js_sys::Function) -> Option<()> {
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &JsValue::from_str(k)).ok();
    let ctor: js_sys::Function = get(&js_sys::global(), "MessageChannel")?.dyn_into().ok()?;
    let channel = js_sys::Reflect::construct(&ctor, &js_sys::Array::new()).ok()?;
    let (port1, port2) = (get(&channel, "port1")?, get(&channel, "port2")?);
    js_sys::Reflect::set(&port1, &"onmessage".into(), f).ok()?;
    let post: js_sys::Function = get(&port2, "postMessage")?.dyn_into().ok()?;
    post.call1(&port2, &JsValue::NULL).ok()?;
    Some(())
}
