//! The page session's part in the record integrity, related-record and
//! break-glass prompt rules, natively: edits and deletions logged with their
//! fields, effective date and deleted notes; accesses to declared related
//! records flagged (never the link); grants without the prompt for the
//! treating team or within the re-prompt window, each with its event saying
//! why; and the local alerts they raise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod page_support;

use page_support::*;
use serde_json::{json, Value};

use sealtrail::alerts::RuleId;
use sealtrail::breakglass::{BreakGlassRequest, Exemption};
use sealtrail::decision::HostAction;
use sealtrail::event::Outcome;
use sealtrail::page::{parse, Alert, BreakGlassResult};
use sealtrail::session::Session;
use sealtrail::Timestamp;

/// A lead of team north, with the session members `extra` adds.
fn lead_session(extra: Value) -> Session {
    let mut s = json!({
        "userId": "sg-001", "name": "Test lead", "role": "safeguardingLead",
        "team": "team-north", "authStrength": "mfa",
        "authTime": "2026-11-23T09:59:00.000Z", "expiresAt": "2026-11-23T20:00:00.000Z",
        "sessionId": "s-1", "client": "tests/page_rules.rs"
    });
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    checked(&s).unwrap()
}

/// `s` read as a session and checked for the default policy at [`t0`].
fn checked(s: &Value) -> Result<Session, sealtrail::session::SessionError> {
    Session::from_value(s, &sealtrail::policy::Policy::parse(POLICY).unwrap(), t0())
}

/// The default policy with `breakGlass.exemptions` set.
fn exempting(exemptions: Value) -> String {
    let mut p: Value = serde_json::from_str(POLICY).unwrap();
    p["breakGlass"]["exemptions"] = exemptions;
    p.to_string()
}

fn action(v: Value) -> HostAction {
    parse(v, "/action").unwrap()
}

/// Logs `action` on record `id` at `now` and returns the stored event as JSON.
fn log(p: &mut Page, action: &HostAction, id: Option<&str>, now: Timestamp) -> Value {
    let r = id.map(record);
    let pending = p.page.host_action(action, r.as_ref(), now).unwrap();
    p.store(pending, now).unwrap();
    serde_json::to_value(p.last()).unwrap()
}

/// The rules of the local alerts the events stored since the last call raise.
fn alerts(p: &mut Page) -> Vec<RuleId> {
    let events = p.stored[p.observed..].to_vec();
    p.observed = p.stored.len();
    p.page
        .observe(&events)
        .into_iter()
        .filter_map(|a| match a {
            Alert::Local(f) => Some(f.rule),
            Alert::Collector(_) => None,
        })
        .collect()
}

fn blank() -> BreakGlassRequest {
    BreakGlassRequest {
        reason_code: String::new(),
        reason_text: String::new(),
        context: None,
        incident_ref: None,
    }
}

#[test]
fn an_edit_is_logged_with_its_fields_and_effective_date() {
    let mut p = Page::lead();
    let edit = action(json!({
        "type": "edit", "fields": ["/address/street", "/phone"],
        "effectiveAt": "2026-11-20T09:00:00.000Z"
    }));
    let e = log(&mut p, &edit, Some("p-1001"), t0());
    assert_eq!(e["action"], "edit");
    assert_eq!(e["fields"], json!(["/address/street", "/phone"]));
    assert_eq!(e["detail"]["effectiveAt"], "2026-11-20T09:00:00.000Z");
    // Three days before: a back-dated entry, locally too.
    assert!(alerts(&mut p).contains(&RuleId::BackdatedEntry));
    // Two more edits of the address: repeated key-field edits.
    let again = action(json!({"type": "edit", "fields": ["/address"]}));
    log(&mut p, &again, Some("p-1001"), minutes(1));
    let e = log(&mut p, &again, Some("p-1001"), minutes(2));
    assert!(e["detail"].get("effectiveAt").is_none());
    let rules = alerts(&mut p);
    assert!(rules.contains(&RuleId::KeyFieldEdits), "{rules:?}");
    // A plain edit, as before: no fields, no detail.
    let e = log(
        &mut p,
        &action(json!({"type": "edit"})),
        Some("p-1002"),
        minutes(3),
    );
    assert!(e.get("fields").is_none(), "{e}");
}

