//! Who may write a chain, and when: a pure judgement over the credential a
//! write came with, the credentials already seen for the chain, and the
//! batch (`docs/protocol.md`, "Credentials"). No database, no clock.
//!
//! - The first accepted credential binds the chain to its `sub`, `sid` and
//!   `role`; a credential naming anyone else is refused (`403`).
//! - Every event's `actor.id`, `session.id` and `actor.role` are the
//!   credential's `sub`, `sid` and `role` (`403` naming the event).
//! - Every event's `ts` lies in the window of a credential seen for the
//!   chain, this one included (`iat` minus the skew to `exp` plus the skew),
//!   and at most the skew ahead of the collector's clock (`409 clock`
//!   naming the event): the credential's `iat` is the host's trusted time.

use sealtrail::credential::Claims;
use sealtrail::wire::Refusal;

use crate::store::credentials::Seen;

/// Why a write is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// `409 clock` (else `403 forbidden`).
    pub clock: bool,
    /// The event at fault, if one is.
    pub seq: Option<u64>,
    /// The cause, one word (`owner`, `actor`, `session`, `role`, `before`,
    /// `after`, `ahead`): the refused batches of a chain make one finding per cause.
    pub cause: &'static str,
    /// What a person reads.
    pub message: String,
}

impl Fault {
    /// The protocol's answer: `409 clock` or `403 forbidden`, naming the event.
    pub fn refusal(&self) -> Refusal {
        let message = self.message.clone();
        match (self.clock, self.seq) {
            (true, Some(seq)) => Refusal::Clock { seq, message },
            (_, seq) => Refusal::Forbidden { message, seq },
        }
    }
}

/// The members of an event a credential speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claimed<'a> {
    /// `seq`.
    pub seq: u64,
    /// `ts`, in milliseconds.
    pub ts_ms: i64,
    /// `actor.id`.
    pub actor_id: &'a str,
    /// `session.id`.
    pub session_id: &'a str,
    /// `actor.role`.
    pub role: &'a str,
}

