//! Splitting a record into decision units: the values the policy's field
//! and note rules claim, and, around them, the values that fall to the
//! default note type.
//!
//! Units never nest, so each can be sealed on its own. At every node, in
//! this order: a field rule that matches it claims it whole; a note rule
//! that matches it makes it a note object (each member a unit: the type and
//! meta members under the default note type, the rest under the note's
//! type); a node no rule can reach any more is one default unit; otherwise
//! the walk goes on into its children. Patterns are matched token by token
//! while walking, never by re-parsing pointer text.

use serde_json::Value;

use crate::pointer::escape_token;
use crate::policy::pattern::Key;
use crate::policy::{NoteMatcher, Policy};

/// The kind of content of a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A note type the policy knows (index).
    Known(usize),
    /// A note whose type the policy does not know (the name found).
    Unknown(String),
    /// A note that is not an object or has no string type.
    Malformed,
}

/// One decision unit.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// Escaped JSON Pointer.
    pub(crate) pointer: String,
    pub(crate) kind: Kind,
}

/// The decision units of `record`, which must be an object.
pub(crate) fn units(policy: &Policy, record: &Value) -> Vec<Unit> {
    let mut w = Walker {
        policy,
        out: Vec::new(),
        ptr: String::new(),
    };
    let fields: Vec<usize> = (0..policy.fields.len()).collect();
    let notes: Vec<usize> = (0..policy.notes.len()).collect();
    w.children(record, 0, &fields, &notes);
    w.out
}

struct Walker<'p> {
    policy: &'p Policy,
    out: Vec<Unit>,
    ptr: String,
}

impl Walker<'_> {
    /// Visits node `v` at `depth` (>= 1) that rules `fields` and `notes` accepted so far.
    fn node(&mut self, v: &Value, depth: usize, fields: &[usize], notes: &[usize]) {
        let policy = self.policy;
        let claimed = fields
            .iter()
            .filter_map(|&i| policy.fields.get(i))
            .find(|(p, _)| p.len() == depth);
        if let Some((_, nt)) = claimed {
            return self.emit(Kind::Known(*nt));
        }
        let note = notes
            .iter()
            .filter_map(|&i| policy.notes.get(i))
            .find(|n| n.pattern.len() == depth);
        if let Some(m) = note {
            return self.note(v, m);
        }
        let deeper = fields
            .iter()
            .any(|&i| policy.fields.get(i).is_some_and(|(p, _)| p.len() > depth))
            || notes
                .iter()
                .any(|&i| policy.notes.get(i).is_some_and(|n| n.pattern.len() > depth));
        if deeper && (v.is_object() || v.is_array()) {
            self.children(v, depth, fields, notes);
        } else {
            self.emit(Kind::Known(policy.default_note_type));
        }
    }

    /// Visits the children of container `v` at `depth`.
    fn children(&mut self, v: &Value, depth: usize, fields: &[usize], notes: &[usize]) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    self.child(Key::Member(k), k, child, depth, fields, notes);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.child(Key::Index(i), &i.to_string(), child, depth, fields, notes);
                }
            }
            _ => {}
        }
    }

    fn child(
        &mut self,
        key: Key<'_>,
        token: &str,
        child: &Value,
        depth: usize,
        fields: &[usize],
        notes: &[usize],
    ) {
        let policy = self.policy;
        let f: Vec<usize> = fields
            .iter()
            .copied()
            .filter(|&i| {
                policy
                    .fields
                    .get(i)
                    .is_some_and(|(p, _)| p.accepts(depth, key))
            })
            .collect();
        let n: Vec<usize> = notes
            .iter()
            .copied()
            .filter(|&i| {
                policy
                    .notes
                    .get(i)
                    .is_some_and(|m| m.pattern.accepts(depth, key))
            })
            .collect();
        let len = self.ptr.len();
        self.ptr.push('/');
        self.ptr.push_str(&escape_token(token));
        self.node(child, depth + 1, &f, &n);
        self.ptr.truncate(len);
    }

    /// A note object: its type and meta members fall to the default note
    /// type, every other member to the note's type.
    fn note(&mut self, v: &Value, m: &NoteMatcher) {
        let Value::Object(map) = v else {
            return self.emit(Kind::Malformed);
        };
        let kind = match map.get(&m.type_member) {
            Some(Value::String(t)) => match self.policy.note_types.index(t) {
                Some(i) => Kind::Known(i),
                None => Kind::Unknown(t.clone()),
            },
            _ => return self.emit(Kind::Malformed),
        };
        for k in map.keys() {
            let len = self.ptr.len();
            self.ptr.push('/');
            self.ptr.push_str(&escape_token(k));
            if m.is_meta(k) {
                self.emit(Kind::Known(self.policy.default_note_type));
            } else {
                self.emit(kind.clone());
            }
            self.ptr.truncate(len);
        }
    }

    fn emit(&mut self, kind: Kind) {
        self.out.push(Unit {
            pointer: self.ptr.clone(),
            kind,
        });
    }
}
