//! Head anchors (`POST /chains/{chain}/head`): the browser's word for where
//! its chain stood, kept so a later batch that skips or rewrites it is caught.
//! Only the chain's owner anchors it: the body carries the credential
//! (`sendBeacon` cannot send headers). An anchor that contradicts a stored
//! event or another anchor is refused and not kept; a finding records it.

use serde::Deserialize;
use serde_json::json;

use sealtrail::event::ChainId;
use sealtrail::Digest;

use super::attribution;
use super::decide::raw;
use super::{fault_finding, IngestError};
use crate::credentials::Verifier;
use crate::store::credentials::{self, Seen};
use crate::store::findings::{NewFinding, CRITICAL};
use crate::store::{anchors, chains, events, signed, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    seq: u64,
    hash: String,
    #[serde(default)]
    credential: Option<String>,
}

/// The answer to a head anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorReply {
    /// `200`: recorded; `seq` is the highest anchored seq now.
    Anchored {
        /// The chain.
        chain: ChainId,
        /// The highest anchored seq.
        seq: u64,
    },
    /// `409 tamper`: the anchor disagrees with a stored event or another anchor.
    Tamper {
        /// Where.
        seq: u64,
    },
    /// `403`: the credential is not the chain owner's.
    Forbidden {
        /// Why.
        message: String,
    },
}

/// Handles `POST /chains/{chain}/head`: checks the anchor's credential
/// (with `verifier`; none: `--insecure-open-ingest`) and the anchor against
/// what is stored, then records it and keeps the highest. Returns the
/// stored highest anchor.
pub async fn head(
    store: &Store,
    chain: &ChainId,
    body: &[u8],
    verifier: Option<&Verifier>,
) -> Result<AnchorReply, IngestError> {
    let anchor: Body = serde_json::from_slice(body).map_err(|e| {
        IngestError::BadRequest(format!(
            "the body is not a head anchor `{{\"seq\": N, \"hash\": H, \"credential\": C}}`: {e}"
        ))
    })?;
    let now_ms = crate::clock::now_ms();
    let claims = match verifier {
        Some(v) => Some(
            v.verify(
                anchor.credential.as_deref().unwrap_or_default(),
                chain,
                now_ms,
            )
            .map_err(|e| IngestError::Unauthorized(e.to_string()))?,
        ),
        None => None,
    };
    let hash = Digest::parse(&anchor.hash)
        .map_err(|e| IngestError::BadRequest(format!("`/hash`: {e}")))?;
    let seq = anchor.seq;
    signed(seq).map_err(|_| IngestError::BadRequest(format!("seq {seq} is too large")))?;
    let hex = hash.to_hex();
    let mut tx = store.begin_write().await?;
    let row = chains::lock(store, &mut tx, chain, now_ms).await?;
    if let Some(claims) = &claims {
        let seen = credentials::seen(&mut tx, chain).await?;
        if let Err(fault) = attribution::owner(claims, &seen) {
            tx.rollback().await?;
            fault_finding(chain, claims, &fault)
                .record(store, now_ms)
                .await?;
            return Ok(AnchorReply::Forbidden {
                message: fault.message,
            });
        }
        let this = Seen::of(claims);
        if !seen.contains(&this) {
            credentials::insert(&mut tx, chain, &this, now_ms).await?;
        }
    }
    // Another anchor at the same seq, or a stored event there, that disagrees.
    let others = anchors::range(tx.conn(), chain, seq, seq).await?;
    let stored = events::range(tx.conn(), chain, seq, seq).await?;

    let anchor_json = json!({ "seq": seq, "hash": hex });
    let contradiction = if let Some(s) = stored.iter().find(|s| s.hash != hex) {
        Some((
            format!(
                "the head anchored at seq {seq} is `{hash}` but the stored event there has hash `{}`",
                s.hash
            ),
            json!({ "stored": raw(&s.line), "anchor": anchor_json }),
        ))
    } else {
        others.iter().find(|a| a.hash != hex).map(|other| {
            (
                format!("two different heads were anchored at seq {seq}"),
                json!({ "anchor": anchor_json, "otherAnchor": { "seq": seq, "hash": other.hash } }),
            )
        })
    };
    if let Some((message, evidence)) = contradiction {
        // Refused and not kept: only the attempt is recorded.
        tx.rollback().await?;
        NewFinding {
            kind: "tamper",
            severity: CRITICAL.into(),
            rule: "anchor".into(),
            chain: Some(chain.to_string()),
            seq: Some(seq),
            actor_id: None,
            record_id: None,
            message,
            evidence,
            once_per: None,
        }
        .record(store, now_ms)
        .await?;
        return Ok(AnchorReply::Tamper { seq });
    }
    // The highest anchor is read from `anchors` (`chains` is insert-only).
    anchors::insert(&mut tx, chain, seq, &hash, now_ms).await?;
    tx.commit().await?;
    Ok(AnchorReply::Anchored {
        chain: chain.clone(),
        seq: seq.max(row.anchor_seq.unwrap_or(0)),
    })
}
