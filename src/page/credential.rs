//! The upload credential of a chain, as the browser holds it: the text the
//! host's `credential` callback returned, checked against the chain and the
//! login it is for, and when to ask for a fresh one (`docs/protocol.md`,
//! "Credentials").
//!
//! The browser never verifies a credential's signature (it holds no key and
//! carries no JWT library): it only [`Claims::peek`]s at the claims so that
//! a credential minted for another chain, user, session or role, or already
//! expired, keeps the events local with a reason instead of earning a
//! `403` and a finding at the collector.

use crate::credential::{Claims, CredentialError};
use crate::event::ChainId;
use crate::session::Session;

/// Least time before `exp` a credential is asked for again, ms.
const REFRESH_MIN_MS: i64 = 10_000;
/// Most time before `exp` a credential is asked for again, ms.
const REFRESH_MAX_MS: i64 = 300_000;

/// A credential this browser uploads a chain with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCredential {
    token: String,
    claims: Claims,
}

/// Why a chain's events stay in this browser for now: no usable credential.
/// Shown in `status()` (the chain's `held`) and its `lastError`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Held {
    /// The host gave `start` no `credential` callback.
    #[error(
        "no upload credential: `options.credential` is not given, so events stay in this browser"
    )]
    NoSource,
    /// A chain of an earlier page load or login that has none stored: no
    /// later login signs for it.
    #[error("chain `{0}` has no stored upload credential; its events stay in this browser")]
    NoneStored(String),
    /// The host's callback threw, rejected or returned something else than text.
    #[error("the host gave no upload credential for chain `{chain}`: {why}")]
    Host {
        /// The chain asked for.
        chain: String,
        /// What went wrong, as the host's callback said.
        why: String,
    },
    /// The text is not a credential.
    #[error("the host's upload credential for chain `{chain}` is unusable: {source}")]
    Malformed {
        /// The chain asked for.
        chain: String,
        /// Why.
        source: CredentialError,
    },
    /// Minted for another chain.
    #[error("the host's upload credential is for chain `{found}`, expected `{expected}`")]
    OtherChain {
        /// The chain asked for.
        expected: String,
        /// The credential's `chain`.
        found: String,
    },
    /// Minted for another user, session or role than this login's.
    #[error("the host's upload credential names {claim} `{found}`, expected `{expected}` (the session's)")]
    OtherOwner {
        /// `sub`, `sid` or `role`.
        claim: &'static str,
        /// The session's value.
        expected: String,
        /// The credential's.
        found: String,
    },
    /// Its `exp` has passed.
    #[error("the upload credential of chain `{chain}` expired at {exp} (seconds since 1970)")]
    Expired {
        /// The chain.
        chain: String,
        /// Its `exp`.
        exp: i64,
    },
    /// The collector answered `401` (expired past its grace, forged, ...).
    #[error("the collector refused the upload credential of chain `{chain}`: {message}")]
    Refused {
        /// The chain.
        chain: String,
        /// The collector's words.
        message: String,
    },
}

impl Held {
    /// Whether asking again later may help (a failing host callback, a
    /// refused credential of the live chain); `false` for what no later
    /// round changes (no callback, an old chain without a credential).
    pub fn may_pass(&self) -> bool {
        !matches!(self, Held::NoSource | Held::NoneStored(_))
    }
}

impl ChainCredential {
    /// Takes `token`, the host's answer for `chain`, if it names `chain`
    /// and the owner `session` (user, login session and role) and has not
    /// expired at `now_ms`.
    pub fn accept(
        token: String,
        chain: &ChainId,
        session: &Session,
        now_ms: i64,
    ) -> Result<Self, Held> {
        let claims = Claims::peek(&token).map_err(|source| Held::Malformed {
            chain: chain.to_string(),
            source,
        })?;
        if &claims.chain != chain {
            return Err(Held::OtherChain {
                expected: chain.to_string(),
                found: claims.chain.to_string(),
            });
        }
        for (claim, found, expected) in [
            ("sub", &claims.sub, &session.user_id),
            ("sid", &claims.sid, &session.session_id),
            ("role", &claims.role, &session.role),
        ] {
            if found != expected {
                return Err(Held::OtherOwner {
                    claim,
                    expected: expected.clone(),
                    found: found.clone(),
                });
            }
        }
        let this = Self { token, claims };
        this.live(now_ms)?;
        Ok(this)
    }

    /// A credential stored beside `chain` by an earlier round or page load:
    /// used as it is (the collector takes late uploads after `exp` for a
    /// while), `None` when it is no longer a credential for that chain.
    pub fn stored(token: String, chain: &ChainId) -> Option<Self> {
        let claims = Claims::peek(&token).ok()?;
        (&claims.chain == chain).then_some(Self { token, claims })
    }

    /// The compact JWS, as sent.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// What it claims (unverified).
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// `Ok` unless `exp` has passed at `now_ms`.
    pub fn live(&self, now_ms: i64) -> Result<(), Held> {
        if now_ms >= self.claims.exp.saturating_mul(1000) {
            return Err(Held::Expired {
                chain: self.claims.chain.to_string(),
                exp: self.claims.exp,
            });
        }
        Ok(())
    }

