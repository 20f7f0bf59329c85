//! The pattern rules on crafted chains: off-hours spikes, demographic
//! targeting, record integrity and related records. Each fires on a chain
//! built to fire it and stays quiet on its near miss, the small-numbers
//! cases of demographic targeting above all.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use std::collections::BTreeMap;

use sealtrail::alerts::{scan, Finding, RuleId, Severity};
use sealtrail::chain::ChainWriter;
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Actor, Event, EventDraft, Outcome, Relation, Subject};
use sealtrail::policy::{AlertConfig, Policy};
use sealtrail::Timestamp;
use serde_json::{json, Value};

/// Monday 2026-10-19 00:00 UTC: day 0 of the crafted months.
const D0: i64 = 1_792_368_000_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// Day `d` at `h` hours and `m` minutes UTC. 15:00 UTC is 10:00 or 11:00 in
/// New York (in hours on a weekday); 03:00 UTC is 22:00 or 23:00 the evening
/// before (always off hours).
fn at(d: i64, h: i64, m: i64) -> Timestamp {
    Timestamp::from_millis(D0 + d * DAY + h * HOUR + m * 60_000).unwrap()
}

fn draft(id: &str, team: Option<&str>, action: Action, record: &str) -> EventDraft {
    let mut d = EventDraft::new(
        Actor {
            id: id.into(),
            role: "nurse".into(),
            name: None,
            auth_strength: None,
            team: team.map(str::to_owned),
        },
        action,
        Outcome::Success,
    );
    d.subject = Some(Subject {
        record_id: record.into(),
        record_type: Some("youth".into()),
        relation: Some(Relation::Team),
        demographics: BTreeMap::new(),
        related: false,
    });
    d
}

/// Events on one chain per staff member, in time order within each.
#[derive(Default)]
struct Chains {
    by_staff: BTreeMap<String, Vec<(Timestamp, EventDraft)>>,
}

impl Chains {
    fn add(&mut self, d: EventDraft, ts: Timestamp) {
        self.by_staff
            .entry(d.actor.id.clone())
            .or_default()
            .push((ts, d));
    }

    fn events(&self) -> Vec<Event> {
        let mut out = Vec::new();
        for (n, drafts) in self.by_staff.values().enumerate() {
            let id = ChainId::parse(&format!("{:032x}", 0xfeed_0000 + n)).unwrap();
            let mut w = ChainWriter::new(id);
            let mut drafts = drafts.clone();
            drafts.sort_by_key(|(ts, _)| *ts);
            for (ts, d) in drafts {
                out.push(w.append(d, ts).unwrap());
            }
        }
        out
    }

    fn run(&self, config: AlertConfig) -> Vec<Finding> {
        scan(config, ["safeguardingLead"], &self.events()).unwrap()
    }
}

fn of(findings: &[Finding], rule: RuleId) -> Vec<&Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

// ---------------------------------------------------------------- off-hours spikes

/// Five weeks of a team's work from `first_day` (day 0 is a Monday):
/// every weekday three daytime views each, and off-hours accesses at night,
/// `own` a night for `u1` and `peers` a night for `u2` and `u3` (below
/// zero: one a week, on Wednesdays). In the fifth week `u1` makes `spike`
/// off-hours accesses instead, spread over its nights.
#[cfg(feature = "tz")]
fn team_month(first_day: i64, own: i64, peers: i64, spike: i64) -> Chains {
    let mut c = Chains::default();
    let view = |staff: &str, record: &str| draft(staff, Some("north"), Action::View, record);
    for (staff, start, nights) in [("u1", first_day, own), ("u2", 0, peers), ("u3", 0, peers)] {
        for d in start..35 {
            if d % 7 < 5 {
                for m in [0, 10, 20] {
                    c.add(view(staff, "y1"), at(d, 15, m));
                }
            }
            if d >= 28 && staff == "u1" {
                continue;
            }
            let off = if nights < 0 {
                i64::from(d % 7 == 2)
            } else {
                nights
            };
            for m in 0..off {
                c.add(view(staff, "y2"), at(d, 3, m));
            }
        }
    }
    for j in 0..spike {
        c.add(view("u1", "y3"), at(28 + j % 7, 3, 30 + j / 7));
    }
    c
}

#[cfg(feature = "tz")]
fn spikes(c: &Chains) -> Vec<Finding> {
    let f = c.run(AlertConfig::default());
    of(&f, RuleId::OffHoursSpike).into_iter().cloned().collect()
}

