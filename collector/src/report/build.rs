//! The quarterly review report as plain data: seed 003's five questions
//! answered from what the store returned for one period. Pure functions,
//! tested without a database; the handler ([`super`]) reads the rows.
//!
//! The period is `[from, to)` by the collector's clock: break-glass events
//! and demographic accesses by when the collector received them, cases by
//! when they were opened (a finding stored, a break-glass received), so a
//! browser's clock never moves an access into or out of a quarter and a
//! report, once its period is over, counts the same accesses whenever it is
//! made. Where cases stand (state, outcome) is as of the moment the report
//! is made (`generated`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use sealtrail::policy::OutcomeDef;

use crate::cases::model::{Case, CaseState};
use crate::clock::rfc3339;
use crate::store::events::{BreakGlass, GroupAccess};

/// The outcome a break-glass event records when the glass was broken.
const GRANTED: &str = "success";

/// What the report is made from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The period's first millisecond (collector's clock).
    pub from_ms: i64,
    /// The first millisecond after it.
    pub to_ms: i64,
    /// When the report is made.
    pub now_ms: i64,
    /// Break-glass events received in the period, each with its event as
    /// the reader may see it (reason text redacted for other roles).
    pub break_glass: &'a [(BreakGlass, Value)],
    /// Accesses carrying demographics received in the period.
    pub groups: &'a [GroupAccess],
    /// Cases opened in the period.
    pub cases: &'a [Case],
    /// The policy's outcomes.
    pub outcomes: &'a [OutcomeDef],
}

/// The report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The period.
    pub period: Period,
    /// When it was made (RFC 3339): where cases stand is as of then.
    pub generated: String,
    /// The headline figures.
    pub totals: Totals,
    /// 1. Which staff used break-glass.
    pub staff: Vec<StaffUse>,
    /// 2. Their documented reasons.
    pub reasons: Reasons,
    /// 3. Disproportion by demographic group.
    pub demographics: Demographics,
    /// 4. Outcomes documented.
    pub outcomes: Outcomes,
    /// 5. Accesses found inappropriate (denied after review).
    pub inappropriate: Vec<CaseRow>,
}

/// The period, half open.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    /// First instant (RFC 3339).
    pub from: String,
    /// First instant after the period (RFC 3339).
    pub to: String,
    /// Always `received`: bounded by the collector's receive time.
    pub by: &'static str,
}

/// The headline figures.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Break-glass attempts.
    pub break_glass: u64,
    /// Of them, granted.
    pub granted: u64,
    /// Distinct staff who attempted break-glass.
    pub staff: u64,
    /// Cases opened.
    pub cases: u64,
    /// Of them, resolved with an outcome and a note.
    pub resolved: u64,
    /// Of them, still open.
    pub open: u64,
    /// Of them, found inappropriate.
    pub inappropriate: u64,
}

/// One staff member's break-glass use.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StaffUse {
    /// Staff id.
    pub id: String,
    /// Name, when the event carried one.
    pub name: Option<String>,
    /// Role at the time.
    pub role: String,
    /// Attempts.
    pub uses: u64,
    /// Granted.
    pub granted: u64,
    /// Refused (any other outcome).
    pub refused: u64,
    /// Distinct records.
    pub records: u64,
    /// Reviews resolved.
    pub reviewed: u64,
    /// Reviews found inappropriate.
    pub inappropriate: u64,
}

/// The documented reasons.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reasons {
    /// Attempts per reason code (`null`: no reason was asked, a prompt exemption).
    pub by_code: Vec<ReasonCount>,
    /// Every attempt with its reason and its review.
    pub uses: Vec<BreakGlassUse>,
}

/// Attempts with one reason code.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasonCount {
    /// The code, or `null`.
    pub code: Option<String>,
    /// Attempts.
    pub uses: u64,
}

