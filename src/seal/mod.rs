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
//! A value that would be shown but contains a `$sealed` member is itself
//! sealed (cause `malformed`), so a forged placeholder in record content
//! never passes for a real one.
//!
//! # Cost
//!
//! The record is taken by value: allowed content is never copied, sealed
//! values move into the vault. The policy's patterns were compiled once by
//! [`crate::policy::Policy::parse`]; [`Access`] folded role and grants once
//! per session.

pub mod commitment;
mod vault;
mod walk;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use commitment::{commit, verify_opening, Salt, SaltError};
pub use vault::{Opening, PendingUnseal, UnsealError, Vault, VaultEntry};

use crate::canon::CanonError;
use crate::decision::{
    Access, Cause, Decision, Explanation, FieldAction, RecordError, RecordFacts,
};
use crate::entropy::{Entropy, EntropyError};
use crate::event::{Action, EventDraft, Outcome};
use walk::Kind;

/// The member name that marks a placeholder.
pub const PLACEHOLDER_MEMBER: &str = "$sealed";

/// Note type reported for a note that is not an object or has no string type.
pub const MALFORMED_NOTE_TYPE: &str = "unknown";

/// Labels of content whose note type is unknown: treated as very restricted.
const UNKNOWN_LABELS: &[&str] = &["V"];

/// The decision on one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDecision {
    /// Where the field is (RFC 6901).
    pub pointer: String,
    /// Its note type.
    pub note_type: String,
    /// Its labels: confidentiality code, then sensitivity codes.
    pub labels: Vec<String>,
    /// What the policy says.
    pub decision: Decision,
    /// Why: the rule that allowed, or the rule and condition that refused.
    #[serde(default, skip_serializing_if = "Explanation::is_empty")]
    pub why: Explanation,
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
    pub decisions: Vec<FieldDecision>,
    /// The sealed values with their salts, kept apart for a later unseal.
    pub vault: Vault,
    /// The event to log: `view` when nothing was sealed, `view-sealed`
    /// otherwise (for other actions, that action), purpose `TREAT`.
    /// `fields`, `noteTypes` and `labels` name every field outside the
    /// default note type; `detail.sealed` lists the sealed pointers.
    pub draft: EventDraft,
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
}

impl SealError {
    /// The JSON Pointer of the offending value, when one is to blame.
    pub fn pointer(&self) -> &str {
        match self {
            Self::Record(e) => e.pointer(),
            Self::Entropy(_) | Self::Canon(_) => "",
        }
    }
}

