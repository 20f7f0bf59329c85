//! Tabs of one origin sharing the uploads.
//!
//! Every tab appends to its own chain in the shared database, and every
//! tab's uploader would find every chain there. So each upload round runs
//! holding one Web Lock per database (`navigator.locks`, exclusive): one tab
//! uploads at a time, the others wait in the lock's queue, and when the
//! uploading tab closes or crashes the browser releases its lock and the
//! next tab takes over, reading what is left from the database. Appends never
//! wait on the lock: a tab that cannot get it still logs before it reveals.
//!
//! After each round, and on each refusal that stops a chain, the uploading
//! tab tells the others on a `BroadcastChannel`, so every tab's `status()`
//! and alerts reflect uploads it did not run itself.
//!
//! An engine without Web Locks (none of the tested ones) runs rounds
//! without it: log-before-reveal and deletion only after a `200` still
//! hold, but two tabs may then post one chain at once; the collector
//! answers the later one as a duplicate or a gap, and nothing is lost.

use std::future::Future;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::timer::deferred;
use crate::page::ChainProgress;

/// Runs `work` holding the exclusive Web Lock `name`, waiting for it as
/// long as another tab holds it; without Web Locks (or when the request
/// fails), runs it at once.
pub async fn exclusively<T>(name: &str, work: impl Future<Output = T>) -> T {
    let Some((granted, held)) = request(name) else {
        return work.await;
    };
    if !matches!(JsFuture::from(granted).await, Ok(v) if v.as_bool() == Some(true)) {
        return work.await;
    }
    let out = work.await;
    let _ = held.call0(&JsValue::UNDEFINED);
    out
}

/// Asks for lock `name`: a promise of `true` once it is held (`false` when
/// the request failed), and the function that releases it.
fn request(name: &str) -> Option<(js_sys::Promise, js_sys::Function)> {
    let global = js_sys::global();
    let navigator = js_sys::Reflect::get(&global, &"navigator".into()).ok()?;
    let locks = js_sys::Reflect::get(&navigator, &"locks".into()).ok()?;
    let request = js_sys::Reflect::get(&locks, &"request".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    let (granted, grant) = deferred()?;
    let (released, release) = deferred()?;
    // The lock is held until the promise the callback returns settles.
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        let _ = grant.call1(&JsValue::UNDEFINED, &JsValue::TRUE);
        released.into()
    });
    let asked = request
        .call2(&locks, &name.into(), &callback)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    // A request that ends before the callback ran failed: `false` then
    // (whether it resolved or rejected; only one of the two is called).
    let failed = Closure::once_into_js(|_: JsValue| JsValue::FALSE);
    let ended = js_sys::Reflect::get(&asked, &"then".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?
        .call2(&asked, &failed, &failed)
        .ok()?;
    let either = js_sys::Promise::race(&js_sys::Array::of2(&granted, &ended));
    Some((either, release))
}

/// What the uploading tab tells the others.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct News {
    /// Upload progress of the chains it went through.
    pub chains: Vec<ChainProgress>,
    /// Its last upload error (`None`: the round went through).
    pub last_error: Option<String>,
    /// A refusal that stopped a chain: `[error, chain, seq, detail]`.
    pub alert: Option<(String, String, Option<u64>, String)>,
}

/// The channel the tabs of one database share.
pub struct Channel {
    channel: web_sys::BroadcastChannel,
    _listener: Closure<dyn FnMut(web_sys::MessageEvent)>,
}

impl Channel {
    /// Opens channel `name`, calling `heard` with the news of other tabs;
    /// `None` where the engine has no `BroadcastChannel`.
    pub fn open(name: &str, heard: Rc<dyn Fn(News)>) -> Option<Self> {
        let channel = web_sys::BroadcastChannel::new(name).ok()?;
        let listener =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                let news = e
                    .data()
                    .as_string()
                    .and_then(|text| serde_json::from_slice::<News>(text.as_bytes()).ok());
                if let Some(news) = news {
                    heard(news);
                }
            });
        channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        Some(Self {
            channel,
            _listener: listener,
        })
    }

    /// Tells the other tabs (never this one).
    pub fn tell(&self, news: &News) {
        if let Ok(text) = serde_json::to_string(news) {
            let _ = self.channel.post_message(&text.into());
        }
    }

    /// Stops listening.
    pub fn close(&self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
