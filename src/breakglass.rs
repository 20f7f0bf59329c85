//! Break-glass: emergency access to the sealed content of one record, with
//! a documented justification, for a few minutes.
//!
//! [`Access::break_glass`] validates a [`BreakGlassRequest`] against the
//! policy's `breakGlass` rules and either issues a [`BreakGlassGrant`]
//! (a decision-layer type, which the vault honours) for
//! one record and one user, or refuses with every [`Refusal`] found, each
//! naming the request field as a JSON Pointer. Both outcomes, and a
//! cancelled dialog ([`Access::break_glass_cancelled`]), come with the event
//! to log: an attempt by a role that may not break the glass is evidence,
//! never silently dropped. Sealed values are then opened one at a time with
//! [`crate::seal::Vault::prepare_unseal`].
//!
//! The policy may spare the prompt ([`crate::policy::PromptExemptions`]):
//! for the treating team, or within days of the user's previous grant on the
//! record. [`Access::exemption`] says when; [`Access::grant_without_prompt`]
//! then issues the grant with an event that carries no reason and says why
//! none was asked (`detail.exemption`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decision::{Access, BreakGlassGrant, Refused};
use crate::entropy::Entropy;
use crate::event::{Action, EventDraft, Outcome, Reason, Relation, Subject, PURPOSE_BTG};
use crate::Timestamp;

/// Longest incident reference kept in an event, in characters.
const INCIDENT_REF_MAX_CHARS: usize = 100;

/// What the user typed in the break-glass dialog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BreakGlassRequest {
    /// One of the policy's reason codes.
    pub reason_code: String,
    /// Why access is needed, in the user's words.
    pub reason_text: String,
    /// Further context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Investigation or incident reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_ref: Option<String>,
}

impl BreakGlassRequest {
    /// True when nothing was typed: no code, and only whitespace elsewhere.
    pub fn is_blank(&self) -> bool {
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
        self.reason_code.trim().is_empty()
            && self.reason_text.trim().is_empty()
            && blank(&self.context)
            && blank(&self.incident_ref)
    }
}

/// Why a break-glass request was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Refusal {
    /// The session is past its lifetime.
    #[error("the session has expired; sign in again")]
    SessionExpired,
    /// The user's role may not break the glass.
    #[error("the role `{role}` may not use break-glass access; ask a safeguarding lead")]
    RoleNotAuthorised {
        /// The role.
        role: String,
    },
    /// The reason code is not one the policy defines.
    #[error("reason code `{code}` is not one of the policy's reason codes")]
    UnknownReasonCode {
        /// The code given.
        code: String,
    },
    /// The reason is empty or only whitespace.
    #[error("give a reason for emergency access")]
    ReasonBlank,
    /// The reason is one character repeated (`aaaaaaaaaa`).
    #[error("the reason repeats a single character; describe why access is needed")]
    ReasonRepeated,
    /// The reason is too short after trimming.
    #[error("the reason needs at least {min} characters after trimming, found {found}")]
    ReasonTooShort {
        /// Characters found.
        found: usize,
        /// Fewest allowed.
        min: usize,
    },
    /// The reason is too long after trimming.
    #[error("the reason allows at most {max} characters after trimming, found {found}")]
    ReasonTooLong {
        /// Characters found.
        found: usize,
        /// Most allowed.
        max: usize,
    },
    /// The context is too long.
    #[error("the context allows at most {max} characters, found {found}")]
    ContextTooLong {
        /// Characters found.
        found: usize,
        /// Most allowed.
        max: usize,
    },
    /// The policy requires an incident reference and none was given.
    #[error("an incident reference is required")]
    IncidentRefMissing,
    /// The incident reference does not have the policy's form.
    #[error("incident reference `{found}` does not have the expected form `{pattern}`")]
    IncidentRefMalformed {
        /// The reference given.
        found: String,
        /// The policy's pattern.
        pattern: String,
    },
    /// No random grant id could be drawn.
    #[error("no secure random source is available: {0}")]
    NoEntropy(String),
}

