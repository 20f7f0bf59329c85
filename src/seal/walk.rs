//! Splitting a record into decision units by shape: each unit carries every
//! note type that could live there, and is shown only if the session may
//! see all of them.
//!
//! # The shape rule
//!
//! The policy's field and note patterns describe where restricted content
//! lives. Walking the record, each value is:
//!
//! - **claimed** by every field pattern that ends at it (its note type), by
//!   the note it is a member of (the note's type; a note's type and meta
//!   members only when they hold a scalar), and by every note type named by
//!   an object inside it (below);
//! - **misshapen** when a pattern runs through it but its shape cannot hold
//!   what the pattern names: a scalar where a pattern goes deeper, a member
//!   or index no pattern accepts beside ones that some pattern does (under
//!   the root), a note that is not an object with a string type. It is then
//!   claimed by every note type of every pattern below that point, and by an
//!   untyped note (sealed for everyone) if a note pattern runs below;
//! - **a note wherever it is**: an object whose note-type member (the
//!   `typeMember` of any note rule) names a known note type is that note,
//!   inside or outside the places the patterns name; inside a note's
//!   content, one naming an unknown type is a note of unknown type too.
//!
//! A value that would pass for a placeholder (an object with a `$sealed`
//! member, or inside one) is misshapen: a forged placeholder is never shown.
//!
//! Claims accumulate from the root down (a field rule above a more
//! restricted one never opens it). A value nothing claims is of the default
//! note type. The record layout's own pointers (id, type, team,
//! demographics) are declared places of the default note type.
//!
//! # Units and resumption
//!
//! Units never nest, so each can be sealed on its own. A value no pattern
//! reaches any more is one unit, split only to set apart the notes it holds.
//! The walk keeps its own stack (no recursion on record depth) and stops
//! after a budget of values, so sealing a large record can hand control back
//! to its caller between steps. While it walks it measures the record's JSON
//! text (strings by their UTF-8 length, without escapes).

use std::ops::Range;

use serde_json::{Map, Number, Value};

use super::PLACEHOLDER_MEMBER;
use crate::pointer::{escape_token, member, same};
use crate::policy::pattern::Key;
use crate::policy::Policy;

/// The note types a unit may hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Kinds {
    /// Known note types; empty for the default note type alone.
    pub(crate) known: Known,
    /// Set when it may hold a note the policy cannot type.
    pub(crate) unknown: Option<Unknown>,
    /// Set when it is (inside) a note's content: there an object naming
    /// any type in a note-type member is a note, known type or not.
    in_note: bool,
}

/// A note the policy cannot type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// Its type is a name the policy does not know.
    Named(String),
    /// An object inside a note's content (or in a place of any type but
    /// the default one) naming a type the policy does not know: the name
    /// is content of that place, so it is not repeated.
    InContent,
    /// It is not an object with a string type, or a note was expected
    /// where the shape cannot hold one.
    Malformed,
}

/// A set of note types (indexes): the first 64 as bits, any beyond in a
/// sorted list. Every value walked carries one, copied from its parent's
/// and grown, so a caseload's tens of thousands of fields (each claimed by
/// a few types of a policy's dozen or so) allocate nothing for it.
#[derive(Debug, Clone, Default, Eq)]
pub(crate) struct Known {
    low: u64,
    /// Indexes from 64 on, ascending, no repeats.
    high: Vec<usize>,
}

impl PartialEq for Known {
    /// By hand: the derived comparison calls `memcmp` for the (nearly
    /// always empty) list, and decisions compare sets for every field.
    fn eq(&self, other: &Self) -> bool {
        self.low == other.low
            && match (self.high.is_empty(), other.high.is_empty()) {
                (true, true) => true,
                (false, false) => self.high == other.high,
                _ => false,
            }
    }
}

