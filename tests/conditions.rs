//! Conditions in the policy: the seed scenarios on the shipped policies,
//! deny by default when an attribute is missing, and policy errors that
//! name the JSON Pointer of a bad condition.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sealing_support;

use sealing_support::{now, policy, policy_value, record, session, t};
use sealtrail::decision::{Access, Cause, Decision, FieldAction, HostAction};
use sealtrail::policy::{Policy, PolicyError};
use sealtrail::session::Session;
use serde_json::{json, Value};

const YOUTH: &str = include_str!("../pkg-config/policy.youth-facility.json");

/// The decision on the field at `pointer` of `record` for `session` at `now`.
fn decision_at(
    p: &Policy,
    s: &Session,
    r: &Value,
    pointer: &str,
    now: sealtrail::Timestamp,
) -> Decision {
    let access = Access::new(p, s, now, &[]);
    let (_, decisions) = access.decide_record(r, FieldAction::View).unwrap();
    decisions
        .iter()
        .find(|d| d.pointer == pointer)
        .unwrap_or_else(|| panic!("no field at {pointer}"))
        .decision
        .clone()
}

fn sealed_by_condition(d: &Decision) -> bool {
    matches!(
        d,
        Decision::Seal {
            cause: Cause::Condition,
            ..
        }
    )
}

#[test]
fn a_staff_member_the_patient_excluded_sees_nothing_of_the_record() {
    let p = policy();
    let nurse = session("nurse");
    let mut r = record();
    assert!(decision_at(&p, &nurse, &r, "/name", now()).is_allow());
    r["restrictions"] = json!({ "excludedStaff": ["u-neighbour", "u-nurse"] });
    let access = Access::new(&p, &nurse, now(), &[]);
    let (_, decisions) = access.decide_record(&r, FieldAction::View).unwrap();
    assert!(decisions.iter().all(|d| !d.decision.is_allow()));
    assert!(sealed_by_condition(&decision_at(
        &p,
        &nurse,
        &r,
        "/name",
        now()
    )));
    // Another nurse on the same team still sees the record.
    let colleague = Session {
        user_id: "u-nurse-2".into(),
        ..session("nurse")
    };
    assert!(decision_at(&p, &colleague, &r, "/name", now()).is_allow());
}

#[test]
fn a_malformed_restriction_list_denies_rather_than_allows() {
    let p = policy();
    let nurse = session("nurse");
    for bad in [
        json!("u-nurse"),
        json!([1, 2]),
        json!({"u-nurse": true}),
        json!(true),
    ] {
        let mut r = record();
        r["restrictions"] = json!({ "excludedStaff": bad });
        assert!(
            sealed_by_condition(&decision_at(&p, &nurse, &r, "/name", now())),
            "{bad}"
        );
    }
}

#[test]
fn a_restricted_patient_is_seen_by_the_treating_team_only() {
    let p = policy();
    let mut r = record();
    r["restricted"] = json!(true);
    assert!(decision_at(&p, &session("nurse"), &r, "/name", now()).is_allow());
    assert!(sealed_by_condition(&decision_at(
        &p,
        &session("supervisor"),
        &r,
        "/name",
        now()
    )));
    // Reception checks restricted patients in: its rules do not ask.
    assert!(decision_at(&p, &session("reception"), &r, "/name", now()).is_allow());
}