#[test]
fn an_action_type_is_read_as_serde_reads_a_variant_name() {
    let bad = |v: Value| parse::<HostAction>(v, "/action").unwrap_err();
    let e = bad(json!({"query": "x"}));
    assert_eq!(e.pointer().as_deref(), Some("/action"));
    assert!(e.to_string().contains("missing field `type`"), "{e}");
    let e = bad(json!({"type": "erase"}));
    assert_eq!(e.pointer().as_deref(), Some("/action/type"));
    assert!(
        e.to_string().contains(
            "unknown variant `erase`, expected one of `search`, `export`, `print`, `edit`, `delete`, `roleChange`"
        ),
        "{e}"
    );
    let e = bad(json!({"type": true}));
    assert_eq!(e.pointer().as_deref(), Some("/action/type"));
    assert!(e.to_string().contains("expected variant identifier"), "{e}");
    // serde takes a variant's index for its name.
    assert_eq!(action(json!({"type": 2})), HostAction::Print);
    let e = bad(json!({"type": 6}));
    assert_eq!(e.pointer().as_deref(), Some("/action/type"));
    assert!(e.to_string().contains("variant index 0 <= i < 6"), "{e}");
    // A print has no members to check; a missing one is named at the action.
    assert_eq!(
        action(json!({"type": "print", "copies": 2})),
        HostAction::Print
    );
    let e = bad(json!({"type": "roleChange", "to": "nurse"}));
    assert_eq!(e.pointer().as_deref(), Some("/action"));
    assert!(e.to_string().contains("missing field `targetUser`"), "{e}");
    let e = bad(json!("print"));
    assert_eq!(e.pointer().as_deref(), Some("/action"));
    assert!(
        e.to_string()
            .contains("expected internally tagged enum HostAction"),
        "{e}"
    );
}

#[test]
fn edit_and_delete_arguments_are_checked_naming_the_member() {
    // Inside a tagged action serde names the action as a whole; the message
    // says what was wrong.
    let e = parse::<HostAction>(json!({"type": "edit", "effectiveAt": "20 Nov"}), "/action")
        .unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some("/action"));
    assert!(e.to_string().contains("found `20 Nov`"), "{e}");
    let e = parse::<HostAction>(json!({"type": "delete", "fields": "/notes/1"}), "/action")
        .unwrap_err();
    assert!(e.to_string().contains("expected an array"), "{e}");
    let e = parse::<HostAction>(json!({"type": "delete", "note": 1}), "/action").unwrap_err();
    assert!(e.to_string().contains("`note`"), "{e}");
    let p = Page::lead();
    let bad = action(json!({"type": "edit", "fields": ["/phone", "notes/1"]}));
    let e = p
        .page
        .host_action(&bad, Some(&record("p-1001")), t0())
        .unwrap_err();
    assert_eq!(e.pointer().as_deref(), Some("/action/fields/1"), "{e}");
    assert!(e.to_string().contains("found `notes/1`"), "{e}");
}

