//! Why a policy was refused: every error names the JSON Pointer of the
//! offending value, so `sealtrail policy check` and editors can point at it.

/// Why a policy could not be loaded.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    /// The text is not JSON at all.
    #[error("the policy is not valid JSON: {0}")]
    Syntax(String),
    /// A value has the wrong shape: an unknown member, a wrong type, a missing member.
    #[error("at `{pointer}`: {message}")]
    Shape {
        /// Where.
        pointer: String,
        /// What is wrong, in words.
        message: String,
    },
    /// A value names something the policy does not define.
    #[error("at `{pointer}`: {kind} `{name}` is not defined under `{defined_in}`")]
    Dangling {
        /// Where the reference is.
        pointer: String,
        /// What kind of thing it names (`note type`, `role`, ...).
        kind: &'static str,
        /// The name found.
        name: String,
        /// Where such things are defined (`/noteTypes`).
        defined_in: &'static str,
    },
    /// A value is well formed but not acceptable (a bad pattern, a limit out of range).
    #[error("at `{pointer}`: {message}")]
    Invalid {
        /// Where.
        pointer: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

impl PolicyError {
    /// The JSON Pointer of the offending value (empty for the whole document).
    pub fn pointer(&self) -> &str {
        match self {
            Self::Syntax(_) => "",
            Self::Shape { pointer, .. }
            | Self::Dangling { pointer, .. }
            | Self::Invalid { pointer, .. } => pointer,
        }
    }

    pub(crate) fn invalid(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// A JSON value's kind, in words.
pub(crate) fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Refuses arrays anywhere but where `allowed` patterns say an array belongs.
///
/// serde accepts an array in place of a struct (members by position); a
/// policy written that way would be unreadable and disagree with the JSON
/// Schema, so the shape check runs first.
pub(crate) fn refuse_misplaced_arrays(
    value: &serde_json::Value,
    allowed: &[&str],
) -> Result<(), (String, String)> {
    refuse_misplaced_arrays_outside(value, allowed, &[])
}

/// [`refuse_misplaced_arrays`], not looking inside the values at `opaque`
/// patterns (checked by their own parser).
pub(crate) fn refuse_misplaced_arrays_outside(
    value: &serde_json::Value,
    allowed: &[&str],
    opaque: &[&str],
) -> Result<(), (String, String)> {
    fn walk(
        v: &serde_json::Value,
        at: &mut String,
        allowed: &[crate::policy::Pattern],
        opaque: &[crate::policy::Pattern],
    ) -> Result<(), (String, String)> {
        use crate::policy::pattern::Key;
        let keys: Vec<String> = at
            .split('/')
            .skip(1)
            .map(|t| crate::pointer::unescape_token(t).into_owned())
            .collect();
        let key_refs: Vec<Key<'_>> = keys
            .iter()
            .map(|k| match k.parse::<usize>() {
                Ok(i) if i.to_string() == *k => Key::Index(i),
                _ => Key::Member(k),
            })
            .collect();
        if opaque.iter().any(|p| p.matches(&key_refs)) {
            return Ok(());
        }
        match v {
            serde_json::Value::Array(items) => {
                if !allowed.iter().any(|p| p.matches(&key_refs)) {
                    return Err((
                        at.clone(),
                        "invalid type: array, expected an object or a single value".to_owned(),
                    ));
                }
                for (i, x) in items.iter().enumerate() {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&i.to_string());
                    walk(x, at, allowed, opaque)?;
                    at.truncate(len);
                }
            }
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&crate::pointer::escape_token(k));
                    walk(x, at, allowed, opaque)?;
                    at.truncate(len);
                }
            }
            _ => {}
        }
        Ok(())
    }
    let compile = |list: &[&str]| -> Vec<crate::policy::Pattern> {
        list.iter()
            .filter_map(|p| crate::policy::Pattern::parse(p).ok())
            .collect()
    };
    walk(
        value,
        &mut String::new(),
        &compile(allowed),
        &compile(opaque),
    )
}
