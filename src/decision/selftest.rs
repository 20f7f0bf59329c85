//! The test cases a policy carries (`tests`): a session, a record, an
//! action and the decision expected on one field, so a clinic changing its
//! policy sees what changed (`sealtrail policy check` runs them).
//!
//! ```json
//! "tests": {
//!   "sessions": { "nurse": { "userId": "u-1", "role": "nurse", ... } },
//!   "records": { "p-1": { "id": "p-1", ... } },
//!   "cases": [{
//!     "name": "a neighbour the patient excluded sees nothing",
//!     "session": "nurse", "record": "p-1",
//!     "recordPatch": { "restrictions": { "excludedStaff": ["u-1"] } },
//!     "at": "2026-11-23T15:00:00.000Z", "action": "view", "pointer": "/name",
//!     "expect": "seal", "label": "patient restriction"
//!   }]
//! }
//! ```
//!
//! `session` and `record` name an entry of `sessions` and `records` or are
//! written in place; `sessionPatch` and `recordPatch` change them for the
//! case (JSON Merge Patch, RFC 7396). `expect` is `allow`, `seal`, `deny`
//! or `stepUp`; `cause`, `label`, `rule` and `missing`, when given, must
//! match the decision's cause and explanation too.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Access, Decision, Explanation, FieldAction};
use crate::policy::{Policy, PolicyError};
use crate::session::Session;
use crate::Timestamp;

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// Where the case is written (`/tests/cases/3`).
    pub pointer: String,
    /// Its name.
    pub name: String,
    /// What went wrong; `None` when it passed.
    pub failure: Option<String>,
}

/// One case as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Case {
    name: String,
    session: Value,
    #[serde(default)]
    session_patch: Option<Value>,
    record: Value,
    #[serde(default)]
    record_patch: Option<Value>,
    at: Timestamp,
    action: FieldAction,
    pointer: String,
    expect: Expect,
    #[serde(default)]
    cause: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    missing: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Expect {
    Allow,
    Seal,
    Deny,
    StepUp,
}

/// Runs every case of `policy`'s `tests`; a case that cannot be read is
/// an error naming its pointer.
pub fn run(policy: &Policy) -> Result<Vec<CaseOutcome>, PolicyError> {
    let Some(tests) = policy.doc().tests.as_ref() else {
        return Ok(Vec::new());
    };
    let obj = tests
        .as_object()
        .ok_or_else(|| PolicyError::invalid("/tests", "expected an object"))?;
    for k in obj.keys() {
        if !matches!(k.as_str(), "sessions" | "records" | "cases") {
            return Err(PolicyError::Shape {
                pointer: crate::pointer::push("/tests", k),
                message: format!("unknown member `{k}`, expected `sessions`, `records` or `cases`"),
            });
        }
    }
    let named = |member: &str| -> Result<Map<String, Value>, PolicyError> {
        match obj.get(member) {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(PolicyError::invalid(
                format!("/tests/{member}"),
                "expected an object of named entries",
            )),
        }
    };
    let (sessions, records) = (named("sessions")?, named("records")?);
    let cases = match obj.get("cases") {
        None => return Ok(Vec::new()),
        Some(Value::Array(c)) => c,
        Some(_) => return Err(PolicyError::invalid("/tests/cases", "expected an array")),
    };
    let mut out = Vec::with_capacity(cases.len());
    for (i, raw) in cases.iter().enumerate() {
        let at = format!("/tests/cases/{i}");
        let case: Case =
            crate::located::from_value(raw).map_err(|(p, message)| PolicyError::Shape {
                pointer: format!("{at}{p}"),
                message,
            })?;
        let session = entry(
            &sessions,
            &case.session,
            case.session_patch.as_ref(),
            &at,
            "session",
        )?;
        let session = Session::from_value(&session, policy, case.at).map_err(|e| {
            PolicyError::invalid(format!("{at}/session{}", e.pointer()), e.to_string())
        })?;
        let record = entry(
            &records,
            &case.record,
            case.record_patch.as_ref(),
            &at,
            "record",
        )?;
        let access = Access::new(policy, &session, case.at, &[]);
        let (_, decisions) = access.decide_record(&record, case.action).map_err(|e| {
            PolicyError::invalid(format!("{at}/record{}", e.pointer()), e.to_string())
        })?;
        let Some(d) = decisions.iter().find(|d| d.pointer == case.pointer) else {
            return Err(PolicyError::invalid(
                format!("{at}/pointer"),
                format!("the record has no field at `{}`", case.pointer),
            ));
        };
        out.push(CaseOutcome {
            pointer: at,
            name: case.name.clone(),
            failure: judge(&case, d.decision, d.why),
        });
    }
    Ok(out)
}

/// The session or record of a case: a named entry or one written in place,
/// with its patch applied.
fn entry(
    named: &Map<String, Value>,
    given: &Value,
    patch: Option<&Value>,
    at: &str,
    member: &str,
) -> Result<Value, PolicyError> {
    let mut v = match given {
        Value::String(name) => named
            .get(name)
            .cloned()
            .ok_or_else(|| PolicyError::Dangling {
                pointer: format!("{at}/{member}"),
                kind: member_kind(member),
                name: name.clone(),
                defined_in: if member == "session" {
                    "/tests/sessions"
                } else {
                    "/tests/records"
                },
            })?,
        other => other.clone(),
    };
    if let Some(p) = patch {
        merge_patch(&mut v, p);
    }
    Ok(v)
}

fn member_kind(member: &str) -> &'static str {
    if member == "session" {
        "test session"
    } else {
        "test record"
    }
}

/// JSON Merge Patch (RFC 7396).
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Why the decision does not meet the case; `None` when it does.
fn judge(case: &Case, decision: &Decision, why: &Explanation) -> Option<String> {
    let (got, cause) = match decision {
        Decision::Allow => (Expect::Allow, None),
        Decision::Seal { cause, .. } => (Expect::Seal, Some(cause.as_str())),
        Decision::Deny { cause } => (Expect::Deny, Some(cause.as_str())),
        Decision::StepUp { .. } => (Expect::StepUp, None),
    };
    let said = |e: Expect| match e {
        Expect::Allow => "allow",
        Expect::Seal => "seal",
        Expect::Deny => "deny",
        Expect::StepUp => "stepUp",
    };
    let mut wrong = Vec::new();
    if got != case.expect {
        wrong.push(format!(
            "expected `{}`, found `{}`",
            said(case.expect),
            said(got)
        ));
    }
    let checks = [
        ("cause", case.cause.as_deref(), cause),
        ("label", case.label.as_deref(), why.label.as_deref()),
        ("rule", case.rule.as_deref(), why.rule.as_deref()),
        (
            "missing",
            case.missing.as_deref(),
            why.missing.map(|a| a.as_str()),
        ),
    ];
    for (what, want, found) in checks {
        if let Some(want) = want.filter(|w| Some(*w) != found) {
            wrong.push(format!(
                "expected {what} `{want}`, found {}",
                found.map_or("none".to_owned(), |f| format!("`{f}`"))
            ));
        }
    }
    (!wrong.is_empty()).then(|| format!("{} ({why})", wrong.join("; ")))
}
