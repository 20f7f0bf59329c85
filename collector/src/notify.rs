//! The notification hook (off by default): an outgoing webhook that tells a
//! case's recipients it opened (the route's primary and backup), that it is
//! still new past its response time (the escalation path) or that it was
//! assigned to them. Messages are queued in the `notifications` outbox (a
//! case is announced once per kind, however often it is seen) and sent by
//! a background round ([`Notifier::tick`]) as a JSON `POST` signed with
//! HMAC-SHA256 over the exact body under the configured secret
//! (`Sealtrail-Signature: sha256=<hex>`), retried with growing pauses until
//! a `2xx` or [`MAX_ATTEMPTS`]. Bodies carry ids, severity and rule, never
//! evidence or notes: the recipient opens the review page to see more.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::cases::model::{Case, CaseState};
use crate::cases::queue;
use crate::state::AppState;
use crate::store::notifications::{self, New};
use crate::store::{readlog, WriteTx};

/// Attempts per message before it is given up (its last error stays in the outbox).
pub const MAX_ATTEMPTS: i64 = 8;
/// The pause after the first failure; it doubles after each, up to [`MAX_PAUSE_MS`].
pub const FIRST_PAUSE_MS: i64 = 30_000;
/// The longest pause between attempts.
pub const MAX_PAUSE_MS: i64 = 3_600_000;
/// How far before the last round a round looks for new cases (a batch's
/// findings may commit a little after the time they carry).
const LOOKBACK_MS: i64 = 10 * 60_000;
/// The `meta` key of the last round's time.
const CURSOR: &str = "notify_cursor";
/// Shortest secret accepted, in bytes.
const SECRET_MIN: usize = 16;

/// Why the hook's settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NotifyConfigError {
    /// The URL does not parse or is not http(s).
    #[error("notify URL `{0}`: expected an `http://` or `https://` URL")]
    Url(String),
    /// A URL without a secret, or a short one.
    #[error("a notify URL needs `--notify-secret` (SEALTRAIL_NOTIFY_SECRET) of at least {SECRET_MIN} bytes")]
    Secret,
    /// The HTTP client could not be built.
    #[error("cannot build the notify client: {0}")]
    Client(String),
}

struct Hook {
    url: reqwest::Url,
    secret: Vec<u8>,
    client: reqwest::Client,
}

/// The hook, or nothing when no URL is configured.
pub struct Notifier {
    hook: Option<Hook>,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Messages queued.
    pub queued: usize,
    /// Messages delivered.
    pub delivered: usize,
    /// Attempts that failed.
    pub failed: usize,
}

impl Notifier {
    /// The hook posting to `url` signed with `secret`, or none without a URL.
    pub fn new(url: Option<&str>, secret: Option<&str>) -> Result<Self, NotifyConfigError> {
        let Some(url) = url else {
            return Ok(Self { hook: None });
        };
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| NotifyConfigError::Url(url.to_owned()))?;
        let secret = secret
            .filter(|s| s.len() >= SECRET_MIN)
            .ok_or(NotifyConfigError::Secret)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| NotifyConfigError::Client(e.to_string()))?;
        Ok(Self {
            hook: Some(Hook {
                url: parsed,
                secret: secret.as_bytes().to_vec(),
                client,
            }),
        })
    }

    /// Whether a hook is configured.
    pub fn enabled(&self) -> bool {
        self.hook.is_some()
    }

    /// Queues `case.assigned` to the new assignee, in the transaction that assigns.
    pub async fn assigned(
        &self,
        tx: &mut WriteTx,
        case: &Case,
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        let Some(assignee) = &case.assignee else {
            return Ok(());
        };
        if !self.enabled() {
            return Ok(());
        }
        // One message per assignment: the id carries the step's time.
        let kind = "case.assigned";
        let when = case.updated.as_deref().unwrap_or_default();
        let id = format!("{kind}:{}:{assignee}:{when}", case.source.id);
        let body = body(kind, &id, case, &[(assignee.as_str(), "assignee")], now_ms);
        queue_new(tx, &id, case, kind, &body, now_ms)
            .await
            .map(drop)
    }

    /// One round: queue `case.opened` for cases opened since the last round
    /// and `case.escalated` for cases new past their response time, then
    /// send whatever is due. Does nothing without a hook.
    pub async fn tick(&self, state: &AppState) -> Result<Round, sqlx::Error> {
        let Some(hook) = &self.hook else {
            return Ok(Round::default());
        };
        let store = &state.store;
        let now = state.clock.now_ms();
        let cursor = readlog::meta(store, CURSOR)
            .await?
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(now);
        let widest = [
            &state.review.routing.critical,
            &state.review.routing.high,
            &state.review.routing.medium,
        ]
        .iter()
        .map(|r| i64::from(r.respond_within_minutes) * 60_000)
        .max()
        .unwrap_or(0);
        let since = cursor
            .min(now.saturating_sub(widest))
            .saturating_sub(LOOKBACK_MS);
        let cases = queue::all(store, &state.review, since, true, now).await?;
        let mut round = Round::default();
        let mut tx = store.begin_write().await?;
        for c in &cases {
            if c.state == CaseState::New && c.source.opened_ms >= cursor.saturating_sub(LOOKBACK_MS)
            {
                let kind = "case.opened";
                let id = format!("{kind}:{}", c.source.id);
                let mut to = Vec::new();
                if let Some(p) = &c.routing.primary {
                    to.push((p.as_str(), "primary"));
                }
                if let Some(b) = &c.routing.backup {
                    to.push((b.as_str(), "backup"));
                }
                let body = body(kind, &id, c, &to, now);
                round.queued += usize::from(queue_new(&mut tx, &id, c, kind, &body, now).await?);
            }
            if c.overdue && !c.escalated_to.is_empty() {
                let kind = "case.escalated";
                let id = format!("{kind}:{}", c.source.id);
                let to: Vec<(&str, &str)> = c
                    .escalated_to
                    .iter()
                    .map(|e| (e.as_str(), "escalation"))
                    .collect();
                let body = body(kind, &id, c, &to, now);
                round.queued += usize::from(queue_new(&mut tx, &id, c, kind, &body, now).await?);
            }
        }
        tx.commit().await?;
        readlog::set_meta(store, CURSOR, &now.to_string()).await?;
        for m in notifications::due(store, now, MAX_ATTEMPTS).await? {
            match hook.send(&m.id, &m.body).await {
                Ok(()) => {
                    notifications::delivered(store, &m.id, state.clock.now_ms()).await?;
                    round.delivered += 1;
                }
                Err(error) => {
                    tracing::warn!(delivery = %m.id, %error, "notification not delivered");
                    let next = now.saturating_add(pause_ms(m.attempts));
                    notifications::failed(store, &m.id, &error, next).await?;
                    round.failed += 1;
                }
            }
        }
        Ok(round)
    }
}