impl Known {
    fn add(&mut self, i: usize) {
        match u32::try_from(i).ok().and_then(|b| 1u64.checked_shl(b)) {
            Some(bit) => self.low |= bit,
            None => {
                if let Err(at) = self.high.binary_search(&i) {
                    self.high.insert(at, i);
                }
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.low == 0 && self.high.is_empty()
    }

    /// The indexes, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let mut bits = self.low;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                i
            })
        })
        .chain(self.high.iter().copied())
    }
}

impl Kinds {
    fn one(i: usize) -> Self {
        let mut k = Self::default();
        k.add(i);
        k
    }

    fn add(&mut self, i: usize) {
        self.known.add(i);
    }

    fn union(&mut self, other: &Kinds) {
        self.known.low |= other.known.low;
        for &i in &other.known.high {
            self.add(i);
        }
        if self.unknown.is_none() {
            self.unknown.clone_from(&other.unknown);
        }
        self.in_note |= other.in_note;
    }

    fn is_empty(&self) -> bool {
        self.known.is_empty() && self.unknown.is_none()
    }
}

/// One decision unit.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unit {
    /// Its escaped JSON Pointer: where it is in [`Units::pointers`].
    pub(crate) pointer: Range<usize>,
    /// What it may hold.
    pub(crate) kinds: Kinds,
}

/// The units found so far, their pointers written one after another in
/// one string: a caseload's tens of thousands of fields allocate nothing
/// each for their pointers, and the decisions take the string over whole.
#[derive(Debug, Default)]
pub(crate) struct Units {
    pub(crate) pointers: String,
    pub(crate) list: Vec<Unit>,
}

impl Units {
    /// Adds the unit at `pointer`.
    fn push(&mut self, pointer: &str, kinds: Kinds) {
        let start = self.pointers.len();
        self.pointers.push_str(pointer);
        self.list.push(Unit {
            pointer: start..self.pointers.len(),
            kinds,
        });
    }
}

/// A walk in progress over one record.
#[derive(Debug)]
pub(crate) struct Walk {
    stack: Vec<Frame>,
    ptr: String,
    /// The field and note patterns that accept the child being visited:
    /// reused from child to child (most end at it or never reach it, so a
    /// list of their own would be allocated only to be dropped).
    accepted: (Vec<usize>, Vec<usize>),
    size: u64,
    /// The record is not a container: one misshapen unit, the whole of it.
    scalar_root: bool,
}

/// A container being walked.
#[derive(Debug)]
struct Frame {
    /// Its key in its parent (`None` for the root).
    key: Option<OwnedKey>,
    /// Length of the pointer before its key was pushed.
    ptr_len: usize,
    /// Its depth (the root is 0).
    depth: usize,
    /// Field and note patterns that go deeper than it.
    fields: Vec<usize>,
    notes: Vec<usize>,
    /// Claims on everything inside it.
    claim: Kinds,
    /// When it is a note: the note's kinds and the rule that types it.
    note: Option<(Kinds, usize)>,
    /// Claims on a child no pattern accepts, when a restricted pattern runs below.
    mismatch: Option<Kinds>,
    /// Children visited so far.
    next: usize,
}

impl Frame {
    /// A frame at `depth` under `claim`, with no pattern below yet.
    fn new(depth: usize, claim: Kinds, note: Option<(Kinds, usize)>) -> Self {
        Self {
            key: None,
            ptr_len: 0,
            depth,
            fields: Vec::new(),
            notes: Vec::new(),
            claim,
            note,
            mismatch: None,
            next: 0,
        }
    }
}

#[derive(Debug, Clone)]
enum OwnedKey {
    Member(String),
    Index(usize),
}

impl Walk {
    /// A walk of `record` (an object; anything else is one unit, sealed
    /// for everyone).
    pub(crate) fn new(policy: &Policy, record: &Value) -> Self {
        let mut w = Self {
            stack: Vec::new(),
            ptr: String::new(),
            accepted: Default::default(),
            size: 0,
            scalar_root: !is_container(record),
        };
        w.size += container_size(record);
        if is_container(record) {
            let mut claim = Kinds::default();
            let note = match record {
                Value::Object(m) => self_typed(policy, m, &mut claim),
                _ => None,
            };
            let mut root = Frame::new(0, claim, note);
            root.fields = (0..policy.fields.len()).collect();
            root.notes = (0..policy.notes.len()).collect();
            w.stack.push(root);
        }
        w
    }

