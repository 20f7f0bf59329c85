//! Alert rules on crafted chains: each rule fires when it should, names the
//! events that prove it, and stays quiet at its edges.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use sealtrail::alerts::{scan, scan_values, AlertEngine, Finding, RuleId, Severity};
use sealtrail::chain::{to_line, ChainWriter};
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Actor, Event, EventDraft, Outcome, Reason, Relation, Subject};
use sealtrail::policy::AlertConfig;
use sealtrail::Timestamp;
use serde_json::Value;

const ROLES: [&str; 2] = ["admin", "safeguarding"];

/// Monday 2026-11-23 10:00 in New York (the default business hours' zone).
const MON_10_NY: &str = "2026-11-23T15:00:00.000Z";
/// Monday 22:00 in New York.
const MON_22_NY: &str = "2026-11-24T03:00:00.000Z";
/// Saturday 10:00 in New York.
#[cfg(feature = "tz")]
const SAT_10_NY: &str = "2026-11-28T15:00:00.000Z";

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn min(base: &str, minutes: i64) -> Timestamp {
    t(base).plus_millis(minutes * 60_000)
}

fn actor(id: &str, role: &str) -> Actor {
    Actor {
        id: id.into(),
        role: role.into(),
        name: None,
        auth_strength: None,
        team: None,
    }
}

fn access(id: &str, role: &str, action: Action, record: &str, rel: Relation) -> EventDraft {
    let mut d = EventDraft::new(actor(id, role), action, Outcome::Success);
    d.subject = Some(Subject {
        record_id: record.into(),
        record_type: Some("youth".into()),
        relation: Some(rel),
        demographics: Default::default(),
        related: false,
    });
    d
}

fn view(id: &str, record: &str, rel: Relation) -> EventDraft {
    access(id, "nurse", Action::View, record, rel)
}

/// A chain of `drafts` at the given times.
struct Chain(ChainWriter, Vec<Event>);

impl Chain {
    fn new(n: u8) -> Self {
        let id = ChainId::parse(&format!("{:032x}", u128::from(n) + 0xabc)).unwrap();
        Self(ChainWriter::new(id), Vec::new())
    }
    fn add(&mut self, d: EventDraft, at: Timestamp) -> &mut Self {
        let e = self.0.append(d, at).unwrap();
        self.1.push(e);
        self
    }
}

fn run(events: &[Event]) -> Vec<Finding> {
    scan(AlertConfig::default(), ROLES, events).unwrap()
}

fn of(findings: &[Finding], rule: RuleId) -> Vec<&Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

fn seqs(f: &Finding) -> Vec<u64> {
    f.events.iter().map(|e| e.seq).collect()
}

