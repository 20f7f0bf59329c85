//! Policy parsing: the default policy, its schema, and errors that name the
//! JSON Pointer of the offending value.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sealing_support;

use sealing_support::{policy, policy_value, DEFAULT_POLICY};
use sealtrail::policy::{Policy, PolicyError};
use serde_json::{json, Value};

/// A change to the default policy.
type Edit = Box<dyn Fn(&mut Value)>;

const SCHEMA: &str = include_str!("../pkg-config/policy.schema.json");

fn schema() -> jsonschema::Validator {
    let s: Value = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::draft202012::new(&s).unwrap()
}

/// The default policy with `edit` applied, parsed.
fn parse_edited(edit: impl FnOnce(&mut Value)) -> Result<Policy, PolicyError> {
    let mut v = policy_value();
    edit(&mut v);
    Policy::from_value(&v)
}

/// The pointer of the error the edited default policy gets.
fn error_at(edit: impl FnOnce(&mut Value)) -> (String, String) {
    let e = parse_edited(edit).expect_err("edited policy must be refused");
    (e.pointer().to_owned(), e.to_string())
}

#[test]
fn default_policy_parses_and_matches_the_schema() {
    let p = policy();
    assert_eq!(p.doc().roles.len(), 9);
    assert!(p.hash().starts_with("sha256:"));
    assert_eq!(p.hash().len(), 7 + 64);
    let v = policy_value();
    let errors: Vec<String> = schema().iter_errors(&v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "schema errors: {errors:?}");
}

#[test]
fn hash_is_of_the_canonical_form_and_ignores_layout() {
    let compact = serde_json::to_string(&policy_value()).unwrap();
    assert_eq!(Policy::parse(&compact).unwrap().hash(), policy().hash());
    let canonical = sealtrail::canon::to_vec(&policy_value()).unwrap();
    let expected = format!("sha256:{}", sealtrail::Digest::of(&canonical).to_hex());
    assert_eq!(policy().hash(), expected);
    let changed = parse_edited(|v| v["name"] = json!("other")).unwrap();
    assert_ne!(changed.hash(), policy().hash());
}

#[test]
fn unknown_members_are_named() {
    let (p, msg) = error_at(|v| v["roles"]["nurse"]["colour"] = json!("blue"));
    assert_eq!(p, "/roles/nurse/colour");
    assert!(msg.contains("unknown member `colour`"), "{msg}");
    assert!(!msg.contains("Role"), "no Rust type names: {msg}");
    let (p, _) = error_at(|v| v["roles"]["nurse"]["noteTypes"]["clinical"]["copy"] = json!("all"));
    assert_eq!(p, "/roles/nurse/noteTypes/clinical/copy");
    let (p, _) = error_at(|v| v["breakGlass"]["maxReason"] = json!(3));
    assert_eq!(p, "/breakGlass/maxReason");
    let (p, _) = error_at(|v| v["alerts"]["bulkAccess"]["records"] = json!(3));
    assert_eq!(p, "/alerts/bulkAccess/records");
    let (p, _) = error_at(|v| v["extra"] = json!(true));
    assert_eq!(p, "/extra");
    // Found by fuzzing: a name holding serde's words is kept as written.
    let (p, msg) = error_at(|v| v["roles"]["nurse"]["a map`, expected"] = json!(1));
    assert_eq!(p, "/roles/nurse/a map`, expected");
    assert!(msg.contains("unknown member `a map`, expected`"), "{msg}");
}

#[test]
fn wrong_types_are_named_in_json_words() {
    let (p, msg) = error_at(|v| v["session"]["maxAgeMinutes"] = json!("12"));
    assert_eq!(p, "/session/maxAgeMinutes");
    assert!(msg.contains("whole number"), "{msg}");
    assert!(!msg.contains("u32"), "{msg}");
    let (p, msg) =
        error_at(|v| v["roles"]["nurse"]["noteTypes"]["clinical"]["view"] = json!("ward"));
    assert_eq!(p, "/roles/nurse/noteTypes/clinical/view");
    assert!(msg.contains("`ward`"), "{msg}");
    let (p, _) = error_at(|v| v["fields"][2]["noteType"] = json!(7));
    assert_eq!(p, "/fields/2/noteType");
    let (p, msg) = error_at(|v| v["authStrengths"] = json!("mfa"));
    assert_eq!(p, "/authStrengths");
    assert!(msg.contains("an array"), "{msg}");
    let (p, _) = error_at(|v| v["grants"][0]["expiresAt"] = json!("next week"));
    assert_eq!(p, "/grants/0/expiresAt");
    let (p, msg) = error_at(|v| {
        v.as_object_mut().unwrap().remove("breakGlass");
    });
    assert_eq!(p, "");
    assert!(msg.contains("missing field `breakGlass`"), "{msg}");
}

