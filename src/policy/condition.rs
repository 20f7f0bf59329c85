//! Conditions: when a rule holds, written declaratively in the policy.
//!
//! A rule (a role's permissions on a note type or its host actions, a
//! grant, a step-up rule, break-glass) may carry `when`, a condition over
//! attributes of the session, the record and the time:
//!
//! ```json
//! {"attribute": "session.network", "oneOf": ["onSite", "vpn"]}
//! {"not": {"attribute": "record.excludedStaff", "contains": {"attribute": "session.userId"}}}
//! {"allOf": [{"attribute": "time.localTime", "within": {"from": "22:00", "until": "07:00"}},
//!            {"attribute": "record.unit", "equals": {"attribute": "session.unit"}}]}
//! {"consent": "substanceUse"}
//! {"ref": "notExcludedByPatient"}
//! ```
//!
//! Operators: `equals`, `oneOf`, `contains` (a list attribute holds the
//! operand), `within` (`from` inclusive, `until` exclusive; a time of day
//! window may wrap past midnight), `before`, `after`, and `allOf`, `anyOf`,
//! `not`; `consent` holds when the record's consents show the note type to
//! this user, role or team now; `ref` names a condition of the policy's
//! `conditions`. Any node may carry a `label` the host can show (`patient
//! restriction`). Conditions are checked and compiled once, with the
//! policy: a condition naming an attribute that does not exist, a record
//! attribute the `record` section does not point at, or an operand of the
//! wrong kind is refused with its JSON Pointer. Evaluation
//! ([`crate::decision`]) is three-valued: an attribute missing or of the
//! wrong kind makes its test unknown, and unknown never allows.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::alert_config::LocalTime;
use super::attribute::{quoted, Kind, ATTRIBUTES, WEEKDAYS};
use super::error::{json_kind as kind_of, PolicyError};
use super::model::RecordLayout;
use crate::pointer::push;
use crate::Timestamp;

pub(crate) use super::attribute::{check_defaults, weekday_name};
pub use super::attribute::{Attribute, DEVICES, NETWORKS};

/// Index of a node in [`Conditions`].
pub(crate) type CondId = u32;

/// A constant in a condition, of the kind of the attribute it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Text(String),
    Flag(bool),
    Instant(Timestamp),
    Clock(LocalTime),
}

/// The other side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Literal(Literal),
    Attribute(Attribute),
}

/// A test of one attribute.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Equals(Operand),
    OneOf(Vec<Literal>),
    Contains(Operand),
    Within(Operand, Operand),
    Before(Operand),
    After(Operand),
}

/// A compiled condition node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    All(Vec<CondId>),
    Any(Vec<CondId>),
    Not(CondId),
    Test(Attribute, Test),
    /// The record's consents show note type `.0` (its id) to this session now.
    Consent(String),
}

/// Every compiled condition of a policy, in one arena; ids are stable.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    nodes: Vec<Node>,
    /// Where each node is written (a JSON Pointer into the policy).
    pointers: Vec<Arc<str>>,
    labels: Vec<Option<Arc<str>>>,
    /// Whether a node reads the record.
    of_record: Vec<bool>,
    /// Named conditions (`conditions`), compiled.
    named: BTreeMap<String, CondId>,
}

impl Conditions {
    /// The node `id`.
    pub(crate) fn node(&self, id: CondId) -> Option<&Node> {
        self.nodes.get(id as usize)
    }

    /// The named condition `name`, compiled.
    #[cfg(test)]
    pub(crate) fn named(&self, name: &str) -> Option<CondId> {
        self.named.get(name).copied()
    }

    /// Where node `id` is written.
    pub(crate) fn pointer(&self, id: CondId) -> Option<&Arc<str>> {
        self.pointers.get(id as usize)
    }

    /// The label of node `id`, or of the nearest labelled node above it on
    /// the way down from `root`.
    pub(crate) fn label(&self, root: CondId, id: CondId) -> Option<&Arc<str>> {
        let own = |i: CondId| self.labels.get(i as usize).and_then(Option::as_ref);
        if root == id {
            return own(id);
        }
        let children: &[CondId] = match self.node(root) {
            Some(Node::All(c) | Node::Any(c)) => c,
            Some(Node::Not(c)) => std::slice::from_ref(c),
            _ => &[],
        };
        children
            .iter()
            .find(|&&c| self.reaches(c, id))
            .and_then(|&c| self.label(c, id))
            .or_else(|| own(root))
    }

    fn reaches(&self, from: CondId, to: CondId) -> bool {
        from == to
            || match self.node(from) {
                Some(Node::All(c) | Node::Any(c)) => c.iter().any(|&x| self.reaches(x, to)),
                Some(Node::Not(c)) => self.reaches(*c, to),
                _ => false,
            }
    }

