//! Upload credentials: the claims of the short signed token (a JWT) a host's
//! backend mints for each chain of a logged-in user, and which the collector
//! requires before it stores a chain's events or anchors
//! (`docs/protocol.md`, "Credentials").
//!
//! The collector verifies the signature (with `jsonwebtoken`, holding only
//! the public key); the browser never can, and only [`Claims::peek`]s at a
//! credential to know which chain it names and when to ask for a fresh one.
//! Times are seconds since the Unix epoch, as JWT's `iat` and `exp` are.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use crate::event::ChainId;

/// What a credential says: who may write which chain, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// The user id: every event's `actor.id` must be this.
    pub sub: String,
    /// The login session: every event's `session.id` must be this.
    pub sid: String,
    /// The role the login granted: every event's `actor.role` must be this.
    pub role: String,
    /// The one chain this credential is for.
    pub chain: ChainId,
    /// When it was minted: trusted time (the host's clock, not the browser's).
    pub iat: i64,
    /// When it stops covering new events.
    pub exp: i64,
}

/// Why a text is not a credential's claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Not three base64url parts separated by dots.
    #[error("a credential is a JWT of three base64url parts `header.claims.signature`, found {0}")]
    Form(String),
    /// The claims part is not a JSON object.
    #[error("the credential's claims are not a JSON object: {0}")]
    Claims(String),
    /// A claim is missing or of the wrong type.
    #[error("the credential's claim `{0}` is missing or of the wrong type")]
    Claim(&'static str),
    /// `exp` is not after `iat`.
    #[error("the credential expires (`exp` {exp}) before it was issued (`iat` {iat})")]
    Window {
        /// `iat`.
        iat: i64,
        /// `exp`.
        exp: i64,
    },
}

impl Claims {
    /// Reads the claims of a compact JWS **without verifying its signature**:
    /// for the browser, which holds no key, to learn the chain and `exp` of a
    /// credential its host handed it. Never a reason to trust anything.
    pub fn peek(token: &str) -> Result<Self, CredentialError> {
        let mut parts = token.split('.');
        let (Some(_), Some(claims), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CredentialError::Form(format!(
                "{} parts",
                token.split('.').count()
            )));
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(claims)
            .map_err(|e| CredentialError::Form(format!("claims that are not base64url ({e})")))?;
        // From text, as every other JSON the browser reads: `from_slice`
        // would put a second JSON reader in the `.wasm`.
        let text = String::from_utf8(bytes).map_err(|e| CredentialError::Claims(e.to_string()))?;
        let value: Value = serde_json::from_slice(text.as_bytes())
            .map_err(|e| CredentialError::Claims(e.to_string()))?;
        Self::from_value(&value)
    }

    /// The claims from a JSON object (members other than these are ignored:
    /// a host may add its own). Member by member, as [`crate::wire`] reads
    /// replies, to keep serde's derives out of the browser's `.wasm`.
    pub fn from_value(v: &Value) -> Result<Self, CredentialError> {
        if !v.is_object() {
            return Err(CredentialError::Claims("not an object".into()));
        }
        let text = |name: &'static str| {
            v.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or(CredentialError::Claim(name))
        };
        let time = |name: &'static str| {
            v.get(name)
                .and_then(Value::as_i64)
                .ok_or(CredentialError::Claim(name))
        };
        let claims = Self {
            sub: text("sub")?,
            sid: text("sid")?,
            role: text("role")?,
            chain: ChainId::parse(&text("chain")?).map_err(|_| CredentialError::Claim("chain"))?,
            iat: time("iat")?,
            exp: time("exp")?,
        };
        claims.checked()
    }

    /// Refuses a window that ends before it starts.
    pub fn checked(self) -> Result<Self, CredentialError> {
        if self.exp <= self.iat {
            return Err(CredentialError::Window {
                iat: self.iat,
                exp: self.exp,
            });
        }
        Ok(self)
    }

    /// The window of event times this credential covers, in milliseconds,
    /// widened by `skew_ms` before `iat` (clocks differ).
    pub fn window_ms(&self, skew_ms: i64) -> (i64, i64) {
        (
            self.iat.saturating_mul(1000).saturating_sub(skew_ms),
            self.exp.saturating_mul(1000),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{header}.{body}.c2ln")
    }

    fn claims() -> Value {
        json!({
            "sub": "u-1", "sid": "s-1", "role": "nurse",
            "chain": "00112233445566778899aabbccddeeff",
            "iat": 1_800_000_000, "exp": 1_800_003_600, "iss": "host"
        })
    }

    #[test]
    fn peeks_at_the_claims_without_a_key() {
        let c = Claims::peek(&jwt(&claims())).unwrap();
        assert_eq!((c.sub.as_str(), c.role.as_str()), ("u-1", "nurse"));
        assert_eq!(c.window_ms(120_000), (1_799_999_880_000, 1_800_003_600_000));
        let back = serde_json::to_value(&c).unwrap();
        assert_eq!(Claims::from_value(&back).unwrap(), c);
    }

    #[test]
    fn refuses_what_is_not_a_credential_naming_why() {
        for bad in ["", "a.b", "a.b.c.d", "a.!!!.c", "a.e30.c"] {
            assert!(Claims::peek(bad).is_err(), "{bad}");
        }
        for (name, value) in [
            ("sub", json!("")),
            ("sid", json!(3)),
            ("role", Value::Null),
            ("chain", json!("not-a-chain")),
            ("iat", json!("now")),
            ("exp", json!(1.5)),
        ] {
            let mut c = claims();
            c[name] = value;
            assert_eq!(
                Claims::peek(&jwt(&c)),
                Err(CredentialError::Claim(name)),
                "{name}"
            );
        }
        let mut c = claims();
        c["exp"] = c["iat"].clone();
        assert!(matches!(
            Claims::peek(&jwt(&c)),
            Err(CredentialError::Window { .. })
        ));
    }
}