impl Hook {
    async fn send(&self, id: &str, body: &str) -> Result<(), String> {
        let resp = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header(
                "sealtrail-signature",
                format!("sha256={}", sign(&self.secret, body.as_bytes())),
            )
            .header("sealtrail-delivery", id)
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| format!("cannot reach the hook: {e}"))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("the hook answered {}", resp.status()))
        }
    }
}

/// Hex HMAC-SHA256 of `body` under `secret`: what `Sealtrail-Signature` carries after `sha256=`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        // INVARIANT: HMAC takes keys of any length.
        return String::new();
    };
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The pause after `failures` failed attempts: 30 s, doubling, at most an hour.
pub fn pause_ms(failures: i64) -> i64 {
    let doublings = u32::try_from(failures.clamp(0, 20)).unwrap_or(20);
    FIRST_PAUSE_MS
        .saturating_mul(1i64 << doublings)
        .min(MAX_PAUSE_MS)
}

/// A message body: what happened, to which case, for whom. No evidence.
fn body(kind: &str, id: &str, c: &Case, to: &[(&str, &str)], now_ms: i64) -> String {
    let recipients: Vec<Value> = to
        .iter()
        .map(|(who, role)| json!({ "id": who, "as": role }))
        .collect();
    json!({
        "type": kind,
        "delivery": id,
        "created": crate::clock::rfc3339(now_ms),
        "recipients": recipients,
        "case": {
            "id": c.source.id.to_string(),
            "kind": c.source.kind,
            "severity": c.source.severity,
            "rule": c.source.rule,
            "state": c.state,
            "assignee": c.assignee,
            "opened": crate::clock::rfc3339(c.source.opened_ms),
            "respondBy": c.respond_by,
            "overdue": c.overdue,
        },
        "review": format!("/review.html#case={}", c.source.id),
    })
    .to_string()
}

async fn queue_new(
    tx: &mut WriteTx,
    id: &str,
    c: &Case,
    kind: &str,
    body: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    notifications::queue(
        tx,
        New {
            id,
            case_id: &c.source.id.to_string(),
            kind,
            body,
        },
        now_ms,
    )
    .await
}

/// Runs a round every `interval` while the collector runs (when a hook is configured).
pub fn spawn(state: AppState, interval: Duration) {
    if !state.notifier.enabled() {
        return;
    }
    tokio::spawn(async move {
        // The first round after one interval: a collector just started has
        // nothing queued that its last run did not try.
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = state.notifier.tick(&state).await {
                tracing::warn!(error = %e, "notification round failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_known_answer() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn pauses_double_up_to_an_hour() {
        assert_eq!(pause_ms(0), 30_000);
        assert_eq!(pause_ms(1), 60_000);
        assert_eq!(pause_ms(6), 1_920_000);
        assert_eq!(pause_ms(7), MAX_PAUSE_MS);
        assert_eq!(pause_ms(1000), MAX_PAUSE_MS);
    }

    #[test]
    fn settings_refuse_bad_urls_and_short_secrets() {
        assert!(!Notifier::new(None, None).unwrap().enabled());
        let secret = Some("0123456789abcdef");
        assert!(Notifier::new(Some("http://127.0.0.1:9/hook"), secret)
            .unwrap()
            .enabled());
        assert!(matches!(
            Notifier::new(Some("ftp://x/"), secret),
            Err(NotifyConfigError::Url(_))
        ));
        assert!(matches!(
            Notifier::new(Some("http://x/"), Some("short")),
            Err(NotifyConfigError::Secret)
        ));
        assert!(matches!(
            Notifier::new(Some("http://x/"), None),
            Err(NotifyConfigError::Secret)
        ));
    }
}
