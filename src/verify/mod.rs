//! Chain verification: the rules of `docs/protocol.md`, and the
//! first event in file order that breaks one.
//!
//! Verification reads raw JSON, not [`crate::event::Event`]: it must accept a
//! chain from any correct implementation, including members this crate does
//! not know, and hash exactly what is there. The work is split in two so it
//! can run in parallel: [`inspect`] looks at one event alone (shape, hash) and
//! [`Verifier::link`] checks it against its predecessor (version, chain, seq,
//! prev, time), in order. [`verify_slice`] does exactly that over a whole
//! file on every core; lines already in canonical form (what every
//! conforming producer writes) take a fast path that hashes the line's own
//! bytes (see `fast.rs`), with answers identical to the general path.

mod fast;
mod members;

use members::NotAnObject;

use std::fmt;
use std::io::BufRead;

use serde::Serialize;
use serde_json::Value;

use crate::canon::strict;
use crate::canon::tape::{self, Tape};
use crate::event::ChainId;
use crate::event::VERSION;
use crate::{Digest, Timestamp};

/// The rule an event broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Rule {
    /// Not an event: not a JSON object, or a required member is missing or of
    /// the wrong type. (Not in the spec's list: see the README's notes.)
    Format,
    /// `v` is not 1.
    Version,
    /// `chain` differs from the first event's, or is not a chain id.
    Chain,
    /// `seq` is not the previous `seq` + 1 (0 first).
    Seq,
    /// `prev` is not the previous event's `hash` (or the genesis value).
    Prev,
    /// `hash` is not the hash of the event.
    Hash,
    /// `ts` is earlier than the previous event's by more than the allowed step.
    Backdated,
}

impl Rule {
    /// The spec's name for the rule.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Format => "format",
            Rule::Version => "version",
            Rule::Chain => "chain",
            Rule::Seq => "seq",
            Rule::Prev => "prev",
            Rule::Hash => "hash",
            Rule::Backdated => "backdated",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first broken rule: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {position} (seq {}) breaks the `{rule}` rule: {detail}", seq.map_or("unknown".to_string(), |s| s.to_string()))]
pub struct Failure {
    /// The event's `seq` as written in it, when it has one.
    pub seq: Option<u64>,
    /// The event's position in the input, from 0.
    pub position: u64,
    /// The rule broken.
    pub rule: Rule,
    /// What was expected and what was found.
    pub detail: String,
}

/// Verification options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// How far, in milliseconds, a `ts` may be earlier than its predecessor's
    /// before it is a back-dating finding (spec default 0).
    pub max_clock_step_ms: i64,
}

/// One event seen alone: its chain members and recomputed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// `v` as written.
    pub v: u64,
    /// `chain` as written.
    pub chain: String,
    /// `seq` as written.
    pub seq: u64,
    /// `ts` parsed.
    pub ts: Timestamp,
    /// `prev` as written.
    pub prev: String,
    /// `hash` as written.
    pub hash: String,
    /// The hash recomputed over the event's members.
    pub computed: Digest,
}

/// Looks at one event alone: that it is an object with the required members
/// of the right types, within the strict profile ([`crate::canon::strict`]:
/// integers within ±(2^53-1), no U+0000) with a `ts` of the one form, and
/// recomputes its hash. `position` is only for the report. A tree no longer
/// shows a member named twice in its text: read text with [`inspect_line`]
/// (or [`crate::canon::strict::parse`]), which refuses that too.
pub fn inspect(event: &Value, position: u64) -> Result<Inspected, Failure> {
    match event {
        Value::Object(map) => members::inspect(map, position),
        _ => members::inspect(&NotAnObject, position),
    }
}

/// [`inspect`] for one line of JSONL text: the fast path when the line is
/// canonical, else a strict parse (a member named twice is a `format`
/// failure). A line that is not JSON is a `format` failure without a `seq`.
pub fn inspect_line(line: &[u8], position: u64) -> Result<Inspected, Failure> {
    let not_json = |e: strict::FormatError| Failure {
        seq: None,
        position,
        rule: Rule::Format,
        detail: e.to_string(),
    };
    // One pass each over the line, for both paths: UTF-8, and whether it
    // holds a raw control character (a canonical line never does).
    let text = tape::utf8(line).map_err(not_json)?;
    let control = tape::has_control(line);
    if !control {
        if let Some(i) = fast::inspect_canonical(text) {
            return Ok(i);
        }
    }
    // The general path: read into a tape, hash its canonical form directly.
    let tape = Tape::parse_text(text, control).map_err(not_json)?;
    members::inspect(&tape, position)
}

/// Reads one event's text strictly ([`crate::canon::strict::parse`]): a
/// member named twice is a `format` failure (with the event's `seq` when
/// it was read first), text that is not JSON a `format` failure without one.
pub fn parse_line(line: &[u8], position: u64) -> Result<Value, Failure> {
    strict::parse_noting_seq(line).map_err(|(e, seq)| Failure {
        seq,
        position,
        rule: Rule::Format,
        detail: e.to_string(),
    })
}

/// How a [`Failure`]'s detail starts when the line is not JSON at all
/// ([`strict::FormatError::Syntax`]'s message).
const NOT_JSON: &str = "not JSON";

