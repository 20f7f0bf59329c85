//! Shared by the shape tests: the shipped policies, every fixture record, a
//! leak oracle (the strings a view shows) and shape mutations.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use sealtrail::seal::PLACEHOLDER_MEMBER;
use serde_json::{Map, Value};

/// A policy shipped in `pkg-config/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shipped {
    /// `policy.default.json`.
    Default,
    /// `policy.youth-facility.json`.
    Youth,
}

impl Shipped {
    pub const ALL: [Shipped; 2] = [Shipped::Default, Shipped::Youth];
}

pub fn policy_text(p: Shipped) -> &'static str {
    match p {
        Shipped::Default => include_str!("../../pkg-config/policy.default.json"),
        Shipped::Youth => include_str!("../../pkg-config/policy.youth-facility.json"),
    }
}

/// Every fixture record: `tests/fixtures/records/`, the demo's
/// `www/data/records.json` and records of the `sample` caseload.
pub fn fixture_records() -> Vec<(String, Value)> {
    let mut out = vec![
        (
            "clinic-record.json".to_owned(),
            serde_json::from_str(include_str!("../fixtures/records/clinic-record.json")).unwrap(),
        ),
        (
            "youth-record.json".to_owned(),
            serde_json::from_str(include_str!("../fixtures/records/youth-record.json")).unwrap(),
        ),
    ];
    let demo: Vec<Value> =
        serde_json::from_str(include_str!("../../www/data/records.json")).unwrap();
    for (i, r) in demo.into_iter().enumerate() {
        out.push((format!("www/data/records.json#{i}"), r));
    }
    for i in 0..3 {
        out.push((
            format!("sample::caseload_record({i})"),
            sealtrail::sample::caseload_record(i),
        ));
    }
    out
}

/// Every string a view shows: string values and member names, outside
/// placeholders.
pub fn visible_strings(view: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_visible(view, &mut out);
    out
}

fn collect_visible(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|x| collect_visible(x, out)),
        Value::Object(m) if m.contains_key(PLACEHOLDER_MEMBER) => {}
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                collect_visible(x, out);
            }
        }
        _ => {}
    }
}

/// Every string value in `v`.
pub fn strings(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Every member name, and every number and boolean written as text, in `v`:
/// what a mutation can turn into a string without it being a leak.
pub fn names_and_scalars(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Number(_) | Value::Bool(_) | Value::Null => {
            out.insert(v.to_string());
        }
        Value::Array(items) => items.iter().for_each(|x| names_and_scalars(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone());
                names_and_scalars(x, out);
            }
        }
        Value::String(_) => {}
    }
}

/// Member names a mutation invents: no policy uses them.
pub const FRESH: [&str; 2] = ["mutant", "mutant2"];

/// One shape mutation, applied to the value at one place of a record.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Another JSON type holding the same content: a string or number in an
    /// array or object, an object as the array of its values or of
    /// `[name, value]` pairs, an array as an object keyed by index, a
    /// number or boolean as a string.
    SwapType(u8),
    /// `[value]`.
    WrapArray,
    /// `{"mutant": value}`.
    WrapObject,
    /// A container replaced by its child number `n` (modulo).
    Flatten(u8),
    /// A grandchild moved up into the value: child `c`'s member `g` (modulo).
    MoveUp(u8, u8),
    /// A child moved down into a sibling container: child `a` into `b` (modulo).
    MoveDown(u8, u8),
}

/// Paths of every value below the root, in document order.
pub fn paths(v: &Value) -> Vec<Vec<Key>> {
    let mut out = Vec::new();
    let mut here = Vec::new();
    walk_paths(v, &mut here, &mut out);
    out
}

/// A step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Member(String),
    Index(usize),
}

fn walk_paths(v: &Value, here: &mut Vec<Key>, out: &mut Vec<Vec<Key>>) {
    let children: Vec<(Key, &Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, x)| (Key::Member(k.clone()), x)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| (Key::Index(i), x))
            .collect(),
        _ => Vec::new(),
    };
    for (k, x) in children {
        here.push(k);
        out.push(here.clone());
        walk_paths(x, here, out);
        here.pop();
    }
}

