//! What a case is, as plain data: its id, its state derived from its steps,
//! which step may come next, and how routing and the response time apply.
//! Pure functions, tested without a database.

use std::fmt;

use serde::Serialize;

use sealtrail::event::ChainId;
use sealtrail::policy::{CaseSeverity, ReviewConfig, Route};

use crate::clock::rfc3339;
use crate::store::case_events::Step;

/// Which evidence a case is about: a stored finding, or a break-glass event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseId {
    /// `f-<finding id>`: a fork, tamper, alert (or any other kind of) finding.
    Finding(String),
    /// `bg-<chain>-<seq>`: the review of one break-glass.
    BreakGlass {
        /// The chain.
        chain: ChainId,
        /// The event.
        seq: u64,
    },
}

impl CaseId {
    /// Parses `f-<64 hex>` or `bg-<chain>-<seq>`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("expected a case id `f-<finding>` or `bg-<chain>-<seq>`, found `{s}`");
        if let Some(id) = s.strip_prefix("f-") {
            let hex = id.len() == 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            return if hex {
                Ok(Self::Finding(id.to_owned()))
            } else {
                Err(bad())
            };
        }
        let rest = s.strip_prefix("bg-").ok_or_else(bad)?;
        let (chain, seq) = rest.split_once('-').ok_or_else(bad)?;
        let chain = ChainId::parse(chain).map_err(|_| bad())?;
        let canonical = !seq.is_empty() && (seq == "0" || !seq.starts_with('0'));
        let seq: u64 = seq.parse().ok().filter(|_| canonical).ok_or_else(bad)?;
        Ok(Self::BreakGlass { chain, seq })
    }

    /// Whether this is a break-glass review (safeguarding staff only).
    pub fn is_break_glass(&self) -> bool {
        matches!(self, Self::BreakGlass { .. })
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Finding(id) => write!(f, "f-{id}"),
            Self::BreakGlass { chain, seq } => write!(f, "bg-{chain}-{seq}"),
        }
    }
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CaseState {
    /// Nobody has responded yet.
    New,
    /// A reviewer has seen it.
    Acknowledged,
    /// A reviewer is looking into it.
    UnderInvestigation,
    /// Closed with an outcome and a note.
    Resolved,
}

impl CaseState {
    /// Every state, in workflow order.
    pub const ALL: [CaseState; 4] = [
        Self::New,
        Self::Acknowledged,
        Self::UnderInvestigation,
        Self::Resolved,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Acknowledged => "acknowledged",
            Self::UnderInvestigation => "underInvestigation",
            Self::Resolved => "resolved",
        }
    }
}

/// What a reviewer does to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Op {
    /// Names who handles it.
    Assign,
    /// Says it has been seen.
    Acknowledge,
    /// Opens an investigation.
    Investigate,
    /// Adds a note.
    Comment,
    /// Closes it with an outcome and a note.
    Resolve,
}

impl Op {
    /// Every operation.
    pub const ALL: [Op; 5] = [
        Self::Assign,
        Self::Acknowledge,
        Self::Investigate,
        Self::Comment,
        Self::Resolve,
    ];

    /// The wire name (also the last path segment of its endpoint).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Acknowledge => "acknowledge",
            Self::Investigate => "investigate",
            Self::Comment => "comment",
            Self::Resolve => "resolve",
        }
    }

    /// From the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// Where a case in `from` goes, or why it cannot.
    pub fn apply(self, from: CaseState) -> Result<CaseState, String> {
        use CaseState as S;
        match (self, from) {
            (Op::Comment, s) => Ok(s),
            (_, S::Resolved) => Err(format!(
                "the case is resolved: it cannot be {} any more",
                self.past()
            )),
            (Op::Assign, s) => Ok(s),
            (Op::Acknowledge, S::New) => Ok(S::Acknowledged),
            (Op::Acknowledge, s) => Err(format!(
                "the case is {} already: expected `new`",
                s.as_str()
            )),
            (Op::Investigate, S::New | S::Acknowledged) => Ok(S::UnderInvestigation),
            (Op::Investigate, s) => Err(format!(
                "the case is {} already: expected `new` or `acknowledged`",
                s.as_str()
            )),
            (Op::Resolve, _) => Ok(S::Resolved),
        }
    }

    fn past(self) -> &'static str {
        match self {
            Self::Assign => "assigned",
            Self::Acknowledge => "acknowledged",
            Self::Investigate => "investigated",
            Self::Comment => "commented",
            Self::Resolve => "resolved",
        }
    }
}