/// `Ok` when `claims` may write `batch` to a chain whose credentials so
/// far are `seen`, at collector time `now_ms`.
pub fn judge(
    claims: &Claims,
    seen: &[Seen],
    batch: &[Claimed<'_>],
    now_ms: i64,
    skew_ms: i64,
) -> Result<(), Fault> {
    owner(claims, seen)?;
    let forbidden = |seq, cause, message| Fault {
        clock: false,
        seq: Some(seq),
        cause,
        message,
    };
    for e in batch {
        let seq = e.seq;
        if e.actor_id != claims.sub {
            return Err(forbidden(
                seq,
                "actor",
                format!(
                    "event seq {seq}: `/actor/id` is `{}` but the credential is `{}`'s",
                    e.actor_id, claims.sub
                ),
            ));
        }
        if e.session_id != claims.sid {
            return Err(forbidden(
                seq,
                "session",
                format!(
                    "event seq {seq}: `/session/id` is `{}` but the credential is for session `{}`",
                    e.session_id, claims.sid
                ),
            ));
        }
        if e.role != claims.role {
            return Err(forbidden(seq, "role", format!(
                "event seq {seq}: `/actor/role` is `{}` but the credential grants `{}` (a new role is a new credential and a new chain)",
                e.role, claims.role
            )));
        }
    }
    let this = Seen::of(claims);
    let windows = || {
        seen.iter().chain(std::iter::once(&this)).map(|s| {
            (
                s.iat_ms.saturating_sub(skew_ms),
                s.exp_ms.saturating_add(skew_ms),
            )
        })
    };
    let (first, last) = windows().fold((i64::MAX, i64::MIN), |(a, b), (from, to)| {
        (a.min(from), b.max(to))
    });
    for e in batch {
        let (seq, ts) = (e.seq, e.ts_ms);
        let clock = |cause, message| Fault {
            clock: true,
            seq: Some(seq),
            cause,
            message,
        };
        if ts > now_ms.saturating_add(skew_ms) {
            return Err(clock(
                "ahead",
                format!(
                    "event seq {seq} is stamped {}, ahead of this collector's clock ({})",
                    crate::clock::rfc3339(ts),
                    crate::clock::rfc3339(now_ms)
                ),
            ));
        }
        if !windows().any(|(from, to)| (from..=to).contains(&ts)) {
            let cause = if ts < first {
                "before"
            } else if ts > last {
                "after"
            } else {
                "between"
            };
            return Err(clock(cause, format!(
                "event seq {seq} is stamped {}, outside every credential window of its chain ({} to {} at the widest)",
                crate::clock::rfc3339(ts),
                crate::clock::rfc3339(first),
                crate::clock::rfc3339(last)
            )));
        }
    }
    Ok(())
}

/// `Ok` when `claims` are the chain's owner's (or the chain has none yet).
pub fn owner(claims: &Claims, seen: &[Seen]) -> Result<(), Fault> {
    match seen.first() {
        Some(o) if (o.sub.as_str(), o.sid.as_str(), o.role.as_str())
            != (claims.sub.as_str(), claims.sid.as_str(), claims.role.as_str()) =>
        {
            Err(Fault {
                clock: false,
                seq: None,
                cause: "owner",
                message: format!(
                    "the chain belongs to `{}` (session `{}`, role `{}`); a credential of `{}` (session `{}`, role `{}`) cannot write it",
                    o.sub, o.sid, o.role, claims.sub, claims.sid, claims.role
                ),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sealtrail::event::ChainId;

    const SKEW: i64 = 120_000;
    const IAT: i64 = 1_800_000_000;

    fn claims(sub: &str, iat: i64, exp: i64) -> Claims {
        Claims {
            sub: sub.into(),
            sid: "s-1".into(),
            role: "nurse".into(),
            chain: ChainId::parse("00112233445566778899aabbccddeeff").unwrap(),
            iat,
            exp,
        }
    }

    fn event(seq: u64, ts_ms: i64) -> Claimed<'static> {
        Claimed {
            seq,
            ts_ms,
            actor_id: "u-1",
            session_id: "s-1",
            role: "nurse",
        }
    }

    #[test]
    fn the_owner_writes_inside_its_windows() {
        let c = claims("u-1", IAT, IAT + 3600);
        let now = IAT * 1000 + 60_000;
        assert_eq!(judge(&c, &[], &[event(0, now - 1000)], now, SKEW), Ok(()));
        // An event in an earlier window seen for the chain, uploaded with a refreshed credential.
        let old = Seen::of(&claims("u-1", IAT - 7200, IAT - 3600));
        let then = (IAT - 5000) * 1000;
        assert_eq!(judge(&c, &[old], &[event(1, then)], now, SKEW), Ok(()));
        let err = judge(&c, &[], &[event(1, then)], now, SKEW).unwrap_err();
        assert_eq!((err.clock, err.seq, err.cause), (true, Some(1), "before"));
    }

    #[test]
    fn another_owner_actor_session_or_role_is_forbidden() {
        let c = claims("u-1", IAT, IAT + 3600);
        let now = IAT * 1000;
        let theirs = Seen::of(&claims("u-2", IAT, IAT + 3600));
        assert_eq!(
            judge(&c, &[theirs], &[event(0, now)], now, SKEW)
                .unwrap_err()
                .cause,
            "owner"
        );
        for (e, cause) in [
            (
                Claimed {
                    actor_id: "u-2",
                    ..event(3, now)
                },
                "actor",
            ),
            (
                Claimed {
                    session_id: "s-2",
                    ..event(3, now)
                },
                "session",
            ),
            (
                Claimed {
                    role: "admin",
                    ..event(3, now)
                },
                "role",
            ),
        ] {
            let err = judge(&c, &[], &[event(2, now), e], now, SKEW).unwrap_err();
            assert_eq!((err.clock, err.seq, err.cause), (false, Some(3), cause));
        }
    }

    #[test]
    fn stamps_of_1970_9999_or_ahead_of_the_collector_are_clock_faults() {
        let c = claims("u-1", IAT, IAT + 36_000);
        let now = IAT * 1000 + 60_000;
        for (ts, cause) in [
            (0, "before"),
            (253_402_300_799_000, "ahead"),
            (now + 600_000, "ahead"),
            (now + SKEW - 1, ""),
        ] {
            let got = judge(&c, &[], &[event(0, ts)], now, SKEW);
            match got {
                Ok(()) => assert_eq!(cause, "", "{ts}"),
                Err(f) => assert_eq!((f.clock, f.cause), (true, cause), "{ts}"),
            }
        }
        // Past `exp` (the host's clock), even when the collector's is later.
        let later = (IAT + 36_000) * 1000 + SKEW + 1;
        let f = judge(&c, &[], &[event(0, later)], later + 3_600_000, SKEW).unwrap_err();
        assert_eq!(f.cause, "after");
    }
}