/// One break-glass attempt.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakGlassUse {
    /// Its review case.
    pub case: String,
    /// The event's own time.
    pub time: Option<String>,
    /// When the collector received it.
    pub received: String,
    /// Staff id.
    pub staff_id: String,
    /// Staff name.
    pub staff_name: Option<String>,
    /// Staff role.
    pub role: String,
    /// The record.
    pub record_id: Option<String>,
    /// `success`, `denied`, ...
    pub outcome: String,
    /// Reason code.
    pub reason_code: Option<String>,
    /// Reason text (redacted but for safeguarding staff).
    pub reason_text: Option<String>,
    /// Additional context (safeguarding staff only).
    pub context: Option<String>,
    /// Why no reason was asked (`treatingTeam`, `recentGrant`).
    pub exemption: Option<String>,
    /// Where its review stands.
    pub review: CaseState,
    /// The review's outcome.
    pub review_outcome: Option<String>,
}

/// Disproportion by demographic group.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Demographics {
    /// Accesses carrying demographics.
    pub accesses: u64,
    /// One row per attribute and group.
    pub groups: Vec<GroupRow>,
    /// Demographic-targeting cases opened in the period.
    pub targeting: Vec<CaseRow>,
}

/// One demographic group. Shares are of the distinct records carrying the
/// attribute: `recordShare` among all accessed, `breakGlassShare` among
/// those someone broke the glass on; `ratio` is the second over the first
/// (above 1: the group is over-represented among break-glass records).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRow {
    /// The attribute (`ageBand`).
    pub attribute: String,
    /// The group (`13-15`).
    pub value: String,
    /// Accesses.
    pub accesses: u64,
    /// Distinct records accessed.
    pub records: u64,
    /// `records` over the attribute's distinct records.
    pub record_share: f64,
    /// Break-glass attempts.
    pub break_glass: u64,
    /// Distinct records someone broke the glass on.
    pub break_glass_records: u64,
    /// `breakGlassRecords` over the attribute's break-glass records.
    pub break_glass_share: Option<f64>,
    /// `breakGlassShare / recordShare`.
    pub ratio: Option<f64>,
}

/// Where the period's cases stand.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcomes {
    /// Cases opened.
    pub cases: u64,
    /// Still new.
    pub new: u64,
    /// Acknowledged.
    pub acknowledged: u64,
    /// Under investigation.
    pub under_investigation: u64,
    /// Resolved: each with an outcome and a note, documented.
    pub resolved: u64,
    /// New past their response time.
    pub overdue: u64,
    /// Break-glass review cases.
    pub break_glass_reviews: u64,
    /// Of them, resolved.
    pub break_glass_reviewed: u64,
    /// Resolved cases per outcome, in the policy's order (an outcome no
    /// longer in the policy after them).
    pub by_outcome: Vec<OutcomeCount>,
}

/// Resolved cases with one outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeCount {
    /// Outcome id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Whether it finds the access inappropriate.
    pub inappropriate: bool,
    /// Cases.
    pub cases: u64,
}

/// A case in a list of the report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseRow {
    /// Case id.
    pub id: String,
    /// `alert`, ..., `break-glass`.
    pub kind: String,
    /// The rule.
    pub rule: String,
    /// Severity.
    pub severity: &'static str,
    /// The staff member concerned.
    pub actor_id: Option<String>,
    /// The record concerned.
    pub record_id: Option<String>,
    /// One line.
    pub summary: String,
    /// Opened (RFC 3339).
    pub opened: String,
    /// Where it stands.
    pub state: CaseState,
    /// Outcome id.
    pub outcome: Option<String>,
    /// Outcome label.
    pub outcome_label: Option<String>,
    /// Resolved (RFC 3339).
    pub resolved: Option<String>,
}

