//! Sealing: decisions for every role of the default policy on a realistic
//! record, fail-closed cases, grants, step-up, commitments and the event.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sealing_support;

use std::collections::BTreeSet;

use sealing_support::*;
use sealtrail::decision::{Access, Cause, Decision, FieldAction, HostAction};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::{Action, Outcome, Relation};
use sealtrail::policy::{FieldPermissions, Grant, Scope};
use sealtrail::seal::{verify_opening, Sealed, PLACEHOLDER_MEMBER};
use sealtrail::session::Session;
use serde_json::{json, Value};

fn seal_as(session: &Session, now: sealtrail::Timestamp, grants: &[Grant]) -> Sealed {
    let p = policy();
    let access = Access::new(&p, session, now, grants);
    access
        .seal(record(), FieldAction::View, &mut SeededEntropy::new(1))
        .unwrap()
}

/// Note types shown in plaintext, and whether break-glass is offered on sealed ones.
fn visible_types(s: &Sealed) -> (BTreeSet<String>, BTreeSet<bool>) {
    let mut shown = BTreeSet::new();
    let mut bg = BTreeSet::new();
    for d in &s.decisions {
        match &d.decision {
            Decision::Allow => {
                shown.insert(d.note_type.to_string());
            }
            Decision::Seal { break_glass, .. } => {
                bg.insert(*break_glass);
            }
            other => panic!("unexpected decision for view: {other:?}"),
        }
    }
    (shown, bg)
}

/// Every role of the default policy, on its own caseload and unassigned.
#[test]
fn every_role_sees_what_the_policy_says() {
    let table: &[(&str, &[&str], &[&str], bool)] = &[
        // role, types shown on caseload, types shown unassigned (other team), break-glass
        ("reception", &["general"], &["general"], false),
        (
            "nurse",
            &[
                "general",
                "clinical",
                "behaviouralHealth",
                "substanceUse",
                "hivStatus",
            ],
            &[],
            false,
        ),
        (
            "doctor",
            &[
                "general",
                "clinical",
                "behaviouralHealth",
                "substanceUse",
                "hivStatus",
            ],
            &[],
            false,
        ),
        (
            "outreachSpecialist",
            &["general", "substanceUse", "dvIndicator"],
            &[],
            false,
        ),
        (
            "supervisor",
            &["general", "clinical", "behaviouralHealth", "dvIndicator"],
            &[],
            false,
        ),
        (
            "billing",
            &["general", "billing"],
            &["general", "billing"],
            false,
        ),
        ("dataAnalyst", &["billing"], &["billing"], false),
        ("admin", &["general"], &["general"], true),
        (
            "safeguardingLead",
            &[
                "general",
                "behaviouralHealth",
                "dvIndicator",
                "childWelfare",
            ],
            &["general", "dvIndicator", "childWelfare"],
            true,
        ),
    ];
    let pol = policy();
    let roles: BTreeSet<&str> = pol.doc().roles.keys().map(String::as_str).collect();
    let tabled: BTreeSet<&str> = table.iter().map(|r| r.0).collect();
    assert_eq!(
        roles, tabled,
        "the table covers every role of the default policy"
    );
    for (role, on_caseload, unassigned_types, bg) in table {
        for (session, expected, relation) in [
            (session(role), *on_caseload, Relation::Caseload),
            (unassigned(role), *unassigned_types, Relation::Unassigned),
        ] {
            let s = seal_as(&session, now(), &[]);
            let (shown, offered) = visible_types(&s);
            let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(shown, expected, "{role} {relation:?}");
            assert_eq!(offered, BTreeSet::from([*bg]), "{role} break-glass");
            assert_eq!(
                s.draft.subject.as_ref().unwrap().relation,
                Some(relation),
                "{role}"
            );
            // Every sealed value is a placeholder in the view, every shown one the original.
            let original = record();
            for d in &s.decisions {
                let in_view = s.view.pointer(d.pointer).unwrap();
                if d.decision.is_allow() {
                    assert_eq!(in_view, original.pointer(d.pointer).unwrap());
                } else {
                    assert_eq!(in_view[PLACEHOLDER_MEMBER]["pointer"], json!(d.pointer));
                }
            }
        }
    }
}

