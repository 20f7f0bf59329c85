//! The argument of `start`: policy, session, collector endpoint and options,
//! read from JSON with every refusal naming its JSON Pointer (issue 7:
//! nothing of the wrong type or range slips through as a default).

use serde_json::{Map, Value};

use super::error::StartError;
use super::pseudonym::RecordKey;
use super::strings::DialogStrings;
use crate::decision::kind_of;
use crate::policy::Policy;
use crate::session::Session;
use crate::tlog::{KeyType, Trust, VerifierKey};
use crate::Timestamp;

/// `start`'s configuration, parsed and checked.
#[derive(Debug)]
pub struct StartConfig {
    /// The policy.
    pub policy: Policy,
    /// The host's login session.
    pub session: Session,
    /// Collector base URL.
    pub endpoint: String,
    /// Storage, upload and dialog options.
    pub options: StartOptions,
}

/// `options` of `start`, defaults filled in. The host's callbacks
/// (`credential`, `onAlert`, `onEvent`, `onStatus`) are functions, which have no JSON
/// form: the web layer reads them, and a callback member that reaches this
/// parser is not a function and is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartOptions {
    /// IndexedDB database name.
    pub db_name: String,
    /// Most events per upload.
    pub batch_events: u32,
    /// Most bytes per upload body.
    pub batch_bytes: u32,
    /// How long a new event waits for company before upload, ms.
    pub batch_delay_ms: u32,
    /// Upload request timeout, ms.
    pub timeout_ms: u32,
    /// First retry delay, ms, doubled per failure.
    pub backoff_ms: u32,
    /// Longest retry delay, ms.
    pub backoff_max_ms: u32,
    /// The break-glass dialog's texts.
    pub strings: DialogStrings,
    /// The collector's transparency-log key (`collectorKey`), its witnesses'
    /// (`witnessKeys`) and how many must cosign (`witnessQuorum`, default
    /// all): given, an acknowledged event is deleted only once its inclusion
    /// in a checkpoint so signed is proven, consistent with the last one kept.
    pub log: Option<Trust>,
    /// The host's record pseudonym key (`recordPseudonymKey`, 64 hex
    /// digits): given, events name records by their pseudonym
    /// ([`super::RecordKey::pseudonym`]). Kept in memory only.
    pub record_key: Option<RecordKey>,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            db_name: "sealtrail".to_owned(),
            batch_events: 500,
            batch_bytes: 512 * 1024,
            batch_delay_ms: 250,
            timeout_ms: 10_000,
            backoff_ms: 500,
            backoff_max_ms: 60_000,
            strings: DialogStrings::default(),
            log: None,
            record_key: None,
        }
    }
}

/// A whole-number option: its name, what it counts, its accepted range and
/// where it goes.
struct Bound {
    name: &'static str,
    unit: &'static str,
    min: u32,
    max: u32,
    set: fn(&mut StartOptions, u32),
}

/// The numeric options and their ranges: wide enough for any real use,
/// narrow enough that a typo (`6e10`) or a unit mix-up is refused.
const BOUNDS: [Bound; 6] = [
    Bound {
        name: "batchEvents",
        unit: "events",
        min: 1,
        max: 10_000,
        set: |o, n| o.batch_events = n,
    },
    Bound {
        name: "batchBytes",
        unit: "bytes",
        min: 1_024,
        max: 64 * 1024 * 1024,
        set: |o, n| o.batch_bytes = n,
    },
    Bound {
        name: "batchDelayMs",
        unit: "milliseconds",
        min: 0,
        max: 600_000,
        set: |o, n| o.batch_delay_ms = n,
    },
    Bound {
        name: "timeoutMs",
        unit: "milliseconds",
        min: 1,
        max: 600_000,
        set: |o, n| o.timeout_ms = n,
    },
    Bound {
        name: "backoffMs",
        unit: "milliseconds",
        min: 1,
        max: 3_600_000,
        set: |o, n| o.backoff_ms = n,
    },
    Bound {
        name: "backoffMaxMs",
        unit: "milliseconds",
        min: 1,
        max: 86_400_000,
        set: |o, n| o.backoff_max_ms = n,
    },
];

