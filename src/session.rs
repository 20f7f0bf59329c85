//! The login session the host application hands over: who is looking, in
//! which role, for which caseload, how strongly authenticated and until when.
//!
//! sealtrail trusts the host's login for identity; it only decides what that
//! identity may see. A session past its `expiresAt`, or whose last
//! authentication is older than the policy's `session.maxAgeMinutes`,
//! unseals nothing.
//!
//! A session is read against the policy and the time ([`Session::from_value`]):
//! `authStrength` must be one of the policy's `authStrengths` (every
//! strength a step-up rule names is one of them), `authTime` no later than
//! now plus [`AUTH_TIME_SKEW_MINUTES`] (the host's clock and the browser's
//! differ a little; more is a forged or broken sign-in time), and
//! `expiresAt` after `authTime`. A session built in code that breaks the
//! time rules is not live ([`Session::is_live`]), so it unseals nothing.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{Actor, SessionRef};
use crate::policy::Policy;
use crate::Timestamp;

/// How far in the future a sign-in time may lie: clock skew between the
/// host that signed the user in and the machine deciding.
pub const AUTH_TIME_SKEW_MINUTES: i64 = 2;

const AUTH_TIME_SKEW_MS: i64 = AUTH_TIME_SKEW_MINUTES * 60_000;

/// Longest text member that every event carries (`userId`, `name`, `role`,
/// `sessionId`, `client`, `ip`), in bytes: with them, every event must fit
/// the policy's `limits.eventMaxBytes`.
pub const MAX_TEXT_BYTES: usize = 1024;

/// A host login session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct Session {
    /// Staff id.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Role id, as the policy names it.
    pub role: String,
    /// Record ids assigned to this user.
    #[serde(default)]
    pub caseload: Vec<String>,
    /// Record ids the user declared a link to (relatives, neighbours) or
    /// that are their own: an access to one is flagged in its event
    /// (`subject.related`), never the link itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_records: Vec<String>,
    /// Break-glass grants this user was issued before this page load, from
    /// the host's own records: the policy's re-prompt window
    /// (`breakGlass.exemptions.repromptDays`) counts from the latest on a record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prior_grants: Vec<PriorGrant>,
    /// The user's team, matched against the record's team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// How the user last authenticated (one of the policy's `authStrengths`).
    pub auth_strength: String,
    /// When the user last authenticated.
    pub auth_time: Timestamp,
    /// When the host ends the session.
    pub expires_at: Timestamp,
    /// Session id from the host.
    pub session_id: String,
    /// Client software (user agent, app name and version).
    pub client: String,
    /// Client IP address as the host saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The facility the user works at now (`session.facility` in conditions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// The unit or ward the user works on now (`session.unit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Where the request comes from: `onSite`, `vpn` or `remote` (`session.network`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The device's posture: `managed` or `unmanaged` (`session.device`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// How the user signed in (`password`, `passkey`, `smartcard`, ...; `session.signInMethod`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_method: Option<String>,
}

/// An earlier break-glass grant, as the host remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct PriorGrant {
    /// The record it opened.
    pub record_id: String,
    /// When it was issued.
    pub issued_at: Timestamp,
}

/// Why a session object was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    /// The text is not JSON.
    #[error("the session is not valid JSON: {0}")]
    Syntax(String),
    /// A member is unknown, missing or of the wrong type.
    #[error("at `{pointer}`: {message}")]
    Shape {
        /// Where.
        pointer: String,
        /// What is wrong.
        message: String,
    },
    /// A required text member is empty.
    #[error("at `{0}`: must not be empty")]
    Empty(String),
    /// `authTime` lies further in the future than the clock skew allows.
    #[error("at `/authTime`: expected a sign-in time no later than `{latest}` (now plus {AUTH_TIME_SKEW_MINUTES} minutes of clock skew), found `{found}`")]
    FutureAuthTime {
        /// The latest time accepted.
        latest: Timestamp,
        /// The time given.
        found: Timestamp,
    },
    /// `authStrength` is not one the policy knows.
    #[error("at `/authStrength`: expected one of the policy's `authStrengths` ({allowed}), found `{found}`")]
    UnknownAuthStrength {
        /// The strengths the policy lists, in backticks.
        allowed: String,
        /// The strength given.
        found: String,
    },
    /// A text member every event carries is longer than [`MAX_TEXT_BYTES`].
    #[error("at `{pointer}`: expected at most {MAX_TEXT_BYTES} bytes, found {found}")]
    TooLong {
        /// Where.
        pointer: String,
        /// Its length in bytes.
        found: usize,
    },
    /// `expiresAt` is not after `authTime`.
    #[error("at `/expiresAt`: expected a time after `authTime` `{auth_time}`, found `{found}`")]
    ExpiresBeforeAuth {
        /// The sign-in time.
        auth_time: Timestamp,
        /// The expiry given.
        found: Timestamp,
    },
    /// A member holds a value outside its list (`network`, `device`).
    #[error("at `{pointer}`: expected one of {expected}, found `{found}`")]
    NotOneOf {
        /// Where.
        pointer: String,
        /// The values accepted, in backticks.
        expected: String,
        /// The value given.
        found: String,
    },
}