#[test]
fn dangling_references_are_named() {
    let cases: Vec<(&str, Edit)> = vec![
        (
            "/roles/nurse/noteTypes/tarot",
            Box::new(|v| v["roles"]["nurse"]["noteTypes"]["tarot"] = json!({"view": "all"})),
        ),
        (
            "/breakGlass/roles/1",
            Box::new(|v| v["breakGlass"]["roles"] = json!(["admin", "janitor"])),
        ),
        (
            "/grants/0/role",
            Box::new(|v| {
                v["grants"][0].as_object_mut().unwrap().remove("user");
                v["grants"][0]["role"] = json!("intern");
            }),
        ),
        (
            "/grants/0/noteTypes/tarot",
            Box::new(|v| v["grants"][0]["noteTypes"] = json!({"tarot": {"view": "all"}})),
        ),
        (
            "/fields/0/noteType",
            Box::new(|v| v["fields"][0]["noteType"] = json!("dv")),
        ),
        (
            "/record/defaultNoteType",
            Box::new(|v| v["record"]["defaultNoteType"] = json!("misc")),
        ),
        (
            "/stepUp/0/authStrength",
            Box::new(|v| v["stepUp"][0]["authStrength"] = json!("retina")),
        ),
        (
            "/stepUp/2/noteTypes/0",
            Box::new(|v| v["stepUp"][2]["noteTypes"] = json!(["hiv"])),
        ),
    ];
    for (pointer, edit) in cases {
        let e = parse_edited(edit).expect_err(pointer);
        assert!(matches!(e, PolicyError::Dangling { .. }), "{pointer}: {e}");
        assert_eq!(e.pointer(), pointer, "{e}");
        assert!(e.to_string().contains(pointer), "{e}");
    }
}

#[test]
fn invalid_values_are_named() {
    let cases: Vec<(&str, Edit)> = vec![
        ("/version", Box::new(|v| v["version"] = json!(2))),
        (
            "/fields/1/pointer",
            Box::new(|v| v["fields"][1]["pointer"] = json!("riskFlags/dv")),
        ),
        (
            "/record/id",
            Box::new(|v| v["record"]["id"] = json!("/items/*")),
        ),
        (
            "/breakGlass/incidentRefPattern",
            Box::new(|v| v["breakGlass"]["incidentRefPattern"] = json!("INC-[0-9")),
        ),
        (
            "/breakGlass/reasonMaxChars",
            Box::new(|v| v["breakGlass"]["reasonMaxChars"] = json!(5)),
        ),
        (
            "/breakGlass/reasonCodes",
            Box::new(|v| v["breakGlass"]["reasonCodes"] = json!({})),
        ),
        (
            "/grants/0",
            Box::new(|v| v["grants"][0]["role"] = json!("nurse")),
        ),
        (
            "/grants/0/expiresAt",
            Box::new(|v| v["grants"][0]["expiresAt"] = json!("2026-10-01T00:00:00.000Z")),
        ),
        (
            "/noteTypes/hivStatus/sensitivity/0",
            Box::new(|v| v["noteTypes"]["hivStatus"]["sensitivity"] = json!(["hiv"])),
        ),
        (
            "/alerts/bulkAccess/windowMinutes",
            Box::new(|v| v["alerts"]["bulkAccess"]["windowMinutes"] = json!(0)),
        ),
        (
            "/authStrengths/2",
            Box::new(|v| v["authStrengths"] = json!(["password", "mfa", "mfa"])),
        ),
    ];
    for (pointer, edit) in cases {
        let e = parse_edited(edit).expect_err(pointer);
        assert_eq!(e.pointer(), pointer, "{e}");
    }
}

/// Time zone names are checked against the zone database, which only the `tz` feature has.
#[cfg(feature = "tz")]
#[test]
fn unknown_time_zones_are_named() {
    let (p, msg) = error_at(|v| v["alerts"]["businessHours"]["timeZone"] = json!("Mars/Olympus"));
    assert_eq!(p, "/alerts/businessHours/timeZone");
    assert!(msg.contains("`Mars/Olympus`"), "{msg}");
}

#[test]
fn syntax_errors_and_wrong_roots_are_refused() {
    assert!(matches!(
        Policy::parse("{\"version\": 1,"),
        Err(PolicyError::Syntax(_))
    ));
    let e = Policy::parse("[]").unwrap_err();
    assert_eq!(e.pointer(), "");
    assert!(!e.to_string().contains("PolicyDoc"), "{e}");
}

#[test]
fn defaults_fill_break_glass_and_alerts() {
    let p = parse_edited(|v| {
        v["breakGlass"] = json!({"reasonCodes": {"x": "X"}});
        v.as_object_mut().unwrap().remove("alerts");
    })
    .unwrap();
    let bg = &p.doc().break_glass;
    assert_eq!(bg.roles, ["admin", "safeguardingLead"]);
    assert_eq!((bg.reason_min_chars, bg.reason_max_chars), (10, 500));
    assert_eq!((bg.context_max_chars, bg.expires_minutes), (1000, 15));
    assert_eq!(p.doc().alerts, sealtrail::policy::AlertConfig::default());
}