impl Failure {
    /// True when the line was not JSON at all (a truncated or garbled file)
    /// rather than an event that breaks a rule: tools report the first as
    /// bad input and the second as a broken chain.
    pub fn is_not_json(&self) -> bool {
        self.rule == Rule::Format && self.seq.is_none() && self.detail.starts_with(NOT_JSON)
    }
}

/// What a valid chain (or prefix) amounts to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Events verified.
    pub events: u64,
    /// The chain id, when there was at least one event.
    pub chain: Option<ChainId>,
    /// The last event's `seq`.
    pub last_seq: Option<u64>,
    /// The last event's `hash`: the chain's head.
    pub head: Option<Digest>,
    /// The last event's `ts`.
    pub last_ts: Option<Timestamp>,
}

/// Checks events in order against their predecessors.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    options: Options,
    state: Summary,
    position: u64,
}

impl Verifier {
    /// A verifier expecting `seq` 0 first.
    pub fn new(options: Options) -> Self {
        Self {
            options,
            state: Summary::default(),
            position: 0,
        }
    }

    /// A verifier that continues after `last`, an already verified event:
    /// how a collector checks that a batch continues what it stored.
    pub fn resume(
        options: Options,
        chain: ChainId,
        last_seq: u64,
        head: Digest,
        last_ts: Timestamp,
    ) -> Self {
        Self {
            options,
            state: Summary {
                events: 0,
                chain: Some(chain),
                last_seq: Some(last_seq),
                head: Some(head),
                last_ts: Some(last_ts),
            },
            position: 0,
        }
    }

    /// Inspects and links one event.
    pub fn push(&mut self, event: &Value) -> Result<Digest, Failure> {
        let inspected = inspect(event, self.position)?;
        self.link(&inspected)
    }

    /// Parses one line of a JSONL file and verifies it.
    pub fn push_line(&mut self, line: &[u8]) -> Result<Digest, Failure> {
        let inspected = inspect_line(line, self.position)?;
        self.link(&inspected)
    }

    /// Links the result of an [`inspect_line`] done elsewhere (another
    /// thread): an inspection failure is reported as is.
    pub fn link_result(
        &mut self,
        inspected: Result<Inspected, Failure>,
    ) -> Result<Digest, Failure> {
        self.link(&inspected?)
    }

    /// The position (from 0) the next event will have in the input.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Checks an inspected event against its predecessor and advances.
    /// Rules are checked in the spec's order: version, chain, seq, prev, hash, backdated.
    pub fn link(&mut self, e: &Inspected) -> Result<Digest, Failure> {
        let fail = |rule: Rule, detail: String| Failure {
            seq: Some(e.seq),
            position: self.position,
            rule,
            detail,
        };
        if e.v != VERSION {
            return Err(fail(
                Rule::Version,
                format!("expected `v` 1, found {}", e.v),
            ));
        }
        // The first event fixes the chain id; later ones are compared to it.
        let first_chain = match &self.state.chain {
            Some(c) if c.as_str() != e.chain => {
                return Err(fail(
                    Rule::Chain,
                    format!("expected chain `{c}`, found `{}`", e.chain),
                ))
            }
            Some(_) => None,
            None => {
                Some(ChainId::parse(&e.chain).map_err(|err| fail(Rule::Chain, err.to_string()))?)
            }
        };
        let expected_seq = match self.state.last_seq {
            Some(s) => s.saturating_add(1),
            None => 0,
        };
        if e.seq != expected_seq {
            return Err(fail(
                Rule::Seq,
                format!("expected seq {expected_seq}, found {}", e.seq),
            ));
        }
        let expected_prev = match (self.state.head, first_chain.as_ref(), &self.state.chain) {
            (Some(head), _, _) => head,
            (None, Some(c), _) | (None, None, Some(c)) => c.genesis(),
            // INVARIANT: without a chain id so far, `first_chain` is set above.
            (None, None, None) => return Err(fail(Rule::Chain, "no chain id".into())),
        };
        if !hex_is(&expected_prev, &e.prev) {
            return Err(fail(
                Rule::Prev,
                format!("expected prev `{expected_prev}`, found `{}`", e.prev),
            ));
        }
        if !hex_is(&e.computed, &e.hash) {
            return Err(fail(
                Rule::Hash,
                format!("expected hash `{}`, found `{}`", e.computed, e.hash),
            ));
        }
        if let Some(last) = self.state.last_ts {
            if e.ts < last.plus_millis(-self.options.max_clock_step_ms) {
                return Err(fail(
                    Rule::Backdated,
                    format!("`ts` {} is earlier than the previous event's {last}", e.ts),
                ));
            }
        }
        self.state.events += 1;
        if let Some(c) = first_chain {
            self.state.chain = Some(c);
        }
        self.state.last_seq = Some(e.seq);
        self.state.head = Some(e.computed);
        self.state.last_ts = Some(match self.state.last_ts {
            Some(last) if last > e.ts => last,
            _ => e.ts,
        });
        self.position += 1;
        Ok(e.computed)
    }

