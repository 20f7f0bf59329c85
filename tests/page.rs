//! The page session of the browser package, natively: every flow the web
//! layer drives (seal, sealMany, break-glass granted / refused / cancelled,
//! reveal with and without a valid grant, an expired grant, host actions
//! with step-up), each stored through a real chain writer as the browser's
//! journal does, and the guarantee that nothing is answered before its
//! events are stored.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod page_support;

use page_support::*;
use serde_json::json;

use sealtrail::breakglass::BreakGlassRequest;
use sealtrail::decision::{Decision, FieldAction, HostAction};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::Outcome;
use sealtrail::page::{Alert, BreakGlassResult, ErrorCode, HeadlessRequest, PageError};
use sealtrail::seal::UnsealError;

#[test]
fn seal_answers_the_view_with_its_event() {
    let mut p = Page::nurse();
    let sealed = p.seal("p-1001");
    assert_eq!(sealed["recordId"], "p-1001");
    assert_eq!(sealed["event"]["seq"], 0);
    assert_eq!(sealed["event"]["hash"], p.last().hash.to_hex());
    assert!(matches!(
        sealed["event"]["action"].as_str(),
        Some("view" | "view-sealed")
    ));
    assert!(sealed["decisions"]
        .as_array()
        .is_some_and(|d| !d.is_empty()));
    // No salt or sealed plaintext in the view.
    let view = sealed["view"].to_string();
    assert!(!view.contains("\"salt\""), "{view}");
}

#[test]
fn seal_many_answers_one_view_per_record_in_order() {
    let mut p = Page::lead();
    let records = ["p-1001", "p-1002", "p-1003"].map(record).to_vec();
    let pending = p
        .page
        .seal_many(records, FieldAction::View, t0(), &mut p.entropy)
        .unwrap();
    assert_eq!(pending.drafts().len(), 3);
    let out = p.store(pending, t0()).unwrap();
    let ids: Vec<&str> = out.iter().map(|s| s.record_id.as_str()).collect();
    assert_eq!(ids, ["p-1001", "p-1002", "p-1003"]);
    let seqs: Vec<u64> = out.iter().map(|s| s.event.seq).collect();
    assert_eq!(seqs, [0, 1, 2]);
}

#[test]
fn seal_errors_name_the_record_among_the_arguments() {
    let p = Page::nurse();
    let mut bad = record("p-1001");
    bad.as_object_mut().unwrap().remove("id");
    let e = p
        .page
        .seal(
            bad.clone(),
            FieldAction::View,
            t0(),
            &mut SeededEntropy::new(1),
        )
        .unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some("/record/id"));
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let e = p
        .page
        .seal_many(
            vec![record("p-1001"), bad],
            FieldAction::View,
            t0(),
            &mut SeededEntropy::new(1),
        )
        .unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some("/records/1/id"));
}

#[test]
fn nothing_is_answered_or_remembered_without_the_stored_events() {
    let mut p = Page::lead();
    let pending = p
        .page
        .seal(record("p-1002"), FieldAction::View, t0(), &mut p.entropy)
        .unwrap();
    // No events, or events of other drafts: refused, and the vault is not kept.
    let other = p.chain.append(good_request_draft(&p), t0()).unwrap();
    assert_eq!(
        pending.commit(&mut p.page, &[other]).unwrap_err(),
        PageError::NotLogged
    );
    let e = p.page.break_glass_form("p-1002", t0()).unwrap_err();
    assert_eq!(e, PageError::NotSealed("p-1002".into()));
    assert_eq!(e.pointer().as_deref(), Some("/recordId"));
}

/// Some draft that is not the one a pending answer waits for.
fn good_request_draft(p: &Page) -> sealtrail::event::EventDraft {
    let p2 = p.page.host_action(&HostAction::Print, None, t0()).unwrap();
    p2.drafts()[0].clone()
}

#[test]
fn break_glass_granted_then_reveal_logs_the_unseal_first() {
    let mut p = Page::lead();
    let sealed = p.seal("p-1002");
    assert_eq!(sealed["view"]["diagnoses"]["$sealed"]["type"], "seal");
    let grant = p.granted("p-1002");
    assert_eq!(grant.record_id, "p-1002");

    let pending = p
        .page
        .reveal("p-1002", "/diagnoses", &grant, minutes(1))
        .unwrap();
    let draft = pending.drafts()[0].clone();
    assert_eq!(draft.action.as_str(), "unseal");
    assert_eq!(draft.outcome, Outcome::Success);
    let opened = p.store(pending, minutes(1)).unwrap();
    assert_eq!(opened.opening.value, json!(["Asthma"]));
    assert!(opened.opening.verify());
    assert_eq!(opened.event.action, "unseal");
    assert_eq!(p.last().body, draft);
    let shown = serde_json::to_value(&opened).unwrap();
    assert_eq!(shown["event"]["seq"], 2);
    assert!(shown["salt"].is_string() && shown["commitment"].is_string());
}