#[test]
fn a_deletion_counts_the_notes_it_removes_with_their_types() {
    let mut p = Page::lead();
    let one = action(json!({"type": "delete", "fields": ["/notes/1"]}));
    let e = log(&mut p, &one, Some("p-1001"), t0());
    assert_eq!(e["detail"]["notes"], 1);
    assert_eq!(e["fields"], json!(["/notes/1"]));
    assert_eq!(e["noteTypes"], json!(["dvIndicator"]));
    assert!(
        e["labels"].as_array().unwrap().contains(&json!("SDV")),
        "{e}"
    );
    // A field that is not a note, or the inside of one, removes no note.
    let e = log(
        &mut p,
        &action(json!({"type": "delete", "fields": ["/phone", "/notes/2/text"]})),
        Some("p-1001"),
        minutes(1),
    );
    assert_eq!(e["detail"]["notes"], 0);
    // The whole record: every note.
    let e = log(
        &mut p,
        &action(json!({"type": "delete"})),
        Some("p-1001"),
        minutes(2),
    );
    assert_eq!(e["detail"]["notes"], 4);
    let notes = alerts(&mut p)
        .into_iter()
        .filter(|r| *r == RuleId::NoteDeleted)
        .count();
    assert_eq!(notes, 2, "the two deletions that removed notes");
}

#[test]
fn an_access_to_a_declared_related_record_is_flagged_without_the_link() {
    let mut p = Page::new(lead_session(json!({"relatedRecords": ["p-1002"]})));
    p.seal("p-1001");
    let e = serde_json::to_value(p.last()).unwrap();
    assert!(e["subject"].get("related").is_none(), "{e}");
    assert!(!alerts(&mut p).contains(&RuleId::RelatedRecord));
    p.seal("p-1002");
    let e = serde_json::to_value(p.last()).unwrap();
    assert_eq!(e["subject"]["related"], true);
    assert_eq!(e["actor"]["team"], "team-north");
    let line = e.to_string();
    assert!(
        !line.contains("relatedRecords"),
        "the link is never written"
    );
    assert!(alerts(&mut p).contains(&RuleId::RelatedRecord));
    // Host actions on it are flagged too.
    let e = log(&mut p, &HostAction::Print, Some("p-1002"), minutes(1));
    assert_eq!(e["subject"]["related"], true);
}

#[test]
fn the_treating_team_is_granted_without_the_prompt_and_the_event_says_so() {
    let policy = exempting(json!({"treatingTeam": true}));
    let mut p = Page::with_policy(&policy, lead_session(json!({})));
    p.seal("p-1001"); // team north: the lead's team
    p.seal("p-1004"); // team south
    let form = p.page.break_glass_form("p-1001", t0()).unwrap();
    assert_eq!(form.exemption, Some(Exemption::TreatingTeam));
    match p.break_glass("p-1001", &blank(), t0()) {
        BreakGlassResult::Granted {
            grant, exemption, ..
        } => {
            assert_eq!(exemption, Some(Exemption::TreatingTeam));
            assert_eq!(grant.reason_code, "treatingTeam");
        }
        other => panic!("{other:?}"),
    }
    let e = serde_json::to_value(p.last()).unwrap();
    assert_eq!(e["action"], "break-glass");
    assert_eq!(e["outcome"], "success");
    assert_eq!(e["purposeOfUse"], "BTG");
    assert_eq!(e["detail"]["exemption"], "treatingTeam");
    assert!(e.get("reason").is_none(), "no reason was asked: {e}");
    // A reason typed anyway is logged as usual.
    match p.break_glass("p-1001", &good_request(), t0()) {
        BreakGlassResult::Granted { exemption, .. } => assert_eq!(exemption, None),
        other => panic!("{other:?}"),
    }
    assert!(serde_json::to_value(p.last()).unwrap()["reason"].is_object());
    // Another team's record still needs the prompt: a blank request is refused.
    assert_eq!(
        p.page.break_glass_form("p-1004", t0()).unwrap().exemption,
        None
    );
    assert!(matches!(
        p.break_glass("p-1004", &blank(), t0()),
        BreakGlassResult::Denied { .. }
    ));
    assert_eq!(p.last().body.outcome, Outcome::Denied);
}

