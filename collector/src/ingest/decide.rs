//! The ingest decision, a pure function: given what the store holds for a
//! chain (its head and the stored events a batch overlaps), the anchors in
//! the batch's range and the batch itself, decide whether the batch is a
//! gap, an idempotent retry, an append, or a fork or tamper to refuse. No
//! database, no clock: unit-tested and fuzzed on plain data.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use sealtrail::event::ChainId;
use sealtrail::verify::{Failure, Inspected, Options, Verifier};
use sealtrail::{Digest, Timestamp};

use crate::store::anchors::Anchor;
use crate::store::chains::Head;
use crate::store::events::Stored as StoredEvent;

/// One uploaded event after inspection: the core's view and its canonical
/// line (the evidence stored, compared byte for byte with a stored event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The core's inspection (members, recomputed hash).
    pub ins: Inspected,
    /// The canonical line.
    pub line: String,
}

/// What the store holds for the chain, read under its lock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The last stored `seq` (none before the first batch).
    pub last_seq: Option<u64>,
    /// The head at `last_seq` (none when `last_seq` is none, or the row is damaged).
    pub head: Option<Head>,
    /// The stored events in [`Reads::stored`], by `seq`.
    pub events: BTreeMap<u64, StoredEvent>,
}

/// What [`decide`] needs read from the store for a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    /// Stored events to read (`from..=to`): the batch's stored predecessor
    /// and the events it overlaps; none for a batch continuing the head.
    pub stored: Option<(u64, u64)>,
    /// Anchors to read: the batch's `seq` range.
    pub anchors: (u64, u64),
}

/// A fork or tamper: refused, recorded as a critical finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// A fork (a stored event differs) or tamper (the chain or an anchor is broken).
    pub fork: bool,
    /// Index in the batch of the offending event.
    pub index: usize,
    /// Its `seq`.
    pub seq: u64,
    /// The rule broken (`fork`, `anchor`, or the core's rule).
    pub rule: String,
    /// What a reviewer reads first.
    pub message: String,
    /// Both versions of what disagreed.
    pub evidence: Value,
}

/// What a batch amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The batch starts past the next expected `seq`.
    Gap {
        /// The next `seq` the collector expects.
        expected_seq: u64,
    },
    /// Every event is already stored, identical: acknowledge the batch's
    /// last event (an acknowledgement never names a `seq` outside the batch).
    Known {
        /// The batch's last `seq`.
        acked_seq: u64,
        /// Its hash.
        head: Digest,
    },
    /// Events from `from` (an index into the batch) on are new and verified.
    Append {
        /// Index of the first new event.
        from: usize,
        /// The chain's new head.
        head: Head,
    },
    /// Refused.
    Refuse(Box<Refusal>),
}

/// Why no decision could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// An empty batch (callers refuse those first).
    #[error("the batch holds no events")]
    Empty,
    /// An event names another chain than the one posted to (callers refuse
    /// those first, as a bad request: they say nothing about this chain).
    #[error("event {index} of the batch names another chain")]
    Foreign {
        /// Its index in the batch.
        index: usize,
    },
    /// The store disagrees with itself, e.g. a stored `seq` without its head.
    #[error("{0}")]
    Inconsistent(String),
}

/// What to read from the store for `batch`, given the chain's last stored `seq`.
pub fn reads(last_seq: Option<u64>, batch: &[Uploaded]) -> Result<Reads, DecideError> {
    let (first, end) = span(batch)?;
    // Read only when the batch overlaps what is stored (a retry); a batch that
    // continues the chain links to the head kept in the chain's row.
    let stored = match last_seq {
        Some(last) if first <= last => Some((first.saturating_sub(1), end.min(last))),
        _ => None,
    };
    Ok(Reads {
        stored,
        anchors: (first, end),
    })
}

/// The batch's first `seq` and the last `seq` it reaches (by count or as written).
fn span(batch: &[Uploaded]) -> Result<(u64, u64), DecideError> {
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return Err(DecideError::Empty);
    };
    let count = u64::try_from(batch.len()).unwrap_or(u64::MAX);
    let end = first.ins.seq.saturating_add(count - 1).max(last.ins.seq);
    Ok((first.ins.seq, end))
}