pub fn get_mut<'a>(v: &'a mut Value, path: &[Key]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| match (v, k) {
        (Value::Object(m), Key::Member(name)) => m.get_mut(name),
        (Value::Array(a), Key::Index(i)) => a.get_mut(*i),
        _ => None,
    })
}

/// `v` with `m` applied.
pub fn mutate(v: Value, m: &Mutation) -> Value {
    match m {
        Mutation::SwapType(n) => swap_type(v, *n),
        Mutation::WrapArray => Value::Array(vec![v]),
        Mutation::WrapObject => wrap(FRESH[0], v),
        Mutation::Flatten(n) => match v {
            Value::Object(m) if !m.is_empty() => {
                let i = usize::from(*n) % m.len();
                m.into_iter().nth(i).map(|(_, x)| x).unwrap()
            }
            Value::Array(a) if !a.is_empty() => {
                let i = usize::from(*n) % a.len();
                a.into_iter().nth(i).unwrap()
            }
            other => other,
        },
        Mutation::MoveUp(c, g) => move_up(v, *c, *g),
        Mutation::MoveDown(a, b) => move_down(v, *a, *b),
    }
}

fn wrap(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_owned(), v);
    Value::Object(m)
}

fn swap_type(v: Value, n: u8) -> Value {
    match v {
        Value::String(_) if n % 2 == 0 => Value::Array(vec![v]),
        Value::String(_) => wrap(FRESH[0], v),
        Value::Number(_) | Value::Bool(_) => Value::String(v.to_string()),
        Value::Object(m) if n % 2 == 0 => Value::Array(m.into_iter().map(|(_, x)| x).collect()),
        Value::Object(m) => Value::Array(
            m.into_iter()
                .map(|(k, x)| Value::Array(vec![Value::String(k), x]))
                .collect(),
        ),
        Value::Array(a) => Value::Object(
            a.into_iter()
                .enumerate()
                .map(|(i, x)| (i.to_string(), x))
                .collect(),
        ),
        Value::Null => Value::String("null".into()),
    }
}

/// Removes child number `n` (modulo) of a container: its name (none for an
/// array element) and value.
fn take_child(v: &mut Value, n: u8) -> Option<(Option<String>, Value)> {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let k = m.keys().nth(usize::from(n) % m.len()).cloned()?;
            m.remove(&k).map(|x| (Some(k), x))
        }
        Value::Array(a) if !a.is_empty() => {
            let i = usize::from(n) % a.len();
            Some((None, a.remove(i)))
        }
        _ => None,
    }
}

/// Puts `x` into container `v`: under its own name when free (else a fresh
/// one), or at the end of an array. Never replaces a member.
fn put(v: &mut Value, name: Option<String>, x: Value) -> bool {
    match v {
        Value::Object(m) => {
            let key = name.filter(|k| !m.contains_key(k)).or_else(|| {
                FRESH
                    .iter()
                    .find(|k| !m.contains_key(**k))
                    .map(|k| (*k).to_owned())
            });
            match key {
                Some(k) => {
                    m.insert(k, x);
                    true
                }
                None => false,
            }
        }
        Value::Array(a) => {
            a.push(x);
            true
        }
        _ => false,
    }
}

/// Child number `n` (modulo) of a container.
fn child_mut(v: &mut Value, n: u8) -> Option<&mut Value> {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let i = usize::from(n) % m.len();
            m.values_mut().nth(i)
        }
        Value::Array(a) if !a.is_empty() => {
            let i = usize::from(n) % a.len();
            a.get_mut(i)
        }
        _ => None,
    }
}

fn move_up(mut v: Value, c: u8, g: u8) -> Value {
    let original = v.clone();
    let Some(taken) = child_mut(&mut v, c).and_then(|child| take_child(child, g)) else {
        return original;
    };
    let (name, x) = taken;
    if put(&mut v, name, x) {
        v
    } else {
        original
    }
}

fn move_down(mut v: Value, a: u8, b: u8) -> Value {
    let original = v.clone();
    let Some((name, x)) = take_child(&mut v, a) else {
        return original;
    };
    match child_mut(&mut v, b) {
        Some(t) => {
            if put(t, name, x) {
                v
            } else {
                original
            }
        }
        None => original,
    }
}
