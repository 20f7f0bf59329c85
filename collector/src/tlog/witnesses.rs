//! Sending checkpoints to witnesses (C2SP `tlog-witness` `add-checkpoint`)
//! and publishing the cosigned checkpoint.
//!
//! Once a second, if the log signed a new checkpoint, each witness gets it
//! with a consistency proof from the size it last cosigned; the
//! cosignatures that verify against the witness's key are added to the
//! checkpoint `GET checkpoint` serves. A witness that refuses or is down is
//! logged and left out: readers that require it then refuse the checkpoint.

use std::sync::Arc;
use std::time::Duration;

use sealtrail::tlog::ed25519;
use sealtrail::tlog::witness::AddCheckpoint;
use sealtrail::tlog::{KeyType, Note, NoteSignature, VerifierKey};

use super::Log;

/// A witness the collector submits to: `URL=KEY`.
#[derive(Debug, Clone)]
pub struct WitnessTarget {
    /// The submission prefix (`add-checkpoint` is appended).
    pub url: String,
    /// Its cosignature key (type `0x04`).
    pub key: VerifierKey,
}

impl WitnessTarget {
    /// Parses `URL=KEY` (`--witness`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (url, key) = s
            .split_once('=')
            .ok_or_else(|| format!("expected `URL=KEY`, found `{s}`"))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("expected an http(s) URL before `=`, found `{url}`"));
        }
        let key = VerifierKey::parse(key).map_err(|e| e.to_string())?;
        if key.kind() != KeyType::Cosignature {
            return Err(format!(
                "witness key `{}` is not a cosignature key (type 0x04)",
                key.name()
            ));
        }
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            key,
        })
    }
}

/// Starts the witnessing loop.
pub fn spawn(log: Arc<Log>, targets: Vec<WitnessTarget>) {
    if targets.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let mut sizes = vec![0u64; targets.len()];
        let mut done = String::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let (size, latest) = log.latest();
            if latest == done {
                continue;
            }
            let Ok(mut note) = Note::parse(&latest) else {
                continue;
            };
            for (target, seen) in targets.iter().zip(sizes.iter_mut()) {
                match submit(&http, &log, target, seen, size, &latest, &note).await {
                    Ok(sig) => note.add(sig),
                    Err(e) => tracing::warn!(witness = %target.url, error = %e, "no cosignature"),
                }
            }
            log.publish(note.to_string());
            done = latest;
        }
    });
}

/// One `add-checkpoint`, retried once on `409` with the size the witness has.
async fn submit(
    http: &reqwest::Client,
    log: &Log,
    target: &WitnessTarget,
    seen: &mut u64,
    size: u64,
    signed: &str,
    note: &Note,
) -> Result<NoteSignature, String> {
    for _ in 0..2 {
        let proof = log.consistency(*seen, size).map_err(|e| e.to_string())?;
        let body = AddCheckpoint {
            old: *seen,
            proof,
            checkpoint: signed.to_owned(),
        };
        let resp = http
            .post(format!("{}/add-checkpoint", target.url))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        match status {
            200 => {
                let cosigned = Note::parse(&format!("{}\n{text}", note.text()))
                    .map_err(|e| format!("its answer: {e}"))?;
                let checks = target.key.checks(&cosigned).map_err(|e| e.to_string())?;
                if checks.is_empty() || !checks.iter().all(ed25519::verify) {
                    return Err("its answer holds no valid cosignature by its key".into());
                }
                *seen = size;
                return cosigned
                    .signatures()
                    .iter()
                    .find(|s| s.name == target.key.name() && s.key_id == target.key.id())
                    .cloned()
                    .ok_or_else(|| "its answer holds no cosignature by its key".into());
            }
            409 => {
                *seen = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("409 without a size: `{text}`"))?;
                if *seen > size {
                    return Err(format!(
                        "it has cosigned size {seen}, above the log's {size}: this log was rolled back"
                    ));
                }
            }
            other => return Err(format!("status {other}: {}", text.trim())),
        }
    }
    Err("the witness keeps answering 409".into())
}
