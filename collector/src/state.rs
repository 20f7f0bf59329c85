//! What every handler shares. The router assembles it ([`crate::server`]);
//! handlers import it from here.

use std::net::IpAddr;
use std::sync::Arc;

use sealtrail::policy::ReviewConfig;

use crate::alerting::Alerting;
use crate::auth::Tokens;
use crate::clock::Clock;
use crate::credentials::{Minter, Verifier};
use crate::ingest::{Ingestor, Timings};
use crate::limits::Limiter;
use crate::notify::Notifier;
use crate::readlog::ReadLog;
use crate::store::Store;
use crate::tlog::Log;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Ingest time split, for the benchmark.
    pub timings: Arc<Timings>,
    /// Runs uploads (SQLite: group commit).
    pub ingest: Arc<Ingestor>,
    /// Read-API tokens.
    pub tokens: Arc<Tokens>,
    /// The collector's own chain of audit reads.
    pub read_log: Arc<ReadLog>,
    /// Retention period in days.
    pub retention_days: u32,
    /// The core's alert rules, fed as batches are stored.
    pub alerting: Arc<Alerting>,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[IpAddr]>,
    /// The transparency log every acknowledged event is appended to.
    pub log: Arc<Log>,
    /// Checks upload credentials (none only with `--insecure-open-ingest`).
    pub credentials: Option<Arc<Verifier>>,
    /// The demo login's minter (`--demo-login` only).
    pub demo: Option<Arc<Minter>>,
    /// The clock cases, the read log and the notifier read (tests move it).
    pub clock: Clock,
    /// The policy's case outcomes, routing and response times.
    pub review: Arc<ReviewConfig>,
    /// The notification hook (none by default).
    pub notifier: Arc<Notifier>,
    /// The upload routes' limits and failed authentications ([`crate::limits`]).
    pub limiter: Arc<Limiter>,
}