#[test]
fn substance_use_notes_need_the_treating_program_or_consent() {
    let p = policy();
    let doctor = Session {
        user_id: "u-doctor-9".into(),
        ..session("doctor")
    };
    let r = record();
    let at = "/riskFlags/substanceUse";
    // On the caseload but outside the treating program: sealed.
    assert!(sealed_by_condition(&decision_at(
        &p,
        &doctor,
        &r,
        at,
        now()
    )));
    assert!(decision_at(&p, &doctor, &r, "/diagnoses", now()).is_allow());
    // The patient's consent to this user, in force: shown.
    let mut consented = r.clone();
    consented["consents"] = json!([{ "noteTypes": ["substanceUse"], "users": ["u-doctor-9"], "until": "2026-12-31T00:00:00.000Z" }]);
    assert!(decision_at(&p, &doctor, &consented, at, now()).is_allow());
    // To the role: shown too; expired, or for another note type: sealed.
    consented["consents"] = json!([{ "noteTypes": ["substanceUse"], "roles": ["doctor"] }]);
    assert!(decision_at(&p, &doctor, &consented, at, now()).is_allow());
    consented["consents"] = json!([{ "noteTypes": ["substanceUse"], "users": ["u-doctor-9"], "until": "2026-11-01T00:00:00.000Z" }]);
    assert!(sealed_by_condition(&decision_at(
        &p,
        &doctor,
        &consented,
        at,
        now()
    )));
    consented["consents"] = json!([{ "noteTypes": ["hivStatus"], "users": ["u-doctor-9"] }]);
    assert!(sealed_by_condition(&decision_at(
        &p,
        &doctor,
        &consented,
        at,
        now()
    )));
    // An encounter that is over no longer counts as the treating program.
    let mut finished = r.clone();
    finished["encounter"]["status"] = json!("finished");
    assert!(sealed_by_condition(&decision_at(
        &p,
        &session("doctor"),
        &finished,
        at,
        now()
    )));
    assert!(decision_at(&p, &session("doctor"), &r, at, now()).is_allow());
}

#[test]
fn very_restricted_notes_need_the_site_a_vpn_or_a_managed_device() {
    let p = policy();
    let r = record();
    let with = |network: Option<&str>, device: Option<&str>| Session {
        network: network.map(str::to_owned),
        device: device.map(str::to_owned),
        ..session("doctor")
    };
    let at = "/hivStatus";
    assert!(decision_at(&p, &with(Some("onSite"), Some("unmanaged")), &r, at, now()).is_allow());
    assert!(decision_at(&p, &with(Some("vpn"), None), &r, at, now()).is_allow());
    assert!(decision_at(&p, &with(Some("remote"), Some("managed")), &r, at, now()).is_allow());
    let remote_unmanaged = with(Some("remote"), Some("unmanaged"));
    assert!(sealed_by_condition(&decision_at(
        &p,
        &remote_unmanaged,
        &r,
        at,
        now()
    )));
    // Clinical notes (restricted, not very restricted) stay visible.
    assert!(decision_at(&p, &remote_unmanaged, &r, "/diagnoses", now()).is_allow());
    // A host that says nothing about the network or device: denied.
    assert!(sealed_by_condition(&decision_at(
        &p,
        &with(None, None),
        &r,
        at,
        now()
    )));
}

fn youth_record(unit: &str) -> Value {
    json!({
        "youthId": "y-1", "kind": "youth", "unit": unit,
        "profile": { "ageBand": "15-17", "briefing": "Prefers to be called Sam." }
    })
}

/// A youth worker of `unit` who signed in half an hour before `at`.
fn youth_worker(unit: &str, at: sealtrail::Timestamp) -> Session {
    Session {
        user_id: "u-yw-1".into(),
        auth_time: at.plus_millis(-30 * 60_000),
        expires_at: at.plus_millis(8 * 3_600_000),
        role: "youthWorker".into(),
        team: Some(unit.into()),
        unit: Some(unit.into()),
        caseload: vec![],
        ..session("nurse")
    }
}

