//! Triage and review settings: the `review` member of a policy.
//!
//! Seed 000 asks that findings be "logged, triaged, and resolved with
//! documented outcomes"; seed 003 names the routing a facility configures
//! (a primary safeguarding lead, a backup, an escalation path and a response
//! SLA). The collector turns every finding and every break-glass into a case
//! and reads these settings to route it, to mark it overdue and to check the
//! outcome a reviewer resolves it with. Every member has a default, so
//! `"review": {}` is valid and a facility writes only what it changes.

use serde::{Deserialize, Serialize};

/// Case routing, response times, outcomes and report naming, embedded in a
/// policy as its `review` member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// The outcomes a case may be resolved with, in the order a reviewer
    /// sees them.
    pub outcomes: Vec<OutcomeDef>,
    /// Who receives a case of each severity, and how soon it needs a response.
    pub routing: Routing,
    /// The severity of a break-glass review case (routing and SLA follow it).
    pub break_glass_severity: CaseSeverity,
    /// How a patient access report names staff.
    pub staff_names: StaffNames,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        let outcome = |id: &str, label: &str, inappropriate: bool| OutcomeDef {
            id: id.to_owned(),
            label: label.to_owned(),
            inappropriate,
        };
        Self {
            outcomes: vec![
                outcome("appropriate", "Care reason confirmed / appropriate", false),
                outcome("coaching", "Coaching", false),
                outcome("access-changed", "Access changed", false),
                outcome("investigation-opened", "Investigation opened", false),
                outcome("referred-to-hr", "Referred to HR", false),
                outcome("inappropriate", "Inappropriate: denied after review", true),
            ],
            routing: Routing::default(),
            break_glass_severity: CaseSeverity::Medium,
            staff_names: StaffNames::Roles,
        }
    }
}

impl ReviewConfig {
    /// The outcome with id `id`.
    pub fn outcome(&self, id: &str) -> Option<&OutcomeDef> {
        self.outcomes.iter().find(|o| o.id == id)
    }

    /// The route of a severity.
    pub fn route(&self, severity: CaseSeverity) -> &Route {
        match severity {
            CaseSeverity::Critical => &self.routing.critical,
            CaseSeverity::High => &self.routing.high,
            CaseSeverity::Medium => &self.routing.medium,
        }
    }
}

/// One way a case can end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutcomeDef {
    /// What the API and exports carry (`coaching`): lower-case letters,
    /// digits and `-`.
    pub id: String,
    /// What a reviewer reads (`Coaching`).
    pub label: String,
    /// Whether it finds the access inappropriate (seed 003's "denied after
    /// review"); the quarterly report counts these.
    #[serde(default)]
    pub inappropriate: bool,
}

/// A case's severity: a finding's own, or the policy's for break-glass reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "one of `medium`, `high`, `critical`"
)]
pub enum CaseSeverity {
    /// Review in the routine audit.
    Medium,
    /// Review soon.
    High,
    /// Review now.
    Critical,
}

impl CaseSeverity {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            "critical" => Some(Self::Critical),
            _ => None,
        }
    }
}

/// Routes by severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Routing {
    /// Critical cases (forks, tampering, exports, role escalation, ...).
    pub critical: Route,
    /// High cases.
    pub high: Route,
    /// Medium cases.
    pub medium: Route,
}

impl Default for Routing {
    fn default() -> Self {
        let within = |minutes| Route {
            respond_within_minutes: minutes,
            ..Route::default()
        };
        Self {
            critical: within(60),
            high: within(4 * 60),
            medium: within(3 * 24 * 60),
        }
    }
}

/// Who receives cases of one severity and how soon they must respond.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Route {
    /// The primary safeguarding lead (a staff id): assigned every new case
    /// and told of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// The backup if the lead is unavailable: told of every new case too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// Told when a case is still new once its response time has passed.
    pub escalation: Vec<String>,
    /// Minutes from a case's opening to its first response (acknowledged,
    /// under investigation or resolved) before it is overdue.
    pub respond_within_minutes: u32,
}

impl Default for Route {
    fn default() -> Self {
        Self {
            primary: None,
            backup: None,
            escalation: Vec::new(),
            respond_within_minutes: 60,
        }
    }
}

/// How a patient access report names the staff who accessed a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "one of `names`, `roles`, `pseudonyms`"
)]
pub enum StaffNames {
    /// Name, staff id and role.
    Names,
    /// The role only.
    Roles,
    /// A stable pseudonym per staff member (and the role).
    Pseudonyms,
}

