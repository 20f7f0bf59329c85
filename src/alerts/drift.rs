//! `clock-drift`: a chain whose event times disagree with the collector's
//! clock beyond what an honest device explains. Judged only where there is
//! a receive time ([`super::AlertEngine::push_received`], the collector).
//!
//! Two causes, each reported once per chain:
//!
//! - `ahead`: an event stamped more than `aheadMinutes` after the collector
//!   received it. No upload, however late, makes a time run ahead of the
//!   clock that receives it.
//! - `behind`: an event stamped more than `maxOfflineDays` before the
//!   collector received it. Events written offline and uploaded later are
//!   legitimate, and never this old: the collector accepts them under their
//!   credential for a bounded period only.
//!
//! A chain whose time runs backwards is not judged here: the collector
//! refuses it as tampering (`backdated`), so it is never stored.

use std::collections::HashSet;

use super::{EventRef, Finding, RuleId, StaffRef};
use crate::event::{ChainId, Event};
use crate::policy::ClockDrift;
use crate::Timestamp;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Why a chain's clock is taken to drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Cause {
    Ahead,
    Behind,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::Ahead => "ahead",
            Cause::Behind => "behind",
        }
    }
}

/// The rule's state: the chains and causes already reported.
#[derive(Debug, Clone)]
pub(super) struct Drift {
    cfg: ClockDrift,
    fired: HashSet<(ChainId, Cause)>,
}

impl Drift {
    pub(super) fn new(cfg: ClockDrift) -> Self {
        Self {
            cfg,
            fired: HashSet::new(),
        }
    }

    /// Judges `e`, received at `received_ms` and judged at `at`: a finding
    /// the first time its chain shows a cause.
    pub(super) fn judge(&mut self, e: &Event, at: Timestamp, received_ms: i64) -> Option<Finding> {
        let ts = e.ts.millis();
        let ahead = ts.saturating_sub(received_ms);
        let behind = received_ms.saturating_sub(ts);
        let ahead_limit = i64::from(self.cfg.ahead_minutes) * MINUTE_MS;
        let behind_limit = i64::from(self.cfg.max_offline_days) * DAY_MS;
        let (cause, words) = if ahead > ahead_limit {
            (
                Cause::Ahead,
                format!(
                    "{} minutes ahead of the collector's clock when it arrived (more than {} allowed)",
                    ahead / MINUTE_MS,
                    self.cfg.ahead_minutes
                ),
            )
        } else if behind > behind_limit {
            (
                Cause::Behind,
                format!(
                    "{} days before the collector received it (more than the {} days an offline upload may take)",
                    behind / DAY_MS,
                    self.cfg.max_offline_days
                ),
            )
        } else {
            return None;
        };
        if !self.fired.insert((e.chain.clone(), cause)) {
            return None;
        }
        let mut f = Finding::new(
            RuleId::ClockDrift,
            vec![StaffRef {
                id: e.body.actor.id.clone(),
                role: e.body.actor.role.clone(),
            }],
            e.body
                .subject
                .as_ref()
                .map(|s| vec![s.record_id.clone()])
                .unwrap_or_default(),
            vec![EventRef {
                chain: e.chain.clone(),
                seq: e.seq,
            }],
            at,
            format!(
                "chain `{}` has a clock running {}: event {} is stamped {}, {words}",
                e.chain,
                cause.as_str(),
                e.seq,
                e.ts
            ),
        );
        f.cause = Some(cause.as_str().to_owned());
        Some(f)
    }
}