    /// When to ask the host for the next one, ms since 1970: a fifth of the
    /// lifetime before `exp` (10 s to 5 min), never before half of it.
    pub fn refresh_at_ms(&self) -> i64 {
        let (iat, exp) = (
            self.claims.iat.saturating_mul(1000),
            self.claims.exp.saturating_mul(1000),
        );
        let life = exp.saturating_sub(iat);
        let early = (life / 5)
            .clamp(REFRESH_MIN_MS, REFRESH_MAX_MS)
            .min(life / 2);
        exp.saturating_sub(early)
    }

    /// Whether the live chain should ask for a fresh one at `now_ms`.
    pub fn due(&self, now_ms: i64) -> bool {
        now_ms >= self.refresh_at_ms()
    }
}

/// Whether `next` is another owner than `current`: another user, login
/// session or role. Their events never continue the same chain (the
/// collector binds a chain to one owner), so the page starts a new one.
pub fn owner_changes(current: &Session, next: &Session) -> bool {
    current.user_id != next.user_id
        || current.session_id != next.session_id
        || current.role != next.role
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    const CHAIN: &str = "00112233445566778899aabbccddeeff";

    fn jwt(claims: &Value) -> String {
        let part = |v: String| URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.c2ln",
            part(r#"{"alg":"EdDSA"}"#.into()),
            part(claims.to_string())
        )
    }

    fn session() -> Session {
        let policy =
            crate::policy::Policy::parse(include_str!("../../pkg-config/policy.default.json"))
                .unwrap();
        Session::from_value(
            &json!({
                "userId": "u-1", "name": "N", "role": "nurse", "authStrength": "mfa",
                "authTime": "2027-01-15T09:00:00.000Z", "expiresAt": "2027-01-15T17:00:00.000Z",
                "sessionId": "s-1", "client": "test"
            }),
            &policy,
            crate::Timestamp::parse("2027-01-15T10:00:00.000Z").unwrap(),
        )
        .unwrap()
    }

    fn claims(iat: i64, exp: i64) -> Value {
        json!({"sub": "u-1", "sid": "s-1", "role": "nurse", "chain": CHAIN, "iat": iat, "exp": exp})
    }

    fn chain() -> ChainId {
        ChainId::parse(CHAIN).unwrap()
    }

    #[test]
    fn takes_a_credential_for_this_chain_and_owner() {
        let c = ChainCredential::accept(jwt(&claims(1000, 4600)), &chain(), &session(), 1_000_000)
            .unwrap();
        assert_eq!(c.claims().sub, "u-1");
        // An hour's credential: asked again 5 minutes before `exp`.
        assert_eq!(c.refresh_at_ms(), 4_300_000);
        assert!(!c.due(4_299_999) && c.due(4_300_000));
        assert_eq!(
            ChainCredential::stored(c.token().to_owned(), &chain()),
            Some(c)
        );
    }

    #[test]
    fn refuses_another_chain_owner_or_an_expired_one_saying_why() {
        let other = ChainId::parse("ffeeddccbbaa99887766554433221100").unwrap();
        let token = jwt(&claims(1000, 4600));
        assert!(matches!(
            ChainCredential::accept(token.clone(), &other, &session(), 1_000_000),
            Err(Held::OtherChain { .. })
        ));
        assert_eq!(ChainCredential::stored(token.clone(), &other), None);
        for (claim, value) in [("sub", "u-2"), ("sid", "s-2"), ("role", "admin")] {
            let mut c = claims(1000, 4600);
            c[claim] = json!(value);
            let held =
                ChainCredential::accept(jwt(&c), &chain(), &session(), 1_000_000).unwrap_err();
            assert!(
                matches!(held, Held::OtherOwner { claim: c, .. } if c == claim),
                "{held}"
            );
            assert!(held.to_string().contains(value), "{held}");
        }
        let held = ChainCredential::accept(token, &chain(), &session(), 4_600_000).unwrap_err();
        assert!(matches!(held, Held::Expired { exp: 4600, .. }), "{held}");
        let held =
            ChainCredential::accept("not a jwt".into(), &chain(), &session(), 0).unwrap_err();
        assert!(matches!(held, Held::Malformed { .. }), "{held}");
        assert!(held.may_pass() && !Held::NoSource.may_pass());
    }

    #[test]
    fn another_user_session_or_role_is_another_owner() {
        let s = session();
        let mut next = s.clone();
        next.caseload = vec!["p-1".into()];
        assert!(!owner_changes(&s, &next));
        for change in [
            |n: &mut Session| n.user_id = "u-2".into(),
            |n: &mut Session| n.session_id = "s-2".into(),
            |n: &mut Session| n.role = "admin".into(),
        ] {
            let mut next = s.clone();
            change(&mut next);
            assert!(owner_changes(&s, &next));
        }
    }

    proptest! {
        /// Asked again inside the window, never before half of it, and at
        /// least 10 s ahead when the window allows.
        #[test]
        fn refresh_falls_inside_the_window(iat in 0i64..4_000_000_000, life in 1i64..200_000) {
            let c = ChainCredential {
                token: String::new(),
                claims: Claims::from_value(&claims(iat, iat + life)).unwrap(),
            };
            let (iat_ms, exp_ms) = (iat * 1000, (iat + life) * 1000);
            let at = c.refresh_at_ms();
            prop_assert!(at >= iat_ms + (exp_ms - iat_ms) / 2);
            prop_assert!(at < exp_ms);
            prop_assert!(exp_ms - at <= REFRESH_MAX_MS);
            if life * 1000 >= 2 * REFRESH_MIN_MS {
                prop_assert!(exp_ms - at >= REFRESH_MIN_MS);
            }
        }
    }
}