/// Why review settings cannot be used: where (a JSON Pointer relative to
/// `review`; a policy prefixes `/review`) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{pointer}`: {problem}")]
pub struct ReviewConfigError {
    /// Where.
    pub pointer: String,
    /// What.
    pub problem: ReviewProblem,
}

/// What is wrong with a review setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewProblem {
    /// No outcome at all: no case could be resolved.
    #[error("define at least one outcome")]
    NoOutcomes,
    /// An outcome id that is not lower-case letters, digits and `-`.
    #[error("expected lower-case letters, digits and `-` such as `coaching`, found `{0}`")]
    OutcomeId(String),
    /// The same outcome id twice.
    #[error("outcome `{0}` is defined twice")]
    DuplicateOutcome(String),
    /// An empty label or recipient.
    #[error("must not be empty")]
    Empty,
    /// A response time of zero: every case would be overdue at once.
    #[error("must be at least 1, found 0")]
    Zero,
}

impl ReviewConfig {
    /// Checks what serde cannot. Pointers are relative to this object; a
    /// policy prefixes `/review`.
    pub fn validate(&self) -> Result<(), ReviewConfigError> {
        use ReviewProblem as P;
        let err = |pointer: String, problem| Err(ReviewConfigError { pointer, problem });
        if self.outcomes.is_empty() {
            return err("/outcomes".into(), P::NoOutcomes);
        }
        for (i, o) in self.outcomes.iter().enumerate() {
            let well_formed = !o.id.is_empty()
                && o.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !well_formed {
                return err(format!("/outcomes/{i}/id"), P::OutcomeId(o.id.clone()));
            }
            if self.outcomes.iter().take(i).any(|p| p.id == o.id) {
                return err(
                    format!("/outcomes/{i}/id"),
                    P::DuplicateOutcome(o.id.clone()),
                );
            }
            if o.label.trim().is_empty() {
                return err(format!("/outcomes/{i}/label"), P::Empty);
            }
        }
        for (name, route) in [
            ("critical", &self.routing.critical),
            ("high", &self.routing.high),
            ("medium", &self.routing.medium),
        ] {
            let at = format!("/routing/{name}");
            if route.respond_within_minutes == 0 {
                return err(format!("{at}/respondWithinMinutes"), P::Zero);
            }
            let named = [("primary", &route.primary), ("backup", &route.backup)];
            for (member, who) in named {
                if who.as_deref().is_some_and(|w| w.trim().is_empty()) {
                    return err(format!("{at}/{member}"), P::Empty);
                }
            }
            for (i, who) in route.escalation.iter().enumerate() {
                if who.trim().is_empty() {
                    return err(format!("{at}/escalation/{i}"), P::Empty);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_is_the_seed_defaults() {
        let c: ReviewConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, ReviewConfig::default());
        let ids: Vec<&str> = c.outcomes.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "appropriate",
                "coaching",
                "access-changed",
                "investigation-opened",
                "referred-to-hr",
                "inappropriate"
            ]
        );
        assert!(c.outcome("inappropriate").unwrap().inappropriate);
        assert_eq!(c.route(CaseSeverity::Critical).respond_within_minutes, 60);
        c.validate().unwrap();
    }

    #[test]
    fn validate_names_the_pointer() {
        let mut c = ReviewConfig::default();
        c.routing.high.respond_within_minutes = 0;
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "`/routing/high/respondWithinMinutes`: must be at least 1, found 0"
        );
        let mut c = ReviewConfig::default();
        c.outcomes[1].id = "Coaching!".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("`/outcomes/1/id`"));
        let mut c = ReviewConfig::default();
        c.outcomes[2].id = "coaching".into();
        assert!(matches!(
            c.validate().unwrap_err().problem,
            ReviewProblem::DuplicateOutcome(_)
        ));
        let mut c = ReviewConfig::default();
        c.routing.medium.escalation = vec![" ".into()];
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("`/routing/medium/escalation/0`"));
        let mut c = ReviewConfig::default();
        c.outcomes.clear();
        assert_eq!(c.validate().unwrap_err().problem, ReviewProblem::NoOutcomes);
    }

    #[test]
    fn refuses_unknown_members_and_severities() {
        assert!(serde_json::from_str::<ReviewConfig>(r#"{"route":{}}"#).is_err());
        assert!(serde_json::from_str::<ReviewConfig>(r#"{"breakGlassSeverity":"low"}"#).is_err());
        assert!(serde_json::from_str::<ReviewConfig>(r#"{"staffNames":"initials"}"#).is_err());
    }
}
