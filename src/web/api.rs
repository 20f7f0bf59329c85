//! `Sealtrail`, the one class JavaScript sees: start, seal, break-glass,
//! reveal, log host actions, status, flush. Each method converts its
//! arguments ([`super::interop`]), asks the core's [`crate::page`] session,
//! stores the events it drafts and only then answers ([`Inner::logged`]).

use std::rc::Rc;

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::entropy::CryptoEntropy;
use super::error::WebError;
use super::instance::{self, Inner};
use super::interop::{from_js, to_js, to_json_text, value_from_js};
use super::sliced;
use super::timer::{self, Slicer};
use crate::decision::BreakGlassGrant;
use crate::decision::{FieldAction, HostAction};
use crate::page::{named, HeadlessRequest};

/// Field-level sealing, break-glass and a durable audit chain for one page.
///
/// Create it with `Sealtrail.start(config)`. Every answer that shows content
/// is given only after the event recording it is stored in IndexedDB.
#[wasm_bindgen]
pub struct Sealtrail {
    inner: Rc<Inner>,
}

/// A call of the page's methods that answers with a promise: its
/// arguments as JavaScript gave them.
///
/// Every asynchronous method runs through [`Call::run`], one state machine
/// with one `future_to_promise` around it: a method with its own `async`
/// block compiled its own copy of the promise glue with everything its
/// future inlined (`seal` and `sealMany` about 22 KB each in the `.wasm`).
enum Call {
    /// `seal` (`many` false: one record, one answer) or `sealMany`.
    Seal {
        records: JsValue,
        action: JsValue,
        many: bool,
    },
    BreakGlass(String),
    BreakGlassHeadless(JsValue),
    Reveal {
        record_id: String,
        pointer: String,
        grant: JsValue,
    },
    Log {
        action: JsValue,
        record: Option<JsValue>,
    },
    Status,
    Flush,
}

impl Call {
    /// The call as a promise of its answer.
    fn promise(self, inner: &Rc<Inner>) -> js_sys::Promise {
        let inner = inner.clone();
        future_to_promise(async move { Ok(self.run(inner).await?) })
    }

    async fn run(self, inner: Rc<Inner>) -> Result<JsValue, WebError> {
        match self {
            Call::Seal {
                records,
                action,
                many,
            } => seal(&inner, &records, &action, many).await,
            Call::BreakGlass(record_id) => to_js(&inner.break_glass_dialog(&record_id).await?),
            Call::BreakGlassHeadless(request) => {
                let asked = HeadlessRequest::from_value(value_from_js(&request, "")?)?;
                let pending = inner.page.borrow().break_glass(
                    &asked.record_id,
                    &asked.request,
                    timer::now()?,
                    &mut CryptoEntropy,
                )?;
                to_js(&inner.logged(pending).await?)
            }
            Call::Reveal {
                record_id,
                pointer,
                grant,
            } => {
                let grant: BreakGlassGrant = from_js(&grant, "/grant")?;
                let pending =
                    inner
                        .page
                        .borrow()
                        .reveal(&record_id, &pointer, &grant, timer::now()?)?;
                to_js(&inner.logged(pending).await?)
            }
            Call::Log { action, record } => {
                let action: HostAction = from_js(&action, "/action")?;
                let record: Option<Value> = match record {
                    Some(r) if !r.is_null() && !r.is_undefined() => {
                        Some(value_from_js(&r, "/record")?)
                    }
                    _ => None,
                };
                let pending =
                    inner
                        .page
                        .borrow()
                        .host_action(&action, record.as_ref(), timer::now()?)?;
                to_js(&inner.logged(pending).await?)
            }
            Call::Status => to_js(&inner.status().await?),
            Call::Flush => {
                inner.settle().await;
                to_js(&inner.status().await?)
            }
        }
    }
}

/// `seal` and `sealMany`: the records read in slices, sealed in steps,
/// their events stored, the views written back in slices.
async fn seal(
    inner: &Rc<Inner>,
    records: &JsValue,
    action: &JsValue,
    many: bool,
) -> Result<JsValue, WebError> {
    let mut slicer = Slicer::new();
    let at = if many { "/records" } else { "/record" };
    let value = sliced::value_from_js(records, at, &mut slicer).await?;
    let records = match value {
        Value::Array(list) if many => named(list),
        other if many => {
            return Err(WebError::input(
                "/records",
                format!(
                    "expected an array of records, found {}",
                    crate::decision::kind_of(&other)
                ),
            ))
        }
        record => vec![("/record".to_owned(), record)],
    };
    let action: FieldAction = from_js(action, "/action")?;
    let pending = inner.seal_in_steps(records, action, &mut slicer).await?;
    let sealed = inner.logged(pending).await?;
    let mut js = sliced::sealed_into_js(sealed, &mut slicer).await?;
    if many {
        return Ok(js.into_iter().collect::<js_sys::Array>().into());
    }
    js.pop().ok_or(WebError::Core("nothing was sealed".into()))
}

#[wasm_bindgen]
impl Sealtrail {
    /// Parses the policy and session, opens the audit database, starts a new
    /// chain for this page load and resumes uploading every chain earlier
    /// loads left behind. Fails closed when IndexedDB is missing or blocked.
    #[wasm_bindgen(unchecked_return_type = "Promise<Sealtrail>")]
    pub fn start(
        #[wasm_bindgen(unchecked_param_type = "StartConfig")] config: JsValue,
    ) -> js_sys::Promise {
        future_to_promise(async move {
            let inner = instance::start(&config).await?;
            Ok(Sealtrail { inner }.into())
        })
    }

