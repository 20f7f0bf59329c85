//! `seal_leak`: sealing never shows what the policy restricts.
//!
//! From the fuzz bytes: one of the shipped policies, a session (any role of
//! it or an unknown one, on or off the caseload, same or other team, every
//! authentication strength and age, live or expired), sometimes a grant, an
//! action, and a record of any shape whose member names come from the
//! policy's own patterns. Every string the generator puts in the record is a
//! unique marker (`#17#`), so finding it in the output means that value was
//! shown.
//!
//! The oracle is a reference classification written straight from the
//! policy document and the rule `pkg-config/policy.md` states ("sealing by
//! shape"), without the sealing code: a value is restricted when any note
//! type that could govern it is not allowed for the session. The note types
//! that could govern the value at a path:
//!
//! - a field rule's type, when its pattern matches the path or a prefix of
//!   it (the value is in the field), when the path is a prefix of the
//!   pattern (a value where an object holding the field was expected), or
//!   when the path leaves the pattern below the top level at an array, or
//!   at a member no pattern (field, note or record layout) names;
//! - for a note rule whose pattern matches a prefix of the path: the note's
//!   type for every member but the type and meta members holding a scalar;
//!   an unknown type (sealed for everyone) when the note is not an object or
//!   has no string type, or when the value sits above the notes or leaves
//!   the note pattern as above;
//! - the type an object anywhere names in a note rule's type member, for its
//!   members but the type and meta members holding a scalar; inside a
//!   note's content, an unknown type when the name is not a note type;
//! - otherwise the default note type.
//!
//! Allowed is the role's scope or a grant in force reaching the record, in
//! a live session of a known role, with every step-up rule covering the
//! operation and note type met. An unknown note type is never allowed.
//!
//! The output must not show any restricted marker anywhere, and every
//! vault entry must have its placeholder in the view.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use sealtrail::decision::{Access, FieldAction};
use sealtrail::entropy::SeededEntropy;
use sealtrail::policy::{FieldPermissions, Grant, NoteRule, Policy, PolicyDoc, Scope};
use sealtrail::seal::PLACEHOLDER_MEMBER;
use sealtrail::session::Session;
use sealtrail::Timestamp;
use serde_json::{Map, Value};

use super::bytes::Bytes;

/// The policies a case is drawn from: the ones shipped.
const POLICIES: [&str; 2] = [
    include_str!("../../pkg-config/policy.default.json"),
    include_str!("../../pkg-config/policy.youth-facility.json"),
];

/// The time every case is decided at (inside the default policy's grant).
const NOW: &str = "2026-11-23T15:00:00.000Z";

const ACTIONS: [FieldAction; 5] = [
    FieldAction::View,
    FieldAction::Edit,
    FieldAction::Export,
    FieldAction::Print,
    FieldAction::Delete,
];

/// Member names tried beside the ones the policy names.
const EXTRA_KEYS: [&str; 6] = ["x", "text", "0", "$sealed", "a/b~c", "type"];

/// The shipped policies, parsed once.
pub fn policies() -> &'static [Policy] {
    static PARSED: OnceLock<Vec<Policy>> = OnceLock::new();
    PARSED.get_or_init(|| {
        POLICIES
            .iter()
            .map(|text| Policy::parse(text).expect("a shipped policy parses"))
            .collect()
    })
}

/// [`NOW`] as a time stamp.
pub fn now() -> Timestamp {
    Timestamp::parse(NOW).expect("NOW is a timestamp")
}

fn minutes(m: i64) -> i64 {
    m * 60_000
}

/// One generated case.
pub struct Case {
    /// Index into the shipped policies.
    pub policy: usize,
    /// Who looks.
    pub session: Session,
    /// Grants the host adds at run time.
    pub grants: Vec<Grant>,
    /// What for.
    pub action: FieldAction,
    /// The record, with a unique marker in every generated string.
    pub record: Value,
}

