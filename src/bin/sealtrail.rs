//! `sealtrail`: verify audit chains, canonicalize JSON, review alerts, export
//! FHIR, check policies, and hold a collector to its signed log
//! (checkpoints and proofs, in `tlog.rs`) from the command line.
//!
//! Exit codes: 0 done (a valid chain, a valid policy), 1 a chain or policy
//! that fails its check, 2 bad usage or unreadable input. Every error is one
//! line on stderr; nothing panics on user input.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sealtrail::alerts::{scan, Finding};
use sealtrail::event::ChainId;
use sealtrail::event::Event;
use sealtrail::fhir::{self, BundleType};
use sealtrail::policy::Policy;
use sealtrail::verify::{verify_slice, Failure, Options, Summary, Verifier};
use sealtrail::{Digest, Timestamp};
use serde_json::{json, Value};

#[path = "sealtrail/tlog.rs"]
mod tlog;

/// Files above this size get a progress bar (when stderr is a terminal).
const PROGRESS_BYTES: usize = 4 << 20;

#[derive(Parser)]
#[command(
    name = "sealtrail",
    version,
    about = "Verify and review sealtrail audit chains"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a chain (JSONL, one event per line): exit 0 if valid, 1 if not.
    Verify {
        /// The chain file.
        file: PathBuf,
        /// Print one JSON object {"valid","events","head","seq","rule"}.
        #[arg(long)]
        json: bool,
        /// How far (ms) a `ts` may step back before it counts as back-dated.
        #[arg(long, default_value_t = 0, value_name = "N")]
        max_clock_step_ms: i64,
        /// Threads for verification (0: all cores).
        #[arg(long, default_value_t = 0, value_name = "N")]
        threads: usize,
        #[command(flatten)]
        after: After,
        /// A C2SP `tlog-proof` file proving the chain's last event is in the
        /// collector's signed log (needs `--key`).
        #[arg(long, value_name = "FILE")]
        proof: Option<PathBuf>,
        #[command(flatten)]
        trust: tlog::TrustArgs,
    },
    /// Signed checkpoints of a collector's transparency log.
    Checkpoint {
        #[command(subcommand)]
        command: CheckpointCommand,
    },
    /// Inclusion and consistency proofs of a collector's transparency log.
    Proof {
        #[command(subcommand)]
        command: ProofCommand,
    },
    /// Print the RFC 8785 canonical form of a JSON file (no trailing newline).
    Canon {
        /// The JSON file.
        file: PathBuf,
    },
    /// Verify chains, then list the alert findings across all of them.
    Alerts {
        /// Chain files (one chain each).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The policy in force (its `alerts` and `breakGlass.roles`).
        #[arg(long, value_name = "P")]
        policy: PathBuf,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify chains, then print their events as a FHIR R4 Bundle of AuditEvents.
    Fhir {
        /// Chain files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write a `searchset` Bundle instead of a `collection`.
        #[arg(long)]
        searchset: bool,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Write the sample evening into a directory: three chains, two that
    /// together raise every alert rule and one proper break-glass that raises none.
    Sample {
        /// Directory to write into (created if missing).
        dir: PathBuf,
        /// Stamp events with this policy's hash.
        #[arg(long, value_name = "P")]
        policy: Option<PathBuf>,
        /// Also write `routine.jsonl`, N events of routine activity on one
        /// chain (for timing `verify` on large files).
        #[arg(long, value_name = "N")]
        routine: Option<u64>,
    },
}

/// Where a chain range starts when it does not start at `seq` 0: the event
/// before it, as a collector's evidence export names it (`Sealtrail-Prev-Seq`,
/// `Sealtrail-Prev`, `Sealtrail-Prev-Ts`).
#[derive(clap::Args)]
struct After {
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

#[derive(Subcommand)]
enum CheckpointCommand {
    /// Check a checkpoint's log signature and witness cosignatures: exit 0 if valid, 1 if not.
    Verify {
        /// The signed checkpoint (C2SP `tlog-checkpoint`).
        file: PathBuf,
        #[command(flatten)]
        trust: tlog::TrustArgs,
    },
}

#[derive(Subcommand)]
enum ProofCommand {
    /// Inclusion: a `tlog-proof` file and `--event`. Consistency: two
    /// checkpoints, old then new, and `--consistency`. Exit 0 if it holds, 1 if not.
    Verify {
        /// A `tlog-proof` file, or two signed checkpoints.
        #[arg(required = true, num_args = 1..=2)]
        files: Vec<PathBuf>,
        /// The event (JSON; of a chain file, the last line) whose inclusion to prove.
        #[arg(long, value_name = "FILE", conflicts_with = "consistency")]
        event: Option<PathBuf>,
        /// The consistency proof: base64 hashes, one a line (none for equal sizes).
        #[arg(long, value_name = "FILE")]
        consistency: Option<PathBuf>,
        #[command(flatten)]
        trust: tlog::TrustArgs,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validate a policy file; errors name the JSON Pointer at fault.
    Check {
        /// The policy file.
        file: PathBuf,
    },
}

/// Why a command stopped.
enum Stop {
    /// Bad usage or unreadable input (exit 2).
    Input(String),
    /// The thing checked is invalid (exit 1); the report is already printed.
    Invalid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify {
            file,
            json,
            max_clock_step_ms,
            threads,
            after,
            proof,
            trust,
        } => verify(&file, json, max_clock_step_ms, threads, &after).and_then(|()| match proof {
            Some(p) => logged(&file, &p, &trust),
            None => Ok(()),
        }),
        Command::Checkpoint {
            command: CheckpointCommand::Verify { file, trust },
        } => tlog::checkpoint_verify(&file, &trust),
        Command::Proof {
            command:
                ProofCommand::Verify {
                    files,
                    event,
                    consistency,
                    trust,
                },
        } => tlog::proof_verify(&files, event.as_deref(), consistency.as_deref(), &trust),
        Command::Canon { file } => canon(&file),
        Command::Alerts {
            files,
            policy,
            json,
        } => alerts(&files, &policy, json),
        Command::Fhir { files, searchset } => fhir_export(&files, searchset),
        Command::Policy {
            command: PolicyCommand::Check { file },
        } => policy_check(&file),
        Command::Sample {
            dir,
            policy,
            routine,
        } => sample(&dir, policy.as_deref(), routine),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Stop::Invalid) => ExitCode::from(1),
        Err(Stop::Input(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) ends quietly.
fn out(bytes: &[u8]) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(bytes).and_then(|()| o.flush());
}

fn read(path: &Path) -> Result<Vec<u8>, Stop> {
    std::fs::read(path).map_err(|e| Stop::Input(format!("cannot read `{}`: {e}", path.display())))
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

fn verify(
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
fn logged(path: &Path, proof: &Path, trust: &tlog::TrustArgs) -> Result<(), Stop> {
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

fn canon(path: &Path) -> Result<(), Stop> {
    let bytes = read(path)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Stop::Input(format!("`{}` is not JSON: {e}", path.display())))?;
    let c = sealtrail::canon::to_vec(&value)
        .map_err(|e| Stop::Input(format!("`{}`: {e}", path.display())))?;
    out(&c);
    Ok(())
}

fn load_policy(path: &Path) -> Result<Policy, Stop> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Stop::Input(format!("`{}` is not UTF-8 text", path.display())))?;
    Policy::parse(&text).map_err(|e| Stop::Input(format!("policy `{}`: {e}", path.display())))
}

/// Verifies every file and returns all their events; a broken chain stops
/// with its report (exit 1).
fn verified_events(files: &[PathBuf]) -> Result<Vec<Event>, Stop> {
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

fn alerts(files: &[PathBuf], policy_path: &Path, json: bool) -> Result<(), Stop> {
    let policy = load_policy(policy_path)?;
    let events = verified_events(files)?;
    let doc = policy.doc();
    let findings = scan(
        doc.alerts.clone(),
        doc.break_glass.roles.iter().cloned(),
        &events,
    )
    .map_err(|e| {
        Stop::Input(format!(
            "policy `{}`: at `/alerts`: {e}",
            policy_path.display()
        ))
    })?;
    if json {
        let v = json!({
            "policy": policy.hash(),
            "chains": files.len(),
            "events": events.len(),
            "findings": findings,
        });
        out(serde_json::to_string_pretty(&v)
            .unwrap_or_default()
            .as_bytes());
        out(b"\n");
    } else {
        out(format!(
            "{} findings in {} events from {} chain(s)\n",
            findings.len(),
            events.len(),
            files.len()
        )
        .as_bytes());
        for f in &findings {
            out(describe(f).as_bytes());
        }
    }
    Ok(())
}

/// One finding as a line for people.
fn describe(f: &Finding) -> String {
    let proof: Vec<String> = f
        .events
        .iter()
        .map(|e| {
            let c = e.chain.as_str();
            format!("{}…#{}", c.get(..8).unwrap_or(c), e.seq)
        })
        .collect();
    format!(
        "{:<8} {:<24} {}  [{}]\n",
        f.severity.as_str().to_uppercase(),
        f.rule.as_str(),
        f.summary,
        proof.join(" ")
    )
}

fn fhir_export(files: &[PathBuf], searchset: bool) -> Result<(), Stop> {
    let events = verified_events(files)?;
    let kind = if searchset {
        BundleType::Searchset
    } else {
        BundleType::Collection
    };
    let bundle = fhir::bundle(&events, kind);
    out(serde_json::to_string_pretty(&bundle)
        .unwrap_or_default()
        .as_bytes());
    out(b"\n");
    Ok(())
}

fn policy_check(path: &Path) -> Result<(), Stop> {
    let bytes = read(path)?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(Stop::Input(format!(
            "`{}` is not UTF-8 text",
            path.display()
        )));
    };
    match Policy::parse(&text) {
        Ok(p) => {
            out(format!("valid: policy `{}` {}\n", path.display(), p.hash()).as_bytes());
            Ok(())
        }
        Err(e) => {
            eprintln!("invalid: policy `{}`: {e}", path.display());
            Err(Stop::Invalid)
        }
    }
}

fn sample(dir: &Path, policy: Option<&Path>, routine: Option<u64>) -> Result<(), Stop> {
    let hash = match policy {
        Some(p) => Some(load_policy(p)?.hash().to_owned()),
        None => None,
    };
    let mut chains = sealtrail::sample::evening(hash.as_deref())
        .map_err(|e| Stop::Input(format!("cannot make the sample: {e}")))?;
    if let Some(n) = routine {
        chains.push(sealtrail::sample::SampleChain {
            name: "routine.jsonl",
            events: sealtrail::sample::routine(n, 7, hash.as_deref())
                .map_err(|e| Stop::Input(format!("cannot make the sample: {e}")))?,
        });
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Stop::Input(format!("cannot create `{}`: {e}", dir.display())))?;
    for c in chains {
        let mut text = String::with_capacity(c.events.len() * 800);
        for e in &c.events {
            let line = sealtrail::chain::to_line(e)
                .map_err(|e| Stop::Input(format!("cannot write the sample: {e}")))?;
            text.push_str(&line);
            text.push('\n');
        }
        let path = dir.join(c.name);
        std::fs::write(&path, text)
            .map_err(|e| Stop::Input(format!("cannot write `{}`: {e}", path.display())))?;
        out(format!("{} ({} events)\n", path.display(), c.events.len()).as_bytes());
    }
    Ok(())
}
