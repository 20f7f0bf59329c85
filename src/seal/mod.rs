//! Field sealing: the view of a record a session may see, with every
//! restricted value replaced by a placeholder.
//!
//! # The placeholder
//!
//! A sealed value is replaced, in place, by an object with the single member
//! `$sealed`:
//!
//! ```json
//! {"$sealed": {
//!   "pointer": "/notes/2/text",          // where the value was (RFC 6901)
//!   "noteType": "dvIndicator",           // its note type (or the unknown name found)
//!   "labels": ["V", "SDV"],              // FHIR confidentiality, then sensitivity codes
//!   "commitment": "sha256:9a2f…",        // see [`commitment`]
//!   "type": "seal",                      // the decision, as in [`Decision`]:
//!   "breakGlass": true,                  //   "seal": may this user break the glass
//!   "cause": "outOfScope"                //   "seal"/"deny": why (see [`Cause`])
//! }}
//! ```
//!
//! When a fresh authentication would unseal it, `type` is `"stepUp"` with
//! `authStrength` and `maxAgeMinutes` instead of `breakGlass` and `cause`.
//! For actions other than view, refusals are `"deny"` with a `cause`. The
//! salt is never in a placeholder: it stays in the [`Vault`] with the value.
//! A value that contains a `$sealed` member is sealed for everyone (cause
//! `malformed`), so a forged placeholder in record content never passes
//! for a real one.
//!
//! # What is sealed
//!
//! Each value carries every note type that could live where it is, by the
//! shape rule of `walk` (documented for policy authors in
//! `pkg-config/policy.md`), and the most restrictive one for the session
//! decides. A record larger than the policy's `limits.recordMaxBytes` shows
//! nothing outside the default note type (cause `tooLarge`).
//!
//! # Cost
//!
//! The record is taken by value: allowed content is never copied, sealed
//! values move into the vault. The policy's patterns were compiled once by
//! [`crate::policy::Policy::parse`]; [`Access`] folded role and grants once
//! per session. [`Access::start_seal`] and [`SealJob::step`] do the same
//! work a budget at a time, for callers that must not hold their thread.

pub mod commitment;
mod job;
mod vault;
mod walk;

use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

pub use commitment::{commit, verify_opening, Salt, SaltError};
pub use job::{SealJob, Step};
pub use vault::{Opening, PendingUnseal, UnsealError, Vault, VaultEntry};

use crate::bounded::Bounded;
use crate::canon::CanonError;
use crate::decision::{Access, Cause, Decision, Explanation, FieldAction, RecordError};
use crate::entropy::EntropyError;
use crate::event::EventDraft;
use crate::policy::Confidentiality;
use walk::Unknown;

/// The member name that marks a placeholder.
pub const PLACEHOLDER_MEMBER: &str = "$sealed";

/// Note type reported for a note that is not an object or has no string type.
pub const MALFORMED_NOTE_TYPE: &str = "unknown";

/// Labels of content whose note type is unknown: treated as very restricted.
const UNKNOWN_LABELS: &[&str] = &["V"];

/// The decision on one field, borrowed from its record's [`Decisions`].
///
/// A caseload makes tens of thousands of decisions over a handful of
/// outcomes (note type, labels, decision and why): a field owns none of
/// them, nor its pointer, so deciding one allocates nothing and counts no
/// references. It serialises as the same JSON object all the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDecision<'a> {
    /// Where the field is (RFC 6901).
    pub pointer: &'a str,
    /// Its note type.
    pub note_type: &'a str,
    /// Its labels: confidentiality code, then sensitivity codes.
    pub labels: &'a [String],
    /// What the policy says.
    pub decision: &'a Decision,
    /// Why: the rule that allowed, or the rule and condition that refused.
    #[serde(skip_serializing_if = "no_explanation")]
    pub why: &'a Explanation,
}

fn no_explanation(why: &&Explanation) -> bool {
    why.is_empty()
}