/// Decides what `batch`, posted to `chain`, amounts to against `stored` and
/// the anchors in its range.
pub fn decide(
    chain: &ChainId,
    stored: &Stored,
    anchors: &[Anchor],
    batch: &[Uploaded],
) -> Result<Decision, DecideError> {
    let next_expected = stored.last_seq.map_or(0, |s| s.saturating_add(1));
    let (first_seq, _) = span(batch)?;
    if first_seq > next_expected {
        return Ok(Decision::Gap {
            expected_seq: next_expected,
        });
    }
    let mut verifier = resume_before(chain, stored, first_seq)?;
    let mut from = None;
    for (index, p) in batch.iter().enumerate() {
        let seq = p.ins.seq;
        let refuse = |fork: bool, rule: &str, message: String, evidence: Value| {
            Ok(Decision::Refuse(Box::new(Refusal {
                fork,
                index,
                seq,
                rule: rule.to_owned(),
                message,
                evidence,
            })))
        };
        if p.ins.chain != chain.as_str() {
            return Err(DecideError::Foreign { index });
        }
        if seq < next_expected {
            if let Some(s) = stored.events.get(&seq) {
                if s.line != p.line {
                    return refuse(
                        true,
                        "fork",
                        format!("event seq {seq} differs from the stored event at that seq"),
                        json!({ "stored": raw(&s.line), "uploaded": raw(&p.line) }),
                    );
                }
            }
        }
        if let Err(failure) = verifier.link(&p.ins) {
            let predecessor = seq
                .checked_sub(1)
                .and_then(|s| stored.events.get(&s))
                .map(|s| raw(&s.line));
            return refuse(
                false,
                failure.rule.as_str(),
                describe(&failure),
                json!({ "uploaded": raw(&p.line), "storedPredecessor": predecessor }),
            );
        }
        let computed = p.ins.computed.to_hex();
        if let Some(a) = anchors.iter().find(|a| a.seq == seq && a.hash != computed) {
            return refuse(
                false,
                "anchor",
                format!(
                    "event seq {seq} has hash `{computed}` but the anchored head at that seq is `{}`",
                    a.hash
                ),
                json!({ "uploaded": raw(&p.line), "anchor": { "seq": seq, "hash": a.hash } }),
            );
        }
        if seq >= next_expected && from.is_none() {
            from = Some(index);
        }
    }
    let summary = verifier.summary();
    let (Some(last_seq), Some(hash), Some(ts)) = (summary.last_seq, summary.head, summary.last_ts)
    else {
        return Err(DecideError::Empty);
    };
    Ok(match from {
        // An idempotent retry of stored events: acknowledge them.
        None => Decision::Known {
            acked_seq: last_seq,
            head: hash,
        },
        Some(from) => Decision::Append {
            from,
            head: Head {
                seq: last_seq,
                hash,
                ts,
            },
        },
    })
}

/// A verifier positioned after the event at `first_seq - 1`: the stored head,
/// or a stored event the batch overlaps from.
fn resume_before(
    chain: &ChainId,
    stored: &Stored,
    first_seq: u64,
) -> Result<Verifier, DecideError> {
    let options = Options::default();
    let Some(prev) = first_seq.checked_sub(1) else {
        return Ok(Verifier::new(options));
    };
    if Some(prev) == stored.last_seq {
        let head = stored.head.as_ref().ok_or_else(|| {
            DecideError::Inconsistent(format!("seq {prev} is stored but not its head or time"))
        })?;
        return Ok(Verifier::resume(
            options,
            chain.clone(),
            prev,
            head.hash,
            head.ts,
        ));
    }
    let s = stored
        .events
        .get(&prev)
        .ok_or_else(|| DecideError::Inconsistent(format!("event seq {prev} is missing")))?;
    let hash = Digest::parse(&s.hash).map_err(|e| DecideError::Inconsistent(e.to_string()))?;
    let ts =
        Timestamp::from_millis(s.ts_ms).map_err(|e| DecideError::Inconsistent(e.to_string()))?;
    Ok(Verifier::resume(options, chain.clone(), prev, hash, ts))
}

/// A stored line back as JSON, for evidence (never fails: lines are canonical JSON).
pub(crate) fn raw(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|_| Value::String(line.to_owned()))
}

fn describe(f: &Failure) -> String {
    let seq = f.seq.map_or("unknown".to_string(), |s| s.to_string());
    format!("event seq {seq} breaks the `{}` rule: {}", f.rule, f.detail)
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