/// Checks one input.
pub fn check(data: &[u8]) {
    let case = generate(data);
    let policy = policies().get(case.policy).expect("a shipped policy");
    let access = Access::new(policy, &case.session, now(), &case.grants);
    let Ok(sealed) = access.seal(case.record.clone(), case.action, &mut SeededEntropy::new(7))
    else {
        return; // refused whole: nothing shown
    };
    let shown = sealed.view.to_string();
    let reference = Reference::new(policy.doc(), &case);
    for (path, marker) in markers(&case.record) {
        let restricted = reference.restricted(&reference.governing(&case.record, &path));
        if !restricted.is_empty() && shown.contains(marker.as_str()) {
            panic!(
                "leak: {marker} at {} is restricted ({restricted:?}) for role `{}` ({:?}) \
                 but the view shows it\nrecord: {}\nview: {}\nsession: {:?}\ngrants: {:?}\ndecisions: {:?}",
                pointer(&path),
                case.session.role,
                case.action,
                case.record,
                sealed.view,
                case.session,
                case.grants,
                sealed.decisions
            );
        }
    }
    for e in sealed.vault.entries() {
        assert!(
            sealed
                .view
                .pointer(&e.pointer)
                .is_some_and(|v| v.get(PLACEHOLDER_MEMBER).is_some()),
            "vault entry {} has no placeholder in the view",
            e.pointer
        );
    }
}

/// Builds a case from fuzz bytes.
pub fn generate(data: &[u8]) -> Case {
    let mut b = Bytes::new(data);
    let policy = b.below(POLICIES.len());
    let doc = policies().get(policy).expect("a shipped policy").doc();
    let now = now();
    let action = *b.pick(&ACTIONS).expect("actions");

    let record_id = *b.pick(&["r1", "r2"]).expect("ids");
    let record_team = *b.pick(&[Some("east"), Some("west"), None]).expect("teams");
    let mut roles: Vec<&str> = doc.roles.keys().map(String::as_str).collect();
    roles.push("nobody");
    let mut users = vec!["u1"];
    users.extend(doc.grants.iter().filter_map(|g| g.user.as_deref()));
    let mut strengths: Vec<&str> = doc.auth_strengths.iter().map(String::as_str).collect();
    strengths.push("none");
    let auth_age = *b.pick(&[1, 10, 20, 700, 800, 2000, -5]).expect("ages");
    let session = Session {
        user_id: (*b.pick(&users).expect("users")).to_owned(),
        name: "Fuzz".to_owned(),
        role: (*b.pick(&roles).expect("roles")).to_owned(),
        caseload: vec![if b.one_in(2) { record_id } else { "r9" }.to_owned()],
        team: b
            .pick(&[Some("east"), None])
            .expect("teams")
            .map(str::to_owned),
        auth_strength: (*b.pick(&strengths).expect("strengths")).to_owned(),
        auth_time: now.plus_millis(-minutes(auth_age)),
        expires_at: now.plus_millis(minutes(*b.pick(&[60, -1]).expect("ends"))),
        session_id: "s".to_owned(),
        client: "fuzz".to_owned(),
        ip: None,
        // Conditions (a policy's `when`) only ever seal more than the
        // reference says; a trusted device lets the device rules allow.
        facility: None,
        unit: None,
        network: Some("onSite".to_owned()),
        device: Some("managed".to_owned()),
        sign_in_method: None,
        related_records: Vec::new(),
        prior_grants: Vec::new(),
    };

    let mut grants = Vec::new();
    if b.one_in(2) {
        let types: Vec<&String> = doc.note_types.keys().collect();
        let scope = *b
            .pick(&[Scope::Caseload, Scope::Team, Scope::All])
            .expect("scopes");
        let mut allow = FieldPermissions::default();
        match b.pick(&ACTIONS).expect("actions") {
            FieldAction::View => allow.view = Some(scope),
            FieldAction::Edit => allow.edit = Some(scope),
            FieldAction::Export => allow.export = Some(scope),
            FieldAction::Print => allow.print = Some(scope),
            FieldAction::Delete => allow.delete = Some(scope),
        }
        let for_role = b.one_in(2);
        grants.push(Grant {
            id: "fuzz-grant".to_owned(),
            user: (!for_role).then(|| session.user_id.clone()),
            role: for_role.then(|| session.role.clone()),
            note_types: BTreeMap::from([((*b.pick(&types).expect("types")).clone(), allow)]),
            host_actions: Default::default(),
            not_before: b
                .pick(&[None, Some(-60), Some(60)])
                .expect("starts")
                .map(|m| now.plus_millis(minutes(m))),
            expires_at: now.plus_millis(minutes(*b.pick(&[60, -1]).expect("ends"))),
            reason: None,
            when: None,
        });
    }

    let mut g = Generator::new(doc, b);
    let mut record = g.object(0);
    set(&mut record, &doc.record.id, Value::from(record_id));
    if let (Some(at), Some(team)) = (&doc.record.team, record_team) {
        set(&mut record, at, Value::from(team));
    }
    Case {
        policy,
        session,
        grants,
        action,
        record,
    }
}