/// The decisions on a record's fields, in record order: the fields'
/// pointers in one string, and each field's outcome among the record's
/// few distinct ones. Read them as [`FieldDecision`]s; serialises as
/// their array.
#[derive(Clone, Default)]
pub struct Decisions {
    /// Every field's pointer, one after another.
    pointers: String,
    fields: Vec<Field>,
    /// Each used by at least one field.
    outcomes: Vec<Outcome>,
}

#[derive(Debug, Clone)]
struct Field {
    /// Its pointer in `Decisions::pointers`.
    pointer: Range<usize>,
    /// Its index in `Decisions::outcomes`.
    outcome: usize,
}

/// What is decided on a field but its place. Note type and labels are
/// shared with the policy.
#[derive(Debug, Clone)]
struct Outcome {
    note_type: Arc<str>,
    labels: Arc<[String]>,
    decision: Decision,
    why: Explanation,
}

impl Decisions {
    /// Decisions on the units whose pointers are in `pointers`, none made yet.
    fn new(pointers: String) -> Self {
        Self {
            pointers,
            ..Self::default()
        }
    }

    /// How many fields are decided.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether no field is decided.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The decisions, in record order.
    pub fn iter(&self) -> Iter<'_> {
        self.from(0)
    }

    /// The decisions from the `first`-th field on.
    fn from(&self, first: usize) -> Iter<'_> {
        Iter {
            decisions: self,
            fields: self.fields.get(first..).unwrap_or_default().iter(),
        }
    }

    fn view(&self, f: &Field) -> Option<FieldDecision<'_>> {
        let o = self.outcomes.get(f.outcome)?;
        Some(FieldDecision {
            pointer: self.pointers.get(f.pointer.clone())?,
            note_type: &o.note_type,
            labels: &o.labels,
            decision: &o.decision,
            why: &o.why,
        })
    }

    /// Every explanation given, once or more.
    fn explanations(&self) -> impl Iterator<Item = &Explanation> {
        self.outcomes.iter().map(|o| &o.why)
    }
}

/// The decisions of a [`Decisions`], in record order.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    decisions: &'a Decisions,
    fields: std::slice::Iter<'a, Field>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = FieldDecision<'a>;

    fn next(&mut self) -> Option<FieldDecision<'a>> {
        // INVARIANT: every field's pointer and outcome are in its
        // `Decisions` (the walk wrote whole pointers), so none is skipped.
        let d = self.decisions;
        self.fields.find_map(|f| d.view(f))
    }
}