    /// This page load's chain id.
    #[wasm_bindgen(getter)]
    pub fn chain(&self) -> String {
        self.inner.chain()
    }

    /// Replaces the session: later decisions and events use it; the policy
    /// stays. Another user, login session or role starts a new chain
    /// (`chain` changes) with its own credential; the old chain uploads on
    /// with the credential stored for it.
    #[wasm_bindgen(js_name = setSession)]
    pub fn set_session(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Session")] session: JsValue,
    ) -> Result<(), JsValue> {
        let value = value_from_js(&session, "/session")?;
        Ok(self.inner.set_session(&value)?)
    }

    /// Seals `record` for `action` and resolves with the view once its
    /// `view` or `view-sealed` event is stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<SealedRecord>")]
    pub fn seal(
        &self,
        #[wasm_bindgen(unchecked_param_type = "JsonObject")] record: JsValue,
        #[wasm_bindgen(unchecked_param_type = "FieldAction")] action: JsValue,
    ) -> js_sys::Promise {
        Call::Seal {
            records: record,
            action,
            many: false,
        }
        .promise(&self.inner)
    }

    /// Seals every record of `records` (one event each, one transaction).
    #[wasm_bindgen(js_name = sealMany, unchecked_return_type = "Promise<SealedRecord[]>")]
    pub fn seal_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "JsonObject[]")] records: JsValue,
        #[wasm_bindgen(unchecked_param_type = "FieldAction")] action: JsValue,
    ) -> js_sys::Promise {
        Call::Seal {
            records,
            action,
            many: true,
        }
        .promise(&self.inner)
    }

    /// Opens the break-glass dialog for `recordId` (sealed earlier by this
    /// instance) and resolves with the grant, the refusal or the cancel, each
    /// logged first. A role that may not break the glass sees why; the
    /// attempt is logged.
    #[wasm_bindgen(js_name = breakGlass, unchecked_return_type = "Promise<BreakGlassResult>")]
    pub fn break_glass(
        &self,
        #[wasm_bindgen(js_name = "recordId")] record_id: String,
    ) -> js_sys::Promise {
        Call::BreakGlass(record_id).promise(&self.inner)
    }

    /// Break-glass for hosts with their own UI: the justification is given
    /// directly. Logged like the dialog's.
    #[wasm_bindgen(js_name = breakGlassHeadless, unchecked_return_type = "Promise<BreakGlassResult>")]
    pub fn break_glass_headless(
        &self,
        #[wasm_bindgen(unchecked_param_type = "BreakGlassRequest")] request: JsValue,
    ) -> js_sys::Promise {
        Call::BreakGlassHeadless(request).promise(&self.inner)
    }

    /// Reveals the sealed value at `pointer` of `recordId` under `grant`. The
    /// `unseal` event is stored in IndexedDB first; if it cannot be, the
    /// promise rejects and nothing is revealed. A refused unseal is logged too.
    #[wasm_bindgen(unchecked_return_type = "Promise<Opening>")]
    pub fn reveal(
        &self,
        #[wasm_bindgen(js_name = "recordId")] record_id: String,
        pointer: String,
        #[wasm_bindgen(unchecked_param_type = "BreakGlassGrant")] grant: JsValue,
    ) -> js_sys::Promise {
        Call::Reveal {
            record_id,
            pointer,
            grant,
        }
        .promise(&self.inner)
    }

    /// Decides and logs a host action (search, export, print, edit, delete,
    /// role change), on `record` when it concerns one. A `stepUp` decision
    /// means the host must authenticate the user again before retrying.
    #[wasm_bindgen(unchecked_return_type = "Promise<HostResult>")]
    pub fn log(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HostAction")] action: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "JsonObject")] record: Option<JsValue>,
    ) -> js_sys::Promise {
        Call::Log { action, record }.promise(&self.inner)
    }

    /// Pending events, acknowledged seqs per chain, last error, online.
    #[wasm_bindgen(unchecked_return_type = "Promise<SealtrailStatus>")]
    pub fn status(&self) -> js_sys::Promise {
        Call::Status.promise(&self.inner)
    }

    /// Uploads now and resolves with the status once the round is over.
    #[wasm_bindgen(unchecked_return_type = "Promise<SealtrailStatus>")]
    pub fn flush(&self) -> js_sys::Promise {
        Call::Flush.promise(&self.inner)
    }

    /// Stops uploading, removes the page listeners and closes the database.
    /// Stored events stay for the next page load.
    pub fn close(&self) {
        self.inner.close();
    }
}

/// `hash(event)` of the wire contract: lowercase hex SHA-256 of the RFC 8785
/// canonical JSON of `event` without its `hash` member. For hosts that check
/// events themselves (and the append benchmark).
#[wasm_bindgen(js_name = hashEvent)]
pub fn hash_event(
    #[wasm_bindgen(unchecked_param_type = "JsonObject")] event: JsValue,
) -> Result<String, JsValue> {
    // The hot path of hosts that check chains: the text is hashed as it is
    // read, without a tree.
    let text = to_json_text(&event, "")?;
    crate::chain::hash_event_text(text.as_bytes())
        .map(|d| d.to_hex())
        .map_err(|e| WebError::input("", e.to_string()).into())
}
