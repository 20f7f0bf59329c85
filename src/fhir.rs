//! Events as FHIR R4 `AuditEvent` resources, in a `Bundle`, in the spirit of
//! the IHE Basic Audit Log Patterns (BALP).
//!
//! Mapping, per event:
//!
//! | AuditEvent | from |
//! |---|---|
//! | `id` | `{chain}-{seq}` |
//! | `type`, `subtype` | the action: reads, searches, edits and deletes as BALP RESTful (`rest` + `restful-interaction`); export as DICOM `110106`; break-glass as DICOM `110113` Security Alert / `110127` Emergency Override Started; role change as `110113` / `110136` Security Roles Changed; audit-log reads as `110101`; step-up as `110114` User Authentication. Every event also carries its sealtrail action code as a second subtype coding |
//! | `action` | C/R/U/D/E from the action |
//! | `recorded` | `ts` |
//! | `outcome` | `success` 0, `denied` and `cancelled` 4 (minor failure), `error` 8 (serious failure), with `outcomeDesc` |
//! | `purposeOfEvent` | `purposeOfUse` in v3 `ActReason` (`BTG` = break the glass), with the reason text |
//! | `agent` | the actor: `who.identifier` = staff id, `role` = policy role, `requestor` true, `altId` = session id, `network` = ip, `policy` = the policy hash |
//! | `source` | observer = this chain (the page session), type `1` User Device, `site` = client |
//! | `entity` | the record: `what.identifier`, `securityLabel` from `labels` (v3 Confidentiality for N/R/V/L/M/U, v3 ActCode for sensitivity codes), `detail` for fields, note types, reason code, incident reference and action details |
//! | `extension` | the event's place in the chain (`seq`, `prev`, `hash`), so a reviewer can go back to the verified chain |

use serde_json::{json, Map, Value};

use crate::event::{Action, Event, Outcome, PURPOSE_BTG};

/// Code systems used.
const AUDIT_EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const RESTFUL_INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
/// sealtrail's own identifiers and codes.
const ST_ACTION: &str = "urn:sealtrail:action";
const ST_STAFF: &str = "urn:sealtrail:staff";
const ST_ROLE: &str = "urn:sealtrail:role";
const ST_RECORD: &str = "urn:sealtrail:record";
const ST_CHAIN: &str = "urn:sealtrail:chain";
const ST_CHAIN_LINK: &str = "urn:sealtrail:fhir:chain-link";

/// Which kind of Bundle to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BundleType {
    /// `collection`: an export of events.
    #[default]
    Collection,
    /// `searchset`: the answer to a search, with `total` and `search.mode`.
    Searchset,
}

/// A FHIR R4 `Bundle` of one `AuditEvent` per event, in the order given.
pub fn bundle<'a>(events: impl IntoIterator<Item = &'a Event>, kind: BundleType) -> Value {
    let entries: Vec<Value> = events
        .into_iter()
        .map(|e| match kind {
            BundleType::Collection => json!({ "resource": audit_event(e) }),
            BundleType::Searchset => {
                json!({ "resource": audit_event(e), "search": { "mode": "match" } })
            }
        })
        .collect();
    let mut b = Map::new();
    b.insert("resourceType".into(), "Bundle".into());
    match kind {
        BundleType::Collection => {
            b.insert("type".into(), "collection".into());
        }
        BundleType::Searchset => {
            b.insert("type".into(), "searchset".into());
            b.insert("total".into(), entries.len().into());
        }
    }
    // FHIR forbids empty arrays: a Bundle with nothing in it has no `entry`.
    if !entries.is_empty() {
        b.insert("entry".into(), entries.into());
    }
    Value::Object(b)
}

