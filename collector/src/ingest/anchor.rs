//! Head anchors (`POST /chains/{chain}/head`): the browser's word for where
//! its chain stood, kept so a later batch that skips or rewrites it is caught.

use serde::Deserialize;
use serde_json::json;

use sealtrail::event::ChainId;
use sealtrail::Digest;

use super::decide::raw;
use super::IngestError;
use crate::store::findings::{NewFinding, CRITICAL};
use crate::store::{anchors, chains, events, signed, Store};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    seq: u64,
    hash: String,
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
}

/// Handles `POST /chains/{chain}/head`: records the anchor, keeps the highest,
/// and checks it against what is stored. Returns the stored highest anchor.
pub async fn head(store: &Store, chain: &ChainId, body: &[u8]) -> Result<AnchorReply, IngestError> {
    let anchor: Body = serde_json::from_slice(body).map_err(|e| {
        IngestError::BadRequest(format!(
            "the body is not a head anchor `{{\"seq\": N, \"hash\": H}}`: {e}"
        ))
    })?;
    let hash = Digest::parse(&anchor.hash)
        .map_err(|e| IngestError::BadRequest(format!("`/hash`: {e}")))?;
    let seq = anchor.seq;
    signed(seq).map_err(|_| IngestError::BadRequest(format!("seq {seq} is too large")))?;
    let hex = hash.to_hex();
    let now_ms = crate::clock::now_ms();
    let mut tx = store.begin_write().await?;
    let row = chains::lock(store, &mut tx, chain, now_ms).await?;
    anchors::insert(&mut tx, chain, seq, &hash, now_ms).await?;
    if row.anchor_seq.is_none_or(|s| seq > s) {
        chains::raise_anchor(&mut tx, chain, seq, &hash, now_ms).await?;
    }
    // Another anchor at the same seq, or a stored event there, that disagrees.
    let others = anchors::range(tx.conn(), chain, seq, seq).await?;
    let stored = events::range(tx.conn(), chain, seq, seq).await?;
    tx.commit().await?;

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
        }
        .record(store, now_ms)
        .await?;
        return Ok(AnchorReply::Tamper { seq });
    }
    Ok(AnchorReply::Anchored {
        chain: chain.clone(),
        seq: seq.max(row.anchor_seq.unwrap_or(0)),
    })
}