    /// Bytes of the record's JSON text seen so far (all of it once done).
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Walks on until about `budget` values are visited (taken from it),
    /// pushing units to `out`; true once the whole record is walked.
    /// `record` must be the value the walk started on, unchanged.
    pub(crate) fn step(
        &mut self,
        policy: &Policy,
        record: &Value,
        budget: &mut usize,
        out: &mut Units,
    ) -> bool {
        if std::mem::take(&mut self.scalar_root) {
            out.push(
                "",
                Kinds {
                    unknown: Some(Unknown::Malformed),
                    ..Kinds::default()
                },
            );
        }
        let mut iters: Vec<Children<'_>> = Vec::with_capacity(self.stack.len());
        let mut cur = record;
        for f in &self.stack {
            if let Some(k) = &f.key {
                match child_at(cur, k) {
                    Some(c) => cur = c,
                    // INVARIANT: the record is not changed while it is walked.
                    None => {
                        self.stack.clear();
                        return true;
                    }
                }
            }
            iters.push(Children::from(cur, f.next));
        }
        while *budget > 0 {
            let Some(it) = iters.last_mut() else {
                return true;
            };
            let Some((key, child)) = it.next() else {
                if let Some(f) = self.stack.pop() {
                    self.ptr.truncate(f.ptr_len);
                }
                iters.pop();
                continue;
            };
            if let Some(f) = self.stack.last_mut() {
                f.next += 1;
            }
            *budget -= 1;
            if let Some(frame) = self.child(policy, key, child, out, budget) {
                iters.push(Children::from(child, 0));
                self.stack.push(frame);
            }
        }
        self.stack.is_empty()
    }

    /// Visits `child` of the container on top of the stack: emits its unit,
    /// or returns the frame to walk it.
    fn child(
        &mut self,
        policy: &Policy,
        key: Key<'_>,
        child: &Value,
        out: &mut Units,
        budget: &mut usize,
    ) -> Option<Frame> {
        let parent = self.stack.last()?;
        let depth = parent.depth;
        let mut claim = parent.claim.clone();
        if let Some((kinds, rule)) = &parent.note {
            let meta = match key {
                Key::Member(k) => policy.notes.get(*rule).is_some_and(|m| m.is_meta(k)),
                Key::Index(_) => false,
            };
            // A meta member holding more than a scalar holds the note's content.
            if !meta || is_container(child) {
                claim.union(kinds);
                claim.in_note = true;
            }
        }
        let (mut fields, mut notes) = std::mem::take(&mut self.accepted);
        fields.clear();
        fields.extend(parent.fields.iter().copied().filter(|&i| {
            policy
                .fields
                .get(i)
                .is_some_and(|(p, _)| p.accepts(depth, key))
        }));
        notes.clear();
        notes.extend(parent.notes.iter().copied().filter(|&i| {
            policy
                .notes
                .get(i)
                .is_some_and(|m| m.pattern.accepts(depth, key))
        }));
        let unexpected = (fields.is_empty() && notes.is_empty())
            .then(|| parent.mismatch.clone())
            .flatten();
        let ptr_len = self.ptr.len();
        self.ptr.push('/');
        match key {
            Key::Member(k) => {
                self.ptr.push_str(&escape_token(k));
                self.size += k.len() as u64 + 3;
            }
            Key::Index(i) => self.ptr.push_str(itoa::Buffer::new().format(i)),
        }
        let frame = if matches!(key, Key::Member(PLACEHOLDER_MEMBER)) {
            claim.unknown = Some(Unknown::Malformed);
            self.emit(policy, child, claim, out, budget);
            None
        } else {
            match unexpected {
                Some(mismatch) => {
                    claim.union(&mismatch);
                    self.emit(policy, child, claim, out, budget);
                    None
                }
                None => self.visit(
                    policy,
                    child,
                    depth + 1,
                    &fields,
                    &notes,
                    claim,
                    out,
                    budget,
                ),
            }
        };
        self.accepted = (fields, notes);
        match frame {
            Some(mut f) => {
                f.key = Some(match key {
                    Key::Member(k) => OwnedKey::Member(k.to_owned()),
                    Key::Index(i) => OwnedKey::Index(i),
                });
                f.ptr_len = ptr_len;
                Some(f)
            }
            None => {
                self.ptr.truncate(ptr_len);
                None
            }
        }
    }