#[test]
fn events_round_trip_through_json_lines() {
    let mut c = Chain::new(1);
    let mut d = access(
        "u1",
        "safeguarding",
        Action::BreakGlass,
        "y1",
        Relation::Unassigned,
    );
    d.purpose_of_use = Some("BTG".into());
    d.reason = Some(Reason {
        code: "safeguarding-concern".into(),
        text: "disclosure reported by school".into(),
        context: None,
        incident_ref: Some("INC-7".into()),
    });
    d.detail.insert("grantMinutes".into(), 15.into());
    c.add(d, t(MON_10_NY));
    let e = &c.1[0];
    let line = to_line(e).unwrap();
    let value: Value = serde_json::from_str(&line).unwrap();
    let back: Event = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(&back, e);
    assert_eq!(to_line(&back).unwrap(), line);
    // The value form feeds the engine too.
    let f = scan_values(AlertConfig::default(), ROLES, [&value]).unwrap();
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn non_events_are_an_error_not_a_panic() {
    let bad = serde_json::json!({"v": 1, "seq": "zero"});
    let err = scan_values(AlertConfig::default(), ROLES, [&bad]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("event 0 is not a sealtrail event"),
        "{err}"
    );
}

#[test]
fn outside_caseload_is_medium_and_only_when_unassigned_and_unjustified() {
    let mut c = Chain::new(1);
    c.add(view("u1", "y1", Relation::Caseload), t(MON_10_NY))
        .add(view("u1", "y2", Relation::Team), min(MON_10_NY, 1))
        .add(view("u1", "y3", Relation::Unassigned), min(MON_10_NY, 2));
    let mut btg = view("u1", "y4", Relation::Unassigned);
    btg.purpose_of_use = Some("BTG".into());
    c.add(btg, min(MON_10_NY, 3));
    let f = run(&c.1);
    let oc = of(&f, RuleId::OutsideCaseload);
    assert_eq!(oc.len(), 1, "{f:#?}");
    assert_eq!(oc[0].severity, Severity::Medium);
    assert_eq!(oc[0].records, vec!["y3".to_string()]);
    assert_eq!(seqs(oc[0]), vec![2]);
    assert_eq!(oc[0].actors[0].id, "u1");
    assert_eq!(f.len(), 1, "nothing else fires: {f:#?}");
}

#[test]
fn repeated_unassigned_fires_at_the_count_once_per_window() {
    let mut c = Chain::new(1);
    c.add(view("u1", "y1", Relation::Unassigned), t(MON_10_NY))
        .add(view("u1", "y1", Relation::Unassigned), min(MON_10_NY, 60));
    assert!(
        of(&run(&c.1), RuleId::RepeatedUnassigned).is_empty(),
        "2 < 3"
    );
    c.add(view("u1", "y1", Relation::Unassigned), min(MON_10_NY, 120))
        .add(view("u1", "y1", Relation::Unassigned), min(MON_10_NY, 121));
    let f = run(&c.1);
    let r = of(&f, RuleId::RepeatedUnassigned);
    assert_eq!(r.len(), 1, "one finding per burst: {f:#?}");
    assert_eq!(r[0].severity, Severity::High);
    assert_eq!(seqs(r[0]), vec![0, 1, 2]);
    assert_eq!(of(&f, RuleId::OutsideCaseload).len(), 4);
}

#[test]
fn repeated_unassigned_needs_the_same_record_and_the_window() {
    let mut c = Chain::new(1);
    c.add(view("u1", "y1", Relation::Unassigned), t(MON_10_NY))
        .add(view("u1", "y2", Relation::Unassigned), min(MON_10_NY, 1))
        .add(view("u1", "y3", Relation::Unassigned), min(MON_10_NY, 2));
    assert!(of(&run(&c.1), RuleId::RepeatedUnassigned).is_empty());
    let mut c = Chain::new(2);
    c.add(view("u1", "y1", Relation::Unassigned), t(MON_10_NY))
        .add(
            view("u1", "y1", Relation::Unassigned),
            min(MON_10_NY, 24 * 60),
        )
        .add(
            view("u1", "y1", Relation::Unassigned),
            min(MON_10_NY, 48 * 60),
        );
    assert!(of(&run(&c.1), RuleId::RepeatedUnassigned).is_empty());
}

#[test]
fn bulk_access_fires_above_five_distinct_records_in_an_hour() {
    let mut c = Chain::new(1);
    for i in 0..5 {
        c.add(
            view("u1", &format!("y{i}"), Relation::Caseload),
            min(MON_10_NY, i),
        );
    }
    // Going back to the same five records is not bulk.
    for i in 0..5 {
        c.add(
            view("u1", &format!("y{i}"), Relation::Caseload),
            min(MON_10_NY, 10 + i),
        );
    }
    assert!(
        of(&run(&c.1), RuleId::BulkAccess).is_empty(),
        "exactly 5 is fine"
    );
    c.add(view("u1", "y5", Relation::Caseload), min(MON_10_NY, 59));
    c.add(view("u1", "y6", Relation::Caseload), min(MON_10_NY, 59));
    let f = run(&c.1);
    let b = of(&f, RuleId::BulkAccess);
    assert_eq!(b.len(), 1, "{f:#?}");
    assert_eq!(b[0].severity, Severity::High);
    assert_eq!(b[0].records.len(), 6);
    assert_eq!(b[0].events.len(), 11);
    assert_eq!(b[0].at, min(MON_10_NY, 59));
}

#[test]
fn bulk_access_outside_the_hour_is_not_bulk() {
    let mut c = Chain::new(1);
    for i in 0..8 {
        c.add(
            view("u1", &format!("y{i}"), Relation::Caseload),
            min(MON_10_NY, i * 13),
        );
    }
    // Any 60-minute window holds at most 5 of these (0,13,26,39,52 / 13..65 ...).
    assert!(of(&run(&c.1), RuleId::BulkAccess).is_empty());
}

#[test]
fn bulk_access_is_counted_across_chains() {
    let mut a = Chain::new(1);
    let mut b = Chain::new(2);
    for i in 0..3 {
        a.add(
            view("u1", &format!("a{i}"), Relation::Caseload),
            min(MON_10_NY, i),
        );
        b.add(
            view("u1", &format!("b{i}"), Relation::Caseload),
            min(MON_10_NY, 10 + i),
        );
    }
    let all: Vec<Event> = b.1.iter().chain(a.1.iter()).cloned().collect();
    let f = run(&all);
    let bulk = of(&f, RuleId::BulkAccess);
    assert_eq!(bulk.len(), 1);
    let chains: std::collections::BTreeSet<_> = bulk[0].events.iter().map(|e| &e.chain).collect();
    assert_eq!(chains.len(), 2, "evidence from both page sessions");
}

#[cfg(feature = "tz")]
#[test]
fn off_hours_is_medium_outside_hours_only() {
    let mut c = Chain::new(1);
    c.add(view("u1", "y1", Relation::Caseload), t(MON_10_NY))
        .add(
            view("u1", "y1", Relation::Caseload),
            min(MON_10_NY, 7 * 60 + 59),
        );
    assert!(run(&c.1).is_empty(), "10:00 and 17:59 are in hours");
    let mut c = Chain::new(2);
    c.add(view("u1", "y1", Relation::Caseload), t(MON_22_NY))
        .add(view("u1", "y1", Relation::Caseload), min(MON_22_NY, 5))
        .add(view("u2", "y2", Relation::Caseload), t(SAT_10_NY));
    let f = run(&c.1);
    let oh = of(&f, RuleId::OffHours);
    assert_eq!(oh.len(), 2, "one per actor per hour: {f:#?}");
    assert_eq!(oh[0].severity, Severity::Medium);
    assert_eq!(seqs(oh[0]), vec![0]);
    assert_eq!(seqs(oh[1]), vec![2]);
}

#[cfg(feature = "tz")]
#[test]
fn off_hours_follows_the_configured_zone_and_days() {
    let mut cfg = AlertConfig::default();
    cfg.business_hours.time_zone = "Europe/London".into();
    cfg.business_hours
        .days
        .push(sealtrail::policy::Weekday::Sat);
    let mut c = Chain::new(1);
    // 15:00 UTC is 15:00 in London in November: in hours, Saturday included.
    c.add(view("u1", "y1", Relation::Caseload), t(MON_10_NY))
        .add(view("u1", "y1", Relation::Caseload), t(SAT_10_NY));
    assert!(scan(cfg.clone(), ROLES, &c.1).unwrap().is_empty());
    let mut c = Chain::new(2);
    c.add(
        view("u1", "y1", Relation::Caseload),
        t("2026-11-23T18:00:00.000Z"),
    );
    assert_eq!(
        of(&scan(cfg, ROLES, &c.1).unwrap(), RuleId::OffHours).len(),
        1
    );
}

#[test]
fn break_glass_by_an_unauthorised_role_is_high_whatever_the_outcome() {
    let mut c = Chain::new(1);
    let mut nurse = access("n1", "nurse", Action::BreakGlass, "y1", Relation::Caseload);
    nurse.outcome = Outcome::Denied;
    c.add(nurse, t(MON_10_NY));
    let mut lead = access(
        "s1",
        "safeguarding",
        Action::BreakGlass,
        "y2",
        Relation::Caseload,
    );
    lead.purpose_of_use = Some("BTG".into());
    c.add(lead, min(MON_10_NY, 1));
    c.add(
        access("a1", "admin", Action::BreakGlass, "y3", Relation::Caseload),
        min(MON_10_NY, 2),
    );
    let f = run(&c.1);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, RuleId::BreakGlassUnauthorised);
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].actors[0].role, "nurse");
    assert_eq!(seqs(&f[0]), vec![0]);
    // The authorised list is a parameter.
    let f = scan(AlertConfig::default(), ["nurse"], &c.1).unwrap();
    let who: Vec<&str> = f.iter().map(|f| f.actors[0].id.as_str()).collect();
    assert_eq!(who, vec!["s1", "a1"]);
}

