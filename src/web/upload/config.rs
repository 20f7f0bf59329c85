//! The uploader's tuning, from the host's options.

use crate::page::StartOptions;
use crate::tlog::Trust;

/// Tuning of the uploader: the host's options (checked by the core).
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// Collector base URL, without a trailing slash (`/api`, `https://c.example/api`).
    pub endpoint: String,
    /// Most events in one POST.
    pub batch_events: u32,
    /// Most bytes in one POST body (the first event always goes).
    pub batch_bytes: usize,
    /// How long a new event waits for company before it is sent.
    pub delay_ms: u32,
    /// A request that takes longer is aborted and retried.
    pub timeout_ms: u32,
    /// First retry delay; doubles per failure.
    pub backoff_ms: u32,
    /// Longest retry delay.
    pub backoff_max_ms: u32,
    /// The collector's log keys: with them, nothing is deleted before its
    /// acknowledgement's proof holds ([`super::receipt`]).
    pub log: Option<Trust>,
}

impl UploadConfig {
    /// Uploads to `endpoint` as `options` say.
    pub fn new(endpoint: &str, options: &StartOptions) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            batch_events: options.batch_events,
            batch_bytes: options.batch_bytes as usize,
            delay_ms: options.batch_delay_ms,
            timeout_ms: options.timeout_ms,
            backoff_ms: options.backoff_ms,
            backoff_max_ms: options.backoff_max_ms,
            log: options.log.clone(),
        }
    }

    /// Full-jitter exponential backoff: a random delay in the upper half of
    /// `base * 2^(attempt-1)`, capped.
    pub fn backoff(&self, attempt: u32) -> u32 {
        let exp = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .backoff_ms
            .saturating_mul(1u32 << exp)
            .min(self.backoff_max_ms)
            .max(2);
        ceiling / 2 + super::super::entropy::below(ceiling / 2)
    }
}
