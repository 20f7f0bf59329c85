//! The upload routes' limits (`docs/protocol.md`, "Limits"): each a
//! setting with a safe default, so that one address or one credential
//! cannot hold the collector's workers, fill its disk or drown its findings.
//!
//! - events per batch and bytes per string (`413 too-large`, checked in
//!   [`crate::ingest`]);
//! - batches in flight, overall (`503 busy`) and per chain (`429
//!   rate-limited`), both with `Retry-After`;
//! - request rates per client address (checked before the credential, so a
//!   flood of forged credentials costs no signature check) and per
//!   credential (after it), `429` with `Retry-After`;
//! - failed authentications per address (a review token or an upload
//!   credential that does not verify), `429` with `Retry-After` once over;
//! - a whole-request timeout on the upload routes, body included (`408`),
//!   so a slow body cannot hold a worker.
//!
//! The rate limiters are token buckets kept in memory, keyed by address or
//! credential, with a bounded number of keys: idle buckets (full again) are
//! dropped when the table is full, and while it is still full a new key is
//! refused (fail closed) rather than let memory grow.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::builder::TypedValueParser as _;

/// Default most events in one batch: twice the browser's default batch (500).
pub const MAX_BATCH_EVENTS: usize = 1000;
/// Default most bytes of one string inside an event: the policy's default
/// `limits.eventMaxBytes` (a conforming event of that bound never has a longer one).
pub const MAX_STRING_BYTES: usize = 64 * 1024;
/// Default most upload requests handled at once, overall.
pub const MAX_IN_FLIGHT: usize = 256;
/// Default most upload requests of one chain handled at once (a browser sends one at a time).
pub const MAX_IN_FLIGHT_PER_CHAIN: usize = 2;
/// Default upload requests per minute from one address (many browsers share a NAT).
pub const ADDRESS_PER_MINUTE: u32 = 3000;
/// Default burst of upload requests from one address.
pub const ADDRESS_BURST: u32 = 500;
/// Default upload requests per minute under one credential.
pub const CREDENTIAL_PER_MINUTE: u32 = 300;
/// Default burst of upload requests under one credential.
pub const CREDENTIAL_BURST: u32 = 60;
/// Default failed authentications per minute from one address.
pub const AUTH_FAILURES_PER_MINUTE: u32 = 10;
/// Default burst of failed authentications from one address.
pub const AUTH_FAILURE_BURST: u32 = 20;
/// Default seconds an upload request may take, body included.
pub const REQUEST_TIMEOUT_SECS: u32 = 30;
/// Most keys one rate limiter holds.
const MAX_KEYS: usize = 100_000;

/// The limits' settings (flags and environment, in [`crate::Config`]).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Limits {
    /// Most events in one batch (more: `413 too-large`; the browser sends smaller batches).
    #[arg(long, env = "SEALTRAIL_MAX_BATCH_EVENTS", default_value_t = MAX_BATCH_EVENTS, value_parser = clap::value_parser!(u32).range(1..=1_000_000).map(|n| n as usize))]
    pub max_batch_events: usize,

    /// Most bytes of one string (or member name) inside an event (more:
    /// `413 too-large` naming its JSON Pointer). Keep it at least the
    /// policy's `limits.eventMaxBytes`.
    #[arg(long, env = "SEALTRAIL_MAX_STRING_BYTES", default_value_t = MAX_STRING_BYTES, value_parser = clap::value_parser!(u32).range(64..).map(|n| n as usize))]
    pub max_string_bytes: usize,

    /// Most upload requests handled at once (more: `503 busy`, `Retry-After`).
    #[arg(long, env = "SEALTRAIL_MAX_IN_FLIGHT", default_value_t = MAX_IN_FLIGHT, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub max_in_flight: usize,

    /// Most upload requests of one chain handled at once (more: `429 rate-limited`, `Retry-After`).
    #[arg(long, env = "SEALTRAIL_MAX_IN_FLIGHT_PER_CHAIN", default_value_t = MAX_IN_FLIGHT_PER_CHAIN, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub max_in_flight_per_chain: usize,

    /// Upload requests per minute one client address may make, sustained.
    #[arg(long, env = "SEALTRAIL_ADDRESS_PER_MINUTE", default_value_t = ADDRESS_PER_MINUTE, value_parser = clap::value_parser!(u32).range(1..))]
    pub address_per_minute: u32,

    /// Upload requests one client address may make at once before its rate applies.
    #[arg(long, env = "SEALTRAIL_ADDRESS_BURST", default_value_t = ADDRESS_BURST, value_parser = clap::value_parser!(u32).range(1..))]
    pub address_burst: u32,

    /// Batches per minute under one credential (one chain's owner),
    /// sustained (anchors count against their address only).
    #[arg(long, env = "SEALTRAIL_CREDENTIAL_PER_MINUTE", default_value_t = CREDENTIAL_PER_MINUTE, value_parser = clap::value_parser!(u32).range(1..))]
    pub credential_per_minute: u32,

    /// Upload requests under one credential at once before its rate applies.
    #[arg(long, env = "SEALTRAIL_CREDENTIAL_BURST", default_value_t = CREDENTIAL_BURST, value_parser = clap::value_parser!(u32).range(1..))]
    pub credential_burst: u32,

    /// Failed authentications (review token, upload credential) per minute
    /// from one address, sustained; over it, that address's authenticated
    /// requests are `429` until its budget refills.
    #[arg(long, env = "SEALTRAIL_AUTH_FAILURES_PER_MINUTE", default_value_t = AUTH_FAILURES_PER_MINUTE, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failures_per_minute: u32,

    /// Failed authentications from one address at once before that rate applies.
    #[arg(long, env = "SEALTRAIL_AUTH_FAILURE_BURST", default_value_t = AUTH_FAILURE_BURST, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failure_burst: u32,

    /// Seconds an upload request may take, its body included (slower: `408 timeout`).
    #[arg(long, env = "SEALTRAIL_REQUEST_TIMEOUT_SECS", default_value_t = REQUEST_TIMEOUT_SECS, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub request_timeout_secs: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch_events: MAX_BATCH_EVENTS,
            max_string_bytes: MAX_STRING_BYTES,
            max_in_flight: MAX_IN_FLIGHT,
            max_in_flight_per_chain: MAX_IN_FLIGHT_PER_CHAIN,
            address_per_minute: ADDRESS_PER_MINUTE,
            address_burst: ADDRESS_BURST,
            credential_per_minute: CREDENTIAL_PER_MINUTE,
            credential_burst: CREDENTIAL_BURST,
            auth_failures_per_minute: AUTH_FAILURES_PER_MINUTE,
            auth_failure_burst: AUTH_FAILURE_BURST,
            request_timeout_secs: REQUEST_TIMEOUT_SECS,
        }
    }
}