#[test]
fn export_attempts_are_critical() {
    let mut c = Chain::new(1);
    let mut denied = access("d1", "doctor", Action::Export, "y1", Relation::Caseload);
    denied.outcome = Outcome::Denied;
    c.add(denied, t(MON_10_NY));
    c.add(
        EventDraft::new(
            actor("d1", "doctor"),
            Action::Other("download".into()),
            Outcome::Success,
        ),
        min(MON_10_NY, 1),
    );
    c.add(
        access("d1", "doctor", Action::Print, "y1", Relation::Caseload),
        min(MON_10_NY, 2),
    );
    let f = run(&c.1);
    let ex = of(&f, RuleId::Export);
    assert_eq!(ex.len(), 2, "print is not an export: {f:#?}");
    assert!(ex.iter().all(|f| f.severity == Severity::Critical));
    assert_eq!(seqs(ex[0]), vec![0]);
    assert_eq!(ex[0].records, vec!["y1".to_string()]);
    assert_eq!(seqs(ex[1]), vec![1]);
}

#[test]
fn attempts_held_back_by_a_step_up_still_count() {
    let mut c = Chain::new(1);
    for (i, requested) in ["export", "role-change"].into_iter().enumerate() {
        let mut d = access(
            "d1",
            "doctor",
            Action::StepUpRequired,
            "y1",
            Relation::Caseload,
        );
        d.outcome = Outcome::Denied;
        d.detail.insert("requested".into(), requested.into());
        c.add(d, min(MON_10_NY, i as i64));
    }
    let f = run(&c.1);
    assert_eq!(seqs(of(&f, RuleId::Export)[0]), vec![0], "{f:#?}");
    assert_eq!(seqs(of(&f, RuleId::RoleEscalation)[0]), vec![1], "{f:#?}");
}