#[test]
fn reveal_refuses_a_grant_this_page_did_not_issue_without_logging() {
    let mut p = Page::lead();
    p.seal("p-1002");
    let mut grant = p.granted("p-1002");
    grant.expires_at = minutes(600);
    let e = p
        .page
        .reveal("p-1002", "/diagnoses", &grant, minutes(1))
        .unwrap_err();
    assert_eq!(e, PageError::UnknownGrant(grant.id.clone()));
    assert_eq!(e.code(), ErrorCode::Grant);
    assert_eq!(p.stored.len(), 2, "nothing logged for a forged grant");
}

#[test]
fn reveal_under_an_expired_grant_is_logged_as_denied_and_refused() {
    let mut p = Page::lead();
    p.seal("p-1002");
    let grant = p.granted("p-1002");
    let late = minutes(16);
    let pending = p.page.reveal("p-1002", "/diagnoses", &grant, late).unwrap();
    assert_eq!(pending.drafts()[0].outcome, Outcome::Denied);
    let e = p.store(pending, late).unwrap_err();
    assert!(
        matches!(e, PageError::Unseal(UnsealError::NotInForce { .. })),
        "{e:?}"
    );
    assert_eq!(e.code(), ErrorCode::Grant);
    let logged = p.last();
    assert_eq!(logged.body.action.as_str(), "unseal");
    assert_eq!(logged.body.outcome, Outcome::Denied);
    assert!(!serde_json::to_string(logged).unwrap().contains("Asthma"));
}

#[test]
fn reveal_of_an_unsealed_pointer_is_refused_after_logging() {
    let mut p = Page::lead();
    p.seal("p-1002");
    let grant = p.granted("p-1002");
    let pending = p.page.reveal("p-1002", "/name", &grant, t0()).unwrap();
    let e = p.store(pending, t0()).unwrap_err();
    assert_eq!(e, PageError::Unseal(UnsealError::NotSealed("/name".into())));
    assert_eq!(e.pointer().as_deref(), Some("/pointer"));
}

#[test]
fn break_glass_refused_for_a_role_that_may_not() {
    let mut p = Page::nurse();
    p.seal("p-1001");
    let form = p.page.break_glass_form("p-1001", t0()).unwrap();
    assert!(!form.authorised);
    match p.break_glass("p-1001", &good_request(), t0()) {
        BreakGlassResult::Denied { refusals, event } => {
            assert_eq!(event.outcome, Outcome::Denied);
            assert_eq!(refusals[0].kind, "roleNotAuthorised");
            assert_eq!(refusals[0].pointer, "");
        }
        other => panic!("{other:?}"),
    }
    // The local alert rule sees the logged attempt.
    let events = p.stored.clone();
    let alerts = p.page.observe(&events);
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, Alert::Local(f) if f.rule.as_str() == "break-glass-unauthorised")),
        "{alerts:?}"
    );
    let shown = serde_json::to_value(&alerts[0]).unwrap();
    assert_eq!(shown["source"], "local");
}

#[test]
fn break_glass_refusals_name_each_field() {
    let mut p = Page::lead();
    p.seal("p-1002");
    let request = BreakGlassRequest {
        reason_code: "curiosity".into(),
        reason_text: "short".into(),
        context: None,
        incident_ref: Some("nope".into()),
    };
    let live = p.page.check_break_glass(&request, t0());
    assert_eq!(live.len(), 3, "{live:?}");
    let shown = serde_json::to_value(p.break_glass("p-1002", &request, t0())).unwrap();
    assert_eq!(shown["outcome"], "denied");
    let pointers: Vec<&str> = shown["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, ["/reasonCode", "/reasonText", "/incidentRef"]);
    assert_eq!(shown["refusals"][1]["type"], "reasonTooShort");
}

#[test]
fn break_glass_cancelled_is_logged() {
    let mut p = Page::lead();
    p.seal("p-1002");
    let pending = p.page.break_glass_cancelled("p-1002", t0()).unwrap();
    let shown = serde_json::to_value(p.store(pending, t0()).unwrap()).unwrap();
    assert_eq!(shown["outcome"], "cancelled");
    assert_eq!(shown["event"]["outcome"], "cancelled");
    assert_eq!(p.last().body.action.as_str(), "break-glass");
}

#[test]
fn break_glass_on_a_record_never_sealed_is_refused() {
    let p = Page::lead();
    let e = p
        .page
        .break_glass("p-9", &good_request(), t0(), &mut SeededEntropy::new(1))
        .unwrap_err();
    assert_eq!(e, PageError::NotSealed("p-9".into()));
}

#[test]
fn headless_requests_name_their_fields() {
    let ok = HeadlessRequest::from_value(json!({
        "recordId": "p-1002", "reasonCode": "suicideRisk", "reasonText": "Crisis team call now"
    }))
    .unwrap();
    assert_eq!(ok.record_id, "p-1002");
    assert_eq!(ok.request.reason_code, "suicideRisk");
    let e = HeadlessRequest::from_value(json!({"reasonCode": "x", "reasonText": "y"})).unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some("/recordId"));
    let e = HeadlessRequest::from_value(json!({
        "recordId": "p", "reasonCode": "x", "reasonText": "y", "extra": 1
    }))
    .unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some("/extra"));
    let e = HeadlessRequest::from_value(json!([1])).unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some(""));
}

