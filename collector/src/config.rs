//! Command-line flags and their environment variables: the collector's whole configuration.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;

use crate::at_rest::{AtRestError, MasterKey};
use crate::auth::TokenGrant;
use crate::credentials::Alg;
use crate::tlog::witnesses::WitnessTarget;

/// The reference collector for sealtrail audit chains.
#[derive(Debug, Clone, Parser)]
#[command(name = "sealtrail-collector", version, about)]
pub struct Config {
    /// Address to listen on (loopback by default: put a TLS proxy in front to expose it).
    #[arg(long, env = "SEALTRAIL_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,

    /// Database URL: `sqlite://FILE` (created on first start) or `postgres://...`.
    #[arg(
        long,
        env = "SEALTRAIL_DATABASE",
        default_value = "sqlite://sealtrail.sqlite"
    )]
    pub database: String,

    /// Directory served at `/` (the demo and review pages).
    #[arg(long, env = "SEALTRAIL_STATIC_DIR", default_value = "www")]
    pub static_dir: PathBuf,

    /// Directory of the built npm package, served at `/pkg/`.
    #[arg(long, env = "SEALTRAIL_PKG_DIR", default_value = "pkg")]
    pub pkg_dir: PathBuf,

    /// An origin allowed to call the APIs cross-origin (repeat; comma-separated in the environment).
    #[arg(
        long = "allowed-origin",
        env = "SEALTRAIL_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// A read-API bearer token, `TOKEN=ROLE:USERID[:NAME]` (repeat; comma-separated in the environment).
    #[arg(long = "token", env = "SEALTRAIL_TOKENS", value_delimiter = ',', value_parser = TokenGrant::parse)]
    pub tokens: Vec<TokenGrant>,

    /// Days events stay in the live table before they move to the archive table.
    #[arg(long, env = "SEALTRAIL_RETENTION_DAYS", default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub retention_days: u32,

    /// The upload routes' limits: events per batch, bytes per string,
    /// batches in flight, request rates, failed authentications, timeout.
    #[command(flatten)]
    pub limits: crate::limits::Limits,

    /// Largest accepted request body, in bytes (larger: `413`).
    #[arg(long, env = "SEALTRAIL_MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// The address of a reverse proxy whose `X-Forwarded-For` names the client
    /// (repeat; comma-separated in the environment). Off by default: the TCP
    /// peer is the client, and `X-Forwarded-For` is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "SEALTRAIL_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// The transparency log's private key file (`sealtrail-collector keygen`
    /// writes one). Without it the key is made on first start and kept in the database.
    #[arg(long, env = "SEALTRAIL_LOG_KEY")]
    pub log_key: Option<PathBuf>,

    /// The log's origin (its name in checkpoints) for a key kept in the database.
    #[arg(
        long,
        env = "SEALTRAIL_LOG_ORIGIN",
        default_value = "sealtrail-collector"
    )]
    pub log_origin: String,

    /// A witness to send each new checkpoint to, `URL=KEY` (its submission
    /// prefix and cosignature key; repeat; comma-separated in the environment).
    #[arg(long = "witness", env = "SEALTRAIL_WITNESSES", value_delimiter = ',', value_parser = WitnessTarget::parse)]
    pub witnesses: Vec<WitnessTarget>,

    /// Runs without the transparency log (acknowledgements carry no proof):
    /// only the ingest benchmark's peer uses it.
    #[arg(long, hide = true)]
    pub without_log: bool,

    /// The key that verifies upload credentials (`docs/protocol.md`,
    /// "Credentials"): an Ed25519 public key in SPKI PEM
    /// (`sealtrail-collector keygen --verifying-key` writes one), or with
    /// `--credential-alg HS256` a shared secret of at least 32 bytes.
    #[arg(long, env = "SEALTRAIL_CREDENTIAL_KEY")]
    pub credential_key: Option<PathBuf>,

    /// The algorithm upload credentials are signed with (only this one is accepted).
    #[arg(long, env = "SEALTRAIL_CREDENTIAL_ALG", value_enum, default_value_t = Alg::EdDsa)]
    pub credential_alg: Alg,

    /// Days after a credential's `exp` its chain's events are still taken
    /// (written offline, uploaded late).
    #[arg(long, env = "SEALTRAIL_CREDENTIAL_GRACE_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub credential_grace_days: u32,

    /// Seconds an event's `ts` may lie before its credential's `iat`, after
    /// its `exp`, or ahead of the collector's clock.
    #[arg(long, env = "SEALTRAIL_CLOCK_SKEW_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub clock_skew_seconds: u32,

    /// Development only: take uploads without credentials, as collectors did
    /// before them (anyone who reaches the collector can write any chain).
    /// Without it, a collector with no `--credential-key` does not start.
    #[arg(long, env = "SEALTRAIL_INSECURE_OPEN_INGEST")]
    pub insecure_open_ingest: bool,

    /// Demo only: a login at `/api/demo/login` that mints upload credentials
    /// for anyone who asks, with a key made at start (instead of
    /// `--credential-key`). Anyone who reaches the collector can then write
    /// any chain under any name.
    #[arg(long, env = "SEALTRAIL_DEMO_LOGIN", conflicts_with = "credential_key")]
    pub demo_login: bool,

    /// Policy file whose alert thresholds, business hours and break-glass roles the alert rules use.
    /// Policy file whose alert thresholds, business hours and break-glass roles the alert rules use,
    /// and whose `review` member routes cases and sets their response times and outcomes.
    #[arg(long, env = "SEALTRAIL_POLICY")]
    pub policy: Option<PathBuf>,

    /// A URL the notification hook POSTs case messages to (off by default).
    #[arg(long, env = "SEALTRAIL_NOTIFY_URL")]
    pub notify_url: Option<String>,

    /// The secret (at least 16 bytes) signing each notification with
    /// HMAC-SHA256; prefer the environment (flags show in `ps`).
    #[arg(long, env = "SEALTRAIL_NOTIFY_SECRET", hide_env_values = true)]
    pub notify_secret: Option<String>,

    /// Seconds between notification rounds.
    #[arg(long, env = "SEALTRAIL_NOTIFY_INTERVAL_SECS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub notify_interval_secs: u32,

    /// The master key that encrypts event lines, findings evidence and case
    /// notes at rest: a file of 64 hex digits (`sealtrail-collector keygen
    /// --at-rest-key FILE` writes one). Without it, or `SEALTRAIL_AT_REST_KEY`,
    /// they are stored in plaintext (said at start).
    #[arg(
        long,
        env = "SEALTRAIL_AT_REST_KEY_FILE",
        conflicts_with = "at_rest_key_hex"
    )]
    pub at_rest_key: Option<PathBuf>,

    /// The master key itself, 64 hex digits: for the environment
    /// (`SEALTRAIL_AT_REST_KEY`), since flags show in `ps`.
    #[arg(long, env = "SEALTRAIL_AT_REST_KEY", hide_env_values = true)]
    pub at_rest_key_hex: Option<String>,
}

impl Config {
    /// The at-rest master key, if one is configured.
    pub fn master_key(&self) -> Result<Option<MasterKey>, AtRestError> {
        match (&self.at_rest_key, &self.at_rest_key_hex) {
            (Some(path), _) => MasterKey::load(path).map(Some),
            (None, Some(hex)) => MasterKey::from_hex(hex).map(Some),
            (None, None) => Ok(None),
        }
    }
}
