//! Why a decision was taken: the rule that allowed it, or the rule and the
//! condition that refused it first, by their JSON Pointers in the policy,
//! with the condition's label and the attribute that was missing. Never an
//! attribute's value: explanations go into events and answers.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::condition::Truth;
use crate::policy::condition::Attribute;
use crate::policy::rules::RuleId;
use crate::policy::Policy;

/// Why a decision was taken; empty when no rule applies at all (a role
/// without the permission, an unknown note type, an expired session).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// The rule that allowed (or, refused, that would have): its pointer in
    /// the policy (`/roles/nurse/noteTypes/substanceUse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<str>>,
    /// The condition that refused: its pointer in the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Arc<str>>,
    /// What the host can show (`patient restriction`): the refusing
    /// condition's label, or that of the nearest labelled condition above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Arc<str>>,
    /// The attribute that was missing or of the wrong kind, when that is why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<Attribute>,
}

impl Explanation {
    /// Allowed by `rule`.
    pub(crate) fn allowed(policy: &Policy, rule: Option<RuleId>) -> Self {
        Self {
            rule: rule
                .and_then(|r| policy.rules.rule(r))
                .map(|r| r.pointer.clone()),
            ..Self::default()
        }
    }

    /// Refused by the condition of `rule`, as `truth` says.
    pub(crate) fn refused(policy: &Policy, rule: RuleId, truth: Truth) -> Self {
        let rules = &policy.rules;
        let Some(r) = rules.rule(rule) else {
            return Self::default();
        };
        let (node, missing) = match truth {
            Truth::Yes => return Self::allowed(policy, Some(rule)),
            Truth::No(n) => (n, None),
            Truth::Unknown(n, a) => (n, Some(a)),
        };
        let conditions = &rules.conditions;
        Self {
            rule: Some(r.pointer.clone()),
            condition: conditions.pointer(node).cloned(),
            label: r
                .when
                .and_then(|root| conditions.label(root, node))
                .cloned(),
            missing,
        }
    }

    /// Whether it says nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

impl std::fmt::Display for Explanation {
    /// `rule /roles/nurse/noteTypes/x, condition /conditions/y (patient
    /// restriction): `record.unit` is missing or of the wrong kind`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule {
            Some(r) => write!(f, "rule `{r}`")?,
            None => write!(f, "no rule")?,
        }
        if let Some(c) = &self.condition {
            write!(f, ", condition `{c}`")?;
        }
        if let Some(l) = &self.label {
            write!(f, " ({l})")?;
        }
        if let Some(a) = self.missing {
            write!(f, ": `{}` is missing or of the wrong kind", a.as_str())?;
        }
        Ok(())
    }
}
