//! `sealtrail`: verify audit chains, canonicalize JSON, review alerts, export
//! FHIR, check policies, and hold a collector to its signed log
//! from the command line. This file holds the commands and their dispatch;
//! each group lives beside it in `sealtrail/`: `chain.rs` (verify, canon),
//! `review.rs` (alerts, FHIR), `policy.rs`, `sample.rs`, `tlog.rs`
//! (checkpoints and proofs).
//!
//! Exit codes: 0 done (a valid chain, a valid policy), 1 a chain or policy
//! that fails its check, 2 bad usage or unreadable input. Every error is one
//! line on stderr; nothing panics on user input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[path = "sealtrail/chain.rs"]
mod chain;
#[path = "sealtrail/policy.rs"]
mod policy;
#[path = "sealtrail/review.rs"]
mod review;
#[path = "sealtrail/sample.rs"]
mod sample;
#[path = "sealtrail/tlog.rs"]
mod tlog;

use chain::After;

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
    /// Print the pseudonym events name each record by when the page runs
    /// with `recordPseudonymKey` (`rp-` and 32 hex digits), one per line: ask
    /// the collector's access report for it.
    Pseudonym {
        /// Record ids.
        #[arg(required = true)]
        records: Vec<String>,
        /// A file holding the key, 64 hex digits (a file: flags show in `ps`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Write the sample evening into a directory: the evening's chains, a
    /// proper break-glass the next morning that raises nothing, and the month
    /// of team work before them; together they raise every alert rule.
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
        /// Keep the dates as written (the week of Monday 2026-11-23), for
        /// the same bytes on any day; by default the evening is moved by
        /// whole weeks to last week, so a collector takes it as fresh.
        #[arg(long)]
        as_written: bool,
    },
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
    /// May this session do this to this record? Every field's decision and
    /// why: the rule that allowed, or the rule and condition that refused.
    Explain {
        /// The policy file.
        #[arg(long, value_name = "P")]
        policy: PathBuf,
        /// The host's session (JSON, as the browser package takes it).
        #[arg(long, value_name = "S")]
        session: PathBuf,
        /// The record (JSON).
        #[arg(long, value_name = "R")]
        record: PathBuf,
        /// `view`, `edit`, `export`, `print` or `delete`.
        #[arg(long, value_name = "A")]
        action: String,
        /// Only the field at this JSON Pointer.
        #[arg(long, value_name = "POINTER")]
        pointer: Option<String>,
        /// Decide at this time (`2026-11-23T15:00:00.000Z`; default: now).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Print the decisions as JSON.
        #[arg(long)]
        json: bool,
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
    let result =
        match cli.command {
            Command::Verify {
                file,
                json,
                max_clock_step_ms,
                threads,
                after,
                proof,
                trust,
            } => chain::verify(&file, json, max_clock_step_ms, threads, &after).and_then(|()| {
                match proof {
                    Some(p) => chain::logged(&file, &p, &trust),
                    None => Ok(()),
                }
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
            Command::Canon { file } => chain::canon(&file),
            Command::Alerts {
                files,
                policy,
                json,
            } => review::alerts(&files, &policy, json),
            Command::Fhir { files, searchset } => review::fhir_export(&files, searchset),
            Command::Pseudonym { records, key } => review::pseudonyms(&records, &key),
            Command::Policy {
                command: PolicyCommand::Check { file },
            } => policy::check(&file),
            Command::Policy {
                command:
                    PolicyCommand::Explain {
                        policy: p,
                        session,
                        record,
                        action,
                        pointer,
                        at,
                        json,
                    },
            } => policy::explain(&policy::Question {
                policy: &p,
                session: &session,
                record: &record,
                action: &action,
                pointer: pointer.as_deref(),
                at: at.as_deref(),
                json,
            }),
            Command::Sample {
                dir,
                policy,
                routine,
                as_written,
            } => sample::sample(&dir, policy.as_deref(), routine, as_written),
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

/// Pretty JSON for people, with its newline; a value that cannot be written
/// is an error, never an empty answer.
fn pretty(v: &impl serde::Serialize) -> Result<String, Stop> {
    serde_json::to_string_pretty(v)
        .map(|t| t + "\n")
        .map_err(|e| Stop::Input(format!("cannot write the answer as JSON: {e}")))
}

/// Now, by the system clock: the CLI's only clock (the core reads none).
fn now() -> Result<sealtrail::Timestamp, Stop> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Stop::Input(format!("the system clock is before 1970: {e}")))?
        .as_millis();
    sealtrail::Timestamp::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .map_err(|e| Stop::Input(format!("the system clock: {e}")))
}