    /// Visits value `v` at `depth` (>= 1) that patterns `fields` and `notes`
    /// accepted so far, under `claim`.
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &mut self,
        policy: &Policy,
        v: &Value,
        depth: usize,
        fields: &[usize],
        notes: &[usize],
        mut claim: Kinds,
        out: &mut Units,
        budget: &mut usize,
    ) -> Option<Frame> {
        let mut deeper_fields = Vec::new();
        for &i in fields {
            match policy.fields.get(i) {
                Some((p, nt)) if p.len() == depth => claim.add(*nt),
                Some(_) => deeper_fields.push(i),
                None => {}
            }
        }
        let ends = |i: &usize| {
            policy
                .notes
                .get(*i)
                .is_some_and(|m| m.pattern.len() == depth)
        };
        let unclaimed = claim.is_empty();
        let note_rule = notes.iter().copied().find(ends);
        let deeper_notes: Vec<usize> = notes.iter().copied().filter(|i| !ends(i)).collect();
        let note = match note_rule {
            Some(r) => match pattern_note(policy, r, v) {
                Some(mut kinds) => {
                    // An unknown type's name is repeated (in placeholders and
                    // the event) only where the note's type member is
                    // governed by the default note type alone: in a place of
                    // another type (a note's content, a self-typed object),
                    // the name is that type's content.
                    if matches!(kinds.unknown, Some(Unknown::Named(_)))
                        && !default_alone(policy, &claim)
                    {
                        kinds.unknown = Some(Unknown::InContent);
                    }
                    Some((kinds, r))
                }
                None => {
                    claim.unknown = Some(Unknown::Malformed);
                    self.emit(policy, v, claim, out, budget);
                    return None;
                }
            },
            None => match v {
                Value::Object(m) => self_typed(policy, m, &mut claim),
                _ => None,
            },
        };
        let deeper = !deeper_fields.is_empty() || !deeper_notes.is_empty();
        if !deeper && note_rule.is_none() {
            // Nothing below is named: one unit, unless it is unclaimed
            // content holding notes, which are set apart.
            let s = survey(policy, v, claim.in_note);
            if unclaimed && is_container(v) && !s.typed.known.is_empty() {
                *budget = budget.saturating_sub(s.nodes.saturating_sub(1));
                self.size += container_size(v);
                return Some(Frame::new(depth, claim, note));
            }
            self.push(policy, claim, s, out, budget);
            return None;
        }
        let mismatch = mismatch(policy, &deeper_fields, &deeper_notes);
        if !is_container(v) {
            if let Some(m) = &mismatch {
                claim.union(m);
            }
            self.emit(policy, v, claim, out, budget);
            return None;
        }
        self.size += container_size(v);
        let mut f = Frame::new(depth, claim, note);
        f.fields = deeper_fields;
        f.notes = deeper_notes;
        f.mismatch = mismatch;
        Some(f)
    }

    /// Emits `v` as one unit under `claim` and every note type named inside it.
    fn emit(
        &mut self,
        policy: &Policy,
        v: &Value,
        claim: Kinds,
        out: &mut Units,
        budget: &mut usize,
    ) {
        let s = survey(policy, v, claim.in_note);
        self.push(policy, claim, s, out, budget);
    }

    /// Emits the unit at the current pointer, surveyed as `s`.
    fn push(
        &mut self,
        policy: &Policy,
        mut claim: Kinds,
        s: Survey,
        out: &mut Units,
        budget: &mut usize,
    ) {
        // An empty claim stands for the default note type alone; the notes
        // found inside are held beside that content, not instead of it.
        if claim.known.is_empty() && !s.typed.known.is_empty() {
            claim.add(policy.default_note_type);
        }
        claim.union(&s.typed);
        self.size += s.size;
        *budget = budget.saturating_sub(s.nodes.saturating_sub(1));
        out.push(&self.ptr, claim);
    }
}

