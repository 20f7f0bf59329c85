//! Alert findings from the core's streaming [`AlertEngine`] (one source of
//! truth for the rules of seed 003), fed as batches are stored, inside the
//! transaction that stores them, and warmed at start with the events inside
//! the widest rule window. The server's clock bounds every window: an event
//! is judged at `min(ts, received + skew)` ([`sealtrail::alerts::bounded_time`]),
//! live and on the replay, so one event stamped in the future cannot reset
//! or advance the windows the others are judged in. Findings are persisted beside the fork and tamper
//! findings, fingerprinted so a finding seen again is stored once: a batch
//! acknowledged is a batch whose findings are stored, even across a crash.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use sqlx::{Any, Executor};
use tokio::sync::Mutex;

use sealtrail::alerts::{AlertEngine, Finding};
use sealtrail::event::Event;
use sealtrail::policy::AlertConfig;
use sealtrail::policy::Policy;

use crate::store::findings::NewFinding;
use crate::store::{self, Store, WriteTx};

/// Why the alert rules could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AlertSetupError {
    /// The policy file could not be read.
    #[error("cannot read policy file `{path}`: {source}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The policy is invalid.
    #[error("policy file `{path}`: {message}")]
    Policy {
        /// The path.
        path: String,
        /// The core's message.
        message: String,
    },
}

/// The alert settings and break-glass roles the collector judges by.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    /// Thresholds, business hours, time zone.
    pub config: AlertConfig,
    /// Roles allowed to break the glass.
    pub break_glass_roles: Vec<String>,
}

/// Reads and checks the policy file, if one is configured.
pub fn read_policy(path: Option<&Path>) -> Result<Option<Policy>, AlertSetupError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| AlertSetupError::Read {
        path: shown.clone(),
        source,
    })?;
    Policy::parse(&text)
        .map(Some)
        .map_err(|e| AlertSetupError::Policy {
            path: shown,
            message: e.to_string(),
        })
}

impl AlertSettings {
    /// From a policy, or the seed 003 defaults when there is none.
    pub fn of(policy: Option<&Policy>) -> Self {
        match policy {
            Some(p) => Self {
                config: p.doc().alerts.clone(),
                break_glass_roles: p.doc().break_glass.roles.clone(),
            },
            None => Self {
                config: AlertConfig::default(),
                break_glass_roles: vec!["admin".into(), "safeguardingLead".into()],
            },
        }
    }

    /// The widest rule window, in milliseconds: how far back a restart
    /// re-reads (the baselines of the pattern rules reach back weeks).
    pub fn widest_window_ms(&self) -> i64 {
        self.config.longest_window_ms()
    }
}

/// The running engine. Its windows hold the events of committed batches
/// only: a batch is judged inside the transaction that stores it (so its
/// findings commit with its events, or neither does), and if that
/// transaction does not commit the engine is marked stale and rebuilt from
/// the store before it judges again.
pub struct Alerting {
    engine: Mutex<AlertEngine>,
    stale: AtomicBool,
    settings: AlertSettings,
    /// How far ahead of the receive time an event's `ts` may count.
    skew_ms: i64,
}

impl Alerting {
    /// An engine with `settings`, judging events no later than their
    /// receive time plus `skew_ms` (the clock skew credentials allow).
    pub fn new(settings: AlertSettings, skew_ms: i64) -> Result<Self, AlertSetupError> {
        Ok(Self {
            engine: Mutex::new(fresh(&settings)?),
            stale: AtomicBool::new(false),
            settings,
            skew_ms: skew_ms.max(0),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    /// Judges events about to be stored (in order), received at
    /// `received_ms` by the collector's clock, and returns the findings
    /// they complete, to store in the same transaction. Call it before the
    /// events are inserted: a stale engine is rebuilt through `tx`, from
    /// what is committed.
    pub async fn judge(
        &self,
        tx: &mut WriteTx,
        events: &[Option<Event>],
        received_ms: i64,
    ) -> Result<Vec<NewFinding>, sqlx::Error> {
        let mut engine = self.engine.lock().await;
        if self.stale.swap(false, Ordering::AcqRel) {
            // Through the transaction's own connection: no second one is
            // needed while every connection may be held by a waiting batch.
            if let Err(e) = self.rebuild(&mut engine, tx.conn()).await {
                self.stale.store(true, Ordering::Release);
                return Err(e);
            }
        }
        let mut out = Vec::new();
        for e in events {
            match e {
                Some(e) => out.extend(
                    engine
                        .push_received(e, received_ms, self.skew_ms)
                        .iter()
                        .map(to_new_finding),
                ),
                None => tracing::warn!("event skipped by the alert rules: not a sealtrail event"),
            }
        }
        Ok(out)
    }

    /// Marks the engine stale: events it judged were not stored after all.
    pub fn forget(&self) {
        self.stale.store(true, Ordering::Release);
    }

    /// Re-reads the events inside the widest window before the newest one,
    /// in the order of the time they are judged at (bounded by their
    /// receive time, as when they arrived), so the windows are warm after
    /// a restart. What they complete was stored with them, so the replay's
    /// findings are dropped, not stored twice.
    pub async fn warm(&self, store: &Store) -> Result<(), sqlx::Error> {
        let mut engine = self.engine.lock().await;
        self.rebuild(&mut engine, store.pool()).await
    }

    async fn rebuild<'e>(
        &self,
        engine: &mut AlertEngine,
        conn: impl Executor<'e, Database = Any>,
    ) -> Result<(), sqlx::Error> {
        let lines = store::events::latest(
            conn,
            self.settings.widest_window_ms(),
            crate::clock::now_ms(),
            self.skew_ms,
        )
        .await?;
        // INVARIANT: `new` built an engine from these settings already.
        if let Ok(e) = fresh(&self.settings) {
            *engine = e;
        }
        for (line, received_ms) in lines {
            if let Ok(e) = serde_json::from_str::<Event>(&line) {
                let _replayed = engine.push_received(&e, received_ms, self.skew_ms);
            }
        }
        Ok(())
    }
}

fn fresh(settings: &AlertSettings) -> Result<AlertEngine, AlertSetupError> {
    AlertEngine::new(
        settings.config.clone(),
        settings.break_glass_roles.iter().cloned(),
    )
    .map_err(|e| AlertSetupError::Policy {
        path: "alerts".into(),
        message: e.to_string(),
    })
}

/// A core finding as a stored finding: evidence is the finding itself
/// (rule, actors, records, the events that prove it).
fn to_new_finding(f: &Finding) -> NewFinding {
    let first = f.events.first();
    NewFinding {
        kind: "alert",
        severity: f.severity.as_str().to_owned(),
        rule: f.rule.as_str().to_owned(),
        chain: first.map(|r| r.chain.to_string()),
        seq: first.map(|r| r.seq),
        actor_id: f.actors.first().map(|a| a.id.clone()),
        record_id: f.records.first().cloned(),
        message: f.summary.clone(),
        evidence: serde_json::to_value(f).unwrap_or(Value::Null),
        once_per: f.cause.clone(),
    }
}
