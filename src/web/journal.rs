//! This page's chain: numbers, links and hashes events with the core's
//! [`ChainWriter`], and makes them durable in IndexedDB with group commit.
//!
//! Callers append drafts and get their events back only once the transaction
//! holding them has committed; that is the "log" of log-before-reveal. Calls
//! that arrive while a transaction is in flight are written together in the
//! next one, so a burst of views costs one commit, not one per event. The
//! writer advances only after a commit: when storing fails, every caller of
//! that batch gets the error and the chain stays as it was on disk.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::error::WebError;
use super::store::{EventStore, StoredEvent};
use super::timer;
use crate::chain::ChainWriter;
use crate::event::{Event, EventDraft};
use crate::Timestamp;

type Slot = Rc<RefCell<Option<Result<Vec<Event>, WebError>>>>;

/// Called with each committed batch, in chain order.
pub type OnStored = Rc<dyn Fn(&[Event])>;

/// One caller waiting for its drafts to be stored.
struct Waiting {
    /// The chain current when the drafts were made (under its owner).
    chain: String,
    drafts: Vec<EventDraft>,
    now: Timestamp,
    slot: Slot,
    wake: js_sys::Function,
}

struct State {
    writer: ChainWriter,
    queue: Vec<Waiting>,
    flushing: bool,
}

/// The durable chain of this page load.
#[derive(Clone)]
pub struct Journal {
    state: Rc<RefCell<State>>,
    store: EventStore,
    on_stored: OnStored,
}

impl Journal {
    /// A journal writing `writer`'s chain into `store`.
    pub fn new(store: EventStore, writer: ChainWriter, on_stored: OnStored) -> Self {
        Self {
            state: Rc::new(RefCell::new(State {
                writer,
                queue: Vec::new(),
                flushing: false,
            })),
            store,
            on_stored,
        }
    }

    /// The chain id.
    pub fn chain(&self) -> String {
        self.state.borrow().writer.chain().to_string()
    }

    /// Starts writing `writer`'s new chain (another owner: see
    /// [`crate::page::owner_changes`]). Drafts queued for the old chain and
    /// not yet stored fail rather than land in the new one.
    pub fn rotate(&self, writer: ChainWriter) {
        self.state.borrow_mut().writer = writer;
    }

    /// `(seq, hash)` of the last durable event, if any.
    pub fn head(&self) -> Option<(u64, String)> {
        let st = self.state.borrow();
        let next = st.writer.next_seq();
        next.checked_sub(1)
            .map(|seq| (seq, st.writer.head().to_hex()))
    }

    /// Appends `drafts` (at time `now`) and resolves with their events once
    /// they are committed to IndexedDB; on failure none of them is.
    pub async fn append(
        &self,
        drafts: Vec<EventDraft>,
        now: Timestamp,
    ) -> Result<Vec<Event>, WebError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let slot: Slot = Rc::new(RefCell::new(None));
        let Some((promise, wake)) = timer::deferred() else {
            return Err(WebError::Storage("could not wait for storage".into()));
        };
        let start = {
            let mut st = self.state.borrow_mut();
            let chain = st.writer.chain().to_string();
            st.queue.push(Waiting {
                chain,
                drafts,
                now,
                slot: slot.clone(),
                wake,
            });
            !std::mem::replace(&mut st.flushing, true)
        };
        if start {
            wasm_bindgen_futures::spawn_local(self.clone().flush());
        }
        let _ = JsFuture::from(promise).await;
        let result = slot.borrow_mut().take();
        result.unwrap_or_else(|| Err(WebError::Storage("storage gave no answer".into())))
    }

    /// Writes queued drafts, one transaction per round, until the queue is empty.
    async fn flush(self) {
        loop {
            let (mut batch, mut writer) = {
                let mut st = self.state.borrow_mut();
                if st.queue.is_empty() {
                    st.flushing = false;
                    return;
                }
                (std::mem::take(&mut st.queue), st.writer.clone())
            };
            let chain = writer.chain().to_string();
            let mut rows = Vec::new();
            let mut results: Vec<Result<Vec<Event>, WebError>> = Vec::with_capacity(batch.len());
            for w in &mut batch {
                if w.chain != chain {
                    results.push(Err(WebError::Core(format!(
                        "the session changed to another owner while events of chain `{}` were being stored; nothing of them was",
                        w.chain
                    ))));
                    continue;
                }
                // Each caller's drafts go in whole or not at all.
                let mut trial = writer.clone();
                let mut trial_rows = Vec::with_capacity(w.drafts.len());
                // Taken, not cloned: a caller whose drafts fail gets an
                // error, never its drafts back.
                let appended: Result<Vec<Event>, WebError> = std::mem::take(&mut w.drafts)
                    .into_iter()
                    .map(|d| {
                        let (e, line) = trial
                            .append_line(d, w.now)
                            .map_err(|e| WebError::Core(e.to_string()))?;
                        trial_rows.push(StoredEvent { seq: e.seq, line });
                        Ok(e)
                    })
                    .collect();
                if appended.is_ok() {
                    writer = trial;
                    rows.append(&mut trial_rows);
                }
                results.push(appended);
            }
            let committed = if rows.is_empty() {
                Ok(())
            } else {
                self.store.append(&chain, &rows).await
            };
            match committed {
                Ok(()) => {
                    let mut st = self.state.borrow_mut();
                    // Unless the chain was rotated meanwhile.
                    if st.writer.chain() == writer.chain() {
                        st.writer = writer;
                    }
                    drop(st);
                    let stored: Vec<Event> = results
                        .iter()
                        .filter_map(|r| r.as_ref().ok())
                        .flatten()
                        .cloned()
                        .collect();
                    if !stored.is_empty() {
                        (self.on_stored)(&stored);
                    }
                }
                Err(e) => {
                    for r in &mut results {
                        if r.is_ok() {
                            *r = Err(e.clone());
                        }
                    }
                }
            }
            for (w, r) in batch.into_iter().zip(results) {
                *w.slot.borrow_mut() = Some(r);
                let _ = w.wake.call0(&JsValue::UNDEFINED);
            }
        }
    }
}