#[test]
fn unknown_note_type_is_sealed_for_everyone() {
    for role in policy().doc().roles.keys() {
        let s = seal_as(&session(role), now(), &[]);
        let d = s
            .decisions
            .iter()
            .find(|d| d.pointer == "/notes/7/text")
            .unwrap();
        // The type's name is the note's type member: repeated only to a
        // role that sees it (the default note type), as the member itself.
        let type_member = s
            .decisions
            .iter()
            .find(|d| d.pointer == "/notes/7/type")
            .map(|d| d.decision.is_allow());
        let expected = match type_member {
            Some(true) => "psychicReading",
            _ => "unknown",
        };
        assert_eq!(d.note_type, expected, "{role}");
        assert_eq!(*d.labels, ["V"]);
        assert!(
            matches!(
                d.decision,
                Decision::Seal {
                    cause: Cause::UnknownNoteType,
                    ..
                }
            ),
            "{role}: {:?}",
            d.decision
        );
        // Its meta members stay under the default note type.
        let date = s
            .decisions
            .iter()
            .find(|d| d.pointer == "/notes/7/date")
            .unwrap();
        assert_eq!(date.note_type, "general");
    }
}

#[test]
fn malformed_notes_are_sealed_and_malformed_records_refused() {
    let p = policy();
    let sess = session("safeguardingLead");
    let access = Access::new(&p, &sess, now(), &[]);
    let mut r = record();
    r["notes"][0]["type"] = json!(42);
    r["notes"][1] = json!("a bare string note");
    let s = access
        .seal(r, FieldAction::View, &mut SeededEntropy::new(2))
        .unwrap();
    for pointer in ["/notes/0", "/notes/1"] {
        let d = s.decisions.iter().find(|d| d.pointer == pointer).unwrap();
        assert_eq!(
            *d.decision,
            Decision::Seal {
                break_glass: true,
                cause: Cause::Malformed
            },
            "{pointer}"
        );
    }
    for bad in [json!([1, 2]), json!("x"), json!(null)] {
        let e = access
            .seal(bad, FieldAction::View, &mut SeededEntropy::new(2))
            .unwrap_err();
        assert_eq!(e.pointer(), "");
    }
    let mut no_id = record();
    no_id.as_object_mut().unwrap().remove("id");
    let e = access
        .seal(no_id, FieldAction::View, &mut SeededEntropy::new(2))
        .unwrap_err();
    assert_eq!(e.pointer(), "/id");
    assert!(e.to_string().contains("`/id`"), "{e}");
    let mut bad_team = record();
    bad_team["team"] = json!({"name": "east"});
    let e = access
        .seal(bad_team, FieldAction::View, &mut SeededEntropy::new(2))
        .unwrap_err();
    assert_eq!(e.pointer(), "/team");
}

#[test]
fn expired_sessions_unseal_nothing() {
    let mut past_expiry = session("safeguardingLead");
    past_expiry.expires_at = later(-1);
    let mut stale_auth = session("safeguardingLead");
    stale_auth.auth_time = later(-13 * 60); // policy maxAgeMinutes is 720
    for sess in [past_expiry, stale_auth] {
        let s = seal_as(&sess, now(), &[]);
        assert!(!s.decisions.is_empty());
        for d in &s.decisions {
            assert_eq!(
                *d.decision,
                Decision::Seal {
                    break_glass: false,
                    cause: Cause::SessionExpired
                },
                "{}",
                d.pointer
            );
        }
        assert_eq!(s.draft.action, Action::ViewSealed);
        assert_eq!(s.vault.len(), s.decisions.len());
    }
}

#[test]
fn unknown_role_sees_nothing() {
    let s = seal_as(&session("janitor"), now(), &[]);
    assert!(s.decisions.iter().all(|d| matches!(
        d.decision,
        Decision::Seal {
            cause: Cause::UnknownRole,
            break_glass: false
        }
    )));
}

