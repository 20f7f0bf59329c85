//! Policy files: load one for another command, check it, or ask it to
//! explain a decision.

use std::path::Path;

use sealtrail::decision::{selftest, Access, Decision, FieldAction};
use sealtrail::policy::Policy;
use sealtrail::session::Session;
use sealtrail::Timestamp;
use serde_json::Value;

use super::{now, out, pretty, read, Stop};

pub fn load_policy(path: &Path) -> Result<Policy, Stop> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Stop::Input(format!("`{}` is not UTF-8 text", path.display())))?;
    Policy::parse(&text).map_err(|e| Stop::Input(format!("policy `{}`: {e}", path.display())))
}

pub fn check(path: &Path) -> Result<(), Stop> {
    let bytes = read(path)?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(Stop::Input(format!(
            "`{}` is not UTF-8 text",
            path.display()
        )));
    };
    let invalid = |e: &dyn std::fmt::Display| {
        eprintln!("invalid: policy `{}`: {e}", path.display());
        Err(Stop::Invalid)
    };
    let p = match Policy::parse(&text) {
        Ok(p) => p,
        Err(e) => return invalid(&e),
    };
    let outcomes = match selftest::run(&p) {
        Ok(o) => o,
        Err(e) => return invalid(&e),
    };
    let failed: Vec<_> = outcomes.iter().filter(|o| o.failure.is_some()).collect();
    for o in &failed {
        eprintln!(
            "failed: `{}` ({}): {}",
            o.pointer,
            o.name,
            o.failure.as_deref().unwrap_or_default()
        );
    }
    if !failed.is_empty() {
        eprintln!(
            "invalid: policy `{}`: {} of {} test cases failed",
            path.display(),
            failed.len(),
            outcomes.len()
        );
        return Err(Stop::Invalid);
    }
    out(format!(
        "valid: policy `{}` {}, {} test cases passed\n",
        path.display(),
        p.hash(),
        outcomes.len()
    )
    .as_bytes());
    Ok(())
}

/// What `policy explain` is asked.
pub struct Question<'a> {
    pub policy: &'a Path,
    pub session: &'a Path,
    pub record: &'a Path,
    pub action: &'a str,
    pub pointer: Option<&'a str>,
    pub at: Option<&'a str>,
    pub json: bool,
}

pub fn explain(q: &Question<'_>) -> Result<(), Stop> {
    let policy = load_policy(q.policy)?;
    let record = json_file(q.record)?;
    let action: FieldAction = serde_json::from_value(Value::from(q.action)).map_err(|_| {
        Stop::Input(format!(
            "--action: expected one of `view`, `edit`, `export`, `print`, `delete`, found `{}`",
            q.action
        ))
    })?;
    let now = match q.at {
        Some(t) => Timestamp::parse(t).map_err(|e| Stop::Input(format!("--at: {e}")))?,
        None => now()?,
    };
    let session = Session::from_value(&json_file(q.session)?, &policy, now)
        .map_err(|e| Stop::Input(format!("session `{}`: {e}", q.session.display())))?;
    let access = Access::new(&policy, &session, now, &[]);
    let (facts, decisions) = access
        .decide_record(&record, action)
        .map_err(|e| Stop::Input(format!("record `{}`: {e}", q.record.display())))?;
    let decisions: Vec<_> = decisions
        .iter()
        .filter(|d| q.pointer.is_none_or(|p| d.pointer == p))
        .collect();
    if let (Some(p), true) = (q.pointer, decisions.is_empty()) {
        return Err(Stop::Input(format!(
            "--pointer: the record has no field at `{p}`"
        )));
    }
    if q.json {
        out(pretty(&decisions)?.as_bytes());
        return Ok(());
    }
    let mut text = format!(
        "{} ({}) may {} record `{}` at {now} under policy {}:\n",
        session.user_id,
        session.role,
        q.action,
        facts.id,
        policy.hash()
    );
    for d in &decisions {
        let verdict = match d.decision {
            Decision::Allow => "allowed".to_owned(),
            Decision::Seal { cause, .. } => format!("sealed ({})", cause.as_str()),
            Decision::Deny { cause } => format!("denied ({})", cause.as_str()),
            Decision::StepUp {
                auth_strength,
                max_age_minutes,
            } => format!("step-up ({auth_strength} within {max_age_minutes} min)"),
        };
        text.push_str(&format!(
            "{} [{}] {verdict}: {}\n",
            d.pointer, d.note_type, d.why
        ));
    }
    out(text.as_bytes());
    Ok(())
}

fn json_file(path: &Path) -> Result<Value, Stop> {
    serde_json::from_slice(&read(path)?)
        .map_err(|e| Stop::Input(format!("`{}` is not JSON: {e}", path.display())))
}
