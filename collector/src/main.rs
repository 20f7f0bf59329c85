//! `sealtrail-collector`: starts the reference collector (see `--help`), a
//! witness (`witness`), makes a key (`keygen`), mints an upload
//! credential (`credential`) or rotates the at-rest master key (`rekey`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use sealtrail::credential::Claims;
use sealtrail::entropy::OsEntropy;
use sealtrail::event::ChainId;
use sealtrail::tlog::ed25519::SigningKey;
use sealtrail::tlog::KeyType;
use sealtrail_collector::at_rest::{self, MasterKey};
use sealtrail_collector::credentials::{self, Alg, Minter};
use sealtrail_collector::witness::WitnessConfig;
use sealtrail_collector::{Config, Store};

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
    /// Make a key (files are never overwritten): a transparency log's or a
    /// witness's (`--name`, `--out`, printing its public key), or the
    /// Ed25519 pair upload credentials are signed and verified with
    /// (`--signing-key`, `--verifying-key`), or an at-rest master key
    /// (`--at-rest-key`).
    Keygen {
        /// The key's name: for a log, its origin (e.g. `audit.clinic.example/sealtrail`).
        #[arg(long, requires = "out", conflicts_with_all = ["signing_key", "verifying_key"])]
        name: Option<String>,
        /// A witness's cosignature key (type 0x04) instead of a log key.
        #[arg(long, requires = "name")]
        witness: bool,
        /// Where to write the log's or witness's private key.
        #[arg(long, requires = "name")]
        out: Option<PathBuf>,
        /// Where to write the credentials' signing key (PKCS#8 PEM: the host's backend keeps it).
        #[arg(long, requires = "verifying_key", required_unless_present_any = ["name", "at_rest_key"])]
        signing_key: Option<PathBuf>,
        /// Where to write the credentials' verifying key (SPKI PEM: `--credential-key`).
        #[arg(long, requires = "signing_key")]
        verifying_key: Option<PathBuf>,
        /// Where to write a new at-rest master key (64 hex digits: `--at-rest-key`).
        #[arg(long, conflicts_with_all = ["name", "signing_key", "verifying_key"])]
        at_rest_key: Option<PathBuf>,
    },
    /// Rotate the at-rest master key: re-seal every data key of the
    /// database under `--new-key` and start a new data key for the rows
    /// written from now on (one transaction; run it again if cut short).
    /// Then restart the collector with the new key: the old one opens nothing.
    Rekey(RekeyArgs),
    /// Print one upload credential (a JWT) on stdout, as a host's backend mints them.
    Credential(CredentialArgs),
    /// Run a witness: cosign the checkpoints of the given logs (C2SP tlog-witness).
    Witness(WitnessConfig),
}

#[derive(clap::Args)]
struct RekeyArgs {
    /// The database, as for the collector.
    #[arg(long, env = "SEALTRAIL_DATABASE")]
    database: String,
    /// The master key the data keys are sealed under now (a key file).
    #[arg(long)]
    old_key: PathBuf,
    /// The new master key (a key file: `keygen --at-rest-key` makes one).
    #[arg(long)]
    new_key: PathBuf,
}

#[derive(clap::Args)]
struct CredentialArgs {
    /// The signing key (`keygen --signing-key`), or the HS256 secret.
    #[arg(long)]
    signing_key: PathBuf,
    /// The algorithm.
    #[arg(long, value_enum, default_value_t = Alg::EdDsa)]
    alg: Alg,
    /// `sub`: the user id every event's `actor.id` must be.
    #[arg(long)]
    user: String,
    /// `sid`: the session id every event's `session.id` must be.
    #[arg(long)]
    session: String,
    /// `role`: the role every event's `actor.role` must be.
    #[arg(long)]
    role: String,
    /// `chain`: the one chain it is for (32 lowercase hex digits).
    #[arg(long)]
    chain: String,
    /// Seconds from now to `exp`.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u32).range(1..))]
    ttl: u32,
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
        Some(Command::Keygen {
            name: Some(name),
            witness,
            out: Some(out),
            ..
        }) => keygen(&name, witness, &out),
        Some(Command::Keygen {
            signing_key: Some(signing),
            verifying_key: Some(verifying),
            ..
        }) => credential_keygen(&signing, &verifying),
        Some(Command::Keygen {
            at_rest_key: Some(out),
            ..
        }) => MasterKey::generate()
            .map_err(|e| e.to_string())
            .and_then(|key| create(&out, &format!("{key}\n"))),
        Some(Command::Keygen { .. }) => Err(
            "keygen: pass `--name` and `--out`, `--signing-key` and `--verifying-key`, or `--at-rest-key`".into(),
        ),
        Some(Command::Rekey(args)) => rekey(&args).await,
        Some(Command::Credential(args)) => credential(&args),
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

/// Writes `text` to a new file `out`, readable by its owner only.
fn create(out: &Path, text: &str) -> Result<(), String> {
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
    file.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

fn credential_keygen(signing: &Path, verifying: &Path) -> Result<(), String> {
    let (private, public) = credentials::generate_ed25519().map_err(|e| e.to_string())?;
    create(signing, &private)?;
    create(verifying, &public)
}

fn credential(args: &CredentialArgs) -> Result<(), String> {
    let minter = Minter::load(&args.signing_key, args.alg).map_err(|e| e.to_string())?;
    let chain = ChainId::parse(&args.chain).map_err(|e| format!("`--chain`: {e}"))?;
    let iat = sealtrail_collector::clock::now_ms() / 1000;
    let claims = Claims {
        sub: args.user.clone(),
        sid: args.session.clone(),
        role: args.role.clone(),
        chain,
        iat,
        exp: iat + i64::from(args.ttl),
    }
    .checked()
    .map_err(|e| e.to_string())?;
    println!("{}", minter.mint(&claims).map_err(|e| e.to_string())?);
    Ok(())
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
    create(out, &format!("{}\n", key.to_private()))?;
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

async fn rekey(args: &RekeyArgs) -> Result<(), String> {
    let old = MasterKey::load(&args.old_key).map_err(|e| format!("`--old-key`: {e}"))?;
    let new = MasterKey::load(&args.new_key).map_err(|e| format!("`--new-key`: {e}"))?;
    let store = Store::open(&args.database)
        .await
        .map_err(|e| e.to_string())?;
    let done = at_rest::rekey(&store, &old, &new, sealtrail_collector::clock::now_ms())
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    println!(
        "re-sealed {} data key(s) under {}; new rows go under {}: restart the collector with the new key",
        done.resealed,
        new.id(),
        done.current
    );
    Ok(())
}

async fn collector(config: &Config) -> Result<(), String> {
    let running = sealtrail_collector::start(config)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(addr = %running.addr, database = %config.database, "collector listening");
    println!("sealtrail-collector listening on http://{}", running.addr);
    println!("transparency log key: {}", running.state.log.public_key());
    match running.state.store.sealing() {
        Some(key) => println!("at rest: event lines, findings evidence and case notes encrypted (data key {})", key.id()),
        None => println!("at rest: PLAINTEXT: event lines, findings evidence and case notes are stored unencrypted (no `--at-rest-key`)"),
    }
    if config.demo_login {
        println!("demo login on (/api/demo/login): anyone who reaches this collector can mint upload credentials; never in production");
    }
    running
        .task
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}
