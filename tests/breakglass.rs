//! Break-glass: request validation edges, grants, the events of every
//! outcome, and unsealing under a grant with log-before-reveal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sealing_support;

use sealing_support::*;
use sealtrail::breakglass::{BreakGlassRequest, Refusal};
use sealtrail::chain::ChainWriter;
use sealtrail::decision::BreakGlassGrant;
use sealtrail::decision::{Access, FieldAction};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Outcome, Relation, Subject};
use sealtrail::policy::Policy;
use sealtrail::seal::{verify_opening, Sealed, UnsealError};
use sealtrail::session::Session;
use serde_json::json;

fn request(text: &str) -> BreakGlassRequest {
    BreakGlassRequest {
        reason_code: "abuseAllegation".to_owned(),
        reason_text: text.to_owned(),
        context: None,
        incident_ref: None,
    }
}

fn subject() -> Subject {
    Subject {
        record_id: "p-1001".to_owned(),
        record_type: Some("patient".to_owned()),
        relation: Some(Relation::Unassigned),
        demographics: Default::default(),
        related: false,
    }
}

/// The refusals for `req` by a safeguarding lead now.
fn refusals(req: &BreakGlassRequest) -> Vec<Refusal> {
    let p = policy();
    let s = session("safeguardingLead");
    Access::new(&p, &s, now(), &[]).check_break_glass(req)
}

fn pointers(req: &BreakGlassRequest) -> Vec<&'static str> {
    refusals(req).iter().map(Refusal::pointer).collect()
}

#[test]
fn reason_length_is_counted_in_characters_after_trimming() {
    let ok = |n: usize| "x".repeat(n - 1) + "y";
    assert_eq!(pointers(&request(&ok(9))), ["/reasonText"]);
    assert!(matches!(
        refusals(&request(&ok(9)))[0],
        Refusal::ReasonTooShort { found: 9, min: 10 }
    ));
    assert!(pointers(&request(&ok(10))).is_empty());
    assert!(pointers(&request(&ok(500))).is_empty());
    assert!(matches!(
        refusals(&request(&ok(501)))[0],
        Refusal::ReasonTooLong {
            found: 501,
            max: 500
        }
    ));
    // Whitespace around does not count.
    assert_eq!(
        pointers(&request(&format!("   {}\n\t ", ok(9)))),
        ["/reasonText"]
    );
    assert!(pointers(&request(&format!("   {}   ", ok(10)))).is_empty());
    assert!(pointers(&request(&format!("  {}  ", ok(500)))).is_empty());
    // Multibyte characters count once each: 10 characters, 30 bytes.
    let cjk = "虐待の申し立て調査中";
    assert_eq!(cjk.chars().count(), 10);
    assert!(pointers(&request(cjk)).is_empty());
    let nine = "虐待の申し立て調査";
    assert!(matches!(
        refusals(&request(nine))[0],
        Refusal::ReasonTooShort { found: 9, .. }
    ));
    // 500 emoji (2000 bytes) pass, 501 do not.
    let emoji = "🚑".repeat(499) + "🩺";
    assert!(pointers(&request(&emoji)).is_empty());
    assert!(!pointers(&request(&(emoji + "🩺"))).is_empty());
}

#[test]
fn blank_and_repeated_reasons_are_refused() {
    assert_eq!(refusals(&request("")), [Refusal::ReasonBlank]);
    assert_eq!(refusals(&request("   \n\t  ")), [Refusal::ReasonBlank]);
    assert_eq!(
        refusals(&request("aaaaaaaaaaaa")),
        [Refusal::ReasonRepeated]
    );
    assert_eq!(
        refusals(&request("a a a a a a a")),
        [Refusal::ReasonRepeated]
    );
    assert_eq!(
        refusals(&request(&"!".repeat(40))),
        [Refusal::ReasonRepeated]
    );
    assert!(refusals(&request("Disclosure at school today")).is_empty());
}

#[test]
fn context_and_incident_reference_are_checked() {
    let mut r = request("Disclosure at school today");
    r.context = Some("é".repeat(1000));
    assert!(pointers(&r).is_empty());
    r.context = Some("é".repeat(1001));
    assert_eq!(pointers(&r), ["/context"]);
    r.context = None;
    r.incident_ref = Some("INC-2026-0412".to_owned());
    assert!(pointers(&r).is_empty());
    for bad in [
        "inc-2026-0412",
        "INC-26-0412",
        "INC-2026-0412x",
        "x INC-2026-0412",
    ] {
        r.incident_ref = Some(bad.to_owned());
        assert_eq!(pointers(&r), ["/incidentRef"], "{bad}");
    }
    r.incident_ref = Some("   ".to_owned());
    assert!(pointers(&r).is_empty(), "blank means none: it is optional");
    // A policy that requires it.
    let mut v = policy_value();
    v["breakGlass"]["incidentRefRequired"] = json!(true);
    let p = Policy::from_value(&v).unwrap();
    let s = session("admin");
    r.incident_ref = None;
    assert_eq!(
        Access::new(&p, &s, now(), &[]).check_break_glass(&r),
        [Refusal::IncidentRefMissing]
    );
}