/// Makes records whose member names are the policy's pattern tokens.
struct Generator<'a> {
    b: Bytes<'a>,
    keys: Vec<String>,
    words: Vec<String>,
    markers: usize,
}

impl<'a> Generator<'a> {
    fn new(doc: &PolicyDoc, b: Bytes<'a>) -> Self {
        let mut keys: Vec<String> = EXTRA_KEYS.iter().map(|k| (*k).to_owned()).collect();
        let layout = [
            Some(&doc.record.id),
            doc.record.record_type.as_ref(),
            doc.record.team.as_ref(),
        ];
        let patterns = doc
            .fields
            .iter()
            .map(|f| &f.pointer)
            .chain(doc.notes.iter().map(|n| &n.pointer))
            .chain(layout.into_iter().flatten())
            .chain(doc.record.demographics.values());
        for p in patterns {
            keys.extend(tokens(p).into_iter().filter(|t| t != "*"));
        }
        for n in &doc.notes {
            keys.push(n.type_member.clone());
            keys.extend(n.meta_members.iter().cloned());
        }
        keys.sort();
        keys.dedup();
        let mut words: Vec<String> = doc.note_types.keys().cloned().collect();
        words.extend(["nonsense", "east", ""].map(str::to_owned));
        Self {
            b,
            keys,
            words,
            markers: 0,
        }
    }

    fn value(&mut self, depth: usize) -> Value {
        match self.b.below(if depth >= 4 { 5 } else { 8 }) {
            0 => Value::Null,
            1 => Value::Bool(self.b.one_in(2)),
            2 => Value::from(self.b.byte()),
            3 => Value::from(self.b.pick(&self.words).cloned().unwrap_or_default()),
            4 => {
                self.markers += 1;
                Value::from(format!("#{}#", self.markers))
            }
            5 | 6 => self.object(depth + 1),
            _ => {
                let n = self.b.below(4);
                Value::Array((0..n).map(|_| self.value(depth + 1)).collect())
            }
        }
    }

    fn object(&mut self, depth: usize) -> Value {
        let mut m = Map::new();
        let n = self.b.below(if depth == 0 { 9 } else { 5 });
        for _ in 0..n {
            let key = self.b.pick(&self.keys).cloned().unwrap_or_default();
            let value = self.value(depth);
            m.insert(key, value);
        }
        Value::Object(m)
    }
}

/// Puts `value` at `pointer` in `record`, making objects on the way.
fn set(record: &mut Value, pointer: &str, value: Value) {
    let mut at = record;
    for t in tokens(pointer) {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        at = at
            .as_object_mut()
            .expect("made an object")
            .entry(t)
            .or_insert(Value::Null);
    }
    *at = value;
}

/// A key of a path through a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// An object member.
    Member(String),
    /// An array index.
    Index(usize),
}