impl SessionError {
    /// The JSON Pointer of the offending value.
    pub fn pointer(&self) -> &str {
        match self {
            Self::Syntax(_) => "",
            Self::Shape { pointer, .. }
            | Self::Empty(pointer)
            | Self::TooLong { pointer, .. }
            | Self::NotOneOf { pointer, .. } => pointer,
            Self::FutureAuthTime { .. } => "/authTime",
            Self::UnknownAuthStrength { .. } => "/authStrength",
            Self::ExpiresBeforeAuth { .. } => "/expiresAt",
        }
    }
}

impl Session {
    /// Parses session JSON text and checks it for `policy` at `now`.
    pub fn parse(text: &str, policy: &Policy, now: Timestamp) -> Result<Self, SessionError> {
        let value: Value = serde_json::from_slice(text.as_bytes())
            .map_err(|e| SessionError::Syntax(e.to_string()))?;
        Self::from_value(&value, policy, now)
    }

    /// Reads a session already parsed as JSON and checks it for `policy` at
    /// `now` (see the module documentation).
    pub fn from_value(
        value: &Value,
        policy: &Policy,
        now: Timestamp,
    ) -> Result<Self, SessionError> {
        crate::policy::refuse_misplaced_arrays(
            value,
            &["/caseload", "/relatedRecords", "/priorGrants"],
        )
        .map_err(|(pointer, message)| SessionError::Shape { pointer, message })?;
        let s: Self = crate::located::from_value(value)
            .map_err(|(pointer, message)| SessionError::Shape { pointer, message })?;
        for (at, v) in [
            ("/userId", &s.user_id),
            ("/role", &s.role),
            ("/sessionId", &s.session_id),
        ] {
            if v.trim().is_empty() {
                return Err(SessionError::Empty(at.to_owned()));
            }
        }
        let logged = [
            ("/userId", Some(&s.user_id)),
            ("/name", Some(&s.name)),
            ("/role", Some(&s.role)),
            ("/sessionId", Some(&s.session_id)),
            ("/client", Some(&s.client)),
            ("/ip", s.ip.as_ref()),
        ];
        for (at, v) in logged {
            if let Some(v) = v.filter(|v| v.len() > MAX_TEXT_BYTES) {
                return Err(SessionError::TooLong {
                    pointer: at.to_owned(),
                    found: v.len(),
                });
            }
        }
        use crate::policy::condition::{DEVICES, NETWORKS};
        for (at, v, allowed) in [
            ("/network", &s.network, &NETWORKS[..]),
            ("/device", &s.device, &DEVICES[..]),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !allowed.contains(v)) {
                return Err(SessionError::NotOneOf {
                    pointer: at.to_owned(),
                    expected: allowed
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    found: v.to_owned(),
                });
            }
        }
        s.check(policy, now)?;
        Ok(s)
    }

    /// The checks that need the policy and the time, for a session built
    /// in code.
    pub fn check(&self, policy: &Policy, now: Timestamp) -> Result<(), SessionError> {
        let strengths = &policy.doc().auth_strengths;
        if !strengths.contains(&self.auth_strength) {
            let allowed: Vec<String> = strengths.iter().map(|s| format!("`{s}`")).collect();
            return Err(SessionError::UnknownAuthStrength {
                allowed: allowed.join(", "),
                found: self.auth_strength.clone(),
            });
        }
        let latest = now.plus_millis(AUTH_TIME_SKEW_MS);
        if self.auth_time > latest {
            return Err(SessionError::FutureAuthTime {
                latest,
                found: self.auth_time,
            });
        }
        if self.expires_at <= self.auth_time {
            return Err(SessionError::ExpiresBeforeAuth {
                auth_time: self.auth_time,
                found: self.expires_at,
            });
        }
        Ok(())
    }

    /// Whether the session may still unseal at `now` under a policy whose
    /// sessions last at most `max_age_minutes` after authentication; never
    /// when its sign-in lies beyond the clock skew in the future.
    pub fn is_live(&self, now: Timestamp, max_age_minutes: u32) -> bool {
        let max_age = i64::from(max_age_minutes).saturating_mul(60_000);
        now < self.expires_at
            && now < self.auth_time.plus_millis(max_age)
            && self.auth_time <= now.plus_millis(AUTH_TIME_SKEW_MS)
    }

    /// The event `actor` for this session.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.user_id.clone(),
            role: self.role.clone(),
            name: Some(self.name.clone()),
            auth_strength: Some(self.auth_strength.clone()),
            team: self.team.clone(),
        }
    }

    /// The event `session` for this session.
    pub fn session_ref(&self) -> SessionRef {
        SessionRef {
            id: self.session_id.clone(),
            ip: self.ip.clone(),
            client: Some(self.client.clone()),
        }
    }
}