#[test]
fn night_staff_see_briefings_only_for_youth_in_their_unit() {
    let p = Policy::parse(YOUTH).unwrap();
    // 23:30 and 12:00 in New York (UTC-5 in November).
    let night = t("2026-11-24T04:30:00.000Z");
    let day = t("2026-11-23T17:00:00.000Z");
    let worker = youth_worker("north", night);
    let at = "/profile/briefing";
    assert!(decision_at(&p, &worker, &youth_record("north"), at, night).is_allow());
    assert!(sealed_by_condition(&decision_at(
        &p,
        &worker,
        &youth_record("south"),
        at,
        night
    )));
    let day_worker = youth_worker("north", day);
    assert!(decision_at(&p, &day_worker, &youth_record("south"), at, day).is_allow());
    // At night, a worker whose session names no unit sees no other unit.
    let no_unit = Session {
        unit: None,
        ..worker.clone()
    };
    assert!(sealed_by_condition(&decision_at(
        &p,
        &no_unit,
        &youth_record("south"),
        at,
        night
    )));
}

#[test]
fn remote_or_unmanaged_youth_facility_sessions_step_up() {
    let p = Policy::parse(YOUTH).unwrap();
    let day = t("2026-11-23T17:00:00.000Z");
    let remote = Session {
        network: Some("remote".into()),
        auth_strength: "password".into(),
        ..youth_worker("north", day)
    };
    assert!(matches!(
        decision_at(
            &p,
            &remote,
            &youth_record("north"),
            "/profile/briefing",
            day
        ),
        Decision::StepUp { .. }
    ));
    let on_site = Session {
        network: Some("onSite".into()),
        ..remote.clone()
    };
    assert!(decision_at(
        &p,
        &on_site,
        &youth_record("north"),
        "/profile/briefing",
        day
    )
    .is_allow());
}

#[test]
fn host_actions_on_an_excluded_record_follow_their_own_conditions() {
    let mut v = policy_value();
    v["roles"]["nurse"]["hostActions"]["when"] = json!({ "ref": "notExcludedByPatient" });
    let p = Policy::from_value(&v).unwrap();
    let nurse = session("nurse");
    let access = Access::new(&p, &nurse, now(), &[]);
    let mut r = record();
    assert!(access
        .decide_host(&HostAction::Print, Some(&r))
        .unwrap()
        .decision
        .is_allow());
    r["restrictions"] = json!({ "excludedStaff": ["u-nurse"] });
    let d = access.decide_host(&HostAction::Print, Some(&r)).unwrap();
    assert_eq!(
        d.decision,
        Decision::Deny {
            cause: Cause::Condition
        }
    );
    // A search concerns no record: a condition on the record cannot hold.
    let search = HostAction::Search {
        query: "x".into(),
        filters: Default::default(),
    };
    let d = access.decide_host(&search, None).unwrap();
    assert_eq!(
        d.decision,
        Decision::Deny {
            cause: Cause::Condition
        }
    );
}

#[test]
fn break_glass_and_grants_carry_conditions() {
    let mut v = policy_value();
    v["breakGlass"]["when"] = json!({ "attribute": "session.network", "equals": "onSite" });
    v["grants"][0]["when"] = json!({ "attribute": "record.facility", "equals": "ward-3" });
    v["grants"][0]["user"] = json!("u-nurse");
    v["record"]["facility"] = json!("/facility");
    let p = Policy::from_value(&v).unwrap();
    let lead = session("safeguardingLead");
    assert!(Access::new(&p, &lead, now(), &[]).may_break_glass());
    let remote = Session {
        network: Some("remote".into()),
        ..lead
    };
    assert!(!Access::new(&p, &remote, now(), &[]).may_break_glass());
    // The cover grant opens clinical notes of unassigned records on ward 3 only.
    let nurse = sealing_support::unassigned("nurse");
    let mut r = record();
    assert!(!decision_at(&p, &nurse, &r, "/diagnoses", now()).is_allow());
    r["facility"] = json!("ward-3");
    assert!(decision_at(&p, &nurse, &r, "/diagnoses", now()).is_allow());
}

/// A change to the default policy.
type Edit = Box<dyn FnOnce(&mut Value)>;

/// The pointer and message of the error the edited default policy gets.
fn refused(edit: impl FnOnce(&mut Value)) -> (String, String) {
    let mut v = policy_value();
    edit(&mut v);
    let e: PolicyError = Policy::from_value(&v).expect_err("must be refused");
    (e.pointer().to_owned(), e.to_string())
}