/// A case's state, derived from its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Where it stands.
    pub state: CaseState,
    /// Who handles it (the route's primary until someone assigns it).
    pub assignee: Option<String>,
    /// When it was first acknowledged, investigated or resolved.
    pub responded_ms: Option<i64>,
    /// When it was resolved, and with which outcome.
    pub resolved: Option<(i64, String)>,
    /// When its last step was taken.
    pub updated_ms: Option<i64>,
}

/// Replays `steps` from a new case whose first assignee is `primary`. A
/// stored step that does not apply (which the API never writes) is skipped.
pub fn fold(primary: Option<&str>, steps: &[Step]) -> Progress {
    let mut p = Progress {
        state: CaseState::New,
        assignee: primary.map(str::to_owned),
        responded_ms: None,
        resolved: None,
        updated_ms: None,
    };
    for s in steps {
        let Some(op) = Op::parse(&s.op) else {
            continue;
        };
        let Ok(next) = op.apply(p.state) else {
            continue;
        };
        if op == Op::Assign {
            p.assignee.clone_from(&s.assignee);
        }
        if next != CaseState::New && p.responded_ms.is_none() && op != Op::Assign {
            p.responded_ms = Some(s.ts_ms);
        }
        if op == Op::Resolve {
            p.resolved = Some((s.ts_ms, s.outcome.clone().unwrap_or_default()));
        }
        p.state = next;
        p.updated_ms = Some(s.ts_ms);
    }
    p
}

/// What a case is about, before anyone acts on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// `f-...` or `bg-...`.
    #[serde(serialize_with = "as_text")]
    pub id: CaseId,
    /// `alert`, `fork`, `tamper`, ... or `break-glass`.
    pub kind: String,
    /// `critical`, `high` or `medium` (an unknown severity routes as critical).
    pub severity: CaseSeverity,
    /// The rule, or `break-glass`.
    pub rule: String,
    /// One line for the queue.
    pub summary: String,
    /// The staff member concerned.
    pub actor_id: Option<String>,
    /// The record concerned.
    pub record_id: Option<String>,
    /// The chain concerned.
    pub chain: Option<String>,
    /// The event concerned.
    pub seq: Option<i64>,
    /// When the collector stored the finding or the event (shown in RFC 3339 as `opened`).
    #[serde(rename = "opened", serialize_with = "as_rfc3339")]
    pub opened_ms: i64,
}

fn as_text<S: serde::Serializer>(id: &CaseId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

fn as_rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*ms))
}

/// A case as the review APIs show it: its source, and where it stands.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    /// What it is about.
    #[serde(flatten)]
    pub source: Source,
    /// When a first response is due.
    pub respond_by: String,
    /// Where it stands.
    pub state: CaseState,
    /// Who handles it.
    pub assignee: Option<String>,
    /// Still new past its response time.
    pub overdue: bool,
    /// Who is told once it is overdue (empty while it is not).
    pub escalated_to: Vec<String>,
    /// The route of its severity.
    pub routing: Route,
    /// The outcome it was resolved with.
    pub outcome: Option<String>,
    /// When it was resolved.
    pub resolved: Option<String>,
    /// When a reviewer last acted on it.
    pub updated: Option<String>,
}