#[cfg(feature = "tz")]
#[test]
fn a_night_spike_above_own_and_team_baselines_is_high() {
    let c = team_month(0, -1, -1, 14);
    let f = spikes(&c);
    assert_eq!(f.len(), 1, "one finding per window: {f:#?}");
    let s = &f[0];
    assert_eq!(s.severity, Severity::High);
    assert_eq!(s.actors[0].id, "u1");
    // It fires as soon as the count is both large enough (10) and improbable.
    assert_eq!(s.events.len(), 10, "{s:#?}");
    assert_eq!(s.records, vec!["y3".to_string()]);
    assert!(
        s.summary.contains("made 10 off-hours accesses in 7 days"),
        "{}",
        s.summary
    );
    assert!(s.summary.contains("team north"), "{}", s.summary);
    assert!(!s.safeguarding_review);
}

#[cfg(feature = "tz")]
#[test]
fn no_spike_for_a_night_worker_a_night_team_a_few_nights_or_a_new_starter() {
    // Their own baseline already has two a night.
    assert!(spikes(&team_month(0, 2, -1, 14)).is_empty());
    // Their peers work nights: the team's baseline predicts it.
    assert!(spikes(&team_month(0, -1, 2, 14)).is_empty());
    // Nine is below the minimum count, however improbable.
    assert!(spikes(&team_month(0, -1, -1, 9)).is_empty());
    // First seen four days before the window: no baseline to deviate from.
    assert!(spikes(&team_month(24, -1, -1, 14)).is_empty());
    // Seen for two and a half weeks before the window: judged.
    assert_eq!(spikes(&team_month(7, -1, -1, 14)).len(), 1);
}

// ---------------------------------------------------------------- demographic targeting

/// Group of record `r{i}`: a quarter are `A`, the rest `B`, `C`, `D`.
fn group(i: usize) -> &'static str {
    ["A", "B", "C", "D"][i % 4]
}

fn on_group(id: &str, action: Action, i: usize) -> EventDraft {
    let mut d = draft(id, None, action, &format!("r{i}"));
    if let Some(s) = d.subject.as_mut() {
        s.demographics.insert("ethnicity".into(), group(i).into());
    }
    d
}

/// Five colleagues between them open each of records `r0`..`r99` once.
fn caseload(c: &mut Chains) {
    for i in 0..100usize {
        c.add(
            on_group(&format!("s{}", i / 20), Action::View, i),
            at(0, 15, (i % 20) as i64),
        );
    }
}

/// `staff` opens (or breaks the glass on) records `r{i}` for each `i`.
fn opens(c: &mut Chains, staff: &str, action: Action, records: impl IntoIterator<Item = usize>) {
    for (m, i) in records.into_iter().enumerate() {
        c.add(
            on_group(staff, action.clone(), i),
            at(1, 15, 0).plus_millis(m as i64 * 60_000),
        );
    }
}

/// `count` records of group `A` (`r0`, `r4`, ...) and `others` spread
/// evenly over `B`, `C` and `D` (`r1`, `r2`, `r3`, `r5`, ...).
fn mix(count: usize, others: usize) -> Vec<usize> {
    (0..count)
        .map(|j| 4 * j)
        .chain((0..others).map(|j| 4 * (j / 3) + 1 + j % 3))
        .collect()
}

fn targeting(c: &Chains) -> Vec<Finding> {
    let f = c.run(AlertConfig::default());
    of(&f, RuleId::DemographicTargeting)
        .into_iter()
        .cloned()
        .collect()
}

#[test]
fn accesses_concentrated_on_one_group_are_critical_and_go_to_safeguarding() {
    let mut c = Chains::default();
    caseload(&mut c);
    // 14 of 20 in a group that is a quarter of the caseload: 5 expected,
    // P(X >= 14 | 20, 1/4) = 2.95e-5, below 1/1000 over 4 groups.
    let mut records = mix(14, 6);
    records.reverse(); // The group's records first: `n` reaches 20 on another group's.
    opens(&mut c, "t1", Action::View, records);
    let f = targeting(&c);
    assert_eq!(f.len(), 1, "{f:#?}");
    let t = &f[0];
    assert_eq!(t.severity, Severity::Critical);
    assert!(t.safeguarding_review);
    assert_eq!(t.actors[0].id, "t1");
    assert_eq!(t.events.len(), 14, "the group's records are the evidence");
    assert_eq!(t.records.len(), 14);
    assert!(
        t.summary
            .contains("accessed 14 of 20 records with `ethnicity` = `A`"),
        "{}",
        t.summary
    );
    assert!(t.summary.contains("requires safeguarding review"));
    let json = serde_json::to_value(t).unwrap();
    assert_eq!(json["safeguardingReview"], true);
    assert_eq!(json["rule"], "demographic-targeting");
}