#[test]
fn unknown_codes_and_unauthorised_roles_are_refused_and_logged() {
    let mut r = request("Disclosure at school today");
    r.reason_code = "curiosity".to_owned();
    assert_eq!(pointers(&r), ["/reasonCode"]);

    let p = policy();
    for role in ["nurse", "reception", "doctor", "supervisor"] {
        let s = session(role);
        let access = Access::new(&p, &s, now(), &[]);
        let refused = access
            .break_glass(
                &subject(),
                &request("Disclosure at school today"),
                &mut SeededEntropy::new(1),
            )
            .unwrap_err();
        assert_eq!(
            refused.error,
            [Refusal::RoleNotAuthorised {
                role: role.to_owned()
            }]
        );
        assert_eq!(refused.error[0].pointer(), "");
        // Opening the dialog without typing anything: only the role is the
        // problem, and no empty reason is logged.
        let blank = BreakGlassRequest {
            reason_code: String::new(),
            reason_text: String::new(),
            context: None,
            incident_ref: None,
        };
        let refused_blank = access
            .break_glass(&subject(), &blank, &mut SeededEntropy::new(1))
            .unwrap_err();
        assert_eq!(refused_blank.error, refused.error);
        assert_eq!(refused_blank.draft.outcome, Outcome::Denied);
        assert!(refused_blank.draft.reason.is_none());
        let d = &refused.draft;
        assert_eq!(d.action, Action::BreakGlass);
        assert_eq!(d.outcome, Outcome::Denied);
        assert_eq!(d.actor.role, role);
        assert_eq!(d.purpose_of_use.as_deref(), Some("BTG"));
        assert_eq!(
            d.reason.as_ref().unwrap().text,
            "Disclosure at school today"
        );
        assert_eq!(d.subject.as_ref().unwrap().record_id, "p-1001");
        assert_eq!(d.policy.as_deref(), Some(p.hash()));
        assert!(d.detail["refusals"][0]["message"]
            .as_str()
            .unwrap()
            .contains(role));
    }
}

#[test]
fn an_authorised_request_grants_one_record_for_fifteen_minutes() {
    let p = policy();
    let s = session("safeguardingLead");
    let access = Access::new(&p, &s, now(), &[]);
    let mut r = request("  Disclosure of abuse at school today  ");
    r.context = Some("School counsellor called".to_owned());
    r.incident_ref = Some("INC-2026-0412".to_owned());
    let granted = access
        .break_glass(&subject(), &r, &mut SeededEntropy::new(5))
        .unwrap();
    let g = &granted.grant;
    assert_eq!(g.record_id, "p-1001");
    assert_eq!(g.user_id, "u-safeguardingLead");
    assert_eq!(g.expires_at, later(15));
    assert_eq!(g.id.len(), 32);
    assert_eq!(g.policy, p.hash());
    let d = &granted.draft;
    assert_eq!(
        (d.action.clone(), d.outcome),
        (Action::BreakGlass, Outcome::Success)
    );
    let reason = d.reason.as_ref().unwrap();
    assert_eq!(reason.code, "abuseAllegation");
    assert_eq!(reason.text, "Disclosure of abuse at school today");
    assert_eq!(reason.incident_ref.as_deref(), Some("INC-2026-0412"));
    assert_eq!(d.detail["grantId"], json!(g.id));
    assert_eq!(d.detail["expiresAt"], json!(later(15).to_string()));
    // Two grants never share an id.
    let other = access
        .break_glass(&subject(), &r, &mut SeededEntropy::new(6))
        .unwrap();
    assert_ne!(other.grant.id, g.id);
    // The grant round-trips through JSON for the web layer, unknown members refused.
    let text = serde_json::to_string(g).unwrap();
    assert_eq!(serde_json::from_str::<BreakGlassGrant>(&text).unwrap(), *g);
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["scope"] = json!("all");
    assert!(serde_json::from_value::<BreakGlassGrant>(v).is_err());
}

#[test]
fn cancel_is_logged_too() {
    let p = policy();
    let s = session("nurse");
    let d = Access::new(&p, &s, now(), &[]).break_glass_cancelled(&subject());
    assert_eq!(d.action, Action::BreakGlass);
    assert_eq!(d.outcome, Outcome::Cancelled);
    assert_eq!(d.purpose_of_use.as_deref(), Some("BTG"));
}

#[test]
fn expired_session_cannot_break_the_glass() {
    let p = policy();
    let mut s = session("admin");
    s.expires_at = later(-1);
    let e = Access::new(&p, &s, now(), &[])
        .break_glass(
            &subject(),
            &request("Disclosure at school today"),
            &mut SeededEntropy::new(1),
        )
        .unwrap_err();
    assert!(e.error.contains(&Refusal::SessionExpired));
}