/// Callback members: functions, read by the web layer, never JSON.
const CALLBACKS: [&str; 4] = ["credential", "onAlert", "onEvent", "onStatus"];

impl StartConfig {
    /// Reads `{policy, session, endpoint, options?}` at `now` (the session
    /// is checked against the policy and the time); the policy may be an
    /// object or its JSON text.
    pub fn from_value(value: Value, now: Timestamp) -> Result<Self, StartError> {
        let mut m = object(value, "")?;
        let policy = match required(&mut m, "", "policy")? {
            Value::String(text) => Policy::parse(&text),
            v => Policy::from_value(&v),
        }
        .map_err(StartError::Policy)?;
        let session = Session::from_value(&required(&mut m, "", "session")?, &policy, now)
            .map_err(StartError::Session)?;
        let endpoint = match required(&mut m, "", "endpoint")? {
            Value::String(s) if !s.trim().is_empty() => s,
            Value::String(_) => {
                return Err(StartError::shape(
                    "/endpoint",
                    "the collector endpoint is required",
                ))
            }
            other => return Err(expected("/endpoint", "a URL string", &other)),
        };
        let options = match m.remove("options") {
            None => StartOptions::default(),
            Some(v) => StartOptions::from_value(v, "/options")?,
        };
        refuse_unknown(&m, "")?;
        Ok(Self {
            policy,
            session,
            endpoint,
            options,
        })
    }
}

impl StartOptions {
    /// Reads the options object found at `at` (`/options`).
    pub fn from_value(value: Value, at: &str) -> Result<Self, StartError> {
        let mut m = object(value, at)?;
        let mut o = Self::default();
        if let Some(v) = m.remove("dbName") {
            let p = format!("{at}/dbName");
            o.db_name = match v {
                Value::String(s) if !s.trim().is_empty() => s,
                Value::String(_) => {
                    return Err(StartError::shape(p, "the database name must not be empty"))
                }
                other => return Err(expected(&p, "a database name string", &other)),
            };
        }
        let max_given = m.contains_key("backoffMaxMs");
        for b in &BOUNDS {
            let Some(v) = m.remove(b.name) else { continue };
            let n = whole(&format!("{at}/{}", b.name), b, &v)?;
            (b.set)(&mut o, n);
        }
        if !max_given {
            // Only the first delay given: the ceiling makes room for it.
            o.backoff_max_ms = o.backoff_max_ms.max(o.backoff_ms);
        } else if o.backoff_max_ms < o.backoff_ms {
            let p = format!("{at}/backoffMaxMs");
            return Err(StartError::shape(
                p,
                format!(
                    "the longest retry delay must be at least `backoffMs` ({}), found `{}`",
                    o.backoff_ms, o.backoff_max_ms
                ),
            ));
        }
        if let Some(v) = m.remove("strings") {
            o.strings = DialogStrings::from_value(v, &format!("{at}/strings"))?;
        }
        o.log = trust(&mut m, at)?;
        if let Some(v) = m.remove("recordPseudonymKey") {
            let p = format!("{at}/recordPseudonymKey");
            o.record_key = Some(match v {
                Value::String(s) => {
                    RecordKey::from_hex(&s).map_err(|e| StartError::shape(p, e.to_string()))?
                }
                other => return Err(expected(&p, "a key of 64 hex digits", &other)),
            });
        }
        for name in CALLBACKS {
            if let Some(v) = m.remove(name) {
                return Err(expected(&format!("{at}/{name}"), "a function", &v));
            }
        }
        refuse_unknown(&m, at)?;
        Ok(o)
    }
}