#[test]
fn bad_conditions_are_refused_at_their_pointer() {
    let when =
        |c: Value| move |v: &mut Value| v["roles"]["nurse"]["noteTypes"]["general"]["when"] = c;
    let at = "/roles/nurse/noteTypes/general/when";
    let cases: Vec<(Edit, String, &str)> = vec![
        (
            Box::new(when(json!({"attribute": "session.mood", "equals": "calm"}))),
            format!("{at}/attribute"),
            "`session.mood`",
        ),
        (
            Box::new(when(json!({"attribute": "record.unit", "equals": "a"}))),
            format!("{at}/attribute"),
            "`/record/unit`",
        ),
        (
            Box::new(when(
                json!({"attribute": "session.network", "equals": "office"}),
            )),
            format!("{at}/equals"),
            "`office`",
        ),
        (
            Box::new(when(
                json!({"attribute": "record.restricted", "equals": "yes"}),
            )),
            format!("{at}/equals"),
            "expected a boolean",
        ),
        (
            Box::new(when(
                json!({"attribute": "session.unit", "equals": "a", "oneOf": ["b"]}),
            )),
            at.to_owned(),
            "exactly one of",
        ),
        (
            Box::new(when(json!({"equals": "a"}))),
            at.to_owned(),
            "`attribute`",
        ),
        (
            Box::new(when(json!({"attribute": "session.unit", "contains": "a"}))),
            format!("{at}/contains"),
            "a list",
        ),
        (
            Box::new(when(json!({"attribute": "session.unit", "before": "a"}))),
            format!("{at}/before"),
            "compares times",
        ),
        (
            Box::new(when(
                json!({"attribute": "time.localTime", "within": {"from": "25:00", "until": "07:00"}}),
            )),
            format!("{at}/within/from"),
            "`25:00`",
        ),
        (
            Box::new(when(json!({"allOf": []}))),
            format!("{at}/allOf"),
            "non-empty",
        ),
        (
            Box::new(when(json!({"anyOf": [{"ref": "nowhere"}]}))),
            format!("{at}/anyOf/0/ref"),
            "`nowhere`",
        ),
        (
            Box::new(when(json!({"consent": "astrology"}))),
            format!("{at}/consent"),
            "`astrology`",
        ),
        (
            Box::new(when(json!({"not": {"atribute": "session.unit"}}))),
            format!("{at}/not/atribute"),
            "unknown member",
        ),
        (
            Box::new(when(json!(["session.unit", "equals", "a"]))),
            at.to_owned(),
            "found an array",
        ),
        (
            Box::new(|v: &mut Value| v["conditions"]["loop"] = json!({"not": {"ref": "loop"}})),
            "/conditions/loop".to_owned(),
            "refers to itself",
        ),
        (
            Box::new(|v: &mut Value| {
                v["stepUp"][0]["when"] = json!({"ref": "notExcludedByPatient"})
            }),
            "/stepUp/0/when".to_owned(),
            "once per session",
        ),
        (
            Box::new(|v: &mut Value| v["record"]["defaults"]["restricted"] = json!("no")),
            "/record/defaults/restricted".to_owned(),
            "expected a boolean",
        ),
        (
            Box::new(|v: &mut Value| v["record"]["defaults"]["unit"] = json!("a")),
            "/record/defaults/unit".to_owned(),
            "`/record/unit`",
        ),
        (
            Box::new(|v: &mut Value| v["record"]["excludedStaff"] = json!("/restrictions/*")),
            "/record/excludedStaff".to_owned(),
            "no `*`",
        ),
    ];
    for (edit, pointer, words) in cases {
        let (got, message) = refused(edit);
        assert_eq!(got, pointer, "{message}");
        assert!(message.contains(words), "{message} lacks {words}");
        assert!(message.contains(&format!("`{pointer}`")), "{message}");
    }
}