    /// Whether node `id` reads the record.
    pub(crate) fn of_record(&self, id: CondId) -> bool {
        self.of_record.get(id as usize).copied().unwrap_or(true)
    }

    /// Whether any node reads the record: if none does, no decision ever
    /// looks at a record's attributes.
    pub(crate) fn any_of_record(&self) -> bool {
        self.of_record.contains(&true)
    }

    /// A node made of both `a` and `b` (either may be absent), written at `at`.
    pub(crate) fn both(
        &mut self,
        a: Option<CondId>,
        b: Option<CondId>,
        at: &str,
    ) -> Option<CondId> {
        match (a, b) {
            (Some(a), Some(b)) => Some(self.add(Node::All(vec![a, b]), at.to_owned(), None)),
            (x, None) | (None, x) => x,
        }
    }

    fn add(&mut self, node: Node, at: String, label: Option<String>) -> CondId {
        let of_record = match &node {
            Node::All(c) | Node::Any(c) => c.iter().any(|&i| self.of_record(i)),
            Node::Not(c) => self.of_record(*c),
            Node::Test(a, t) => {
                a.of_record()
                    || operands(t).any(|o| matches!(o, Operand::Attribute(b) if b.of_record()))
            }
            Node::Consent(_) => true,
        };
        let id = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(node);
        self.pointers.push(at.into());
        self.labels.push(label.map(Arc::from));
        self.of_record.push(of_record);
        id
    }

    /// Compiles the policy's named `conditions` (each may use the others,
    /// without a circle).
    pub(crate) fn named_from(
        defs: &BTreeMap<String, Value>,
        scope: &Scope<'_>,
    ) -> Result<Self, PolicyError> {
        let mut c = Self::default();
        let mut visiting = Vec::new();
        for name in defs.keys() {
            c.define(name, defs, scope, &mut visiting)?;
        }
        Ok(c)
    }

    fn define(
        &mut self,
        name: &str,
        defs: &BTreeMap<String, Value>,
        scope: &Scope<'_>,
        visiting: &mut Vec<String>,
    ) -> Result<CondId, PolicyError> {
        if let Some(id) = self.named.get(name) {
            return Ok(*id);
        }
        let at = push("/conditions", name);
        if visiting.iter().any(|v| v == name) {
            return Err(PolicyError::invalid(
                at,
                format!("condition `{name}` refers to itself through `ref`"),
            ));
        }
        let Some(v) = defs.get(name) else {
            return Err(PolicyError::Dangling {
                pointer: at,
                kind: "condition",
                name: name.to_owned(),
                defined_in: "/conditions",
            });
        };
        visiting.push(name.to_owned());
        let id = self.compile_with(v, &at, scope, &mut |c, n, at| {
            if defs.contains_key(n) {
                c.define(n, defs, scope, visiting)
            } else {
                Err(dangling_ref(at, n))
            }
        })?;
        visiting.pop();
        self.named.insert(name.to_owned(), id);
        Ok(id)
    }

    /// Compiles the condition `v` written at `at`.
    pub(crate) fn compile(
        &mut self,
        v: &Value,
        at: &str,
        scope: &Scope<'_>,
    ) -> Result<CondId, PolicyError> {
        self.compile_with(v, at, scope, &mut |c, n, at| {
            c.named.get(n).copied().ok_or_else(|| dangling_ref(at, n))
        })
    }