impl Case {
    /// The case of `source` after `steps`, as of `now_ms`.
    pub fn new(source: Source, steps: &[Step], config: &ReviewConfig, now_ms: i64) -> Self {
        let route = config.route(source.severity).clone();
        let p = fold(route.primary.as_deref(), steps);
        let due_ms = source
            .opened_ms
            .saturating_add(i64::from(route.respond_within_minutes).saturating_mul(60_000));
        let overdue = p.state == CaseState::New && now_ms > due_ms;
        Self {
            source,
            respond_by: rfc3339(due_ms),
            state: p.state,
            assignee: p.assignee,
            overdue,
            escalated_to: if overdue {
                route.escalation.clone()
            } else {
                Vec::new()
            },
            routing: route,
            outcome: p.resolved.as_ref().map(|(_, o)| o.clone()),
            resolved: p.resolved.map(|(ms, _)| rfc3339(ms)),
            updated: p.updated_ms.map(rfc3339),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(n: i64, op: Op, assignee: Option<&str>) -> Step {
        Step {
            n,
            ts_ms: 1_000 * (n + 1),
            op: op.as_str().to_owned(),
            actor_id: "lead1".into(),
            actor_role: "safeguardingLead".into(),
            actor_name: None,
            assignee: assignee.map(str::to_owned),
            outcome: (op == Op::Resolve).then(|| "coaching".to_owned()),
            note: None,
            log_seq: n,
        }
    }

    #[test]
    fn case_ids_round_trip_and_refuse_anything_else() {
        let f = format!("f-{}", "ab".repeat(32));
        assert_eq!(CaseId::parse(&f).unwrap().to_string(), f);
        let bg = format!("bg-{}-17", "0f".repeat(16));
        let id = CaseId::parse(&bg).unwrap();
        assert!(id.is_break_glass());
        assert_eq!(id.to_string(), bg);
        for bad in [
            "",
            "f-",
            "f-AB",
            &format!("f-{}", "AB".repeat(32)),
            &format!("bg-{}-", "0f".repeat(16)),
            &format!("bg-{}-017", "0f".repeat(16)),
            &format!("bg-{}--1", "0f".repeat(16)),
            &format!("bg-{}", "0f".repeat(16)),
            "bg-xyz-1",
            "case-1",
        ] {
            assert!(CaseId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_workflow_moves_forward_and_a_resolved_case_only_takes_comments() {
        use CaseState as S;
        assert_eq!(Op::Acknowledge.apply(S::New), Ok(S::Acknowledged));
        assert_eq!(
            Op::Investigate.apply(S::Acknowledged),
            Ok(S::UnderInvestigation)
        );
        assert_eq!(Op::Resolve.apply(S::UnderInvestigation), Ok(S::Resolved));
        assert!(Op::Acknowledge.apply(S::Acknowledged).is_err());
        assert!(Op::Investigate.apply(S::UnderInvestigation).is_err());
        for op in [Op::Assign, Op::Acknowledge, Op::Investigate, Op::Resolve] {
            let e = op.apply(S::Resolved).unwrap_err();
            assert!(e.contains("resolved"), "{e}");
        }
        assert_eq!(Op::Comment.apply(S::Resolved), Ok(S::Resolved));
    }

    /// Every sequence of up to four operations: folding the accepted ones
    /// gives the state `apply` predicted, the state never moves back, and
    /// the first response is the first acknowledge, investigate or resolve.
    #[test]
    fn folding_agrees_with_apply_for_every_short_sequence() {
        let mut level: Vec<Vec<Op>> = vec![vec![]];
        let mut seqs = level.clone();
        for _ in 0..4 {
            level = level
                .iter()
                .flat_map(|s| {
                    Op::ALL.into_iter().map(move |op| {
                        let mut t = s.clone();
                        t.push(op);
                        t
                    })
                })
                .collect();
            seqs.extend(level.iter().cloned());
        }
        assert_eq!(seqs.len(), 1 + 5 + 25 + 125 + 625);
        for ops in seqs {
            let mut state = CaseState::New;
            let mut steps = Vec::new();
            let mut responded = None;
            for op in &ops {
                if let Ok(next) = op.apply(state) {
                    assert!(next >= state, "{ops:?}");
                    let s = step(steps.len() as i64, *op, Some("u2"));
                    if responded.is_none() && !matches!(op, Op::Assign | Op::Comment) {
                        responded = Some(s.ts_ms);
                    }
                    steps.push(s);
                    state = next;
                }
            }
            let p = fold(Some("primary"), &steps);
            assert_eq!(p.state, state, "{ops:?}");
            assert_eq!(p.responded_ms, responded, "{ops:?}");
            let assigned = steps.iter().any(|s| s.op == "assign");
            assert_eq!(
                p.assignee.as_deref(),
                Some(if assigned { "u2" } else { "primary" }),
                "{ops:?}"
            );
            assert_eq!(p.resolved.is_some(), state == CaseState::Resolved);
        }
    }

    #[test]
    fn overdue_is_new_past_the_response_time_and_names_the_escalation() {
        let mut config = ReviewConfig::default();
        config.routing.high.escalation = vec!["director".into()];
        config.routing.high.primary = Some("lead1".into());
        let source = Source {
            id: CaseId::Finding("ab".repeat(32)),
            kind: "alert".into(),
            severity: CaseSeverity::High,
            rule: "bulk-access".into(),
            summary: "s".into(),
            actor_id: None,
            record_id: None,
            chain: None,
            seq: None,
            opened_ms: 0,
        };
        let within = 4 * 3_600_000;
        let c = Case::new(source.clone(), &[], &config, within);
        assert!(!c.overdue);
        assert!(c.escalated_to.is_empty());
        assert_eq!(c.assignee.as_deref(), Some("lead1"));
        let c = Case::new(source.clone(), &[], &config, within + 1);
        assert!(c.overdue);
        assert_eq!(c.escalated_to, ["director"]);
        let acked = [step(0, Op::Acknowledge, None)];
        let c = Case::new(source, &acked, &config, within + 1);
        assert!(!c.overdue);
        assert_eq!(c.state, CaseState::Acknowledged);
    }
}