#[test]
fn role_escalation_is_own_role_or_refused_change() {
    let mut c = Chain::new(1);
    let mut other = EventDraft::new(actor("a1", "admin"), Action::RoleChange, Outcome::Success);
    other.detail.insert("user".into(), "n1".into());
    other.detail.insert("from".into(), "nurse".into());
    other.detail.insert("to".into(), "doctor".into());
    c.add(other, t(MON_10_NY));
    assert!(run(&c.1).is_empty(), "an admin assigning a role is routine");
    let mut own = EventDraft::new(actor("n1", "nurse"), Action::RoleChange, Outcome::Denied);
    own.detail.insert("to".into(), "admin".into());
    c.add(own, min(MON_10_NY, 1));
    let mut refused = EventDraft::new(actor("b1", "billing"), Action::RoleChange, Outcome::Denied);
    refused.detail.insert("user".into(), "n2".into());
    c.add(refused, min(MON_10_NY, 2));
    let f = run(&c.1);
    let re = of(&f, RuleId::RoleEscalation);
    assert_eq!(re.len(), 2, "{f:#?}");
    assert_eq!(re[0].severity, Severity::Critical);
    assert_eq!(seqs(re[0]), vec![1]);
    assert_eq!(seqs(re[1]), vec![2]);
}

#[test]
fn concurrent_access_without_care_reason_is_critical() {
    let mut a = Chain::new(1);
    let mut b = Chain::new(2);
    a.add(
        access("r1", "reception", Action::View, "y1", Relation::Unassigned),
        t(MON_10_NY),
    );
    b.add(
        access(
            "b1",
            "billing",
            Action::ViewSealed,
            "y1",
            Relation::Unassigned,
        ),
        min(MON_10_NY, 10),
    );
    let all: Vec<Event> = a.1.iter().chain(b.1.iter()).cloned().collect();
    let f = run(&all);
    let cc = of(&f, RuleId::ConcurrentAccess);
    assert_eq!(cc.len(), 1, "{f:#?}");
    assert_eq!(cc[0].severity, Severity::Critical);
    let ids: Vec<&str> = cc[0].actors.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["b1", "r1"]);
    assert_eq!(cc[0].events.len(), 2);
    assert_eq!(cc[0].records, vec!["y1".to_string()]);
}

#[test]
fn concurrent_access_with_care_reasons_or_apart_is_fine() {
    // Caseload nurse and team doctor together: care.
    let mut c = Chain::new(1);
    c.add(view("n1", "y1", Relation::Caseload), t(MON_10_NY))
        .add(
            access("d1", "doctor", Action::View, "y1", Relation::Team),
            min(MON_10_NY, 1),
        );
    // One unassigned viewer beside the caseload nurse: only one without a reason.
    c.add(view("x1", "y1", Relation::Unassigned), min(MON_10_NY, 2));
    // A safeguarding lead breaking the glass documents a reason.
    let mut bg = access(
        "s1",
        "safeguarding",
        Action::BreakGlass,
        "y1",
        Relation::Unassigned,
    );
    bg.purpose_of_use = Some("BTG".into());
    bg.reason = Some(Reason {
        code: "safeguarding-concern".into(),
        text: "disclosure reported by school".into(),
        context: None,
        incident_ref: None,
    });
    c.add(bg, min(MON_10_NY, 3));
    let f = run(&c.1);
    assert!(of(&f, RuleId::ConcurrentAccess).is_empty(), "{f:#?}");
    // Two unassigned viewers half an hour apart are not "at once".
    let mut c = Chain::new(2);
    c.add(view("x1", "y9", Relation::Unassigned), t(MON_10_NY))
        .add(view("x2", "y9", Relation::Unassigned), min(MON_10_NY, 30));
    assert!(of(&run(&c.1), RuleId::ConcurrentAccess).is_empty());
}

#[test]
fn streaming_and_batch_agree() {
    let mut c = Chain::new(1);
    for i in 0..7 {
        c.add(
            view("u1", &format!("y{i}"), Relation::Unassigned),
            t(MON_22_NY).plus_millis(i * 1000),
        );
    }
    let mut engine = AlertEngine::new(AlertConfig::default(), ROLES).unwrap();
    let streamed: Vec<Finding> = c.1.iter().flat_map(|e| engine.push(e)).collect();
    assert_eq!(streamed, run(&c.1));
    assert!(!of(&streamed, RuleId::BulkAccess).is_empty());
}

#[cfg(feature = "tz")]
#[test]
fn bad_config_is_refused() {
    let mut cfg = AlertConfig::default();
    cfg.business_hours.time_zone = "Nowhere/Land".into();
    assert!(AlertEngine::new(cfg, ROLES).is_err());
}