    fn compile_with(
        &mut self,
        v: &Value,
        at: &str,
        scope: &Scope<'_>,
        resolve: &mut dyn FnMut(&mut Self, &str, &str) -> Result<CondId, PolicyError>,
    ) -> Result<CondId, PolicyError> {
        let m = v.as_object().ok_or_else(|| {
            PolicyError::invalid(
                at,
                format!("expected a condition (an object), found {}", kind_of(v)),
            )
        })?;
        let label = match m.get("label") {
            None => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(_) => {
                return Err(PolicyError::invalid(
                    push(at, "label"),
                    "expected a non-empty string",
                ))
            }
        };
        let ops: Vec<&str> = m
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "label" && *k != "attribute")
            .collect();
        if let Some(k) = ops.iter().find(|k| !OPERATORS.contains(k)) {
            return Err(PolicyError::Shape {
                pointer: push(at, k),
                message: format!(
                    "unknown member `{k}`, expected one of {}",
                    quoted(OPERATORS)
                ),
            });
        }
        let [op] = ops.as_slice() else {
            return Err(PolicyError::invalid(
                at,
                format!("a condition has exactly one of {}", quoted(OPERATORS)),
            ));
        };
        let op = *op;
        let arg = m.get(op).unwrap_or(&Value::Null);
        let here = push(at, op);
        let attribute = m.get("attribute");
        let needs_attribute = !matches!(op, "allOf" | "anyOf" | "not" | "consent" | "ref");
        if needs_attribute != attribute.is_some() {
            return Err(PolicyError::invalid(
                at,
                if needs_attribute {
                    format!("`{op}` tests an `attribute`: name one")
                } else {
                    format!("`{op}` takes no `attribute`")
                },
            ));
        }
        let node = match op {
            "allOf" | "anyOf" => {
                let items = arg.as_array().filter(|a| !a.is_empty()).ok_or_else(|| {
                    PolicyError::invalid(&here, "expected a non-empty array of conditions")
                })?;
                let mut ids = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    ids.push(self.compile_with(item, &format!("{here}/{i}"), scope, resolve)?);
                }
                if op == "allOf" {
                    Node::All(ids)
                } else {
                    Node::Any(ids)
                }
            }
            "not" => Node::Not(self.compile_with(arg, &here, scope, resolve)?),
            "ref" => {
                let name = arg.as_str().ok_or_else(|| {
                    PolicyError::invalid(&here, "expected the name of a condition")
                })?;
                let target = resolve(self, name, &here)?;
                return Ok(match label {
                    // A labelled reference keeps its own label for explanations.
                    Some(l) => self.add(Node::All(vec![target]), at.to_owned(), Some(l)),
                    None => target,
                });
            }
            "consent" => {
                let nt = arg
                    .as_str()
                    .ok_or_else(|| PolicyError::invalid(&here, "expected a note type id"))?;
                if !scope.note_types.contains(&nt) {
                    return Err(PolicyError::Dangling {
                        pointer: here,
                        kind: "note type",
                        name: nt.to_owned(),
                        defined_in: "/noteTypes",
                    });
                }
                scope.record_attribute(Attribute::RecordConsents, &here)?;
                Node::Consent(nt.to_owned())
            }
            _ => {
                let at_attr = push(at, "attribute");
                let (attr, kind) = scope.attribute(attribute.unwrap_or(&Value::Null), &at_attr)?;
                Node::Test(attr, self::test(op, arg, attr, kind, &here, scope)?)
            }
        };
        Ok(self.add(node, at.to_owned(), label))
    }
}

/// The operators a condition may use.
const OPERATORS: &[&str] = &[
    "equals", "oneOf", "contains", "within", "before", "after", "allOf", "anyOf", "not", "consent",
    "ref",
];

/// What a condition may name: the policy's note types and record layout.
pub(crate) struct Scope<'a> {
    pub(crate) note_types: Vec<&'a str>,
    pub(crate) layout: &'a RecordLayout,
}

impl Scope<'_> {
    fn attribute(&self, v: &Value, at: &str) -> Result<(Attribute, Kind), PolicyError> {
        let name = v.as_str().ok_or_else(|| {
            PolicyError::invalid(
                at,
                format!("expected an attribute name, found {}", kind_of(v)),
            )
        })?;
        let (attr, kind) = Attribute::named(name).ok_or_else(|| {
            let names: Vec<&str> = ATTRIBUTES.iter().map(|(_, n, _)| *n).collect();
            PolicyError::invalid(
                at,
                format!("expected one of {}, found `{name}`", quoted(&names)),
            )
        })?;
        if attr.of_record() {
            self.record_attribute(attr, at)?;
        }
        Ok((attr, kind))
    }

    fn record_attribute(&self, attr: Attribute, at: &str) -> Result<(), PolicyError> {
        if attr.layout_pointer(self.layout).is_none() {
            let member = attr.as_str().trim_start_matches("record.");
            return Err(PolicyError::invalid(
                at,
                format!("`{}` needs a pointer at `/record/{member}`", attr.as_str()),
            ));
        }
        Ok(())
    }
}