#[test]
fn no_targeting_for_proportional_access_or_small_numbers() {
    // In proportion: 5 of 20.
    let mut c = Chains::default();
    caseload(&mut c);
    opens(&mut c, "t2", Action::View, mix(5, 15));
    assert!(targeting(&c).is_empty());
    // 11 of 20 is unusual (p = 3.9e-3) but not below 1/4000.
    let mut c = Chains::default();
    caseload(&mut c);
    opens(&mut c, "t2", Action::View, mix(11, 9));
    assert!(targeting(&c).is_empty());
    // Every one of 8 records in the group: too few records to judge.
    let mut c = Chains::default();
    caseload(&mut c);
    opens(&mut c, "t3", Action::View, mix(8, 0));
    assert!(targeting(&c).is_empty());
    // Without the caseload the makeup is unknown (20 records < 50).
    let mut c = Chains::default();
    opens(&mut c, "t1", Action::View, mix(14, 6));
    opens(&mut c, "t9", Action::View, mix(0, 20));
    assert!(targeting(&c).is_empty());
    // One group only: nothing to be concentrated against.
    let mut c = Chains::default();
    for i in 0..60 {
        c.add(on_group("s0", Action::View, 4 * i), at(0, 15, i as i64));
    }
    opens(&mut c, "t1", Action::View, mix(20, 0));
    assert!(targeting(&c).is_empty());
}

#[test]
fn break_glass_on_one_group_is_judged_with_its_own_floors() {
    // Five of five: P = 1/4^5 = 9.8e-4, not below 1/4000: silent.
    let mut c = Chains::default();
    caseload(&mut c);
    opens(&mut c, "t4", Action::BreakGlass, mix(5, 0));
    assert!(targeting(&c).is_empty());
    // Seven in a row: at six of six P = 1/4^6 = 2.4e-4 is below 1/4000, and
    // the finding is raised then, once, as a break-glass pattern.
    let mut c = Chains::default();
    caseload(&mut c);
    opens(&mut c, "t5", Action::BreakGlass, mix(7, 0));
    let f = targeting(&c);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].events.len(), 6);
    assert!(
        f[0].summary.contains("broke the glass on 6 of 6 records"),
        "{}",
        f[0].summary
    );
}

// ---------------------------------------------------------------- record integrity

fn edit(id: &str, record: &str, fields: &[&str]) -> EventDraft {
    let mut d = draft(id, None, Action::Edit, record);
    d.fields = fields.iter().map(|f| (*f).to_owned()).collect();
    d
}

#[test]
fn repeated_key_field_edits_are_high_and_counted_per_field_and_record() {
    let mut c = Chains::default();
    c.add(edit("u1", "y1", &["/address/street"]), at(0, 15, 0));
    c.add(edit("u2", "y1", &["/address"]), at(2, 15, 0));
    // A different record and a field that is not key do not add up.
    c.add(edit("u1", "y2", &["/address/city"]), at(3, 15, 0));
    c.add(edit("u1", "y1", &["/phone"]), at(3, 15, 1));
    // A refused edit changed nothing.
    let mut denied = edit("u1", "y1", &["/address/street"]);
    denied.outcome = Outcome::Denied;
    c.add(denied, at(3, 15, 2));
    assert!(of(&c.run(AlertConfig::default()), RuleId::KeyFieldEdits).is_empty());
    c.add(edit("u1", "y1", &["/phone", "/address/zip"]), at(4, 15, 0));
    let f = c.run(AlertConfig::default());
    let k = of(&f, RuleId::KeyFieldEdits);
    assert_eq!(k.len(), 1, "{f:#?}");
    assert_eq!(k[0].severity, Severity::High);
    assert_eq!(k[0].records, vec!["y1".to_string()]);
    let ids: Vec<&str> = k[0].actors.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["u1", "u2"]);
    assert_eq!(k[0].events.len(), 3);
    assert!(k[0].summary.contains("`/address`"), "{}", k[0].summary);
}

#[test]
fn key_field_edits_outside_the_window_do_not_add_up() {
    let mut c = Chains::default();
    for d in [0, 4, 8] {
        c.add(edit("u1", "y1", &["/consent/sharing"]), at(d, 15, 0));
    }
    assert!(of(&c.run(AlertConfig::default()), RuleId::KeyFieldEdits).is_empty());
    let mut config = AlertConfig::default();
    config.record_integrity.key_field_window_days = 9;
    assert_eq!(of(&c.run(config), RuleId::KeyFieldEdits).len(), 1);
}

#[test]
fn deleting_notes_is_high_and_deleting_none_is_quiet() {
    let mut c = Chains::default();
    let mut none = draft("u1", None, Action::Delete, "y1");
    none.fields = vec!["/phone".into()];
    none.detail.insert("notes".into(), 0.into());
    c.add(none, at(0, 15, 0));
    assert!(of(&c.run(AlertConfig::default()), RuleId::NoteDeleted).is_empty());
    let mut two = draft("u1", None, Action::Delete, "y1");
    two.fields = vec!["/notes/1".into(), "/notes/2".into()];
    two.detail.insert("notes".into(), 2.into());
    two.outcome = Outcome::Denied;
    c.add(two, at(0, 15, 1));
    let f = c.run(AlertConfig::default());
    let n = of(&f, RuleId::NoteDeleted);
    assert_eq!(n.len(), 1, "{f:#?}");
    assert_eq!(n[0].severity, Severity::High);
    assert!(
        n[0].summary
            .contains("tried to delete 2 notes of record `y1`"),
        "{}",
        n[0].summary
    );
}