#[test]
fn time_bound_grants_apply_only_while_in_force() {
    // The default policy grants u-nurse-17 clinical view on all records in November 2026.
    let mut nurse17 = unassigned("nurse");
    nurse17.user_id = "u-nurse-17".to_owned();
    let clinical = |s: &Sealed| {
        s.decisions
            .iter()
            .find(|d| d.pointer == "/diagnoses")
            .unwrap()
            .decision
            .clone()
    };
    assert_eq!(clinical(&seal_as(&nurse17, now(), &[])), Decision::Allow);
    let december = t("2026-12-01T00:00:00.000Z");
    nurse17.auth_time = december.plus_millis(-60_000);
    nurse17.expires_at = december.plus_millis(3_600_000);
    assert!(matches!(
        clinical(&seal_as(&nurse17, december, &[])),
        Decision::Seal {
            cause: Cause::OutOfScope,
            ..
        }
    ));
    // A grant issued at run time, for a role, works the same way.
    let cover = Grant {
        id: "night-cover".to_owned(),
        user: None,
        role: Some("nurse".to_owned()),
        note_types: [(
            "clinical".to_owned(),
            FieldPermissions {
                view: Some(Scope::All),
                ..Default::default()
            },
        )]
        .into(),
        host_actions: Default::default(),
        not_before: Some(later(-60)),
        expires_at: later(60),
        reason: Some("night cover".to_owned()),
        when: None,
    };
    let other = unassigned("nurse");
    assert_eq!(
        clinical(&seal_as(&other, now(), std::slice::from_ref(&cover))),
        Decision::Allow
    );
    let mut late = other.clone();
    late.auth_time = later(59);
    late.expires_at = later(300);
    assert!(!clinical(&seal_as(&late, later(61), std::slice::from_ref(&cover))).is_allow());
    assert!(!clinical(&seal_as(&other, now(), &[])).is_allow());
}

#[test]
fn step_up_for_sensitive_views_and_host_actions() {
    let mut weak = session("nurse");
    weak.auth_strength = "password".to_owned();
    let s = seal_as(&weak, now(), &[]);
    let hiv = s
        .decisions
        .iter()
        .find(|d| d.pointer == "/hivStatus")
        .unwrap();
    assert_eq!(
        *hiv.decision,
        Decision::StepUp {
            auth_strength: "mfa".to_owned(),
            max_age_minutes: 720
        }
    );
    let placeholder = &s.view["hivStatus"][PLACEHOLDER_MEMBER];
    assert_eq!(placeholder["type"], "stepUp");
    assert_eq!(placeholder["authStrength"], "mfa");
    assert_eq!(placeholder["maxAgeMinutes"], 720);

    let p = policy();
    let doctor = session("doctor"); // MFA 30 minutes ago: too old for export (15)
    let record = record();
    let export = HostAction::Export {
        format: Some("pdf".to_owned()),
    };
    let d = Access::new(&p, &doctor, now(), &[])
        .decide_host(&export, Some(&record))
        .unwrap();
    assert_eq!(
        d.decision,
        Decision::StepUp {
            auth_strength: "mfa".to_owned(),
            max_age_minutes: 15
        }
    );
    assert_eq!(d.draft.action, Action::StepUpRequired);
    assert_eq!(d.draft.outcome, Outcome::Denied);
    assert_eq!(d.draft.detail["requested"], "export");
    let mut fresh = doctor.clone();
    fresh.auth_time = later(-5);
    let d = Access::new(&p, &fresh, now(), &[])
        .decide_host(&export, Some(&record))
        .unwrap();
    assert_eq!(d.decision, Decision::Allow);
    assert_eq!(d.draft.action, Action::Export);
    assert_eq!(d.draft.outcome, Outcome::Success);
    assert_eq!(d.draft.detail["format"], "pdf");
    // Not on the doctor's caseload: export is denied outright.
    let unassigned_doc = Session {
        auth_time: later(-5),
        ..unassigned("doctor")
    };
    let d = Access::new(&p, &unassigned_doc, now(), &[])
        .decide_host(&export, Some(&record))
        .unwrap();
    assert_eq!(
        d.decision,
        Decision::Deny {
            cause: Cause::OutOfScope
        }
    );
    assert_eq!(d.draft.outcome, Outcome::Denied);
}