impl<'a> IntoIterator for &'a Decisions {
    type Item = FieldDecision<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl PartialEq for Decisions {
    /// Field by field: the same decisions may be kept apart or shared.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Decisions {}

impl std::fmt::Debug for Decisions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Decisions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The body of a placeholder (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Placeholder {
    /// Where the value was.
    pub pointer: String,
    /// Its note type.
    pub note_type: String,
    /// Its labels.
    pub labels: Vec<String>,
    /// `sha256:` commitment to the value (see [`commitment`]).
    pub commitment: String,
    /// Why it is not shown, and whether break-glass or a step-up would help.
    #[serde(flatten)]
    pub decision: Decision,
}

/// A record after sealing.
#[derive(Debug)]
pub struct Sealed {
    /// The record with placeholders in place of sealed values.
    pub view: Value,
    /// One decision per field, in record order.
    pub decisions: Decisions,
    /// The sealed values with their salts, kept apart for a later unseal.
    pub vault: Vault,
    /// The event to log: `view` when nothing was sealed, `view-sealed`
    /// otherwise (for other actions, that action), purpose `TREAT`.
    /// `fields`, `noteTypes` and `labels` name every field outside the
    /// default note type; `detail.sealed` lists the sealed pointers.
    pub draft: EventDraft,
    /// The lists already replaced by their digests while sealing (also in
    /// `draft.detail.bounded`), for [`crate::bounded::bound`] to add to.
    pub bounded: Bounded,
}

/// Why a record could not be sealed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The record lacks what the policy needs (an id) or is not an object.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// No salt could be drawn; nothing is shown.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
    /// A value has no canonical form.
    #[error(transparent)]
    Canon(#[from] CanonError),
    /// A step was given another policy, session or time than the job
    /// started with.
    #[error(
        "the policy, session or time changed while the record was being sealed; seal it again"
    )]
    Changed,
}

impl SealError {
    /// The JSON Pointer of the offending value, when one is to blame.
    pub fn pointer(&self) -> &str {
        match self {
            Self::Record(e) => e.pointer(),
            Self::Entropy(_) | Self::Canon(_) | Self::Changed => "",
        }
    }
}

/// The decisions already made on one record, by the known note types of
/// the unit: within a record the action, the standing and the size cap are
/// fixed, so the same types get the same decision, and a caseload's tens
/// of thousands of fields fall under a handful of type sets. Kept short
/// (a record with many odd sets decides the rest afresh).
#[derive(Debug, Default)]
pub(crate) struct Decided(Vec<(walk::Known, usize)>);

impl Decided {
    const MAX: usize = 16;
}

impl Access<'_> {
    /// Decides `unit`, adding it to `decisions`: the most restrictive, for
    /// this session, of the note types it may hold. A record past the size
    /// cap shows nothing outside the default note type. `decided` holds
    /// the outcomes in `decisions` of the known note types decided for the
    /// same record and `action` (and is added to).
    fn field_decision(
        &self,
        unit: walk::Unit,
        action: FieldAction,
        standing: &crate::decision::Standing,
        too_large: bool,
        decided: &mut Decided,
        decisions: &mut Decisions,
    ) {
        let kinds = unit.kinds;
        let known = (kinds.unknown.is_none())
            .then(|| decided.0.iter().find(|(k, _)| *k == kinds.known))
            .flatten();
        let outcome = match known {
            Some((_, o)) => *o,
            None => {
                let o = self.outcome(&kinds, action, standing, too_large);
                decisions.outcomes.push(o);
                let index = decisions.outcomes.len() - 1;
                if kinds.unknown.is_none() && decided.0.len() < Decided::MAX {
                    decided.0.push((kinds.known, index));
                }
                index
            }
        };
        decisions.fields.push(Field {
            pointer: unit.pointer,
            outcome,
        });
    }

    /// The outcome for a unit that may hold `kinds`.
    fn outcome(
        &self,
        kinds: &walk::Kinds,
        action: FieldAction,
        standing: &crate::decision::Standing,
        too_large: bool,
    ) -> Outcome {
        let policy = self.policy();
        if let Some(unknown) = &kinds.unknown {
            // The type's name is record text: the placeholder and the event
            // repeat it only where the session sees the note's meta members
            // (its type member among them), that is the default note type;
            // where the type member is of another type, the walk has made
            // the name `InContent` already.
            let meta_shown = || {
                self.decide_index(Some(policy.default_note_type), action, standing)
                    .0
                    .is_allow()
            };
            let (note_type, cause) = match unknown {
                Unknown::Named(name) if meta_shown() => {
                    (Arc::from(name.as_str()), Cause::UnknownNoteType)
                }
                Unknown::Named(_) | Unknown::InContent => {
                    (Arc::from(MALFORMED_NOTE_TYPE), Cause::UnknownNoteType)
                }
                Unknown::Malformed => (Arc::from(MALFORMED_NOTE_TYPE), Cause::Malformed),
            };
            let (mut decision, why) = self.decide_index(None, action, standing);
            if let Decision::Seal { cause: c, .. } | Decision::Deny { cause: c } = &mut decision {
                if *c == Cause::UnknownNoteType {
                    *c = cause;
                }
            }
            return Outcome {
                note_type,
                labels: unknown_labels(),
                decision,
                why,
            };
        }
        // No known type stands for the default note type alone.
        let candidates = || {
            let default = kinds.known.is_empty().then_some(policy.default_note_type);
            default.into_iter().chain(kinds.known.iter())
        };
        // Refusals first, then step-ups, then the most confidential type.
        let mut worst: Option<(u8, Confidentiality, usize, Decision, Explanation)> = None;
        for i in candidates() {
            let (d, why) = self.decide_index(Some(i), action, standing);
            let rank = match d {
                Decision::Allow => 0,
                Decision::StepUp { .. } => 1,
                Decision::Seal { .. } | Decision::Deny { .. } => 2,
            };
            let c = policy.note_types.confidentiality(i);
            if worst
                .as_ref()
                .is_none_or(|(r, wc, ..)| (rank, c) > (*r, *wc))
            {
                worst = Some((rank, c, i, d, why));
            }
        }
        let (rank, _, index, mut decision, why) = worst.unwrap_or((
            2,
            Confidentiality::V,
            policy.default_note_type,
            Decision::Deny {
                cause: Cause::Malformed,
            },
            Explanation::default(),
        ));
        let restricted = candidates().any(|i| i != policy.default_note_type);
        if too_large && restricted && rank < 2 {
            decision = match action {
                FieldAction::View => Decision::Seal {
                    break_glass: self.may_break_glass(),
                    cause: Cause::TooLarge,
                },
                _ => Decision::Deny {
                    cause: Cause::TooLarge,
                },
            };
        }
        Outcome {
            note_type: policy.note_types.shared_id(index),
            labels: policy.note_types.shared_labels(index),
            decision,
            why,
        }
    }
}