fn test(
    op: &str,
    arg: &Value,
    attr: Attribute,
    kind: Kind,
    at: &str,
    scope: &Scope<'_>,
) -> Result<Test, PolicyError> {
    let scalar = |v: &Value, at: &str, want: Kind| operand(v, at, want, attr, scope);
    Ok(match op {
        "equals" => {
            if kind == Kind::List {
                return Err(PolicyError::invalid(
                    at,
                    format!("`{}` is a list: test it with `contains`", attr.as_str()),
                ));
            }
            Test::Equals(operand(arg, at, kind, attr, scope)?)
        }
        "oneOf" => {
            let items = arg
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| PolicyError::invalid(at, "expected a non-empty array"))?;
            let mut lits = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                lits.push(literal(item, &format!("{at}/{i}"), kind, attr)?);
            }
            Test::OneOf(lits)
        }
        "contains" => {
            if kind != Kind::List {
                return Err(PolicyError::invalid(
                    at,
                    format!(
                        "`contains` tests a list, and `{}` is {}",
                        attr.as_str(),
                        kind.words()
                    ),
                ));
            }
            Test::Contains(scalar(arg, at, Kind::Text)?)
        }
        "within" | "before" | "after" => {
            if !matches!(kind, Kind::Instant | Kind::Clock) {
                return Err(PolicyError::invalid(
                    at,
                    format!(
                        "`{op}` compares times, and `{}` is {}",
                        attr.as_str(),
                        kind.words()
                    ),
                ));
            }
            if op == "within" {
                let m = arg.as_object().filter(|m| m.len() == 2).ok_or_else(|| {
                    PolicyError::invalid(at, "expected `{\"from\": ..., \"until\": ...}`")
                })?;
                let side = |name: &str| -> Result<Operand, PolicyError> {
                    let v = member(m, name, at)?;
                    scalar(v, &push(at, name), kind)
                };
                Test::Within(side("from")?, side("until")?)
            } else if op == "before" {
                Test::Before(scalar(arg, at, kind)?)
            } else {
                Test::After(scalar(arg, at, kind)?)
            }
        }
        _ => return Err(PolicyError::invalid(at, format!("unknown operator `{op}`"))),
    })
}

fn member<'v>(m: &'v Map<String, Value>, name: &str, at: &str) -> Result<&'v Value, PolicyError> {
    m.get(name)
        .ok_or_else(|| PolicyError::invalid(at, format!("missing member `{name}`")))
}

/// A literal of kind `want` (of the values `attr` takes), or
/// `{"attribute": name}` of that kind.
fn operand(
    v: &Value,
    at: &str,
    want: Kind,
    attr: Attribute,
    scope: &Scope<'_>,
) -> Result<Operand, PolicyError> {
    if let Value::Object(m) = v {
        if m.len() != 1 || !m.contains_key("attribute") {
            return Err(PolicyError::invalid(
                at,
                "expected a value or `{\"attribute\": name}`",
            ));
        }
        let at_attr = push(at, "attribute");
        let (b, kind) = scope.attribute(m.get("attribute").unwrap_or(&Value::Null), &at_attr)?;
        if kind != want {
            return Err(PolicyError::invalid(
                at_attr,
                format!(
                    "expected an attribute holding {}, found `{}` holding {}",
                    want.words(),
                    b.as_str(),
                    kind.words()
                ),
            ));
        }
        return Ok(Operand::Attribute(b));
    }
    literal(v, at, want, attr).map(Operand::Literal)
}

/// A constant of kind `want`; `attr` restricts the values some attributes take.
fn literal(v: &Value, at: &str, want: Kind, attr: Attribute) -> Result<Literal, PolicyError> {
    let wrong = || {
        PolicyError::invalid(
            at,
            format!("expected {}, found {}", want.words(), kind_of(v)),
        )
    };
    let lit = match (want, v) {
        (Kind::Text | Kind::List, Value::String(s)) => Literal::Text(s.clone()),
        (Kind::Flag, Value::Bool(b)) => Literal::Flag(*b),
        (Kind::Instant, Value::String(s)) => Literal::Instant(
            Timestamp::parse(s).map_err(|e| PolicyError::invalid(at, e.to_string()))?,
        ),
        (Kind::Clock, Value::String(s)) => Literal::Clock(LocalTime::parse(s).map_err(|_| {
            PolicyError::invalid(
                at,
                format!("expected a time of day such as `08:30`, found `{s}`"),
            )
        })?),
        _ => return Err(wrong()),
    };
    let allowed: &[&str] = match attr {
        Attribute::SessionNetwork => &NETWORKS,
        Attribute::SessionDevice => &DEVICES,
        Attribute::TimeWeekday => &WEEKDAYS,
        _ => &[],
    };
    if let Literal::Text(s) = &lit {
        if !allowed.is_empty() && !allowed.contains(&s.as_str()) {
            return Err(PolicyError::invalid(
                at,
                format!("expected one of {}, found `{s}`", quoted(allowed)),
            ));
        }
    }
    Ok(lit)
}

/// The operands of a test.
pub(crate) fn operands(t: &Test) -> impl Iterator<Item = &Operand> {
    let (a, b) = match t {
        Test::Equals(o) | Test::Contains(o) | Test::Before(o) | Test::After(o) => (Some(o), None),
        Test::Within(x, y) => (Some(x), Some(y)),
        Test::OneOf(_) => (None, None),
    };
    a.into_iter().chain(b)
}

fn dangling_ref(at: &str, name: &str) -> PolicyError {
    PolicyError::Dangling {
        pointer: at.to_owned(),
        kind: "condition",
        name: name.to_owned(),
        defined_in: "/conditions",
    }
}