#[test]
fn host_actions_allow_deny_and_step_up() {
    let mut p = Page::new(session("sg-001", "safeguardingLead", &[], "password"));
    // Search: allowed and logged with its query.
    let search = HostAction::Search {
        query: "miles".into(),
        filters: Default::default(),
    };
    let pending = p.page.host_action(&search, None, t0()).unwrap();
    let out = p.store(pending, t0()).unwrap();
    assert_eq!(out.decision, Decision::Allow);
    assert_eq!(out.event.action, "search");
    assert_eq!(p.last().body.detail["query"], "miles");

    // Export needs a fresh MFA: step-up, logged as `step-up-required`.
    let export = HostAction::Export {
        format: Some("pdf".into()),
    };
    let r = record("p-1002");
    let pending = p.page.host_action(&export, Some(&r), t0()).unwrap();
    let out = p.store(pending, t0()).unwrap();
    assert!(
        matches!(out.decision, Decision::StepUp { ref auth_strength, .. } if auth_strength == "mfa")
    );
    assert_eq!(out.event.action, "step-up-required");
    assert_eq!(out.event.outcome, Outcome::Denied);

    // After authenticating again with MFA, the export goes.
    p.page
        .set_session(
            &session_json("sg-001", "safeguardingLead", &[], "mfa"),
            t0(),
        )
        .unwrap();
    let pending = p.page.host_action(&export, Some(&r), t0()).unwrap();
    let out = p.store(pending, t0()).unwrap();
    assert_eq!(out.decision, Decision::Allow);
    assert_eq!(out.event.action, "export");
}

#[test]
fn host_actions_deny_outside_the_role() {
    let mut p = Page::nurse();
    let pending = p
        .page
        .host_action(
            &HostAction::Delete { fields: vec![] },
            Some(&record("p-1001")),
            t0(),
        )
        .unwrap();
    let out = p.store(pending, t0()).unwrap();
    assert!(matches!(out.decision, Decision::Deny { .. }), "{out:?}");
    assert_eq!(out.event.outcome, Outcome::Denied);
}

#[test]
fn host_action_errors_name_the_argument() {
    let p = Page::nurse();
    let mut filters = serde_json::Map::new();
    filters.insert("age".into(), json!(1.5));
    let e = p
        .page
        .host_action(
            &HostAction::Search {
                query: "q".into(),
                filters,
            },
            None,
            t0(),
        )
        .unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some("/action/filters/age"));
    let e = p
        .page
        .host_action(&HostAction::Print, Some(&json!({"name": "no id"})), t0())
        .unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some("/record/id"));
}

#[test]
fn collector_alerts_read_like_local_ones() {
    let shown = serde_json::to_value(Alert::collector("fork", "c1", Some(4), "409 fork")).unwrap();
    assert_eq!(
        shown,
        json!({
            "source": "collector", "rule": "collector-fork", "severity": "critical",
            "summary": "the collector refused chain c1 (fork): 409 fork", "chain": "c1", "seq": 4
        })
    );
}

#[test]
fn with_a_record_key_every_event_names_the_record_by_its_pseudonym() {
    let key = sealtrail::page::RecordKey::from_hex(&"00".repeat(32)).unwrap();
    let pseudonym = key.pseudonym("p-1002");
    let mut p = Page::lead();
    p.page = p.page.with_record_key(Some(key));
    // Sealing, break-glass and the reveal: the vault and the grant keep the
    // record id (the host names records by id), the events name the pseudonym.
    p.seal("p-1002");
    let grant = p.granted("p-1002");
    assert_eq!(grant.record_id, "p-1002");
    let pending = p
        .page
        .reveal("p-1002", "/diagnoses", &grant, minutes(1))
        .unwrap();
    let opened = p.store(pending, minutes(1)).unwrap();
    assert_eq!(opened.opening.value, json!(["Asthma"]));
    assert_eq!(p.stored.len(), 3);
    for e in &p.stored {
        let subject = e.body.subject.as_ref().unwrap();
        assert_eq!(subject.record_id, pseudonym, "{}", e.body.action.as_str());
        let line = serde_json::to_string(e).unwrap();
        assert!(!line.contains("p-1002"), "{line}");
    }
    // The same record under the same key: the same pseudonym; no key: the id.
    let mut plain = Page::lead();
    plain.seal("p-1002");
    assert_eq!(
        plain.last().body.subject.as_ref().unwrap().record_id,
        "p-1002"
    );
}