/// The placeholder for the value `d` decides on: `{"$sealed": {...}}`, the
/// [`Placeholder`] shape, built member by member because sealing a caseload
/// makes tens of thousands of them (a test checks both agree).
fn placeholder(d: FieldDecision<'_>, commitment: &str) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("pointer".to_owned(), Value::from(d.pointer));
    m.insert("noteType".to_owned(), Value::from(d.note_type));
    m.insert(
        "labels".to_owned(),
        d.labels.iter().map(|l| Value::from(l.as_str())).collect(),
    );
    m.insert("commitment".to_owned(), Value::from(commitment));
    let (kind, cause) = match d.decision {
        Decision::Allow => ("allow", None),
        Decision::Seal { break_glass, cause } => {
            m.insert("breakGlass".to_owned(), Value::Bool(*break_glass));
            ("seal", Some(*cause))
        }
        Decision::Deny { cause } => ("deny", Some(*cause)),
        Decision::StepUp {
            auth_strength,
            max_age_minutes,
        } => {
            m.insert(
                "authStrength".to_owned(),
                Value::from(auth_strength.as_str()),
            );
            m.insert("maxAgeMinutes".to_owned(), Value::from(*max_age_minutes));
            ("stepUp", None)
        }
    };
    m.insert("type".to_owned(), Value::from(kind));
    if let Some(c) = cause {
        m.insert("cause".to_owned(), Value::from(c.as_str()));
    }
    let mut wrapped = serde_json::Map::new();
    wrapped.insert(PLACEHOLDER_MEMBER.to_owned(), Value::Object(m));
    Value::Object(wrapped)
}