impl Refusal {
    /// The kind, as its serialised `type` names it (`roleNotAuthorised`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SessionExpired => "sessionExpired",
            Self::RoleNotAuthorised { .. } => "roleNotAuthorised",
            Self::UnknownReasonCode { .. } => "unknownReasonCode",
            Self::ReasonBlank => "reasonBlank",
            Self::ReasonRepeated => "reasonRepeated",
            Self::ReasonTooShort { .. } => "reasonTooShort",
            Self::ReasonTooLong { .. } => "reasonTooLong",
            Self::ContextTooLong { .. } => "contextTooLong",
            Self::IncidentRefMissing => "incidentRefMissing",
            Self::IncidentRefMalformed { .. } => "incidentRefMalformed",
            Self::NoEntropy(_) => "noEntropy",
        }
    }

    /// The JSON Pointer of the request field at fault (empty when the request
    /// as a whole is refused: the role, the session, the platform).
    pub fn pointer(&self) -> &'static str {
        match self {
            Self::SessionExpired | Self::RoleNotAuthorised { .. } | Self::NoEntropy(_) => "",
            Self::UnknownReasonCode { .. } => "/reasonCode",
            Self::ReasonBlank
            | Self::ReasonRepeated
            | Self::ReasonTooShort { .. }
            | Self::ReasonTooLong { .. } => "/reasonText",
            Self::ContextTooLong { .. } => "/context",
            Self::IncidentRefMissing | Self::IncidentRefMalformed { .. } => "/incidentRef",
        }
    }
}

/// Why a grant is issued without the justification prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Exemption {
    /// The record is on the user's caseload or their team's.
    TreatingTeam,
    /// The user was granted this record within the re-prompt window.
    RecentGrant {
        /// When that grant was issued.
        granted_at: Timestamp,
    },
}

impl Exemption {
    /// The name written in the event's `detail.exemption`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TreatingTeam => "treatingTeam",
            Self::RecentGrant { .. } => "recentGrant",
        }
    }
}

/// A granted request and its event (`break-glass`, `success`, purpose `BTG`).
#[derive(Debug, Clone, PartialEq)]
pub struct Granted {
    /// The grant.
    pub grant: BreakGlassGrant,
    /// The event to log before using the grant.
    pub draft: EventDraft,
}