/// One event as a FHIR R4 `AuditEvent`.
pub fn audit_event(e: &Event) -> Value {
    let d = &e.body;
    let (type_coding, subtype, action) = classify(&d.action);
    let mut subtypes: Vec<Value> = subtype.into_iter().collect();
    subtypes.push(json!({ "system": ST_ACTION, "code": d.action.as_str() }));

    let mut r = Map::new();
    r.insert("resourceType".into(), "AuditEvent".into());
    r.insert("id".into(), format!("{}-{}", e.chain, e.seq).into());
    r.insert(
        "extension".into(),
        json!([{
            "url": ST_CHAIN_LINK,
            "extension": [
                { "url": "seq", "valueInteger": e.seq },
                { "url": "prev", "valueString": e.prev.to_hex() },
                { "url": "hash", "valueString": e.hash.to_hex() },
            ]
        }]),
    );
    r.insert("type".into(), type_coding);
    r.insert("subtype".into(), subtypes.into());
    r.insert("action".into(), action.into());
    r.insert("recorded".into(), e.ts.to_string().into());
    let (code, desc) = match d.outcome {
        Outcome::Success => ("0", None),
        Outcome::Denied => ("4", Some("denied by policy")),
        Outcome::Cancelled => ("4", Some("cancelled by the user")),
        Outcome::Error => ("8", Some("failed for a technical reason")),
    };
    r.insert("outcome".into(), code.into());
    if let Some(desc) = desc {
        r.insert("outcomeDesc".into(), desc.into());
    }
    if let Some(p) = &d.purpose_of_use {
        let mut coding = json!({ "system": ACT_REASON, "code": p });
        if p == PURPOSE_BTG {
            set(&mut coding, "display", "break the glass");
        }
        let mut concept = json!({ "coding": [coding] });
        if let Some(reason) = &d.reason {
            set(&mut concept, "text", reason.text.clone());
        }
        r.insert("purposeOfEvent".into(), json!([concept]));
    }
    r.insert("agent".into(), json!([agent(e)]));
    let mut source = json!({
        "observer": { "identifier": { "system": ST_CHAIN, "value": e.chain.as_str() }, "display": "sealtrail" },
        "type": [{ "system": SOURCE_TYPE, "code": "1", "display": "User Device" }],
    });
    if let Some(client) = d.session.as_ref().and_then(|s| s.client.as_ref()) {
        set(&mut source, "site", client.clone());
    }
    r.insert("source".into(), source);
    if let Some(entity) = entity(e) {
        r.insert("entity".into(), json!([entity]));
    }
    let mut resource = Value::Object(r);
    prune(&mut resource);
    resource
}