/// What one pass over a value finds.
struct Survey {
    /// Note types named by objects inside it (itself included); inside a
    /// note's content, unknown names too.
    typed: Kinds,
    /// Bytes of its JSON text (strings by their UTF-8 length).
    size: u64,
    /// Values in it.
    nodes: usize,
}

fn survey<'a>(policy: &Policy, v: &'a Value, in_note: bool) -> Survey {
    let mut s = Survey {
        typed: Kinds::default(),
        size: 0,
        nodes: 0,
    };
    if !is_container(v) {
        s.size = scalar_size(v);
        s.nodes = 1;
        return s;
    }
    // Scalars are counted where they are found and only containers wait
    // on the stack: the flat objects most fields are allocate nothing.
    let mut stack = Vec::new();
    let mut next = Some(v);
    while let Some(x) = next.take().or_else(|| stack.pop()) {
        s.nodes += 1;
        s.size += container_size(x);
        // `name`: bytes of its member name, quotes and colon (0 in an array).
        let mut child = |name: u64, c: &'a Value| {
            s.size += name;
            if is_container(c) {
                stack.push(c);
            } else {
                s.nodes += 1;
                s.size += scalar_size(c);
            }
        };
        match x {
            Value::Object(m) => {
                // One pass over the members finds a placeholder's member
                // and whether any note rule's type member holds a string:
                // most objects have neither, and are not looked into again.
                let (mut forged, mut typed) = (false, false);
                for (k, c) in m {
                    child(k.len() as u64 + 3, c);
                    forged |= same(k, PLACEHOLDER_MEMBER);
                    typed |= c.is_string() && policy.notes.iter().any(|r| same(&r.type_member, k));
                }
                if forged {
                    s.typed.unknown = Some(Unknown::Malformed);
                }
                match typed.then(|| named_type(policy, m)).flatten() {
                    Some(Ok(i)) => s.typed.add(i),
                    Some(Err(_)) if in_note && s.typed.unknown.is_none() => {
                        s.typed.unknown = Some(Unknown::InContent);
                    }
                    _ => {}
                }
            }
            Value::Array(a) => a.iter().for_each(|c| child(0, c)),
            _ => {}
        }
    }
    s
}

/// The known note type `m` names in some note rule's type member, and that rule.
fn self_type(policy: &Policy, m: &Map<String, Value>) -> Option<(usize, usize)> {
    policy
        .notes
        .iter()
        .enumerate()
        .find_map(|(r, rule)| match member(m, &rule.type_member) {
            Some(Value::String(t)) => policy.note_types.index(t).map(|i| (i, r)),
            _ => None,
        })
}

/// `m` as a note that types itself, outside the places the note patterns
/// name: its type and the rule that types it. Its place's own type stays
/// in `claim` (the default type where nothing claims the place): a record
/// or an object that names a note type in its type member holds both.
fn self_typed(
    policy: &Policy,
    m: &Map<String, Value>,
    claim: &mut Kinds,
) -> Option<(Kinds, usize)> {
    let (i, r) = self_type(policy, m)?;
    if claim.known.is_empty() {
        claim.add(policy.default_note_type);
    }
    Some((Kinds::one(i), r))
}

/// The note type `m` names in a note rule's type member: a known one
/// first, else the first unknown name.
fn named_type<'a>(policy: &Policy, m: &'a Map<String, Value>) -> Option<Result<usize, &'a str>> {
    self_type(policy, m).map(|(i, _)| Ok(i)).or_else(|| {
        policy
            .notes
            .iter()
            .find_map(|rule| match member(m, &rule.type_member) {
                Some(Value::String(t)) => Some(Err(t.as_str())),
                _ => None,
            })
    })
}