#[test]
fn no_exemption_for_a_related_record_or_a_role_that_may_not_break_the_glass() {
    let policy = exempting(json!({"treatingTeam": true, "repromptDays": 30}));
    let mut p = Page::with_policy(&policy, lead_session(json!({"relatedRecords": ["p-1001"]})));
    p.seal("p-1001");
    assert_eq!(
        p.page.break_glass_form("p-1001", t0()).unwrap().exemption,
        None
    );
    let mut nurse = Page::with_policy(
        &policy,
        checked(&json!({
            "userId": "u-nurse-17", "name": "N", "role": "nurse", "caseload": ["p-1001"],
            "team": "team-north", "authStrength": "mfa",
            "authTime": "2026-11-23T09:59:00.000Z", "expiresAt": "2026-11-23T20:00:00.000Z",
            "sessionId": "s-2", "client": "tests/page_rules.rs",
            "priorGrants": [{"recordId": "p-1001", "issuedAt": "2026-11-22T10:00:00.000Z"}]
        }))
        .unwrap(),
    );
    nurse.seal("p-1001");
    let form = nurse.page.break_glass_form("p-1001", t0()).unwrap();
    assert!(!form.authorised);
    assert_eq!(form.exemption, None);
}

#[test]
fn within_the_reprompt_window_a_second_grant_needs_no_prompt() {
    let policy = exempting(json!({"repromptDays": 7}));
    let mut p = Page::with_policy(&policy, lead_session(json!({})));
    p.seal("p-1004");
    assert_eq!(
        p.page.break_glass_form("p-1004", t0()).unwrap().exemption,
        None
    );
    let first = p.granted("p-1004");
    let later = minutes(60);
    assert_eq!(
        p.page.break_glass_form("p-1004", later).unwrap().exemption,
        Some(Exemption::RecentGrant {
            granted_at: first.issued_at
        })
    );
    match p.break_glass("p-1004", &blank(), later) {
        BreakGlassResult::Granted { exemption, .. } => {
            assert!(matches!(exemption, Some(Exemption::RecentGrant { .. })));
        }
        other => panic!("{other:?}"),
    }
    let e = serde_json::to_value(p.last()).unwrap();
    assert_eq!(e["detail"]["exemption"], "recentGrant");
    assert_eq!(e["detail"]["priorGrantAt"], first.issued_at.to_string());
    // Eight days on, the window has passed: prompt again.
    let week = minutes(8 * 24 * 60);
    assert_eq!(
        p.page.break_glass_form("p-1004", week).unwrap().exemption,
        None
    );
}

#[test]
fn grants_of_earlier_page_loads_count_when_the_host_lists_them() {
    let policy = exempting(json!({"repromptDays": 3}));
    let prior = |at: &str| {
        lead_session(json!({"priorGrants": [
            {"recordId": "p-1004", "issuedAt": at},
            {"recordId": "p-1003", "issuedAt": "2026-11-23T08:00:00.000Z"}
        ]}))
    };
    let mut p = Page::with_policy(&policy, prior("2026-11-21T10:00:00.000Z"));
    p.seal("p-1004");
    assert_eq!(
        p.page.break_glass_form("p-1004", t0()).unwrap().exemption,
        Some(Exemption::RecentGrant {
            granted_at: Timestamp::parse("2026-11-21T10:00:00.000Z").unwrap()
        })
    );
    let mut p = Page::with_policy(&policy, prior("2026-11-19T10:00:00.000Z"));
    p.seal("p-1004");
    assert_eq!(
        p.page.break_glass_form("p-1004", t0()).unwrap().exemption,
        None
    );
    let e = checked(&json!({
        "userId": "u", "name": "n", "role": "r", "authStrength": "mfa",
        "authTime": "2026-11-23T09:59:00.000Z", "expiresAt": "2026-11-23T20:00:00.000Z",
        "sessionId": "s", "client": "c", "priorGrants": [{"recordId": "p-1"}]
    }))
    .unwrap_err();
    assert_eq!(e.pointer(), "/priorGrants/0", "{e}");
}