#[test]
fn sessions_name_their_network_and_device_from_a_fixed_list() {
    let base = json!({
        "userId": "u1", "name": "U", "role": "nurse", "authStrength": "mfa",
        "authTime": "2026-11-23T14:00:00.000Z", "expiresAt": "2026-11-23T20:00:00.000Z",
        "sessionId": "s", "client": "c", "network": "vpn", "device": "managed",
        "facility": "clinic-1", "unit": "ward-3", "signInMethod": "passkey"
    });
    let policy = Policy::parse(include_str!("../pkg-config/policy.default.json")).unwrap();
    let s = Session::from_value(&base, &policy, now()).unwrap();
    assert_eq!(s.network.as_deref(), Some("vpn"));
    for (member, bad) in [("network", "office"), ("device", "jailbroken")] {
        let mut v = base.clone();
        v[member] = json!(bad);
        let e = Session::from_value(&v, &policy, now()).unwrap_err();
        assert_eq!(e.pointer(), format!("/{member}"));
        assert!(e.to_string().contains(&format!("`{bad}`")), "{e}");
    }
}

#[test]
fn every_decision_says_why_and_the_event_names_rules_not_values() {
    use sealtrail::entropy::SeededEntropy;
    use sealtrail::policy::condition::Attribute;
    let p = policy();
    let nurse = Session {
        network: None,
        device: None,
        ..session("nurse")
    };
    let mut r = record();
    r["restrictions"] = json!({ "excludedStaff": ["u-neighbour-77"] });
    let access = Access::new(&p, &nurse, now(), &[]);
    let sealed = access
        .seal(r, FieldAction::View, &mut SeededEntropy::new(3))
        .unwrap();
    let why = |pointer: &str| {
        sealed
            .decisions
            .iter()
            .find(|d| d.pointer == pointer)
            .unwrap()
            .why
            .clone()
    };
    // Allowed: the rule that allowed.
    assert_eq!(
        why("/name").rule.as_deref(),
        Some("/roles/nurse/noteTypes/general")
    );
    assert!(why("/name").condition.is_none());
    // Refused by a condition that could not be evaluated: rule, condition, label, attribute.
    let hiv = why("/hivStatus");
    assert_eq!(
        hiv.rule.as_deref(),
        Some("/roles/nurse/noteTypes/hivStatus")
    );
    assert_eq!(
        hiv.condition.as_deref(),
        Some("/conditions/trustedDevice/anyOf/0")
    );
    assert_eq!(hiv.label.as_deref(), Some("unmanaged remote device"));
    assert_eq!(hiv.missing, Some(Attribute::SessionNetwork));
    // No rule at all: nothing to cite.
    assert!(why("/legalStatus").is_empty());
    // The event cites the rules, never what the conditions read.
    let rules = sealed.draft.detail["rules"].as_array().unwrap();
    assert!(rules.contains(&json!("/roles/nurse/noteTypes/hivStatus")));
    assert!(rules.contains(&json!("/roles/nurse/noteTypes/general")));
    let text = serde_json::to_string(&sealed.draft).unwrap();
    assert!(!text.contains("u-neighbour-77"), "{text}");
    // Host actions too.
    let d = access
        .decide_host(&HostAction::Print, Some(&record()))
        .unwrap();
    assert_eq!(d.why.rule.as_deref(), Some("/roles/nurse/hostActions"));
    assert_eq!(d.draft.detail["rule"], json!("/roles/nurse/hostActions"));
}

#[test]
fn the_shipped_policies_pass_their_own_test_cases() {
    use sealtrail::decision::selftest;
    for (text, at_least) in [(sealing_support::DEFAULT_POLICY, 10), (YOUTH, 5)] {
        let p = Policy::parse(text).unwrap();
        let outcomes = selftest::run(&p).unwrap();
        assert!(outcomes.len() >= at_least);
        for o in &outcomes {
            assert_eq!(o.failure, None, "{} {}", o.pointer, o.name);
        }
    }
}
