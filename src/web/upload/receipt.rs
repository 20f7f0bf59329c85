//! The browser's half of [`crate::tlog::receipt`]: before the uploader
//! deletes acknowledged events, the acknowledgement's checkpoint must be
//! signed by the collector key pinned in `start` options (and the witness
//! quorum), hold the acknowledged event, and be consistent with the
//! checkpoint kept in IndexedDB from before. Signatures are checked with
//! WebCrypto Ed25519 (Chromium, Firefox and WebKit have it), which keeps an
//! Ed25519 implementation out of the `.wasm`.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::super::error::describe;
use super::super::store::EventStore;
use super::wire;
use crate::tlog::checkpoint::decode_hashes;
use crate::tlog::note::SignatureCheck;
use crate::tlog::receipt::{self, ReceiptError};
use crate::tlog::{Leaf, Trust};

/// Why an acknowledgement's proof was not accepted.
pub enum Unproven {
    /// Nothing says the collector lied (network, storage): try again later.
    Retry(String),
    /// The proof fails: evidence, a critical alert, and nothing deleted.
    Lie(ReceiptError),
}

/// Checks `proof` shows `leaf` in a
/// checkpoint `trust` accepts and consistent with the one kept; answers the
/// newer checkpoint to keep, if it is newer, which the caller stores in the
/// transaction that deletes the acknowledged events (one durable write, and
/// the checkpoint kept exactly when they go). A checkpoint that contradicts
/// the kept one is kept as evidence at once.
pub async fn prove(
    trust: &Trust,
    store: &EventStore,
    endpoint: &str,
    timeout_ms: u32,
    leaf: &Leaf,
    proof: &str,
) -> Result<Option<String>, Unproven> {
    let needs = receipt::needs(trust, proof).map_err(Unproven::Lie)?;
    let mut held = Vec::new();
    for c in &needs.checks {
        if verify(c).await.map_err(Unproven::Retry)? {
            held.push(c.clone());
        }
    }
    let retry = |e: super::super::WebError| Unproven::Retry(e.to_string());
    let signed = store.kept_checkpoint().await.map_err(retry)?;
    let kept = signed.as_deref().map(receipt::kept).transpose();
    // A kept checkpoint that no longer reads is treated as none: it was
    // verified when kept, and IndexedDB is the page's own.
    let kept = kept.ok().flatten();
    let consistency = match &kept {
        Some(k) if k.size != needs.size => {
            let (old, new) = (k.size.min(needs.size), k.size.max(needs.size));
            let url = format!("{endpoint}/tlog/consistency?old={old}&new={new}");
            match wire::get(&url, timeout_ms).await.map_err(Unproven::Retry)? {
                (200, text) => decode_hashes(&text).map_err(|line| {
                    Unproven::Retry(format!(
                        "the collector's consistency proof from {old} to {new} does not read (line {line}); retrying"
                    ))
                })?,
                (status, _) => {
                    return Err(Unproven::Retry(format!(
                        "the collector answered {status} for its consistency proof from {old} to {new}; retrying"
                    )))
                }
            }
        }
        _ => Vec::new(),
    };
    match receipt::check(trust, proof, leaf, kept.as_ref(), &consistency, |c| {
        held.contains(c)
    }) {
        Ok(newer) => Ok(kept
            .as_ref()
            .is_none_or(|k| newer.size > k.size)
            .then_some(needs.signed)),
        Err(e) => {
            if matches!(e, ReceiptError::Consistency(_)) {
                store.keep_evidence(&needs.signed).await.map_err(retry)?;
            }
            Err(Unproven::Lie(e))
        }
    }
}

/// One Ed25519 signature, by WebCrypto. `Err` when the browser cannot check
/// it at all (no Ed25519): nothing is deleted then either.
async fn verify(c: &SignatureCheck) -> Result<bool, String> {
    let no = |e: wasm_bindgen::JsValue| {
        format!(
            "this browser cannot check the collector's Ed25519 signatures ({}); events are kept",
            describe(&e)
        )
    };
    let subtle = web_sys::window()
        .ok_or_else(|| "no window".to_owned())?
        .crypto()
        .map_err(no)?
        .subtle();
    let raw = js_sys::Uint8Array::from(&c.public[..]);
    let usages = js_sys::Array::of1(&"verify".into());
    let key = JsFuture::from(
        subtle
            .import_key_with_str("raw", &raw, "Ed25519", false, &usages)
            .map_err(no)?,
    )
    .await
    .map_err(no)?
    .dyn_into::<web_sys::CryptoKey>()
    .map_err(no)?;
    let ok = JsFuture::from(
        subtle
            .verify_with_str_and_u8_array_and_u8_array("Ed25519", &key, &c.signature, &c.message)
            .map_err(no)?,
    )
    .await
    .map_err(no)?;
    Ok(ok.as_bool() == Some(true))
}