fn unknown_labels() -> Arc<[String]> {
    UNKNOWN_LABELS.iter().map(|s| (*s).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::entropy::SeededEntropy;
    use crate::policy::Policy;
    use crate::session::Session;
    use crate::Timestamp;

    fn policy() -> Policy {
        Policy::parse(include_str!("../../pkg-config/policy.default.json")).unwrap()
    }

    fn session(role: &str) -> Session {
        Session {
            user_id: "u1".into(),
            name: "U".into(),
            role: role.into(),
            caseload: vec!["r1".into()],
            related_records: vec![],
            prior_grants: vec![],
            team: Some("east".into()),
            auth_strength: "password".into(),
            auth_time: Timestamp::parse("2026-11-23T14:00:00.000Z").unwrap(),
            expires_at: Timestamp::parse("2026-11-23T20:00:00.000Z").unwrap(),
            session_id: "s".into(),
            client: "c".into(),
            ip: None,
            facility: None,
            unit: None,
            network: None,
            device: None,
            sign_in_method: None,
        }
    }

    /// Any JSON, with member names that need escaping and names the policy uses.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z ]{0,8}".prop_map(Value::from),
        ];
        let key = prop_oneof![
            Just("dv".to_owned()),
            Just("type".to_owned()),
            Just("text".to_owned()),
            Just("a/b~c".to_owned()),
            "[a-z]{1,3}",
        ];
        leaf.prop_recursive(4, 32, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(key.clone(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A record: an id, and random values at the members the policy names.
    fn record() -> impl Strategy<Value = Value> {
        let note_type = prop_oneof![
            Just(Value::from("general")),
            Just(Value::from("dvIndicator")),
            Just(Value::from("nonsense")),
            Just(Value::from(3)),
        ];
        (
            json(),
            json(),
            prop::collection::vec((note_type, json()), 0..4),
            json(),
        )
            .prop_map(|(risk, extra, notes, docs)| {
                let notes: Vec<Value> = notes
                    .into_iter()
                    .map(|(t, body)| serde_json::json!({"type": t, "date": "d", "text": body}))
                    .collect();
                serde_json::json!({
                    "id": "r1", "team": "east", "riskFlags": risk, "extra": extra,
                    "notes": notes, "documents": docs
                })
            })
    }

    #[test]
    fn hand_built_placeholders_match_the_documented_shape() {
        let decisions = [
            Decision::Seal {
                break_glass: true,
                cause: Cause::OutOfScope,
            },
            Decision::Deny {
                cause: Cause::Malformed,
            },
            Decision::StepUp {
                auth_strength: "mfa".into(),
                max_age_minutes: 15,
            },
        ];
        let labels = ["V".to_owned(), "SDV".to_owned()];
        for decision in decisions {
            let d = FieldDecision {
                pointer: "/a~1b/0",
                note_type: "dvIndicator",
                labels: &labels,
                decision: &decision,
                why: &Explanation::default(),
            };
            let documented = Placeholder {
                pointer: d.pointer.to_owned(),
                note_type: d.note_type.to_owned(),
                labels: d.labels.to_vec(),
                commitment: "sha256:00".into(),
                decision: decision.clone(),
            };
            assert_eq!(
                placeholder(d, "sha256:00")[PLACEHOLDER_MEMBER],
                serde_json::to_value(&documented).unwrap()
            );
        }
    }

    proptest! {
        /// Sealing never panics; putting every vault value back where its
        /// placeholder is gives the record back exactly; each commitment opens.
        #[test]
        fn sealing_round_trips_through_the_vault(r in record(), role in prop_oneof![
            Just("nurse"), Just("dataAnalyst"), Just("safeguardingLead"), Just("nobody")
        ]) {
            let p = policy();
            let s = session(role);
            let now = Timestamp::parse("2026-11-23T15:00:00.000Z").unwrap();
            let access = Access::new(&p, &s, now, &[]);
            let sealed = access.seal(r.clone(), FieldAction::View, &mut SeededEntropy::new(1)).unwrap();
            let mut restored = sealed.view.clone();
            for e in sealed.vault.entries() {
                prop_assert!(verify_opening(&e.commitment, &e.salt, &e.value));
                let slot = restored.pointer_mut(&e.pointer).unwrap();
                prop_assert!(slot.get(PLACEHOLDER_MEMBER).is_some());
                *slot = e.value.clone();
            }
            prop_assert_eq!(restored, r);
            if role == "nobody" {
                prop_assert!(sealed.decisions.iter().all(|d| !d.decision.is_allow()));
            }
        }

        /// Sealing in steps of any budget gives what sealing in one go gives.
        #[test]
        fn chunked_and_one_shot_sealing_agree(r in record(), budget in 1usize..40, role in prop_oneof![
            Just("nurse"), Just("safeguardingLead")
        ]) {
            let p = policy();
            let s = session(role);
            let now = Timestamp::parse("2026-11-23T15:00:00.000Z").unwrap();
            let access = Access::new(&p, &s, now, &[]);
            let once = access.seal(r.clone(), FieldAction::View, &mut SeededEntropy::new(1)).unwrap();
            let mut entropy = SeededEntropy::new(1);
            let mut job = access.start_seal(r, FieldAction::View).unwrap();
            let mut steps = 0;
            let stepped = loop {
                steps += 1;
                match job.step(&access, &mut budget.clone(), &mut entropy).unwrap() {
                    Step::More(j) => job = j,
                    Step::Done(s) => break *s,
                }
            };
            prop_assert_eq!(&stepped.view, &once.view);
            prop_assert_eq!(&stepped.decisions, &once.decisions);
            prop_assert!(stepped.vault.entries().eq(once.vault.entries()));
            prop_assert_eq!(&stepped.draft, &once.draft);
            prop_assert!(steps > 1 || once.decisions.len() < budget);
        }

        /// The walk measures the record's JSON text exactly (no escapes here).
        #[test]
        fn the_walk_measures_the_json_text(r in record()) {
            let p = policy();
            let mut w = walk::Walk::new(&p, &r);
            let mut units = walk::Units::default();
            let mut budget = usize::MAX;
            prop_assert!(w.step(&p, &r, &mut budget, &mut units));
            prop_assert_eq!(w.size(), serde_json::to_vec(&r).unwrap().len() as u64);
        }
    }

    #[test]
    fn a_step_for_another_session_or_time_is_refused() {
        let p = policy();
        let (nurse, lead) = (session("nurse"), session("safeguardingLead"));
        let now = Timestamp::parse("2026-11-23T15:00:00.000Z").unwrap();
        let r = serde_json::json!({"id": "r1", "notes": [{"type": "dvIndicator", "text": "x"}]});
        let job = Access::new(&p, &nurse, now, &[])
            .start_seal(r.clone(), FieldAction::View)
            .unwrap();
        let other = Access::new(&p, &lead, now, &[]);
        assert_eq!(
            job.step(&other, &mut 1, &mut SeededEntropy::new(1))
                .unwrap_err(),
            SealError::Changed
        );
        let job = Access::new(&p, &nurse, now, &[])
            .start_seal(r, FieldAction::View)
            .unwrap();
        let later = Access::new(&p, &nurse, now.plus_millis(1), &[]);
        assert_eq!(
            job.step(&later, &mut 1, &mut SeededEntropy::new(1))
                .unwrap_err(),
            SealError::Changed
        );
    }

    #[test]
    fn a_record_past_the_size_cap_shows_only_the_default_note_type() {
        let mut doc: Value =
            serde_json::from_str(include_str!("../../pkg-config/policy.default.json")).unwrap();
        doc["limits"] = serde_json::json!({"recordMaxBytes": 200});
        let p = Policy::from_value(&doc).unwrap();
        let s = session("nurse");
        let now = Timestamp::parse("2026-11-23T15:00:00.000Z").unwrap();
        let access = Access::new(&p, &s, now, &[]);
        let small =
            serde_json::json!({"id": "r1", "team": "east", "name": "A", "diagnoses": ["F41.1"]});
        let sealed = access
            .seal(small.clone(), FieldAction::View, &mut SeededEntropy::new(1))
            .unwrap();
        assert_eq!(
            sealed.view, small,
            "the nurse sees clinical content on her caseload"
        );
        let mut big = small;
        big["notes"] = (0..10)
            .map(|i| serde_json::json!({"type": "clinical", "text": format!("note {i}")}))
            .collect();
        let sealed = access
            .seal(big, FieldAction::View, &mut SeededEntropy::new(1))
            .unwrap();
        assert_eq!(sealed.view["name"], "A");
        let cause = &sealed.view["diagnoses"][PLACEHOLDER_MEMBER]["cause"];
        assert_eq!(cause, "tooLarge");
        let logged = &sealed.draft.detail["recordTooLarge"];
        assert_eq!(logged["maxBytes"], 200);
        assert!(logged["bytes"].as_u64().unwrap() > 200);
    }
}
