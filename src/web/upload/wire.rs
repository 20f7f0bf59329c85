//! The wire of the upload: `fetch` with a timeout and without following
//! redirects, and request bodies built from stored lines. The collector's
//! answers are the core's [`crate::wire`] types.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::super::error::{describe, WebError};
use super::super::store::StoredEvent;
use super::super::timer::sleep;
use crate::guarantees::Guarantees;
use crate::Digest;

/// POSTs JSON `body`, with `bearer` as `Authorization: Bearer` when given;
/// the status and the answer's text, or why there was none.
pub async fn post(
    url: &str,
    body: &str,
    bearer: Option<&str>,
    timeout_ms: u32,
) -> Result<(u16, String), String> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    let headers = web_sys::Headers::new().map_err(|e| describe(&e))?;
    headers
        .set("content-type", "application/json")
        .map_err(|e| describe(&e))?;
    if let Some(token) = bearer {
        headers
            .set("authorization", &format!("Bearer {token}"))
            .map_err(|e| describe(&e))?;
    }
    init.set_headers_headers(&headers);
    send(url, init, timeout_ms).await
}

/// GETs `url`; the status and the answer's text, or why there was none.
pub async fn get(url: &str, timeout_ms: u32) -> Result<(u16, String), String> {
    send(url, web_sys::RequestInit::new(), timeout_ms).await
}

/// Fetches `url` with `init`, aborted after `timeout_ms`.
async fn send(
    url: &str,
    init: web_sys::RequestInit,
    timeout_ms: u32,
) -> Result<(u16, String), String> {
    let window = web_sys::window().ok_or_else(|| WebError::NoWindow.to_string())?;
    let controller = web_sys::AbortController::new().map_err(|e| describe(&e))?;
    // A redirect (a sign-in page, a captive portal) is a failure, never followed.
    init.set_redirect(web_sys::RequestRedirect::Error);
    init.set_signal(Some(&controller.signal()));
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

/// `{"events":[...],"guarantees":{...}}` from stored canonical lines, within
/// `max_bytes` (the first event always goes), with what this browser
/// promises about keeping events until upload; also the last `seq` it holds.
pub fn batch_body(events: &[StoredEvent], max_bytes: usize, said: Guarantees) -> (String, u64) {
    let tail = format!(
        "],\"guarantees\":{{\"durability\":\"{}\",\"storage\":\"{}\"}}}}",
        said.durability.as_str(),
        said.storage.as_str()
    );
    let mut body = String::from("{\"events\":[");
    let mut last = 0;
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            if body.len() + 1 + e.line.len() + tail.len() > max_bytes {
                break;
            }
            body.push(',');
        }
        body.push_str(&e.line);
        last = e.seq;
    }
    body.push_str(&tail);
    (body, last)
}

/// The `hash` member of a stored canonical line.
pub fn hash_of(e: &StoredEvent) -> Option<Digest> {
    let line: serde_json::Value = serde_json::from_slice(e.line.as_bytes()).ok()?;
    Digest::parse(line.get("hash")?.as_str()?).ok()
}

/// `{"credential":T,"hash":H,"seq":N}`: the credential in the body, as
/// `sendBeacon` sends no headers.
pub fn head_body(seq: u64, hash: &str, credential: &str) -> String {
    serde_json::json!({"credential": credential, "hash": hash, "seq": seq}).to_string()
}