/// Builds the report.
pub fn build(s: &Sources<'_>) -> Report {
    let inappropriate_ids: BTreeSet<&str> = s
        .outcomes
        .iter()
        .filter(|o| o.inappropriate)
        .map(|o| o.id.as_str())
        .collect();
    let found_inappropriate = |c: &Case| {
        c.outcome
            .as_deref()
            .is_some_and(|o| inappropriate_ids.contains(o))
    };
    let by_id: BTreeMap<String, &Case> = s
        .cases
        .iter()
        .map(|c| (c.source.id.to_string(), c))
        .collect();

    let staff = staff_uses(s, &by_id, &found_inappropriate);
    let reasons = reasons(s, &by_id);
    let inappropriate: Vec<CaseRow> = s
        .cases
        .iter()
        .filter(|c| found_inappropriate(c))
        .map(|c| row(c, s.outcomes))
        .collect();
    let outcomes = outcomes(s);
    let totals = Totals {
        break_glass: count(s.break_glass.len()),
        granted: count(
            s.break_glass
                .iter()
                .filter(|(e, _)| e.outcome == GRANTED)
                .count(),
        ),
        staff: count(staff.len()),
        cases: outcomes.cases,
        resolved: outcomes.resolved,
        open: outcomes.cases.saturating_sub(outcomes.resolved),
        inappropriate: count(inappropriate.len()),
    };
    Report {
        period: Period {
            from: rfc3339(s.from_ms),
            to: rfc3339(s.to_ms),
            by: "received",
        },
        generated: rfc3339(s.now_ms),
        totals,
        staff,
        reasons,
        demographics: Demographics {
            accesses: count(s.groups.len()),
            groups: groups(s),
            targeting: s
                .cases
                .iter()
                .filter(|c| c.source.rule == "demographic-targeting")
                .map(|c| row(c, s.outcomes))
                .collect(),
        },
        outcomes,
        inappropriate,
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn case_id(e: &BreakGlass) -> String {
    format!("bg-{}-{}", e.chain, e.seq)
}

/// Question 1: per staff member, most attempts first.
fn staff_uses(
    s: &Sources<'_>,
    cases: &BTreeMap<String, &Case>,
    found_inappropriate: &dyn Fn(&Case) -> bool,
) -> Vec<StaffUse> {
    let mut by: BTreeMap<&str, (StaffUse, BTreeSet<&str>)> = BTreeMap::new();
    for (e, _) in s.break_glass {
        let (u, records) = by.entry(e.actor_id.as_str()).or_default();
        u.id.clone_from(&e.actor_id);
        if e.actor_name.is_some() {
            u.name.clone_from(&e.actor_name);
        }
        u.role.clone_from(&e.actor_role);
        u.uses += 1;
        if e.outcome == GRANTED {
            u.granted += 1;
        } else {
            u.refused += 1;
        }
        if let Some(r) = e.record_id.as_deref() {
            records.insert(r);
        }
        if let Some(c) = cases.get(&case_id(e)) {
            if c.state == CaseState::Resolved {
                u.reviewed += 1;
            }
            if found_inappropriate(c) {
                u.inappropriate += 1;
            }
        }
    }
    let mut out: Vec<StaffUse> = by
        .into_values()
        .map(|(mut u, records)| {
            u.records = count(records.len());
            u
        })
        .collect();
    out.sort_by(|a, b| b.uses.cmp(&a.uses).then_with(|| a.id.cmp(&b.id)));
    out
}

fn text_at(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Question 2: attempts per reason code (most first), and each attempt.
fn reasons(s: &Sources<'_>, cases: &BTreeMap<String, &Case>) -> Reasons {
    let mut by_code: BTreeMap<Option<String>, u64> = BTreeMap::new();
    let mut uses = Vec::with_capacity(s.break_glass.len());
    for (e, event) in s.break_glass {
        let code = text_at(event, "/reason/code");
        *by_code.entry(code.clone()).or_default() += 1;
        let case = cases.get(&case_id(e));
        uses.push(BreakGlassUse {
            case: case_id(e),
            time: text_at(event, "/ts"),
            received: rfc3339(e.received_ms),
            staff_id: e.actor_id.clone(),
            staff_name: e.actor_name.clone(),
            role: e.actor_role.clone(),
            record_id: e.record_id.clone(),
            outcome: e.outcome.clone(),
            reason_code: code,
            reason_text: text_at(event, "/reason/text"),
            context: text_at(event, "/reason/context"),
            exemption: text_at(event, "/detail/exemption"),
            review: case.map_or(CaseState::New, |c| c.state),
            review_outcome: case.and_then(|c| c.outcome.clone()),
        });
    }
    let mut by_code: Vec<ReasonCount> = by_code
        .into_iter()
        .map(|(code, uses)| ReasonCount { code, uses })
        .collect();
    by_code.sort_by(|a, b| b.uses.cmp(&a.uses).then_with(|| a.code.cmp(&b.code)));
    Reasons { by_code, uses }
}

/// Counts of one demographic group.
#[derive(Default)]
struct Group<'a> {
    accesses: u64,
    break_glass: u64,
    records: BTreeSet<&'a str>,
    break_glass_records: BTreeSet<&'a str>,
}

/// Question 3: each group's share of the records accessed against its
/// share of the records someone broke the glass on.
fn groups(s: &Sources<'_>) -> Vec<GroupRow> {
    let mut groups: BTreeMap<(String, String), Group<'_>> = BTreeMap::new();
    // Distinct records per attribute: all, and broken into.
    let mut totals: BTreeMap<String, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
    for a in s.groups {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&a.demographics) else {
            continue;
        };
        let broke = a.action == "break-glass";
        for (attribute, value) in map {
            let value = match value {
                Value::String(v) => v,
                other => other.to_string(),
            };
            let t = totals.entry(attribute.clone()).or_default();
            let g = groups.entry((attribute, value)).or_default();
            g.accesses += 1;
            if broke {
                g.break_glass += 1;
            }
            if let Some(r) = a.record_id.as_deref() {
                g.records.insert(r);
                t.0.insert(r);
                if broke {
                    g.break_glass_records.insert(r);
                    t.1.insert(r);
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|((attribute, value), g)| {
            let (all, broken) = totals
                .get(&attribute)
                .map_or((0, 0), |(a, b)| (a.len(), b.len()));
            let share = |part: usize, whole: usize| {
                if whole == 0 {
                    None
                } else {
                    Some(part as f64 / whole as f64)
                }
            };
            let record_share = share(g.records.len(), all).unwrap_or(0.0);
            let break_glass_share = share(g.break_glass_records.len(), broken);
            GroupRow {
                attribute,
                value,
                accesses: g.accesses,
                records: count(g.records.len()),
                record_share,
                break_glass: g.break_glass,
                break_glass_records: count(g.break_glass_records.len()),
                break_glass_share,
                ratio: break_glass_share
                    .filter(|_| record_share > 0.0)
                    .map(|b| b / record_share),
            }
        })
        .collect()
}

/// Question 4: where the period's cases stand, resolved ones by outcome.
fn outcomes(s: &Sources<'_>) -> Outcomes {
    let mut o = Outcomes {
        cases: count(s.cases.len()),
        ..Outcomes::default()
    };
    let mut by: BTreeMap<&str, u64> = BTreeMap::new();
    for c in s.cases {
        match c.state {
            CaseState::New => o.new += 1,
            CaseState::Acknowledged => o.acknowledged += 1,
            CaseState::UnderInvestigation => o.under_investigation += 1,
            CaseState::Resolved => o.resolved += 1,
        }
        o.overdue += u64::from(c.overdue);
        if c.source.id.is_break_glass() {
            o.break_glass_reviews += 1;
            o.break_glass_reviewed += u64::from(c.state == CaseState::Resolved);
        }
        if let Some(id) = c.outcome.as_deref() {
            *by.entry(id).or_default() += 1;
        }
    }
    for def in s.outcomes {
        o.by_outcome.push(OutcomeCount {
            id: def.id.clone(),
            label: def.label.clone(),
            inappropriate: def.inappropriate,
            cases: by.remove(def.id.as_str()).unwrap_or(0),
        });
    }
    // Outcomes a case was resolved with under an earlier policy.
    for (id, cases) in by {
        o.by_outcome.push(OutcomeCount {
            id: id.to_owned(),
            label: id.to_owned(),
            inappropriate: false,
            cases,
        });
    }
    o
}

fn row(c: &Case, outcomes: &[OutcomeDef]) -> CaseRow {
    CaseRow {
        id: c.source.id.to_string(),
        kind: c.source.kind.clone(),
        rule: c.source.rule.clone(),
        severity: c.source.severity.as_str(),
        actor_id: c.source.actor_id.clone(),
        record_id: c.source.record_id.clone(),
        summary: c.source.summary.clone(),
        opened: rfc3339(c.source.opened_ms),
        state: c.state,
        outcome: c.outcome.clone(),
        outcome_label: c.outcome.as_deref().map(|id| {
            outcomes
                .iter()
                .find(|o| o.id == id)
                .map_or_else(|| id.to_owned(), |o| o.label.clone())
        }),
        resolved: c.resolved.clone(),
    }
}