#[test]
fn an_edit_effective_days_before_it_was_made_is_backdated() {
    let backdated = |hours: i64| {
        let mut c = Chains::default();
        let mut d = edit("u1", "y1", &["/notes/3/text"]);
        let effective = at(10, 15, 0).plus_millis(-hours * HOUR);
        d.detail
            .insert("effectiveAt".into(), effective.to_string().into());
        c.add(d, at(10, 15, 0));
        c.run(AlertConfig::default())
            .into_iter()
            .filter(|f| f.rule == RuleId::BackdatedEntry)
            .collect::<Vec<_>>()
    };
    assert!(backdated(24).is_empty(), "exactly the allowance is fine");
    assert!(
        backdated(-48).is_empty(),
        "a future date is not back-dating"
    );
    let f = backdated(72);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::High);
    assert!(f[0].summary.contains("72 hours before"), "{}", f[0].summary);
}

// ---------------------------------------------------------------- related records

#[test]
fn accessing_a_related_record_is_high_once_per_visit() {
    let mut c = Chains::default();
    c.add(draft("u1", None, Action::View, "y1"), at(0, 15, 0));
    assert!(of(&c.run(AlertConfig::default()), RuleId::RelatedRecord).is_empty());
    for m in [1, 2, 90] {
        let mut d = draft("u1", None, Action::View, "y7");
        if let Some(s) = d.subject.as_mut() {
            s.related = true;
        }
        c.add(d, at(0, 15, m));
    }
    let f = c.run(AlertConfig::default());
    let r = of(&f, RuleId::RelatedRecord);
    assert_eq!(r.len(), 2, "one per hour-long visit: {f:#?}");
    assert_eq!(r[0].severity, Severity::High);
    assert_eq!(r[0].records, vec!["y7".to_string()]);
    let line = serde_json::to_value(&c.events()[1]).unwrap();
    assert_eq!(line["subject"]["related"], true, "the flag, never the link");
}

// ---------------------------------------------------------------- settings

fn policy_with_alerts(alerts: Value) -> Result<Policy, String> {
    let mut p: Value =
        serde_json::from_str(include_str!("../pkg-config/policy.default.json")).unwrap();
    p["alerts"] = alerts;
    Policy::from_value(&p).map_err(|e| e.to_string())
}

#[test]
fn settings_that_would_accuse_by_chance_are_refused_naming_the_member() {
    let e =
        policy_with_alerts(json!({"demographicTargeting": {"significanceOneIn": 10}})).unwrap_err();
    assert!(
        e.contains("/alerts/demographicTargeting/significanceOneIn")
            && e.contains("expected at least 20"),
        "{e}"
    );
    let e = policy_with_alerts(json!({"demographicTargeting": {"minRecords": 5}})).unwrap_err();
    assert!(
        e.contains("/alerts/demographicTargeting/minGroupRecords"),
        "{e}"
    );
    let e = policy_with_alerts(json!({"offHoursSpike": {"minCount": 0}})).unwrap_err();
    assert!(e.contains("/alerts/offHoursSpike/minCount"), "{e}");
    let e = policy_with_alerts(json!({"recordIntegrity": {"keyFields": ["address"]}})).unwrap_err();
    assert!(e.contains("/alerts/recordIntegrity/keyFields/0"), "{e}");
    let e = policy_with_alerts(json!({"recordIntegrity": {"keyFields": "/address"}})).unwrap_err();
    assert!(e.contains("/alerts/recordIntegrity/keyFields"), "{e}");
    assert!(policy_with_alerts(json!({"recordIntegrity": {"keyFields": []}})).is_ok());
}

#[test]
fn the_longest_window_covers_the_baselines() {
    let c = AlertConfig::default();
    assert_eq!(c.longest_window_ms(), 35 * DAY);
}

#[test]
fn clock_drift_settings_of_zero_are_refused_naming_the_member() {
    for member in ["aheadMinutes", "maxOfflineDays"] {
        let e = policy_with_alerts(json!({ "clockDrift": { member: 0 } })).unwrap_err();
        assert!(
            e.contains(&format!("/alerts/clockDrift/{member}")),
            "{member}: {e}"
        );
    }
    assert!(policy_with_alerts(json!({"clockDrift": {"ahead": 1}})).is_err());
    assert!(policy_with_alerts(json!({"clockDrift": {"aheadMinutes": 5}})).is_ok());
}