/// `collectorKey`, `witnessKeys` and `witnessQuorum`: witnesses only with a
/// collector key, a quorum no larger than the witnesses given.
fn trust(m: &mut Map<String, Value>, at: &str) -> Result<Option<Trust>, StartError> {
    let witnesses = match m.remove("witnessKeys") {
        None => Vec::new(),
        Some(Value::Array(keys)) => keys
            .iter()
            .enumerate()
            .map(|(i, k)| vkey(&format!("{at}/witnessKeys/{i}"), k, KeyType::Cosignature))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(expected(
                &format!("{at}/witnessKeys"),
                "an array of witness keys",
                &other,
            ))
        }
    };
    let quorum = match m.remove("witnessQuorum") {
        None => witnesses.len(),
        Some(v) => {
            let p = format!("{at}/witnessQuorum");
            v.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n <= witnesses.len())
                .ok_or_else(|| {
                    StartError::shape(
                        p,
                        format!(
                            "expected a whole number of witnesses from 0 to the {} key(s) in `witnessKeys`, found {}",
                            witnesses.len(),
                            kind_of(&v)
                        ),
                    )
                })?
        }
    };
    let Some(log) = m.remove("collectorKey") else {
        if witnesses.is_empty() {
            return Ok(None);
        }
        return Err(StartError::shape(
            format!("{at}/collectorKey"),
            "witness keys need the collector's key `collectorKey`",
        ));
    };
    Ok(Some(Trust {
        log: vkey(&format!("{at}/collectorKey"), &log, KeyType::Ed25519)?,
        witnesses,
        quorum,
    }))
}

/// A verifier key (`<name>+<hex id>+<base64>`) of type `kind` at `pointer`.
fn vkey(pointer: &str, v: &Value, kind: KeyType) -> Result<VerifierKey, StartError> {
    let Value::String(s) = v else {
        return Err(expected(
            pointer,
            "a key string `<name>+<hex id>+<base64>`",
            v,
        ));
    };
    let key = VerifierKey::parse(s).map_err(|e| StartError::shape(pointer, e.to_string()))?;
    if key.kind() != kind {
        return Err(StartError::shape(
            pointer,
            format!(
                "expected a key of type {:#04x}, found one of type {:#04x}",
                kind.byte(),
                key.kind().byte()
            ),
        ));
    }
    Ok(key)
}

/// The number in `v` if it is a whole number within `b`'s range.
fn whole(pointer: &str, b: &Bound, v: &Value) -> Result<u32, StartError> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (b.min..=b.max).contains(n))
        .ok_or_else(|| {
            let found = match v {
                Value::Number(n) => format!("`{n}`"),
                other => kind_of(other).to_owned(),
            };
            StartError::shape(
                pointer,
                format!(
                    "expected a whole number of {} from {} to {}, found {found}",
                    b.unit, b.min, b.max
                ),
            )
        })
}

/// `value` as an object; anything else is refused at `at`.
fn object(value: Value, at: &str) -> Result<Map<String, Value>, StartError> {
    match value {
        Value::Object(m) => Ok(m),
        other => Err(expected(at, "an object", &other)),
    }
}

fn required(m: &mut Map<String, Value>, at: &str, name: &str) -> Result<Value, StartError> {
    m.remove(name).ok_or_else(|| {
        StartError::shape(
            crate::pointer::push(at, name),
            format!("the member `{name}` is required"),
        )
    })
}

/// Refuses the first member left in `m` (none is known).
fn refuse_unknown(m: &Map<String, Value>, at: &str) -> Result<(), StartError> {
    match m.keys().next() {
        None => Ok(()),
        Some(k) => Err(StartError::shape(
            crate::pointer::push(at, k),
            format!("unknown member `{k}`"),
        )),
    }
}

fn expected(pointer: &str, what: &str, found: &Value) -> StartError {
    StartError::shape(
        pointer,
        format!("expected {what}, found {}", kind_of(found)),
    )
}
