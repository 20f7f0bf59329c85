//! `sealtrail-collector`: starts the reference collector (see `--help`), a
//! witness (`witness`), or makes a key (`keygen`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use sealtrail::entropy::OsEntropy;
use sealtrail::tlog::ed25519::SigningKey;
use sealtrail::tlog::KeyType;
use sealtrail_collector::witness::WitnessConfig;
use sealtrail_collector::Config;

#[derive(Parser)]
#[command(
    name = "sealtrail-collector",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Make a private key file (never overwritten) and print its public key.
    Keygen {
        /// The key's name: for a log, its origin (e.g. `audit.clinic.example/sealtrail`).
        #[arg(long)]
        name: String,
        /// A witness's cosignature key (type 0x04) instead of a log key.
        #[arg(long)]
        witness: bool,
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run a witness: cosign the checkpoints of the given logs (C2SP tlog-witness).
    Witness(WitnessConfig),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Keygen { name, witness, out }) => keygen(&name, witness, &out),
        Some(Command::Witness(w)) => witness(&w).await,
        None => collector(&cli.config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sealtrail-collector: {e}");
            ExitCode::FAILURE
        }
    }
}

fn keygen(name: &str, witness: bool, out: &Path) -> Result<(), String> {
    let kind = if witness {
        KeyType::Cosignature
    } else {
        KeyType::Ed25519
    };
    let key = SigningKey::generate(name, kind, &mut OsEntropy)
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("`--name`: {e}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|e| {
        format!(
            "cannot create `{}` (an existing key is never overwritten): {e}",
            out.display()
        )
    })?;
    writeln!(file, "{}", key.to_private()).map_err(|e| e.to_string())?;
    println!("{}", key.verifier());
    Ok(())
}

async fn witness(config: &WitnessConfig) -> Result<(), String> {
    let running = sealtrail_collector::witness::start(config)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "sealtrail-collector witness listening on http://{}",
        running.addr
    );
    running
        .task
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

async fn collector(config: &Config) -> Result<(), String> {
    let running = sealtrail_collector::start(config)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(addr = %running.addr, database = %config.database, "collector listening");
    println!("sealtrail-collector listening on http://{}", running.addr);
    println!("transparency log key: {}", running.state.log.public_key());
    running
        .task
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}
