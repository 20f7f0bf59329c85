//! The bodies of the review actions, parsed strictly: a JSON object with
//! only the members the action takes, each of the right type; a refusal
//! names the member as a JSON Pointer.

use serde_json::{Map, Value};

use sealtrail::policy::ReviewConfig;

use super::model::Op;
use crate::error::ApiError;

/// Longest note, in characters.
pub const NOTE_MAX: usize = 4000;
/// Longest assignee id, in characters.
pub const ASSIGNEE_MAX: usize = 200;

/// What an action's body said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    /// `assign`: whom.
    pub assignee: Option<String>,
    /// `resolve`: the outcome id (one the policy defines).
    pub outcome: Option<String>,
    /// The note (required to comment and resolve, optional otherwise).
    pub note: Option<String>,
}

/// Parses the body of `op` (an empty body is `{}`).
pub fn parse(op: Op, body: &[u8], config: &ReviewConfig) -> Result<Fields, ApiError> {
    let bad = |m: String| ApiError::BadRequest(m);
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?
    };
    let Value::Object(mut map) = value else {
        return Err(bad("the body: expected a JSON object".into()));
    };
    let (needs_note, takes) = match op {
        Op::Assign => (false, &["assignee", "note"][..]),
        Op::Acknowledge | Op::Investigate => (false, &["note"][..]),
        Op::Comment => (true, &["note"][..]),
        Op::Resolve => (true, &["outcome", "note"][..]),
    };
    if let Some(name) = map.keys().find(|k| !takes.contains(&k.as_str())) {
        return Err(bad(format!(
            "`/{name}`: `{}` takes only {}",
            op.as_str(),
            takes.join(", ")
        )));
    }
    let note = text(&mut map, "note", NOTE_MAX)?;
    if needs_note && note.is_none() {
        return Err(bad(format!("`/note`: `{}` needs a note", op.as_str())));
    }
    let assignee = text(&mut map, "assignee", ASSIGNEE_MAX)?;
    if op == Op::Assign && assignee.is_none() {
        return Err(bad(
            "`/assignee`: expected the staff id of whom to assign".into()
        ));
    }
    let outcome = text(&mut map, "outcome", ASSIGNEE_MAX)?;
    if op == Op::Resolve {
        let ids = || {
            config
                .outcomes
                .iter()
                .map(|o| format!("`{}`", o.id))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &outcome {
            None => return Err(bad(format!("`/outcome`: expected one of {}", ids()))),
            Some(o) if config.outcome(o).is_none() => {
                return Err(bad(format!(
                    "`/outcome`: expected one of {}, found `{o}`",
                    ids()
                )))
            }
            Some(_) => {}
        }
    }
    Ok(Fields {
        assignee,
        outcome,
        note,
    })
}

/// A string member, trimmed, not empty, at most `max` characters, without
/// control characters other than line breaks and tabs.
fn text(map: &mut Map<String, Value>, name: &str, max: usize) -> Result<Option<String>, ApiError> {
    let bad = |m: String| ApiError::BadRequest(format!("`/{name}`: {m}"));
    let Some(v) = map.remove(name) else {
        return Ok(None);
    };
    let Value::String(s) = v else {
        return Err(bad(format!("expected a string, found `{v}`")));
    };
    let s = s.trim();
    if s.is_empty() {
        return Err(bad("must not be empty".into()));
    }
    let chars = s.chars().count();
    if chars > max {
        return Err(bad(format!(
            "expected at most {max} characters, found {chars}"
        )));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(bad("holds a control character (U+0000 to U+001F)".into()));
    }
    Ok(Some(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(op: Op, body: &str) -> String {
        match parse(op, body.as_bytes(), &ReviewConfig::default()) {
            Err(ApiError::BadRequest(m)) => m,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn each_action_takes_its_members() {
        let c = ReviewConfig::default();
        let f = parse(
            Op::Resolve,
            br#"{"outcome":"coaching","note":" talked it through "}"#,
            &c,
        )
        .unwrap();
        assert_eq!(f.outcome.as_deref(), Some("coaching"));
        assert_eq!(f.note.as_deref(), Some("talked it through"));
        assert_eq!(parse(Op::Acknowledge, b"", &c).unwrap(), Fields::default());
        let f = parse(Op::Assign, br#"{"assignee":"sg-002"}"#, &c).unwrap();
        assert_eq!(f.assignee.as_deref(), Some("sg-002"));
    }

    #[test]
    fn refusals_name_the_member() {
        assert!(refusal(Op::Resolve, r#"{"note":"x"}"#).starts_with("`/outcome`"));
        assert!(refusal(Op::Resolve, r#"{"outcome":"fine","note":"x"}"#).contains("found `fine`"));
        assert!(refusal(Op::Resolve, r#"{"outcome":"coaching"}"#).starts_with("`/note`"));
        assert!(refusal(Op::Comment, r#"{"note":"   "}"#).starts_with("`/note`"));
        assert!(refusal(Op::Comment, r#"{"note":7}"#).contains("expected a string"));
        assert!(refusal(Op::Comment, "{\"note\":\"a\\u0000b\"}").contains("control"));
        assert!(refusal(Op::Acknowledge, r#"{"outcome":"coaching"}"#).starts_with("`/outcome`"));
        assert!(refusal(Op::Assign, "{}").starts_with("`/assignee`"));
        assert!(refusal(Op::Assign, "[]").contains("object"));
        assert!(refusal(Op::Comment, "{").contains("not JSON"));
        let long = format!(r#"{{"note":"{}"}}"#, "é".repeat(NOTE_MAX + 1));
        assert!(refusal(Op::Comment, &long).contains("at most 4000"));
    }
}