impl Access<'_> {
    /// Every problem with `request`, in the order the dialog shows its fields;
    /// empty when it would be granted. For live feedback while typing.
    ///
    /// When the session or the role already rules the request out, only that
    /// is reported: no wording of the reason would change the answer, and the
    /// logged refusal then says plainly why.
    pub fn check_break_glass(&self, request: &BreakGlassRequest) -> Vec<Refusal> {
        let rules = &self.policy().doc().break_glass;
        let mut out = Vec::new();
        if !self.is_live() {
            out.push(Refusal::SessionExpired);
        }
        if !rules.roles.contains(&self.session().role) {
            out.push(Refusal::RoleNotAuthorised {
                role: self.session().role.clone(),
            });
        }
        if !out.is_empty() {
            return out;
        }
        if !rules.reason_codes.contains_key(&request.reason_code) {
            out.push(Refusal::UnknownReasonCode {
                code: request.reason_code.clone(),
            });
        }
        let text = request.reason_text.trim();
        let found = text.chars().count();
        let (min, max) = (
            rules.reason_min_chars as usize,
            rules.reason_max_chars as usize,
        );
        if text.is_empty() {
            out.push(Refusal::ReasonBlank);
        } else if found < min {
            out.push(Refusal::ReasonTooShort { found, min });
        } else if found > max {
            out.push(Refusal::ReasonTooLong { found, max });
        } else if one_repeated_char(text) {
            out.push(Refusal::ReasonRepeated);
        }
        if let Some(c) = &request.context {
            let (found, max) = (c.chars().count(), rules.context_max_chars as usize);
            if found > max {
                out.push(Refusal::ContextTooLong { found, max });
            }
        }
        match request.incident_ref.as_deref().map(str::trim) {
            None | Some("") if rules.incident_ref_required => out.push(Refusal::IncidentRefMissing),
            None | Some("") => {}
            Some(r) => {
                if let Some(re) = &self.policy().incident_ref {
                    if !re.is_match(r) {
                        out.push(Refusal::IncidentRefMalformed {
                            found: truncate(r, INCIDENT_REF_MAX_CHARS),
                            pattern: rules.incident_ref_pattern.clone().unwrap_or_default(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Decides a break-glass request on the record `subject` names: a grant
    /// for that one record, or the refusals; either way the event to log.
    pub fn break_glass(
        &self,
        subject: &Subject,
        request: &BreakGlassRequest,
        entropy: &mut dyn Entropy,
    ) -> Result<Granted, Refused<Vec<Refusal>>> {
        let mut refusals = self.check_break_glass(request);
        let mut id = [0u8; 16];
        if refusals.is_empty() {
            if let Err(e) = entropy.fill(&mut id) {
                refusals.push(Refusal::NoEntropy(e.to_string()));
            }
        }
        let mut draft = self.btg_draft(subject, Outcome::Success);
        // A refusal shown before anything was typed (an unauthorised role
        // opening the dialog) has no reason to log.
        if !request.is_blank() {
            draft.reason = Some(self.logged_reason(request));
        }
        if !refusals.is_empty() {
            return Err(refuse(draft, refusals));
        }
        Ok(self.issue(subject, &request.reason_code, id, draft))
    }

    /// Whether the policy spares the prompt for the record `subject` names,
    /// given the user's latest earlier grant on it: never for a session that
    /// may not break the glass, nor on a record the user declared a link to.
    pub fn exemption(&self, subject: &Subject, last_grant: Option<Timestamp>) -> Option<Exemption> {
        let rules = &self.policy().doc().break_glass.exemptions;
        if !self.may_break_glass() || subject.related {
            return None;
        }
        let treating = matches!(subject.relation, Some(Relation::Caseload | Relation::Team));
        if rules.treating_team && treating {
            return Some(Exemption::TreatingTeam);
        }
        let window = i64::from(rules.reprompt_days).saturating_mul(86_400_000);
        last_grant
            .filter(|t| *t <= self.now() && self.now() < t.plus_millis(window))
            .map(|granted_at| Exemption::RecentGrant { granted_at })
    }

    /// A grant without the prompt, under `exemption` (from
    /// [`Access::exemption`]): its event has no reason, and says why.
    pub fn grant_without_prompt(
        &self,
        subject: &Subject,
        exemption: Exemption,
        entropy: &mut dyn Entropy,
    ) -> Result<Granted, Refused<Vec<Refusal>>> {
        let mut draft = self.btg_draft(subject, Outcome::Success);
        draft
            .detail
            .insert("exemption".to_owned(), Value::from(exemption.as_str()));
        if let Exemption::RecentGrant { granted_at } = exemption {
            draft.detail.insert(
                "priorGrantAt".to_owned(),
                Value::from(granted_at.to_string()),
            );
        }
        let mut id = [0u8; 16];
        if let Err(e) = entropy.fill(&mut id) {
            return Err(refuse(draft, vec![Refusal::NoEntropy(e.to_string())]));
        }
        Ok(self.issue(subject, exemption.as_str(), id, draft))
    }

    /// The grant with random `id` for the record `subject` names, and its
    /// event `draft` completed with the grant's id, expiry and scope.
    fn issue(
        &self,
        subject: &Subject,
        reason_code: &str,
        id: [u8; 16],
        mut draft: EventDraft,
    ) -> Granted {
        let rules = &self.policy().doc().break_glass;
        let grant = BreakGlassGrant {
            id: hex::encode(id),
            user_id: self.session().user_id.clone(),
            role: self.session().role.clone(),
            record_id: subject.record_id.clone(),
            reason_code: reason_code.to_owned(),
            issued_at: self.now(),
            expires_at: self
                .now()
                .plus_millis(i64::from(rules.expires_minutes).saturating_mul(60_000)),
            policy: self.policy().hash().to_owned(),
        };
        draft
            .detail
            .insert("grantId".to_owned(), Value::from(grant.id.as_str()));
        draft.detail.insert(
            "expiresAt".to_owned(),
            Value::from(grant.expires_at.to_string()),
        );
        draft
            .detail
            .insert("scope".to_owned(), Value::from("record"));
        Granted { grant, draft }
    }

    /// The event for a break-glass dialog the user closed without asking.
    pub fn break_glass_cancelled(&self, subject: &Subject) -> EventDraft {
        self.btg_draft(subject, Outcome::Cancelled)
    }

    fn btg_draft(&self, subject: &Subject, outcome: Outcome) -> EventDraft {
        let mut d = self.draft(Action::BreakGlass, outcome);
        d.subject = Some(subject.clone());
        d.purpose_of_use = Some(PURPOSE_BTG.to_owned());
        d
    }

    /// The reason as logged: trimmed, and cut to the policy's limits so a
    /// refused request cannot bloat the chain.
    fn logged_reason(&self, r: &BreakGlassRequest) -> Reason {
        let rules = &self.policy().doc().break_glass;
        let opt = |s: &Option<String>, max: usize| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| truncate(s, max))
        };
        Reason {
            code: truncate(&r.reason_code, INCIDENT_REF_MAX_CHARS),
            text: truncate(r.reason_text.trim(), rules.reason_max_chars as usize),
            context: opt(&r.context, rules.context_max_chars as usize),
            incident_ref: opt(&r.incident_ref, INCIDENT_REF_MAX_CHARS),
        }
    }
}

/// The refusal of `refusals`, with `draft` marked `denied` (or `error` when
/// no grant id could be drawn) and listing them.
fn refuse(mut draft: EventDraft, refusals: Vec<Refusal>) -> Refused<Vec<Refusal>> {
    draft.outcome = if matches!(refusals.first(), Some(Refusal::NoEntropy(_))) {
        Outcome::Error
    } else {
        Outcome::Denied
    };
    draft.detail.insert(
        "refusals".to_owned(),
        refusals
            .iter()
            .map(|r| serde_json::json!({"pointer": r.pointer(), "message": r.to_string()}))
            .collect(),
    );
    Refused {
        error: refusals,
        draft: Box::new(draft),
    }
}

/// True when every non-whitespace character is the same one.
fn one_repeated_char(text: &str) -> bool {
    let mut chars = text.chars().filter(|c| !c.is_whitespace());
    match chars.next() {
        Some(first) => chars.all(|c| c == first),
        None => true,
    }
}

/// The first `max` characters of `s`.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_the_serialised_type() {
        let all = [
            Refusal::SessionExpired,
            Refusal::RoleNotAuthorised { role: "r".into() },
            Refusal::UnknownReasonCode { code: "c".into() },
            Refusal::ReasonBlank,
            Refusal::ReasonRepeated,
            Refusal::ReasonTooShort { found: 1, min: 2 },
            Refusal::ReasonTooLong { found: 3, max: 2 },
            Refusal::ContextTooLong { found: 3, max: 2 },
            Refusal::IncidentRefMissing,
            Refusal::IncidentRefMalformed {
                found: "x".into(),
                pattern: "p".into(),
            },
        ];
        for r in all {
            let v = serde_json::to_value(&r).unwrap();
            assert_eq!(v["type"], r.kind(), "{r:?}");
        }
        // A tagged newtype of a string has no serde form; its kind is still named.
        assert_eq!(Refusal::NoEntropy("x".into()).kind(), "noEntropy");
    }

    #[test]
    fn repeated_characters() {
        assert!(one_repeated_char("aaaaaaaaaaaa"));
        assert!(one_repeated_char("a a a a a a"));
        assert!(!one_repeated_char("ab"));
        assert_eq!(truncate("éééé", 2), "éé");
    }
}