/// FHIR forbids empty strings, and objects and arrays with nothing in them:
/// drops them, deepest first, so an event's empty member never becomes `""`
/// in a resource. Returns whether `v` itself is worth keeping.
fn prune(v: &mut Value) -> bool {
    match v {
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => {
            items.retain_mut(prune);
            !items.is_empty()
        }
        Value::Object(members) => {
            members.retain(|_, m| prune(m));
            !members.is_empty()
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

/// `type`, the standard `subtype` coding (if any) and the `action` code.
fn classify(action: &Action) -> (Value, Option<Value>, &'static str) {
    let rest =
        json!({ "system": AUDIT_EVENT_TYPE, "code": "rest", "display": "RESTful Operation" });
    let interaction = |code: &str| json!({ "system": RESTFUL_INTERACTION, "code": code });
    let dcm =
        |code: &str, display: &str| json!({ "system": DICOM, "code": code, "display": display });
    let alert = dcm("110113", "Security Alert");
    match action {
        Action::View | Action::ViewSealed | Action::Unseal | Action::Deny => {
            (rest, Some(interaction("read")), "R")
        }
        Action::Search => (rest, Some(interaction("search-type")), "E"),
        Action::Edit => (rest, Some(interaction("update")), "U"),
        Action::Delete => (rest, Some(interaction("delete")), "D"),
        Action::Export | Action::Print => (dcm("110106", "Export"), None, "R"),
        Action::BreakGlass => (
            alert,
            Some(dcm("110127", "Emergency Override Started")),
            "E",
        ),
        Action::RoleChange => (alert, Some(dcm("110136", "Security Roles Changed")), "U"),
        Action::StepUpRequired => (dcm("110114", "User Authentication"), None, "E"),
        Action::AuditRead => (dcm("110101", "Audit Log Used"), None, "R"),
        Action::Other(_) => (json!({ "system": ST_ACTION, "code": "other" }), None, "E"),
    }
}

/// The actor as the requesting agent.
fn agent(e: &Event) -> Value {
    let d = &e.body;
    let mut who = json!({ "identifier": { "system": ST_STAFF, "value": d.actor.id } });
    if let Some(name) = &d.actor.name {
        set(&mut who, "display", name.clone());
    }
    let mut a = json!({
        "type": { "coding": [{ "system": PARTICIPATION, "code": "IRCP", "display": "information recipient" }] },
        "who": who,
        "role": [{ "coding": [{ "system": ST_ROLE, "code": d.actor.role }], "text": d.actor.role }],
        "requestor": true,
    });
    if let Some(s) = &d.session {
        set(&mut a, "altId", s.id.clone());
        if let Some(ip) = &s.ip {
            set(&mut a, "network", json!({ "address": ip, "type": "2" }));
        }
    }
    if let Some(p) = &d.policy {
        set(&mut a, "policy", json!([p]));
    }
    a
}

/// The record touched, with its labels and the event's details.
fn entity(e: &Event) -> Option<Value> {
    let d = &e.body;
    let mut details: Vec<Value> = Vec::new();
    // A detail is its type and value, both required: an empty one says nothing.
    let mut detail = |kind: &str, value: &str| {
        if !kind.is_empty() && !value.is_empty() {
            details.push(json!({ "type": kind, "valueString": value }));
        }
    };
    for f in &d.fields {
        detail("field", f);
    }
    for n in &d.note_types {
        detail("noteType", n);
    }
    if let Some(reason) = &d.reason {
        detail("reasonCode", &reason.code);
        if let Some(ctx) = &reason.context {
            detail("reasonContext", ctx);
        }
        if let Some(inc) = &reason.incident_ref {
            detail("incidentRef", inc);
        }
    }
    for (k, v) in &d.detail {
        match v {
            Value::String(s) => detail(k, s),
            other => detail(k, &other.to_string()),
        }
    }
    if d.subject.is_none() && details.is_empty() {
        return None;
    }
    let mut ent = Map::new();
    if let Some(s) = &d.subject {
        let mut what = json!({ "identifier": { "system": ST_RECORD, "value": s.record_id } });
        if let Some(t) = &s.record_type {
            set(&mut what, "display", format!("{t} {}", s.record_id));
        }
        ent.insert("what".into(), what);
        ent.insert(
            "type".into(),
            json!({ "system": ENTITY_TYPE, "code": "1", "display": "Person" }),
        );
        ent.insert(
            "role".into(),
            json!({ "system": OBJECT_ROLE, "code": "1", "display": "Patient" }),
        );
    }
    if !d.labels.is_empty() {
        let labels: Vec<Value> = d
            .labels
            .iter()
            .map(|l| {
                let system = if matches!(l.as_str(), "U" | "L" | "M" | "N" | "R" | "V") {
                    CONFIDENTIALITY
                } else {
                    ACT_CODE
                };
                json!({ "system": system, "code": l })
            })
            .collect();
        ent.insert("securityLabel".into(), labels.into());
    }
    if !details.is_empty() {
        ent.insert("detail".into(), details.into());
    }
    Some(Value::Object(ent))
}

/// Adds a member to a JSON object built with `json!` (no-op on non-objects,
/// which never happens here).
fn set(target: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(m) = target.as_object_mut() {
        m.insert(key.to_owned(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ChainWriter;
    use crate::event::ChainId;
    use crate::event::{Actor, EventDraft, Reason, Relation, SessionRef, Subject};
    use crate::Timestamp;

    fn draft(action: Action, role: &str) -> EventDraft {
        let mut d = EventDraft::new(
            Actor {
                id: "s1".into(),
                role: role.into(),
                name: Some("Sam Lead".into()),
                auth_strength: Some("mfa".into()),
                team: None,
            },
            action,
            Outcome::Success,
        );
        d.subject = Some(Subject {
            record_id: "y42".into(),
            record_type: Some("youth".into()),
            relation: Some(Relation::Unassigned),
            demographics: Default::default(),
            related: false,
        });
        d.session = Some(SessionRef {
            id: "sess-1".into(),
            ip: Some("10.0.0.7".into()),
            client: Some("CareBridge/2.1".into()),
        });
        d.policy = Some(format!("sha256:{}", "a".repeat(64)));
        d
    }

    fn events() -> Vec<Event> {
        let mut w = ChainWriter::new(ChainId::parse(&"c".repeat(32)).unwrap());
        let mut bg = draft(Action::BreakGlass, "safeguarding");
        bg.purpose_of_use = Some("BTG".into());
        bg.fields = vec!["/notes/3".into()];
        bg.note_types = vec!["domesticViolence".into()];
        bg.labels = vec!["R".into(), "SDV".into()];
        bg.reason = Some(Reason {
            code: "safeguarding-concern".into(),
            text: "disclosure reported by school".into(),
            context: None,
            incident_ref: Some("INC-7".into()),
        });
        let mut view = draft(Action::View, "nurse");
        view.purpose_of_use = Some("TREAT".into());
        view.outcome = Outcome::Denied;
        let t = Timestamp::parse("2026-11-23T06:00:00.123Z").unwrap();
        vec![w.append(bg, t).unwrap(), w.append(view, t).unwrap()]
    }

    #[test]
    fn break_glass_is_an_emergency_override_with_btg() {
        let evs = events();
        let b = bundle(&evs, BundleType::Collection);
        assert_eq!(b["resourceType"], "Bundle");
        assert_eq!(b["type"], "collection");
        let ae = &b["entry"][0]["resource"];
        assert_eq!(ae["resourceType"], "AuditEvent");
        assert_eq!(ae["id"], format!("{}-0", "c".repeat(32)));
        assert_eq!(ae["type"]["system"], DICOM);
        assert_eq!(ae["type"]["code"], "110113");
        assert_eq!(ae["subtype"][0]["code"], "110127");
        assert_eq!(ae["subtype"][1]["code"], "break-glass");
        assert_eq!(ae["action"], "E");
        assert_eq!(ae["recorded"], "2026-11-23T06:00:00.123Z");
        assert_eq!(ae["outcome"], "0");
        assert_eq!(ae["purposeOfEvent"][0]["coding"][0]["system"], ACT_REASON);
        assert_eq!(ae["purposeOfEvent"][0]["coding"][0]["code"], "BTG");
        assert_eq!(
            ae["purposeOfEvent"][0]["text"],
            "disclosure reported by school"
        );
        let agent = &ae["agent"][0];
        assert_eq!(agent["who"]["identifier"]["value"], "s1");
        assert_eq!(agent["who"]["display"], "Sam Lead");
        assert_eq!(agent["role"][0]["coding"][0]["code"], "safeguarding");
        assert_eq!(agent["requestor"], true);
        assert_eq!(agent["network"]["address"], "10.0.0.7");
        assert_eq!(agent["policy"][0], format!("sha256:{}", "a".repeat(64)));
        assert_eq!(
            ae["source"]["observer"]["identifier"]["value"],
            "c".repeat(32)
        );
        assert_eq!(ae["source"]["site"], "CareBridge/2.1");
        let ent = &ae["entity"][0];
        assert_eq!(ent["what"]["identifier"]["value"], "y42");
        assert_eq!(ent["securityLabel"][0]["system"], CONFIDENTIALITY);
        assert_eq!(ent["securityLabel"][0]["code"], "R");
        assert_eq!(ent["securityLabel"][1]["system"], ACT_CODE);
        assert_eq!(ent["securityLabel"][1]["code"], "SDV");
        let details = ent["detail"].as_array().unwrap();
        assert!(details.contains(&json!({"type": "field", "valueString": "/notes/3"})));
        assert!(details.contains(&json!({"type": "incidentRef", "valueString": "INC-7"})));
        assert_eq!(
            ae["extension"][0]["extension"][2]["valueString"],
            evs[0].hash.to_hex()
        );
    }

    #[test]
    fn a_denied_view_is_a_rest_read_with_minor_failure() {
        let evs = events();
        let b = bundle(&evs, BundleType::Searchset);
        assert_eq!(b["type"], "searchset");
        assert_eq!(b["total"], 2);
        assert_eq!(b["entry"][1]["search"]["mode"], "match");
        let ae = &b["entry"][1]["resource"];
        assert_eq!(ae["type"]["system"], AUDIT_EVENT_TYPE);
        assert_eq!(ae["type"]["code"], "rest");
        assert_eq!(ae["subtype"][0]["system"], RESTFUL_INTERACTION);
        assert_eq!(ae["subtype"][0]["code"], "read");
        assert_eq!(ae["action"], "R");
        assert_eq!(ae["outcome"], "4");
        assert_eq!(ae["outcomeDesc"], "denied by policy");
        assert_eq!(ae["purposeOfEvent"][0]["coding"][0]["code"], "TREAT");
        assert!(ae["purposeOfEvent"][0].get("text").is_none());
        assert!(ae["entity"][0].get("securityLabel").is_none());
    }

    /// Every string in `v`, with its JSON Pointer.
    fn strings(v: &Value, at: String, out: &mut Vec<(String, String)>) {
        match v {
            Value::String(s) => out.push((at, s.clone())),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| strings(x, format!("{at}/{i}"), out)),
            Value::Object(m) => m
                .iter()
                .for_each(|(k, x)| strings(x, format!("{at}/{k}"), out)),
            _ => {}
        }
    }

    #[test]
    fn an_empty_bundle_has_no_entry_array() {
        for kind in [BundleType::Collection, BundleType::Searchset] {
            let b = bundle(std::iter::empty(), kind);
            assert!(b.get("entry").is_none(), "{b}");
        }
        assert_eq!(
            bundle(std::iter::empty(), BundleType::Searchset)["total"],
            0
        );
    }

    #[test]
    fn empty_members_never_become_empty_strings() {
        let mut w = ChainWriter::new(ChainId::parse(&"d".repeat(32)).unwrap());
        let mut d = draft(Action::Search, "");
        d.actor.name = Some(String::new());
        d.detail.insert("query".into(), json!(""));
        d.fields = vec![String::new()];
        d.session = Some(SessionRef {
            id: String::new(),
            ip: Some(String::new()),
            client: Some(String::new()),
        });
        let e = w
            .append(d, Timestamp::parse("2026-03-02T10:00:00.000Z").unwrap())
            .unwrap();
        let ae = audit_event(&e);
        let mut found = Vec::new();
        strings(&ae, String::new(), &mut found);
        let empty: Vec<_> = found.iter().filter(|(_, s)| s.is_empty()).collect();
        assert!(empty.is_empty(), "{empty:?} in {ae}");
        assert!(ae.pointer("/entity/0/detail").is_none(), "{ae}");
        assert_eq!(ae["entity"][0]["what"]["identifier"]["value"], "y42");
    }
}