/// Over a limit: the answer to give, and when to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Over {
    /// What a person reads (names the limit).
    pub message: String,
    /// Whole seconds until a retry can pass (`Retry-After`), at least 1.
    pub retry_after_secs: u64,
}

/// One token bucket: `tokens` as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by `K`: each key may spend `burst` at once and
/// regains `per_sec` a second.
#[derive(Debug)]
pub struct RateLimiter<K> {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_sec` a second, `burst` at once (each at least one).
    pub fn new(per_sec: f64, burst: u32) -> Self {
        Self::with_max_keys(per_sec, burst, MAX_KEYS)
    }

    fn with_max_keys(per_sec: f64, burst: u32, max_keys: usize) -> Self {
        Self {
            per_sec: per_sec.max(f64::MIN_POSITIVE),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
            max_keys,
        }
    }

    /// Seconds until `tokens` reach one.
    fn wait(&self, tokens: f64) -> u64 {
        let secs = ((1.0 - tokens) / self.per_sec).ceil();
        // INVARIANT: finite and positive here (tokens < 1, per_sec > 0);
        // the cast saturates anyway.
        (secs as u64).max(1)
    }

    fn refill(&self, b: Bucket, now: Instant) -> f64 {
        let gained = now.saturating_duration_since(b.at).as_secs_f64() * self.per_sec;
        (b.tokens + gained).min(self.burst)
    }

    /// Spends one token of `key`'s, or says how long until one is there.
    pub fn take(&self, key: &K) -> Result<(), u64> {
        self.spend(key, true)
    }

    /// Whether `key` has a token, spending none.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        self.spend(key, false)
    }

    fn spend(&self, key: &K, take: bool) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let tokens = match buckets.get(key) {
            Some(b) => self.refill(*b, now),
            None => {
                if !take {
                    return Ok(());
                }
                if buckets.len() >= self.max_keys {
                    // Drop the buckets that are full again: they hold nothing.
                    let burst = self.burst;
                    buckets.retain(|_, b| self.refill(*b, now) < burst);
                    if buckets.len() >= self.max_keys {
                        return Err(1);
                    }
                }
                self.burst
            }
        };
        if tokens < 1.0 {
            buckets.insert(key.clone(), Bucket { tokens, at: now });
            return Err(self.wait(tokens));
        }
        if take {
            buckets.insert(
                key.clone(),
                Bucket {
                    tokens: tokens - 1.0,
                    at: now,
                },
            );
        }
        Ok(())
    }
}

/// Requests being handled: overall and per key (a chain).
#[derive(Debug)]
pub struct InFlight {
    max: usize,
    max_per_key: usize,
    total: AtomicUsize,
    per_key: Mutex<HashMap<String, usize>>,
}

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Too many overall (`503 busy`).
    Overall(usize),
    /// Too many of this key (`429`).
    Key(usize),
}

/// A request let in: its place is given back when dropped.
#[derive(Debug)]
pub struct Slot {
    of: Arc<InFlight>,
    key: String,
}

impl InFlight {
    /// At most `max` at once, `max_per_key` of one key.
    pub fn new(max: usize, max_per_key: usize) -> Self {
        Self {
            max,
            max_per_key,
            total: AtomicUsize::new(0),
            per_key: Mutex::new(HashMap::new()),
        }
    }

    /// How many requests are being handled.
    pub fn len(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A place for a request of `key`, or which limit is reached.
    pub fn enter(self: &Arc<Self>, key: &str) -> Result<Slot, Full> {
        let mut per_key = self.per_key.lock().unwrap_or_else(|e| e.into_inner());
        if self.total.load(Ordering::Acquire) >= self.max {
            return Err(Full::Overall(self.max));
        }
        let n = per_key.entry(key.to_owned()).or_insert(0);
        if *n >= self.max_per_key {
            return Err(Full::Key(self.max_per_key));
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::AcqRel);
        Ok(Slot {
            of: Arc::clone(self),
            key: key.to_owned(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_key = self.of.per_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = per_key.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_key.remove(&self.key);
            }
        }
        self.of.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The limiters a running collector shares ([`crate::AppState`]).
#[derive(Debug)]
pub struct Limiter {
    /// The settings.
    pub limits: Limits,
    /// Upload requests per client address.
    pub addresses: RateLimiter<std::net::IpAddr>,
    /// Upload requests per credential: its chain, subject and session.
    pub credentials: RateLimiter<(String, String, String)>,
    /// Failed authentications per client address.
    pub failures: RateLimiter<std::net::IpAddr>,
    /// Upload requests being handled.
    pub in_flight: Arc<InFlight>,
}

impl Limiter {
    /// The limiters for `limits`.
    pub fn new(limits: &Limits) -> Self {
        Self {
            addresses: RateLimiter::new(
                f64::from(limits.address_per_minute) / 60.0,
                limits.address_burst,
            ),
            credentials: RateLimiter::new(
                f64::from(limits.credential_per_minute) / 60.0,
                limits.credential_burst,
            ),
            failures: RateLimiter::new(
                f64::from(limits.auth_failures_per_minute) / 60.0,
                limits.auth_failure_burst,
            ),
            in_flight: Arc::new(InFlight::new(
                limits.max_in_flight,
                limits.max_in_flight_per_chain,
            )),
            limits: limits.clone(),
        }
    }

    /// The upload routes' timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.limits.request_timeout_secs))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_bucket_spends_its_burst_then_waits() {
        let r = RateLimiter::new(1.0, 3);
        for _ in 0..3 {
            assert_eq!(r.take(&"a"), Ok(()));
        }
        assert_eq!(r.take(&"a"), Err(1));
        assert_eq!(r.take(&"b"), Ok(()), "another key has its own bucket");
        let slow = RateLimiter::new(10.0 / 60.0, 1);
        assert_eq!(slow.take(&"a"), Ok(()));
        assert_eq!(slow.take(&"a"), Err(6));
    }

    #[test]
    fn check_spends_nothing() {
        let r = RateLimiter::new(1.0, 1);
        assert_eq!(r.check(&"a"), Ok(()));
        assert_eq!(r.check(&"a"), Ok(()));
        assert_eq!(r.take(&"a"), Ok(()));
        assert_eq!(r.check(&"a"), Err(1));
    }

    #[test]
    fn a_full_table_drops_idle_keys_then_refuses_new_ones() {
        let r = RateLimiter::with_max_keys(1000.0, 1, 2);
        assert_eq!(r.take(&1), Ok(()));
        assert_eq!(r.take(&2), Ok(()));
        // Both spent: the table is full of busy keys.
        assert_eq!(r.take(&3), Err(1));
        std::thread::sleep(Duration::from_millis(5));
        // Refilled, so dropped to make room.
        assert_eq!(r.take(&3), Ok(()));
    }

    #[test]
    fn in_flight_counts_overall_and_per_key() {
        let f = Arc::new(InFlight::new(3, 2));
        let a1 = f.enter("a").unwrap();
        let _a2 = f.enter("a").unwrap();
        assert_eq!(f.enter("a").unwrap_err(), Full::Key(2));
        let _b = f.enter("b").unwrap();
        assert_eq!(f.enter("c").unwrap_err(), Full::Overall(3));
        drop(a1);
        let _c = f.enter("c").unwrap();
        assert_eq!(f.enter("a").unwrap_err(), Full::Overall(3));
    }
}