/// Seals the fixture record for `s` and grants break-glass on it.
fn sealed_and_granted(p: &Policy, s: &Session) -> (Sealed, BreakGlassGrant) {
    let access = Access::new(p, s, now(), &[]);
    let sealed = access
        .seal(record(), FieldAction::View, &mut SeededEntropy::new(11))
        .unwrap();
    let grant = access
        .break_glass(
            sealed.vault.subject(),
            &request("Disclosure at school today"),
            &mut SeededEntropy::new(12),
        )
        .unwrap()
        .grant;
    (sealed, grant)
}

#[test]
fn unseal_logs_before_it_reveals_and_the_opening_verifies() {
    let p = policy();
    let s = unassigned("safeguardingLead");
    let (sealed, grant) = sealed_and_granted(&p, &s);
    let access = Access::new(&p, &s, later(5), &[]);
    let pending = sealed
        .vault
        .prepare_unseal(&access, &grant, "/hivStatus")
        .unwrap();
    let d = pending.draft().clone();
    assert_eq!(
        (d.action.clone(), d.outcome),
        (Action::Unseal, Outcome::Success)
    );
    assert_eq!(d.fields, ["/hivStatus"]);
    assert_eq!(d.note_types, ["hivStatus"]);
    assert_eq!(d.labels, ["V", "HIV"]);
    assert_eq!(d.purpose_of_use.as_deref(), Some("BTG"));
    assert_eq!(d.detail["grantId"], json!(grant.id));

    let mut chain = ChainWriter::new(ChainId::random(&mut SeededEntropy::new(3)).unwrap());
    // An event that is not this unseal's does not unlock it.
    let unrelated = chain.append(sealed.draft.clone(), later(5)).unwrap();
    let pending2 = sealed
        .vault
        .prepare_unseal(&access, &grant, "/hivStatus")
        .unwrap();
    assert_eq!(pending2.reveal(&unrelated), Err(UnsealError::NotLogged));

    let logged = chain.append(d, later(5)).unwrap();
    let opening = pending.reveal(&logged).unwrap();
    assert_eq!(opening.value, json!("negative"));
    assert!(opening.verify());
    let placeholder = &sealed.view["hivStatus"]["$sealed"];
    assert_eq!(placeholder["commitment"], json!(opening.commitment));
    assert!(verify_opening(
        placeholder["commitment"].as_str().unwrap(),
        &opening.salt,
        &opening.value
    ));
    assert!(!verify_opening(
        placeholder["commitment"].as_str().unwrap(),
        &opening.salt,
        &json!("positive")
    ));
    // Debug output of a vault never shows a sealed value.
    assert!(!format!("{:?}", sealed.vault).contains("negative"));
    // The opening as the web layer serialises it.
    let o = serde_json::to_value(&opening).unwrap();
    assert_eq!(o["salt"].as_str().unwrap().len(), 64);
}

#[test]
fn unseal_refuses_expired_foreign_and_wrong_record_grants() {
    let p = policy();
    let s = unassigned("safeguardingLead");
    let (sealed, grant) = sealed_and_granted(&p, &s);
    let at = |t| Access::new(&p, &s, t, &[]);

    let refused = sealed
        .vault
        .prepare_unseal(&at(later(15)), &grant, "/hivStatus")
        .unwrap_err();
    assert!(matches!(refused.error, UnsealError::NotInForce { .. }));
    assert_eq!(refused.draft.action, Action::Unseal);
    assert_eq!(refused.draft.outcome, Outcome::Denied);

    let mut other_record = grant.clone();
    other_record.record_id = "p-2002".to_owned();
    let refused = sealed
        .vault
        .prepare_unseal(&at(later(1)), &other_record, "/hivStatus")
        .unwrap_err();
    assert!(matches!(refused.error, UnsealError::OtherRecord { .. }));

    let mut other_user = grant.clone();
    other_user.user_id = "u-admin".to_owned();
    let refused = sealed
        .vault
        .prepare_unseal(&at(later(1)), &other_user, "/hivStatus")
        .unwrap_err();
    assert!(matches!(refused.error, UnsealError::OtherUser { .. }));

    let refused = sealed
        .vault
        .prepare_unseal(&at(later(1)), &grant, "/name")
        .unwrap_err();
    assert_eq!(refused.error, UnsealError::NotSealed("/name".to_owned()));

    // Same user and grant, but the session has expired.
    let mut expired = s.clone();
    expired.expires_at = later(2);
    let refused = sealed
        .vault
        .prepare_unseal(
            &Access::new(&p, &expired, later(3), &[]),
            &grant,
            "/hivStatus",
        )
        .unwrap_err();
    assert_eq!(refused.error, UnsealError::SessionExpired);
}