/// The type of `v` as a note of rule `r`; `None` when it is not an object
/// with a string type.
fn pattern_note(policy: &Policy, r: usize, v: &Value) -> Option<Kinds> {
    let rule = policy.notes.get(r)?;
    match member(v.as_object()?, &rule.type_member)? {
        Value::String(t) => Some(match policy.note_types.index(t) {
            Some(i) => Kinds::one(i),
            None => Kinds {
                unknown: Some(Unknown::Named(t.clone())),
                ..Kinds::default()
            },
        }),
        _ => None,
    }
}

/// Whether a place claimed by `claim` holds the default note type alone.
fn default_alone(policy: &Policy, claim: &Kinds) -> bool {
    claim.unknown.is_none() && claim.known.iter().all(|i| i == policy.default_note_type)
}

/// The claims on a misshapen value where `fields` and `notes` run below;
/// `None` when they name nothing but the default note type.
fn mismatch(policy: &Policy, fields: &[usize], notes: &[usize]) -> Option<Kinds> {
    let mut k = Kinds::default();
    // The default note type counts like any other: a session that may see
    // a field's restricted type but not the default one (a grant for
    // legal documents to a role without general access) must not see a
    // document's misshapen title through it.
    for (_, nt) in fields.iter().filter_map(|&i| policy.fields.get(i)) {
        k.add(*nt);
    }
    if !notes.is_empty() {
        k.unknown = Some(Unknown::Malformed);
    }
    (!k.is_empty()).then_some(k)
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Object(_) | Value::Array(_))
}

/// Brackets and commas of a container (its members' names are counted apart).
fn container_size(v: &Value) -> u64 {
    let n = match v {
        Value::Object(m) => m.len(),
        Value::Array(a) => a.len(),
        _ => return 0,
    };
    2 + n.saturating_sub(1) as u64
}

fn scalar_size(v: &Value) -> u64 {
    match v {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::String(s) => s.len() as u64 + 2,
        Value::Number(n) => number_size(n),
        Value::Array(_) | Value::Object(_) => 0,
    }
}

fn number_size(n: &Number) -> u64 {
    let digits = |mut u: u64| {
        let mut d = 1;
        while u >= 10 {
            u /= 10;
            d += 1;
        }
        d
    };
    if let Some(u) = n.as_u64() {
        digits(u)
    } else if let Some(i) = n.as_i64() {
        1 + digits(i.unsigned_abs())
    } else {
        n.to_string().len() as u64
    }
}

/// The children of a container, from a given one on.
enum Children<'a> {
    Object(serde_json::map::Iter<'a>),
    Array(std::iter::Enumerate<std::slice::Iter<'a, Value>>),
    None,
}

impl<'a> Children<'a> {
    fn from(v: &'a Value, skip: usize) -> Self {
        let mut it = match v {
            Value::Object(m) => Self::Object(m.iter()),
            Value::Array(a) => Self::Array(a.iter().enumerate()),
            _ => Self::None,
        };
        if skip > 0 {
            match &mut it {
                Self::Object(i) => {
                    i.nth(skip - 1);
                }
                Self::Array(i) => {
                    i.nth(skip - 1);
                }
                Self::None => {}
            }
        }
        it
    }

    fn next(&mut self) -> Option<(Key<'a>, &'a Value)> {
        match self {
            Self::Object(i) => i.next().map(|(k, v)| (Key::Member(k), v)),
            Self::Array(i) => i.next().map(|(n, v)| (Key::Index(n), v)),
            Self::None => None,
        }
    }
}

fn child_at<'a>(v: &'a Value, k: &OwnedKey) -> Option<&'a Value> {
    match (v, k) {
        (Value::Object(m), OwnedKey::Member(name)) => m.get(name),
        (Value::Array(a), OwnedKey::Index(i)) => a.get(*i),
        _ => None,
    }
}