#[test]
fn host_actions_search_and_role_change() {
    let p = policy();
    let nurse = session("nurse");
    let access = Access::new(&p, &nurse, now(), &[]);
    let search = HostAction::Search {
        query: "avery".to_owned(),
        filters: json!({"team": "east", "ageBand": "15-17", "limit": 20})
            .as_object()
            .unwrap()
            .clone(),
    };
    let d = access.decide_host(&search, None).unwrap();
    assert_eq!(d.decision, Decision::Allow);
    assert_eq!(d.draft.action, Action::Search);
    assert_eq!(d.draft.detail["query"], "avery");
    assert_eq!(d.draft.detail["filters"]["limit"], 20);
    assert_eq!(d.draft.policy.as_deref(), Some(p.hash()));
    let bad = HostAction::Search {
        query: "x".to_owned(),
        filters: json!({"score": 0.5}).as_object().unwrap().clone(),
    };
    assert_eq!(
        access.decide_host(&bad, None).unwrap_err().pointer(),
        "/filters/score"
    );
    let escalate = HostAction::RoleChange {
        target_user: "u-nurse".to_owned(),
        from: Some("nurse".to_owned()),
        to: "admin".to_owned(),
    };
    let d = access.decide_host(&escalate, None).unwrap();
    assert_eq!(
        d.decision,
        Decision::Deny {
            cause: Cause::NotPermitted
        }
    );
    assert_eq!(d.draft.action, Action::RoleChange);
    assert_eq!(d.draft.detail["to"], "admin");
    assert_eq!(d.draft.detail["user"], "u-nurse");
    // Bulk export (no record) needs the `all` scope.
    let doctor = Session {
        auth_time: later(-5),
        ..session("doctor")
    };
    let export = HostAction::Export { format: None };
    let d = Access::new(&p, &doctor, now(), &[])
        .decide_host(&export, None)
        .unwrap();
    assert_eq!(
        d.decision,
        Decision::Deny {
            cause: Cause::NotPermitted
        }
    );
    let analyst = Session {
        auth_time: later(-5),
        ..session("dataAnalyst")
    };
    let d = Access::new(&p, &analyst, now(), &[])
        .decide_host(&export, None)
        .unwrap();
    assert_eq!(d.decision, Decision::Allow);
}

#[test]
fn field_decisions_for_other_actions() {
    let p = policy();
    let nurse = session("nurse");
    let access = Access::new(&p, &nurse, now(), &[]);
    let (_, decisions) = access.decide_record(&record(), FieldAction::Edit).unwrap();
    let find = |ptr: &str| {
        decisions
            .iter()
            .find(|d| d.pointer == ptr)
            .unwrap()
            .decision
            .clone()
    };
    assert_eq!(find("/diagnoses"), Decision::Allow);
    assert_eq!(
        find("/riskFlags/suicide"),
        Decision::Deny {
            cause: Cause::NotPermitted
        }
    );
    let s = access
        .seal(record(), FieldAction::Print, &mut SeededEntropy::new(3))
        .unwrap();
    assert_eq!(s.draft.action, Action::Print);
    assert_eq!(
        s.view["riskFlags"]["suicide"][PLACEHOLDER_MEMBER]["type"],
        "deny"
    );
}

#[test]
fn placeholders_commit_without_the_salt() {
    let s = seal_as(&session("reception"), now(), &[]);
    let ph = &s.view["hivStatus"][PLACEHOLDER_MEMBER];
    let keys: BTreeSet<&str> = ph.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "pointer",
            "noteType",
            "labels",
            "commitment",
            "type",
            "breakGlass",
            "cause"
        ])
    );
    assert_eq!(ph["labels"], json!(["V", "HIV"]));
    assert_eq!(ph["cause"], "notPermitted");
    let entry = s
        .vault
        .entries()
        .find(|e| e.pointer == "/hivStatus")
        .unwrap();
    assert_eq!(ph["commitment"], json!(entry.commitment));
    assert!(!s.view.to_string().contains("negative"));
    assert!(!s.view.to_string().contains("Disclosed violence"));
}

