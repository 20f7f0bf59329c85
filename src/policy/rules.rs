//! The policy's rules with their compiled conditions, each named by the
//! JSON Pointer where it is written (`/roles/nurse/noteTypes/substanceUse`):
//! that pointer is the rule id explanations and events cite.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::condition::{CondId, Conditions, Scope};
use super::error::PolicyError;
use super::model::{PolicyDoc, Role};
use crate::pointer::push;

/// Index of a rule in [`Rules`].
pub(crate) type RuleId = u32;

/// A rule that may carry a condition.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// Where it is written: its id.
    pub(crate) pointer: Arc<str>,
    /// Its condition, with the role's or grant's own; none: always.
    pub(crate) when: Option<CondId>,
}

/// The rules of one role or one grant.
#[derive(Debug, Clone, Default)]
pub(crate) struct Holder {
    /// The permissions on each note type it lists, by note type id.
    pub(crate) note_types: BTreeMap<String, RuleId>,
    /// Its host actions.
    pub(crate) host: RuleId,
}

/// Every rule of a policy and the conditions they use.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    list: Vec<Rule>,
    pub(crate) conditions: Conditions,
    pub(crate) roles: BTreeMap<String, Holder>,
    /// By grant index.
    pub(crate) grants: Vec<Holder>,
    /// By step-up rule index.
    pub(crate) step_up: Vec<RuleId>,
    pub(crate) break_glass: RuleId,
}

impl Rules {
    /// Compiles every condition of `doc`.
    pub(crate) fn compile(doc: &PolicyDoc) -> Result<Self, PolicyError> {
        let scope = Scope {
            note_types: doc.note_types.keys().map(String::as_str).collect(),
            layout: &doc.record,
        };
        super::condition::check_defaults(&doc.record)?;
        let mut r = Self {
            conditions: Conditions::named_from(&doc.conditions, &scope)?,
            ..Self::default()
        };
        for (id, role) in &doc.roles {
            let holder = r.holder(&push("/roles", id), role, &scope)?;
            r.roles.insert(id.clone(), holder);
        }
        for (i, g) in doc.grants.iter().enumerate() {
            let as_role = Role {
                label: String::new(),
                note_types: g.note_types.clone(),
                host_actions: g.host_actions.clone(),
                when: g.when.clone(),
            };
            let holder = r.holder(&format!("/grants/{i}"), &as_role, &scope)?;
            r.grants.push(holder);
        }
        for (i, s) in doc.step_up.iter().enumerate() {
            let at = format!("/stepUp/{i}");
            let id = r.session_only(&at, s.when.as_ref(), &scope)?;
            r.step_up.push(id);
        }
        r.break_glass = r.session_only("/breakGlass", doc.break_glass.when.as_ref(), &scope)?;
        Ok(r)
    }

    /// Rule `id`.
    pub(crate) fn rule(&self, id: RuleId) -> Option<&Rule> {
        self.list.get(id as usize)
    }

    fn add(&mut self, pointer: String, when: Option<CondId>) -> RuleId {
        let id = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(Rule {
            pointer: pointer.into(),
            when,
        });
        id
    }

    fn when(
        &mut self,
        at: &str,
        v: Option<&serde_json::Value>,
        scope: &Scope<'_>,
    ) -> Result<Option<CondId>, PolicyError> {
        v.map(|v| self.conditions.compile(v, &push(at, "when"), scope))
            .transpose()
    }

    fn holder(&mut self, at: &str, role: &Role, scope: &Scope<'_>) -> Result<Holder, PolicyError> {
        let outer = self.when(at, role.when.as_ref(), scope)?;
        let mut holder = Holder::default();
        for (nt, perms) in &role.note_types {
            let here = push(&push(at, "noteTypes"), nt);
            let own = self.when(&here, perms.when.as_ref(), scope)?;
            let when = self.conditions.both(outer, own, &here);
            holder.note_types.insert(nt.clone(), self.add(here, when));
        }
        // The role's or grant's own `when` governs its note types only: host
        // actions such as search concern no record, so they carry their own.
        let here = push(at, "hostActions");
        let when = self.when(&here, role.host_actions.when.as_ref(), scope)?;
        holder.host = self.add(here, when);
        Ok(holder)
    }

    /// A rule whose condition is decided once per session: it may not read the record.
    fn session_only(
        &mut self,
        at: &str,
        v: Option<&serde_json::Value>,
        scope: &Scope<'_>,
    ) -> Result<RuleId, PolicyError> {
        let when = self.when(at, v, scope)?;
        if when.is_some_and(|c| self.conditions.of_record(c)) {
            return Err(PolicyError::invalid(
                push(at, "when"),
                "this rule is decided once per session: its condition may use `session.*` and `time.*` attributes only",
            ));
        }
        Ok(self.add(at.to_owned(), when))
    }
}
