//! Chain files: verify (whole or a range after a named event, with an
//! optional proof that the head is in a collector's log), canonicalize, and
//! read the events of verified files for the other commands.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use sealtrail::event::{ChainId, Event};
use sealtrail::verify::{verify_slice, Failure, Options, Summary, Verifier};
use sealtrail::{Digest, Timestamp};
use serde_json::{json, Value};

use super::{out, read, tlog, Stop};

/// Files above this size get a progress bar (when stderr is a terminal).
const PROGRESS_BYTES: usize = 4 << 20;

/// Where a chain range starts when it does not start at `seq` 0: the event
/// before it, as a collector's evidence export names it (`Sealtrail-Prev-Seq`,
/// `Sealtrail-Prev`, `Sealtrail-Prev-Ts`).
#[derive(clap::Args)]
pub struct After {
    /// `seq` of the event just before the file's first.
    #[arg(long, value_name = "N", requires_all = ["prev_hash", "prev_ts"])]
    prev_seq: Option<u64>,
    /// `hash` of that event (64 hex characters).
    #[arg(long, value_name = "HASH", requires_all = ["prev_seq", "prev_ts"])]
    prev_hash: Option<String>,
    /// `ts` of that event (RFC 3339).
    #[arg(long, value_name = "TS", requires_all = ["prev_seq", "prev_hash"])]
    prev_ts: Option<String>,
}

impl After {
    /// The verifier to start with: from genesis, or after the named event of
    /// the chain the file's first event names.
    fn verifier(&self, options: Options, bytes: &[u8]) -> Result<Verifier, Stop> {
        let (Some(seq), Some(hash), Some(ts)) = (self.prev_seq, &self.prev_hash, &self.prev_ts)
        else {
            return Ok(Verifier::new(options));
        };
        let hash = Digest::parse(hash).map_err(|e| Stop::Input(format!("`--prev-hash`: {e}")))?;
        let ts = Timestamp::parse(ts).map_err(|e| Stop::Input(format!("`--prev-ts`: {e}")))?;
        // The chain id comes from the data; a first line without one fails
        // verification there, with the usual report.
        let chain = bytes
            .split(|b| *b == b'\n')
            .map(<[u8]>::trim_ascii)
            .find(|l| !l.is_empty())
            .and_then(|l| serde_json::from_slice::<Value>(l).ok())
            .and_then(|v| v.get("chain").and_then(Value::as_str).map(ChainId::parse))
            .and_then(Result::ok);
        Ok(match chain {
            Some(chain) => Verifier::resume(options, chain, seq, hash, ts),
            None => Verifier::new(options),
        })
    }
}

/// Verifies one chain file; `Err(Failure)` when it breaks a rule.
fn check_chain(
    path: &Path,
    bytes: &[u8],
    verifier: Verifier,
    threads: usize,
) -> Result<Result<Summary, Failure>, Stop> {
    let bar = (bytes.len() > PROGRESS_BYTES && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::with_draw_target(
            Some(bytes.len() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} verifying {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
        ) {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(path.display().to_string());
        pb
    });
    let result = verify_slice(verifier, bytes, threads, &mut |done| {
        if let Some(pb) = &bar {
            pb.set_position(done as u64);
        }
    });
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    match result {
        Ok(s) if s.events == 0 => Err(Stop::Input(format!("`{}` holds no events", path.display()))),
        other => Ok(other),
    }
}

/// The input error for a line that is not JSON.
fn not_json(path: &Path, f: &Failure) -> Stop {
    Stop::Input(format!(
        "`{}`: event {} is not JSON (truncated or not a chain file): {}",
        path.display(),
        f.position,
        f.detail
    ))
}

pub fn verify(
    path: &Path,
    json: bool,
    max_clock_step_ms: i64,
    threads: usize,
    after: &After,
) -> Result<(), Stop> {
    if max_clock_step_ms < 0 {
        return Err(Stop::Input(
            "`--max-clock-step-ms` must be 0 or more".into(),
        ));
    }
    let bytes = read(path)?;
    let verifier = after.verifier(Options { max_clock_step_ms }, &bytes)?;
    let result = check_chain(path, &bytes, verifier, threads)?;
    match result {
        Ok(s) => {
            let head = s.head.map(|h| h.to_hex());
            if json {
                out(json!({"valid": true, "events": s.events, "head": head, "seq": null, "rule": null})
                    .to_string()
                    .as_bytes());
                out(b"\n");
            } else {
                out(format!(
                    "valid: {} events, head {}\n",
                    s.events,
                    head.unwrap_or_default()
                )
                .as_bytes());
            }
            Ok(())
        }
        Err(f) => {
            let stop = if f.is_not_json() {
                not_json(path, &f)
            } else {
                Stop::Invalid
            };
            if json {
                out(json!({"valid": false, "events": f.position, "head": null, "seq": f.seq, "rule": f.rule.as_str()})
                    .to_string()
                    .as_bytes());
                out(b"\n");
            } else if !f.is_not_json() {
                out(format!("invalid: {f}\n").as_bytes());
            }
            Err(stop)
        }
    }
}

/// After `verify`: the chain's head is in the collector's signed log, so the
/// whole chain (linked by hash up to it) is what the log committed to.
pub fn logged(path: &Path, proof: &Path, trust: &tlog::TrustArgs) -> Result<(), Stop> {
    let text = String::from_utf8(read(path)?)
        .map_err(|_| Stop::Input(format!("`{}` is not UTF-8 text", path.display())))?;
    let head = tlog::leaf_of(&text, path)?;
    let (v, index) = tlog::inclusion(proof, &head, trust)?;
    out(format!(
        "logged: head #{} is leaf {index} of `{}` at size {}\n",
        head.seq, v.checkpoint.origin, v.checkpoint.size
    )
    .as_bytes());
    Ok(())
}

pub fn canon(path: &Path) -> Result<(), Stop> {
    let bytes = read(path)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Stop::Input(format!("`{}` is not JSON: {e}", path.display())))?;
    let c = sealtrail::canon::to_vec(&value)
        .map_err(|e| Stop::Input(format!("`{}`: {e}", path.display())))?;
    out(&c);
    Ok(())
}

/// Verifies every file and returns all their events; a broken chain stops
/// with its report (exit 1).
pub fn verified_events(files: &[PathBuf]) -> Result<Vec<Event>, Stop> {
    let mut events = Vec::new();
    for path in files {
        let bytes = read(path)?;
        if let Err(f) = check_chain(path, &bytes, Verifier::new(Options::default()), 0)? {
            if f.is_not_json() {
                return Err(not_json(path, &f));
            }
            eprintln!("error: `{}` is not a valid chain: {f}", path.display());
            return Err(Stop::Invalid);
        }
        for (i, line) in bytes
            .split(|&b| b == b'\n')
            .map(<[u8]>::trim_ascii)
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let e: Event = serde_json::from_slice(line).map_err(|e| {
                Stop::Input(format!(
                    "`{}`: event {i} is valid in the chain but not readable as a sealtrail event: {e}",
                    path.display()
                ))
            })?;
            events.push(e);
        }
    }
    Ok(events)
}