impl Access<'_> {
    /// Decides `action` on every field of `record`, without changing it.
    pub fn decide_record(
        &self,
        record: &Value,
        action: FieldAction,
    ) -> Result<(RecordFacts, Vec<FieldDecision>), RecordError> {
        let facts = RecordFacts::read(self.policy(), record)?;
        let standing = self.standing(Some(&facts));
        let decisions = walk::units(self.policy(), record)
            .into_iter()
            .map(|u| self.field_decision(u, action, &standing))
            .collect();
        Ok((facts, decisions))
    }

    fn field_decision(
        &self,
        unit: walk::Unit,
        action: FieldAction,
        standing: &crate::decision::Standing,
    ) -> FieldDecision {
        let policy = self.policy();
        let (index, note_type, labels) = match unit.kind {
            Kind::Known(i) => (
                Some(i),
                policy.note_types.id(i).to_owned(),
                policy.note_types.labels(i).to_vec(),
            ),
            Kind::Unknown(name) => (None, name, unknown_labels()),
            Kind::Malformed => (None, MALFORMED_NOTE_TYPE.to_owned(), unknown_labels()),
        };
        let (mut decision, why) = self.decide_index(index, action, standing);
        if note_type == MALFORMED_NOTE_TYPE && index.is_none() {
            if let Decision::Seal { cause, .. } | Decision::Deny { cause } = &mut decision {
                if *cause == Cause::UnknownNoteType {
                    *cause = Cause::Malformed;
                }
            }
        }
        FieldDecision {
            pointer: unit.pointer,
            note_type,
            labels,
            decision,
            why,
        }
    }

    /// Seals `record` for `action`: every field not allowed is replaced by a
    /// placeholder and its value moved to the vault with a fresh salt.
    pub fn seal(
        &self,
        record: Value,
        action: FieldAction,
        entropy: &mut dyn Entropy,
    ) -> Result<Sealed, SealError> {
        let mut view = record;
        let (facts, mut decisions) = self.decide_record(&view, action)?;
        let relation = self.relation(&facts.id, facts.team.as_deref());
        // A value that would be shown but holds something shaped like a
        // placeholder could pass for one in the page: seal it as malformed.
        for d in decisions.iter_mut().filter(|d| d.decision.is_allow()) {
            if view.pointer(&d.pointer).is_some_and(holds_placeholder) {
                d.decision = match action {
                    FieldAction::View => Decision::Seal {
                        break_glass: self.may_break_glass(),
                        cause: Cause::Malformed,
                    },
                    _ => Decision::Deny {
                        cause: Cause::Malformed,
                    },
                };
            }
        }
        let default = self.policy().note_types.id(self.policy().default_note_type);
        let mut entries = Vec::new();
        let mut fields = Vec::new();
        let mut note_types = BTreeSet::new();
        let mut labels = BTreeSet::new();
        // One draw of entropy for all salts of the record: a system call per
        // field would dominate the cost of sealing a caseload.
        let sealed_count = decisions.iter().filter(|d| !d.decision.is_allow()).count();
        let mut salt_bytes = vec![0u8; sealed_count * commitment::SALT_LEN];
        if sealed_count > 0 {
            entropy.fill(&mut salt_bytes)?;
        }
        let mut salts = salt_bytes
            .chunks_exact(commitment::SALT_LEN)
            .filter_map(|c| <[u8; commitment::SALT_LEN]>::try_from(c).ok())
            .map(Salt::from_bytes);
        for d in &decisions {
            if d.note_type != default {
                fields.push(d.pointer.clone());
                note_types.insert(d.note_type.as_str());
                labels.extend(d.labels.iter().map(String::as_str));
            }
            if d.decision.is_allow() {
                continue;
            }
            let Some(slot) = view.pointer_mut(&d.pointer) else {
                continue;
            };
            // INVARIANT: one salt was drawn per decision that is not `Allow`.
            let Some(salt) = salts.next() else {
                return Err(SealError::Entropy(EntropyError::Unavailable(
                    "too few random bytes for the sealed fields".to_owned(),
                )));
            };
            let commitment = commit(&salt, slot)?;
            let wrapped = placeholder(d, &commitment);
            let value = std::mem::replace(slot, wrapped);
            entries.push(VaultEntry {
                pointer: d.pointer.clone(),
                note_type: d.note_type.clone(),
                labels: d.labels.clone(),
                value,
                salt,
                commitment,
            });
        }
        let action_name = match action {
            FieldAction::View if entries.is_empty() => Action::View,
            FieldAction::View => Action::ViewSealed,
            FieldAction::Edit => Action::Edit,
            FieldAction::Export => Action::Export,
            FieldAction::Print => Action::Print,
            FieldAction::Delete => Action::Delete,
        };
        let subject = self.subject(&facts, relation);
        let mut draft = self.draft(action_name, Outcome::Success);
        draft.subject = Some(subject.clone());
        draft.fields = fields;
        draft.note_types = note_types.into_iter().map(str::to_owned).collect();
        draft.labels = labels.into_iter().map(str::to_owned).collect();
        draft.purpose_of_use = Some("TREAT".to_owned());
        // The rules that decided (allowing, or refusing by a condition), by
        // their pointers in the policy; never an attribute's value.
        let rules: BTreeSet<&str> = decisions
            .iter()
            .filter_map(|d| d.why.rule.as_deref())
            .collect();
        if !rules.is_empty() {
            draft.detail.insert(
                "rules".to_owned(),
                rules.into_iter().map(Value::from).collect(),
            );
        }
        if !entries.is_empty() {
            draft.detail.insert(
                "sealed".to_owned(),
                entries
                    .iter()
                    .map(|e| Value::from(e.pointer.as_str()))
                    .collect(),
            );
        }
        Ok(Sealed {
            view,
            decisions,
            vault: Vault::new(subject, entries),
            draft,
        })
    }
}

/// The placeholder for the value `d` decides on: `{"$sealed": {...}}`, the
/// [`Placeholder`] shape, built member by member because sealing a caseload
/// makes tens of thousands of them (a test checks both agree).
fn placeholder(d: &FieldDecision, commitment: &str) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("pointer".to_owned(), Value::from(d.pointer.as_str()));
    m.insert("noteType".to_owned(), Value::from(d.note_type.as_str()));
    m.insert(
        "labels".to_owned(),
        d.labels.iter().map(|l| Value::from(l.as_str())).collect(),
    );
    m.insert("commitment".to_owned(), Value::from(commitment));
    let (kind, cause) = match &d.decision {
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

/// Whether `v` is or contains an object with a [`PLACEHOLDER_MEMBER`] member.
fn holds_placeholder(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key(PLACEHOLDER_MEMBER) || m.values().any(holds_placeholder),
        Value::Array(items) => items.iter().any(holds_placeholder),
        _ => false,
    }
}

fn unknown_labels() -> Vec<String> {
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
        for decision in decisions {
            let d = FieldDecision {
                pointer: "/a~1b/0".into(),
                note_type: "dvIndicator".into(),
                labels: vec!["V".into(), "SDV".into()],
                decision: decision.clone(),
                why: Explanation::default(),
            };
            let documented = Placeholder {
                pointer: d.pointer.clone(),
                note_type: d.note_type.clone(),
                labels: d.labels.clone(),
                commitment: "sha256:00".into(),
                decision,
            };
            assert_eq!(
                placeholder(&d, "sha256:00")[PLACEHOLDER_MEMBER],
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
    }
}
