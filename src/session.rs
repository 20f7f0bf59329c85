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

use crate::by_hand::{list, object, opt, required, string, timestamp, Path, OBJECT, R};

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
        let s = read(value, &Path::Root).map_err(|f| {
            let (pointer, message) = f.located();
            SessionError::Shape { pointer, message }
        })?;
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

/// A session read by hand from its JSON value, as the derived
/// `Deserialize` reads it (the same messages and pointers, see
/// [`crate::by_hand`]; the test below holds it to the derived reader), in a
/// fraction of the derived code in the `.wasm`.
fn read(v: &Value, at: &Path<'_>) -> R<Session> {
    const FIELDS: &[&str] = &[
        "userId",
        "name",
        "role",
        "caseload",
        "relatedRecords",
        "priorGrants",
        "team",
        "authStrength",
        "authTime",
        "expiresAt",
        "sessionId",
        "client",
        "ip",
        "facility",
        "unit",
        "network",
        "device",
        "signInMethod",
    ];
    // The text members by their index in `FIELDS`: the required ones
    // `Some` once read, the optional ones `None` when absent or `null`.
    let mut texts: [Option<String>; 18] = Default::default();
    let (mut caseload, mut related_records, mut prior_grants) =
        (Vec::new(), Vec::new(), Vec::new());
    let (mut auth_time, mut expires_at) = (None, None);
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            3 => caseload = list(x, p, string)?,
            4 => related_records = list(x, p, string)?,
            5 => prior_grants = list(x, p, prior_grant)?,
            8 => auth_time = Some(timestamp(x, p)?),
            9 => expires_at = Some(timestamp(x, p)?),
            i => {
                let text = match i {
                    0 | 1 | 2 | 7 | 10 | 11 => Some(string(x, p)?),
                    _ => opt(x, p, string)?,
                };
                if let Some(slot) = texts.get_mut(i) {
                    *slot = text;
                }
            }
        }
        Ok(())
    })?;
    let [user_id, name, role, _, _, _, team, auth_strength, _, _, session_id, client, ip, facility, unit, network, device, sign_in_method] =
        texts;
    Ok(Session {
        user_id: required(user_id, at, "userId")?,
        name: required(name, at, "name")?,
        role: required(role, at, "role")?,
        caseload,
        related_records,
        prior_grants,
        team,
        auth_strength: required(auth_strength, at, "authStrength")?,
        auth_time: required(auth_time, at, "authTime")?,
        expires_at: required(expires_at, at, "expiresAt")?,
        session_id: required(session_id, at, "sessionId")?,
        client: required(client, at, "client")?,
        ip,
        facility,
        unit,
        network,
        device,
        sign_in_method,
    })
}

fn prior_grant(v: &Value, at: &Path<'_>) -> R<PriorGrant> {
    const FIELDS: &[&str] = &["recordId", "issuedAt"];
    let (mut record_id, mut issued_at) = (None, None);
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => record_id = Some(string(x, p)?),
            _ => issued_at = Some(timestamp(x, p)?),
        }
        Ok(())
    })?;
    Ok(PriorGrant {
        record_id: required(record_id, at, "recordId")?,
        issued_at: required(issued_at, at, "issuedAt")?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{read, Path, Session};

    /// Every member of a full session set to every kind of value, removed,
    /// or joined by an unknown member: the hand reader answers as the
    /// derived one.
    #[test]
    fn reads_as_the_derived_reader() {
        let full = json!({
            "userId": "u1", "name": "A", "role": "doctor", "caseload": ["p-1"],
            "relatedRecords": ["p-2"], "priorGrants": [{"recordId": "p-1",
            "issuedAt": "2026-11-23T14:50:00.000Z"}], "team": "east", "authStrength": "mfa",
            "authTime": "2026-11-23T14:50:00.000Z", "expiresAt": "2026-11-23T22:00:00.000Z",
            "sessionId": "s1", "client": "app/1", "ip": "10.0.0.1", "facility": "f",
            "unit": "u", "network": "clinic", "device": "managed", "signInMethod": "sso"
        });
        let kinds = [
            json!(null),
            json!(true),
            json!(7),
            json!(-1),
            json!(1.5),
            json!("x"),
            json!("2026-11-23T14:50:00.000Z"),
            json!([]),
            json!(["x"]),
            json!([1]),
            json!([{}]),
            json!({}),
            json!({"recordId": "p"}),
        ];
        let agree = |v: &Value, case: &str| {
            let derived = crate::located::from_value::<Session>(v);
            let by_hand = read(v, &Path::Root).map_err(crate::by_hand::Failed::located);
            assert_eq!(by_hand, derived, "{case}");
            usize::from(by_hand.is_err())
        };
        let mut places = vec![String::new()];
        for (k, x) in full.as_object().unwrap() {
            places.push(format!("/{k}"));
            if let Value::Array(items) = x {
                for (i, item) in items.iter().enumerate() {
                    places.push(format!("/{k}/{i}"));
                    for m in item.as_object().into_iter().flat_map(|m| m.keys()) {
                        places.push(format!("/{k}/{i}/{m}"));
                    }
                }
            }
        }
        let (mut cases, mut refused) = (0, agree(&full, "full"));
        for p in &places {
            for kind in &kinds {
                let mut v = full.clone();
                *v.pointer_mut(p).unwrap() = kind.clone();
                refused += agree(&v, &format!("{p} set to {kind}"));
                cases += 1;
            }
            if let Some((parent, last)) = p.rsplit_once('/') {
                let mut v = full.clone();
                if let Some(Value::Object(m)) = v.pointer_mut(parent) {
                    m.remove(last);
                }
                refused += agree(&v, &format!("{p} removed"));
                cases += 1;
            }
            let mut v = full.clone();
            if let Some(Value::Object(m)) = v.pointer_mut(p) {
                m.insert("zz".into(), json!(1));
                refused += agree(&v, &format!("zz added at {p}"));
                cases += 1;
            }
        }
        assert!(
            cases > 300 && refused > cases / 2,
            "{cases} cases, {refused} refused"
        );
    }
}