/// The unescaped tokens of a pointer (`*` stays `*`).
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The pointer of a path, for messages.
fn pointer(path: &[Key]) -> String {
    path.iter()
        .map(|k| match k {
            Key::Member(m) => format!("/{}", m.replace('~', "~0").replace('/', "~1")),
            Key::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// Whether pattern token `t` accepts key `k`.
fn accepts(t: &str, k: &Key) -> bool {
    t == "*"
        || match k {
            Key::Member(m) => t == m,
            Key::Index(i) => t == i.to_string(),
        }
}

/// How many leading tokens of `pattern` accept the keys of `path`.
fn matched(pattern: &[String], path: &[Key]) -> usize {
    pattern
        .iter()
        .zip(path)
        .take_while(|(t, k)| accepts(t, k))
        .count()
}

/// The value at `path` (the record itself for an empty path).
fn at<'v>(record: &'v Value, path: &[Key]) -> &'v Value {
    path.iter().fold(record, |v, k| {
        match k {
            Key::Member(m) => v.get(m),
            Key::Index(i) => v.get(i),
        }
        .expect("a path taken from the record")
    })
}

/// Every marker string in `v` with its path.
fn markers(v: &Value) -> Vec<(Vec<Key>, String)> {
    fn walk(v: &Value, path: &mut Vec<Key>, out: &mut Vec<(Vec<Key>, String)>) {
        match v {
            Value::String(s) if s.starts_with('#') => out.push((path.clone(), s.clone())),
            Value::Object(m) => {
                for (k, x) in m {
                    path.push(Key::Member(k.clone()));
                    walk(x, path, out);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    path.push(Key::Index(i));
                    walk(x, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// A note type that could govern a value (`None`: an unknown one), and why.
type Governing = (Option<String>, &'static str);

/// How the user stands to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Caseload,
    Team,
    Unassigned,
}

/// The reference classification for one case.
struct Reference<'a> {
    doc: &'a PolicyDoc,
    case: &'a Case,
    standing: Standing,
    /// Field patterns (tokens) with their note type.
    fields: Vec<(Vec<String>, String)>,
    /// Note patterns with their rule.
    notes: Vec<(Vec<String>, &'a NoteRule)>,
    /// Every pattern of the policy: fields, notes and the record layout.
    named: Vec<Vec<String>>,
}

impl<'a> Reference<'a> {
    fn new(doc: &'a PolicyDoc, case: &'a Case) -> Self {
        let id = case.record.pointer(&doc.record.id).and_then(Value::as_str);
        let team = doc
            .record
            .team
            .as_deref()
            .and_then(|p| case.record.pointer(p))
            .and_then(Value::as_str);
        let standing = if id.is_some_and(|id| case.session.caseload.iter().any(|c| c == id)) {
            Standing::Caseload
        } else if team.is_some() && team == case.session.team.as_deref() {
            Standing::Team
        } else {
            Standing::Unassigned
        };
        let fields: Vec<_> = doc
            .fields
            .iter()
            .map(|f| (tokens(&f.pointer), f.note_type.clone()))
            .collect();
        let notes: Vec<_> = doc.notes.iter().map(|n| (tokens(&n.pointer), n)).collect();
        let layout = [
            Some(&doc.record.id),
            doc.record.record_type.as_ref(),
            doc.record.team.as_ref(),
        ];
        let named = fields
            .iter()
            .map(|(p, _)| p.clone())
            .chain(notes.iter().map(|(p, _)| p.clone()))
            .chain(
                layout
                    .into_iter()
                    .flatten()
                    .chain(doc.record.demographics.values())
                    .map(|p| tokens(p)),
            )
            .collect();
        Self {
            doc,
            case,
            standing,
            fields,
            notes,
            named,
        }
    }

    /// The note types that could govern the value at `path` (`None`: an
    /// unknown one, sealed for everyone), with the rule that says so.
    fn governing(&self, record: &Value, path: &[Key]) -> Vec<Governing> {
        let doc = self.doc;
        let mut out = Vec::new();
        let is_array = |len: usize| path.get(..len).is_some_and(|p| at(record, p).is_array());
        // Whether a pattern (a field, a note or the record layout) names the
        // first `len` keys of the path.
        let named = |len: usize| self.named.iter().any(|q| matched(q, path) >= len);
        // The path leaves the pattern at `j` where the record's shape is not
        // the pattern's: an array where it names a member, or a member no
        // pattern names beside one it does (the top level excepted).
        let misshapen = |j: usize| j > 0 && j < path.len() && (is_array(j) || !named(j + 1));
        for (p, note_type) in &self.fields {
            let j = matched(p, path);
            let why = if j == p.len() {
                "in a field"
            } else if j == path.len() {
                "above a field"
            } else if misshapen(j) {
                "misshapen where a field's pattern runs"
            } else {
                continue;
            };
            out.push((Some(note_type.clone()), why));
        }
        for (p, n) in &self.notes {
            let j = matched(p, path);
            if j == p.len() {
                let note = path.get(..j).map(|p| at(record, p));
                // Meta members are the default note type while they hold a scalar.
                let meta = |m: &str| {
                    path.len() == j + 1
                        && (m == n.type_member || n.meta_members.iter().any(|x| x == m))
                };
                match (note, path.get(j)) {
                    (Some(Value::Object(o)), Some(Key::Member(m))) => match o.get(&n.type_member) {
                        Some(Value::String(_)) if meta(m) => {}
                        Some(Value::String(t)) => out.push((self.known(t), "in a note")),
                        _ => out.push((None, "in a note without a string type")),
                    },
                    _ => out.push((None, "in a note that is not an object")),
                }
            } else if j == path.len() {
                out.push((None, "above notes"));
            } else if misshapen(j) {
                out.push((None, "misshapen where a note pattern runs"));
            }
        }
        // An object naming a note type is that note anywhere; inside a
        // note's content, one naming an unknown type is an unknown note.
        let in_note = |j: usize| {
            self.notes
                .iter()
                .any(|(p, _)| p.len() < j && matched(p, path) == p.len())
        };
        for j in 1..path.len() {
            let (Some(Value::Object(o)), Some(Key::Member(m))) =
                (path.get(..j).map(|p| at(record, p)), path.get(j))
            else {
                continue;
            };
            for (_, n) in &self.notes {
                let meta =
                    path.len() == j + 1 && (*m == n.type_member || n.meta_members.contains(m));
                match o.get(&n.type_member) {
                    Some(Value::String(t)) if !meta && doc.note_types.contains_key(t) => {
                        out.push((Some(t.clone()), "in an object naming its note type"))
                    }
                    Some(Value::String(_)) if !meta && in_note(j) => {
                        out.push((None, "in an object naming an unknown type in a note"))
                    }
                    _ => {}
                }
            }
        }
        if out.is_empty() {
            out.push((Some(doc.record.default_note_type.clone()), "default"));
        }
        out
    }

    fn known(&self, t: &str) -> Option<String> {
        self.doc.note_types.contains_key(t).then(|| t.to_owned())
    }

    /// Whether a value any of `governing` could govern must not be shown.
    fn restricted(&self, governing: &[Governing]) -> Vec<Governing> {
        governing
            .iter()
            .filter(|(t, _)| t.as_deref().is_none_or(|t| !self.allows(t)))
            .cloned()
            .collect()
    }

    /// Whether the case's action on note type `t` is allowed.
    fn allows(&self, t: &str) -> bool {
        let (doc, s, now) = (self.doc, &self.case.session, now());
        let since_auth = |m: u32| s.auth_time.plus_millis(minutes(i64::from(m)));
        if !(now < s.expires_at && now < since_auth(doc.session.max_age_minutes)) {
            return false;
        }
        let Some(role) = doc.roles.get(&s.role) else {
            return false;
        };
        let in_force = |g: &&Grant| {
            (g.user.as_ref() == Some(&s.user_id) || g.role.as_ref() == Some(&s.role))
                && g.not_before.is_none_or(|t| t <= now)
                && now < g.expires_at
        };
        let grants = doc.grants.iter().chain(&self.case.grants).filter(in_force);
        let reaches = role
            .note_types
            .get(t)
            .into_iter()
            .chain(grants.filter_map(|g| g.note_types.get(t)))
            .filter_map(|p| self.scope(p))
            .any(|scope| match scope {
                Scope::All => true,
                Scope::Team => self.standing != Standing::Unassigned,
                Scope::Caseload => self.standing == Standing::Caseload,
            });
        let rank = |name: &str| doc.auth_strengths.iter().position(|x| x == name);
        let op = self.case.action.operation();
        reaches
            && doc
                .step_up
                .iter()
                .filter(|r| r.actions.contains(&op))
                // A step-up rule with a condition: the generated sessions
                // are on site on a managed device, where no shipped
                // policy's step-up condition holds, so the rule does not
                // apply (a sealer that applies it anyway seals more, which
                // this oracle never flags). The youth policy's rule for
                // remote or unmanaged sign-ins was once taken as applying.
                .filter(|r| r.when.is_none())
                .filter(|r| {
                    r.note_types
                        .as_ref()
                        .is_none_or(|l| l.iter().any(|x| x == t))
                })
                .all(|r| {
                    let strong = matches!(
                        (rank(&s.auth_strength), rank(&r.auth_strength)),
                        (Some(have), Some(need)) if have >= need
                    );
                    strong && now < since_auth(r.max_age_minutes)
                })
    }

    fn scope(&self, p: &FieldPermissions) -> Option<Scope> {
        match self.case.action {
            FieldAction::View => p.view,
            FieldAction::Edit => p.edit,
            FieldAction::Export => p.export,
            FieldAction::Print => p.print,
            FieldAction::Delete => p.delete,
        }
    }
}