    /// The state so far.
    pub fn summary(&self) -> &Summary {
        &self.state
    }

    /// The final state.
    pub fn finish(self) -> Summary {
        self.state
    }
}

/// True when `text` is the lowercase hex form of `d` (without allocating).
fn hex_is(d: &Digest, text: &str) -> bool {
    let mut buf = [0u8; 64];
    hex::encode_to_slice(d.0, &mut buf).is_ok() && buf.as_slice() == text.as_bytes()
}

/// Why a JSONL input could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The input could not be read.
    #[error("cannot read the chain: {0}")]
    Io(#[from] std::io::Error),
    /// An event breaks a rule.
    #[error(transparent)]
    Broken(#[from] Failure),
}

/// Verifies a JSONL stream (one event per line; blank lines are ignored).
pub fn verify_jsonl(reader: impl BufRead, options: Options) -> Result<Summary, VerifyError> {
    let mut v = Verifier::new(options);
    for line in reader.split(b'\n') {
        let line = line?;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        v.push_line(trimmed)?;
    }
    Ok(v.finish())
}

/// Bytes per batch in [`verify_slice`] (batches end at a line end): large
/// enough to keep threads busy, small enough to report progress and stop
/// soon after a failure.
const BATCH_BYTES: usize = 1 << 19;

/// Verifies JSONL held in memory with the same answer as [`verify_jsonl`],
/// inspecting batches of lines on up to `threads` threads (0: as many as the
/// machine has; the caller's thread is one of them) while the caller's
/// thread links them in order. `progress` is told how many bytes are done
/// after each batch. Where threads cannot be started (wasm) everything runs
/// on the caller's thread. `v` is where the data starts: [`Verifier::new`]
/// for a whole chain, [`Verifier::resume`] for a range that follows a known
/// event (an evidence export that does not start at `seq` 0).
pub fn verify_slice(
    mut v: Verifier,
    data: &[u8],
    threads: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<Summary, Failure> {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        n => n,
    };
    // Batch boundaries: every BATCH_BYTES, moved on to just after a newline.
    let mut batches: Vec<(usize, usize)> = Vec::with_capacity(data.len() / BATCH_BYTES + 2);
    let mut at = 0;
    while at < data.len() {
        let guess = at.saturating_add(BATCH_BYTES).min(data.len());
        let end = data
            .get(guess..)
            .and_then(|rest| memchr::memchr(b'\n', rest))
            .map_or(data.len(), |nl| guess + nl + 1);
        batches.push((at, end));
        at = end;
    }
    let batches: &[(usize, usize)] = &batches;
    // Positions inside a batch count from 0; the linking thread adds the
    // lines of the batches before it.
    let inspect_batch = |k: usize| -> Vec<Result<Inspected, Failure>> {
        let Some(&(from, to)) = batches.get(k) else {
            return Vec::new();
        };
        let chunk = data.get(from..to).unwrap_or_default();
        let mut start = 0;
        memchr::memchr_iter(b'\n', chunk)
            .map(|nl| nl + 1)
            .chain(std::iter::once(chunk.len()))
            .map(|end| {
                let line = chunk.get(start..end).unwrap_or_default();
                start = end;
                line.trim_ascii()
            })
            .filter(|l| !l.is_empty())
            .zip(0u64..)
            .map(|(line, pos)| inspect_line(line, pos))
            .collect()
    };
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 1..threads {
            let tx = tx.clone();
            let (next, stop, inspect_batch) = (&next, &stop, &inspect_batch);
            let worker = move || {
                while !stop.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= batches.len() || tx.send((k, inspect_batch(k))).is_err() {
                        break;
                    }
                }
            };
            // No thread (wasm, limits): the caller's thread does it all.
            if std::thread::Builder::new()
                .spawn_scoped(scope, worker)
                .is_err()
            {
                break;
            }
        }
        drop(tx);
        let mut ready: BTreeMap<usize, Vec<Result<Inspected, Failure>>> = BTreeMap::new();
        let mut linked = 0;
        let result = loop {
            if linked == batches.len() {
                break Ok(());
            }
            if let Some(results) = ready.remove(&linked) {
                let base = v.position();
                let linking = results.into_iter().try_for_each(|r| {
                    let r = r.map_err(|mut f| {
                        f.position += base;
                        f
                    });
                    v.link_result(r).map(|_| ())
                });
                if let Err(f) = linking {
                    break Err(f);
                }
                if let Some((_, end)) = batches.get(linked) {
                    progress(*end);
                }
                linked += 1;
                continue;
            }
            if let Ok((k, results)) = rx.try_recv() {
                ready.insert(k, results);
                continue;
            }
            // Nothing to link yet: inspect a batch here rather than wait.
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k < batches.len() {
                ready.insert(k, inspect_batch(k));
                continue;
            }
            match rx.recv() {
                Ok((k, results)) => {
                    ready.insert(k, results);
                }
                // Every worker is gone and a batch never came back (a
                // worker died): do it here.
                Err(_) => {
                    ready.insert(linked, inspect_batch(linked));
                }
            }
        };
        stop.store(true, Ordering::Relaxed);
        result
    });
    outcome.map(|()| v.finish())
}
