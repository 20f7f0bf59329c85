//! The wire of the upload: `fetch` with a timeout, request bodies built from
//! stored lines, and the collector's answers parsed strictly (the reply
//! shapes of `collector/README.md`). An answer that does not parse is an
//! error to retry, never an acknowledgement.

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::super::error::{describe, WebError};
use super::super::store::StoredEvent;
use super::super::timer::sleep;

/// `200` to an upload: everything up to `ackedSeq` of `chain` is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// The chain the collector stored.
    pub chain: String,
    /// The last `seq` stored.
    pub acked_seq: u64,
}

impl Acked {
    /// `{"chain": C, "ackedSeq": N, ...}`; anything else is refused.
    pub fn parse(text: &str) -> Result<Self, String> {
        let v = answer(text)?;
        match (
            member(&v, "chain").as_str(),
            member(&v, "ackedSeq").as_u64(),
        ) {
            (Some(chain), Some(acked_seq)) => Ok(Self {
                chain: chain.to_owned(),
                acked_seq,
            }),
            _ => Err(not_a("an acknowledgement", text)),
        }
    }
}

/// `409` to an upload or an anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The batch does not start where the collector's copy ends.
    Gap {
        /// Where to resend from.
        expected_seq: u64,
    },
    /// An event differs from the stored one at the same `seq`.
    Fork {
        /// Where.
        seq: Option<u64>,
    },
    /// The chain does not pass through an earlier anchor.
    Tamper {
        /// Where.
        seq: Option<u64>,
    },
}

impl Conflict {
    /// `{"error":"gap","expectedSeq":N}` or `{"error":"fork"|"tamper","seq":N|null}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let v = answer(text)?;
        let seq = match member(&v, "seq") {
            Value::Null => Ok(None),
            s => s
                .as_u64()
                .map(Some)
                .ok_or_else(|| not_a("a conflict", text)),
        };
        match member(&v, "error").as_str() {
            Some("gap") => member(&v, "expectedSeq")
                .as_u64()
                .map(|expected_seq| Self::Gap { expected_seq })
                .ok_or_else(|| not_a("a conflict", text)),
            Some("fork") => Ok(Self::Fork { seq: seq? }),
            Some("tamper") => Ok(Self::Tamper { seq: seq? }),
            _ => Err(not_a("a conflict", text)),
        }
    }

    /// The collector's name for it (`gap`, `fork`, `tamper`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Gap { .. } => "gap",
            Self::Fork { .. } => "fork",
            Self::Tamper { .. } => "tamper",
        }
    }

    /// The `seq` it names, for fork and tamper.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::Gap { .. } => None,
            Self::Fork { seq } | Self::Tamper { seq } => *seq,
        }
    }
}

// The answers are read from a `serde_json::Value` (already in the build)
// rather than with serde derives, which cost about 20 KB of wasm for these
// few shapes; each member is still required with its exact type.

fn answer(text: &str) -> Result<Value, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("the collector's answer is not JSON ({e}): `{text}`"))
}

fn member<'v>(v: &'v Value, name: &str) -> &'v Value {
    v.get(name).unwrap_or(&Value::Null)
}

fn not_a(what: &str, text: &str) -> String {
    format!("the collector's answer is not {what}: `{text}`")
}

/// POSTs JSON `body`; the status and the answer's text, or why there was none.
pub async fn post(url: &str, body: &str, timeout_ms: u32) -> Result<(u16, String), String> {
    let window = web_sys::window().ok_or_else(|| WebError::NoWindow.to_string())?;
    let controller = web_sys::AbortController::new().map_err(|e| describe(&e))?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    init.set_signal(Some(&controller.signal()));
    let headers = web_sys::Headers::new().map_err(|e| describe(&e))?;
    headers
        .set("content-type", "application/json")
        .map_err(|e| describe(&e))?;
    init.set_headers_headers(&headers);
    let timeout = timeout_ms;
    let abort = controller.clone();
    wasm_bindgen_futures::spawn_local(async move {
        sleep(timeout).await;
        abort.abort();
    });
    let sent = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await;
    let resp: web_sys::Response = match sent {
        Ok(r) => r
            .dyn_into()
            .map_err(|_| "fetch gave no response".to_owned())?,
        Err(e) if controller.signal().aborted() => {
            return Err(format!(
                "the collector at `{url}` did not answer within {timeout} ms; retrying ({})",
                describe(&e)
            ))
        }
        Err(e) => {
            return Err(format!(
                "could not reach the collector at `{url}`; retrying ({})",
                describe(&e)
            ))
        }
    };
    // A body that cannot be read is an empty answer: every status that
    // needs a body parses it strictly and refuses an empty one.
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((resp.status(), text))
}

/// `{"events":[...]}` from stored canonical lines, within `max_bytes` (the
/// first event always goes).
pub fn batch_body(events: &[StoredEvent], max_bytes: usize) -> String {
    let mut body = String::from("{\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            if body.len() + e.line.len() + 3 > max_bytes {
                break;
            }
            body.push(',');
        }
        body.push_str(&e.line);
    }
    body.push_str("]}");
    body
}

/// `{"seq":N,"hash":H}` (canonical member order).
pub fn head_body(seq: u64, hash: &str) -> String {
    serde_json::json!({"hash": hash, "seq": seq}).to_string()
}
