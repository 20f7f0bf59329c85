//! DOM event listeners owned like any Rust value: added by
//! [`Listener::new`], removed when the [`Listener`] is dropped (gloo's
//! `EventListener`, in the few lines this package needs). Whoever holds the
//! listener owns its lifetime; nothing stays registered with a dropped
//! closure behind it.

use wasm_bindgen::prelude::*;
use web_sys::{Event, EventTarget};

/// A listener on one target for one event type, removed on drop.
#[must_use = "the listener is removed as soon as it is dropped"]
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(Event)>,
}

impl Listener {
    /// Calls `f` on every `kind` event at `target` until the listener is dropped.
    pub fn new(
        target: &EventTarget,
        kind: &'static str,
        f: impl FnMut(Event) + 'static,
    ) -> Result<Self, JsValue> {
        let callback = Closure::<dyn FnMut(Event)>::new(f);
        target.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref())?;
        Ok(Self {
            target: target.clone(),
            kind,
            callback,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}