/// The schema and the parser agree on what they refuse for shape errors.
#[test]
fn schema_and_parser_agree_on_shape_errors() {
    let validator = schema();
    let edits: Vec<Edit> = vec![
        Box::new(|v| v["roles"]["nurse"]["colour"] = json!("blue")),
        Box::new(|v| v["session"]["maxAgeMinutes"] = json!("12")),
        Box::new(|v| v["session"]["maxAgeMinutes"] = json!(-1)),
        Box::new(|v| v["noteTypes"]["general"]["confidentiality"] = json!("X")),
        Box::new(|v| v["stepUp"][0]["actions"] = json!(["teleport"])),
        Box::new(|v| v["grants"][0]["role"] = json!("nurse")),
        Box::new(|v| v["alerts"]["businessHours"]["start"] = json!("8:00")),
        Box::new(|v| v["alerts"]["offHoursSpike"] = json!({"significanceOneIn": 5})),
        Box::new(|v| v["alerts"]["recordIntegrity"] = json!({"keyFields": ["address"]})),
        Box::new(|v| v["alerts"]["demographicTargeting"] = json!({"minPopulation": 0})),
        Box::new(|v| v["breakGlass"]["incidentRefRequired"] = json!("yes")),
        Box::new(|v| v["review"]["routing"]["high"]["respondWithinMinutes"] = json!(0)),
        Box::new(|v| v["review"]["breakGlassSeverity"] = json!("low")),
        Box::new(|v| v["review"]["outcomes"][0]["id"] = json!("Care OK")),
        Box::new(|v| v["review"]["outcomes"] = json!([])),
        Box::new(|v| v["review"]["staffNames"] = json!("initials")),
        Box::new(|v| v["review"]["routing"]["critical"]["escalation"] = json!("director")),
        Box::new(|v| v["version"] = json!(2)),
        Box::new(|v| v["fields"][0]["pointer"] = json!("riskFlags")),
        Box::new(|v| {
            v.as_object_mut().unwrap().remove("roles");
        }),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let mut v = policy_value();
        edit(&mut v);
        assert!(!validator.is_valid(&v), "schema accepts edit {i}");
        assert!(Policy::from_value(&v).is_err(), "parser accepts edit {i}");
    }
    assert!(DEFAULT_POLICY.contains("\"alerts\""));
}

#[test]
fn arrays_in_place_of_objects_are_refused() {
    let (p, _) = error_at(|v| v["session"] = json!([720]));
    assert_eq!(p, "/session");
    let (p, _) = error_at(|v| v["fields"][0] = json!(["/riskFlags/dv", "dvIndicator"]));
    assert_eq!(p, "/fields/0");
}

/// Every example policy shipped in `pkg-config/` parses and validates.
#[test]
fn example_policies_parse_and_match_the_schema() {
    let youth = include_str!("../pkg-config/policy.youth-facility.json");
    let p = Policy::parse(youth).unwrap();
    assert!(p.doc().break_glass.incident_ref_required);
    let v: Value = serde_json::from_str(youth).unwrap();
    assert!(schema().is_valid(&v));
}

/// What the Rust model writes (every default filled in) is valid under the
/// schema and parses back to the same policy: the two describe one shape.
#[test]
fn the_model_and_the_schema_describe_the_same_shape() {
    let validator = schema();
    for text in [
        DEFAULT_POLICY,
        include_str!("../pkg-config/policy.youth-facility.json"),
    ] {
        let doc = Policy::parse(text).unwrap().doc().clone();
        let written = serde_json::to_value(&doc).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&written)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(Policy::from_value(&written).unwrap().doc(), &doc);
    }
}

/// The broken policies kept as fixtures (also for `sealtrail policy check`)
/// are refused at the pointer `expected-pointers.json` names.
#[test]
fn broken_policy_fixtures_are_refused_at_their_pointer() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policies");
    let expected: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected-pointers.json")).unwrap())
            .unwrap();
    assert!(expected.len() >= 5);
    for (name, pointer) in expected {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
        let e = Policy::parse(&text).expect_err(&name);
        assert_eq!(e.pointer(), pointer, "{name}: {e}");
        assert!(
            e.to_string().contains(&format!("`{pointer}`")),
            "{name}: {e}"
        );
    }
}

/// Review settings refused by the parser name their pointer under `/review`.
#[test]
fn review_settings_errors_name_their_pointer() {
    let (p, m) = error_at(|v| v["review"]["routing"]["high"]["respondWithinMinutes"] = json!(0));
    assert_eq!(p, "/review/routing/high/respondWithinMinutes");
    assert!(m.contains("at least 1"), "{m}");
    let (p, m) = error_at(|v| v["review"]["outcomes"][1]["id"] = json!("appropriate"));
    assert_eq!(p, "/review/outcomes/1/id");
    assert!(m.contains("defined twice"), "{m}");
    let (p, _) = error_at(|v| v["review"]["routing"]["medium"]["primary"] = json!(" "));
    assert_eq!(p, "/review/routing/medium/primary");
    let (p, _) = error_at(|v| v["review"]["outcomes"] = json!([]));
    assert_eq!(p, "/review/outcomes");
    let doc = policy().doc().clone();
    assert!(doc.review.outcome("inappropriate").unwrap().inappropriate);
    assert_eq!(
        doc.review
            .route(sealtrail::policy::CaseSeverity::Critical)
            .primary
            .as_deref(),
        Some("sg-001")
    );
}