#[test]
fn same_low_entropy_value_gets_different_commitments() {
    let p = policy();
    let sess = session("reception");
    let access = Access::new(&p, &sess, now(), &[]);
    let mut entropy = SeededEntropy::new(9);
    let a = access
        .seal(record(), FieldAction::View, &mut entropy)
        .unwrap();
    let b = access
        .seal(record(), FieldAction::View, &mut entropy)
        .unwrap();
    let c = |s: &Sealed| s.view["hivStatus"][PLACEHOLDER_MEMBER]["commitment"].clone();
    assert_ne!(c(&a), c(&b));
    // Guessing the value without the salt fails: committing "negative" under
    // any salt we try does not reproduce the placeholder.
    let guess = sealtrail::seal::commit(
        &sealtrail::seal::Salt::from_bytes([0; 32]),
        &json!("negative"),
    )
    .unwrap();
    assert_ne!(json!(guess), c(&a));
}

#[test]
fn the_view_event_names_what_was_seen_and_sealed() {
    let p = policy();
    let s = seal_as(&session("nurse"), now(), &[]);
    let d = &s.draft;
    assert_eq!(d.action, Action::ViewSealed);
    assert_eq!(d.outcome, Outcome::Success);
    assert_eq!(d.purpose_of_use.as_deref(), Some("TREAT"));
    assert_eq!(d.policy.as_deref(), Some(p.hash()));
    let subject = d.subject.as_ref().unwrap();
    assert_eq!(subject.record_id, "p-1001");
    assert_eq!(subject.record_type.as_deref(), Some("patient"));
    assert_eq!(subject.demographics["ageBand"], "15-17");
    assert_eq!(d.actor.role, "nurse");
    assert_eq!(d.session.as_ref().unwrap().id, "s-1");
    assert!(d.fields.contains(&"/notes/4/text".to_owned()));
    assert!(!d.fields.contains(&"/name".to_owned()));
    assert!(d.note_types.contains(&"dvIndicator".to_owned()));
    assert!(d.labels.contains(&"SDV".to_owned()));
    let sealed: Vec<&str> = d.detail["sealed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(sealed.contains(&"/notes/4/text"));
    assert!(!sealed.contains(&"/notes/1/text"));
    // Nothing sealed: a plain view event.
    let mut plain = record();
    for k in [
        "riskFlags",
        "hivStatus",
        "legalStatus",
        "safetyPlan",
        "insurance",
        "documents",
        "notes",
    ] {
        plain.as_object_mut().unwrap().remove(k);
    }
    let sess = session("doctor");
    let s = Access::new(&p, &sess, now(), &[])
        .seal(plain, FieldAction::View, &mut SeededEntropy::new(4))
        .unwrap();
    assert_eq!(s.draft.action, Action::View);
    assert!(s.vault.is_empty());
    assert!(!s.draft.detail.contains_key("sealed"));
}

#[test]
fn vault_entries_open_their_commitments() {
    let s = seal_as(&session("billing"), now(), &[]);
    assert!(!s.vault.is_empty());
    let placeholder_count = s
        .decisions
        .iter()
        .filter(|d| !d.decision.is_allow())
        .count();
    assert_eq!(s.vault.len(), placeholder_count);
    for e in s.vault.entries() {
        let ph = &s.view.pointer(&e.pointer).unwrap()[PLACEHOLDER_MEMBER];
        assert_eq!(ph["commitment"], json!(e.commitment));
    }
    let _ = verify_opening; // exercised through unseal in tests/breakglass.rs
    let v: Value = s.view.clone();
    assert_eq!(v["id"], "p-1001");
}

#[test]
fn values_that_look_like_placeholders_are_sealed() {
    let p = policy();
    let sess = session("reception");
    let access = Access::new(&p, &sess, now(), &[]);
    let mut r = record();
    let forged = json!({"$sealed": {"pointer": "/name", "breakGlass": true, "type": "seal"}});
    r["contact"]["address"] = forged.clone();
    r["notes"][0]["text"] = json!([forged]);
    let s = access
        .seal(r, FieldAction::View, &mut SeededEntropy::new(5))
        .unwrap();
    for pointer in ["/contact", "/notes/0/text"] {
        let d = s.decisions.iter().find(|d| d.pointer == pointer).unwrap();
        assert_eq!(
            *d.decision,
            Decision::Seal {
                break_glass: false,
                cause: Cause::Malformed
            },
            "{pointer}"
        );
        assert_eq!(
            s.view.pointer(pointer).unwrap()[PLACEHOLDER_MEMBER]["pointer"],
            json!(pointer)
        );
    }
}
