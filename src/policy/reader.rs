//! The policy document read from a JSON value by hand, with the helpers
//! of [`crate::by_hand`]: one small function per struct where the derived
//! `Deserialize` compiled a visitor, a field identifier and a map loop per
//! struct (about 80 KB of the shipped `.wasm` for a document read once per
//! page). Every message and JSON Pointer is serde's own, met in the same
//! order; the test below holds it to the derived reader on every member of
//! the shipped policies set to every kind of value. The derived
//! `Deserialize` stays as that reference, and for Rust callers that read
//! one member alone; the `.wasm` never compiles it.

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde_json::Value;

use super::alert_config::{
    AlertConfig, BulkAccess, BusinessHours, ConcurrentAccess, LocalTime, RepeatedUnassigned,
    Weekday,
};
use super::alert_patterns::{ClockDrift, DemographicTargeting, OffHoursSpike, RecordIntegrity};
use super::model::{
    BreakGlassRules, Confidentiality, FieldPermissions, FieldRule, Grant, HostPermissions, Limits,
    NoteRule, NoteType, Operation, PolicyDoc, PromptExemptions, RecordLayout, Role, Scope,
    SessionRules, StepUpRule,
};
use super::review_config::{CaseSeverity, OutcomeDef, ReviewConfig, Route, Routing, StaffNames};

use crate::by_hand::{
    any, boolean, fail, list, map, object, opt, required, string, timestamp, uint, variant, Error,
    Path, OBJECT, R,
};

/// `value` read as a policy document, or the JSON Pointer of what is wrong
/// and what is wrong with it (the same pair `located::from_value` gives).
pub(crate) fn policy_doc(value: &Value) -> Result<PolicyDoc, (String, String)> {
    doc(value, &Path::Root).map_err(crate::by_hand::Failed::located)
}

fn local_time(v: &Value, at: &Path<'_>) -> R<LocalTime> {
    let s = string(v, at)?;
    LocalTime::parse(&s).or_else(|e| fail(at, Error::custom(e)))
}

fn doc(v: &Value, at: &Path<'_>) -> R<PolicyDoc> {
    const FIELDS: &[&str] = &[
        "version",
        "name",
        "description",
        "record",
        "noteTypes",
        "fields",
        "notes",
        "roles",
        "grants",
        "session",
        "authStrengths",
        "stepUp",
        "breakGlass",
        "alerts",
        "limits",
        "conditions",
        "tests",
        "review",
    ];
    let (mut version, mut name, mut description, mut record, mut note_types) =
        (None, None, None, None, None);
    let (mut fields, mut notes, mut roles, mut grants, mut session) =
        (Vec::new(), Vec::new(), None, Vec::new(), None);
    let (mut auth_strengths, mut step_up, mut break_glass) = (None, Vec::new(), None);
    let (mut alerts, mut limits, mut conditions, mut tests, mut review) = (
        AlertConfig::default(),
        Limits::default(),
        BTreeMap::new(),
        None,
        ReviewConfig::default(),
    );
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => version = Some(uint(x, p)?),
            1 => name = Some(string(x, p)?),
            2 => description = opt(x, p, string)?,
            3 => record = Some(record_layout(x, p)?),
            4 => note_types = Some(map(x, p, note_type)?),
            5 => fields = list(x, p, field_rule)?,
            6 => notes = list(x, p, note_rule)?,
            7 => roles = Some(map(x, p, role)?),
            8 => grants = list(x, p, grant)?,
            9 => session = Some(session_rules(x, p)?),
            10 => auth_strengths = Some(list(x, p, string)?),
            11 => step_up = list(x, p, step_up_rule)?,
            12 => break_glass = Some(break_glass_rules(x, p)?),
            13 => alerts = alert_config(x, p)?,
            14 => limits = size_limits(x, p)?,
            15 => conditions = map(x, p, any)?,
            16 => tests = opt(x, p, any)?,
            _ => review = review_config(x, p)?,
        }
        Ok(())
    })?;
    Ok(PolicyDoc {
        version: required(version, at, "version")?,
        name: required(name, at, "name")?,
        description,
        record: required(record, at, "record")?,
        note_types: required(note_types, at, "noteTypes")?,
        fields,
        notes,
        roles: required(roles, at, "roles")?,
        grants,
        session: required(session, at, "session")?,
        auth_strengths: required(auth_strengths, at, "authStrengths")?,
        step_up,
        break_glass: required(break_glass, at, "breakGlass")?,
        alerts,
        limits,
        conditions,
        tests,
        review,
    })
}

fn record_layout(v: &Value, at: &Path<'_>) -> R<RecordLayout> {
    const FIELDS: &[&str] = &[
        "id",
        "type",
        "team",
        "demographics",
        "defaultNoteType",
        "facility",
        "unit",
        "encounterStatus",
        "treatingTeam",
        "restricted",
        "excludedStaff",
        "consents",
        "defaults",
    ];
    let mut id = None;
    let mut default_note_type = None;
    let mut demographics = BTreeMap::new();
    let mut defaults = BTreeMap::new();
    // The optional pointers, by their index in `FIELDS`.
    let mut pointers: [Option<String>; 13] = Default::default();
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => id = Some(string(x, p)?),
            3 => demographics = map(x, p, string)?,
            4 => default_note_type = Some(string(x, p)?),
            12 => defaults = map(x, p, any)?,
            i => {
                if let Some(slot) = pointers.get_mut(i) {
                    *slot = opt(x, p, string)?;
                }
            }
        }
        Ok(())
    })?;
    let id = required(id, at, "id")?;
    let default_note_type = required(default_note_type, at, "defaultNoteType")?;
    let [_, record_type, team, _, _, facility, unit, encounter_status, treating_team, restricted, excluded_staff, consents, _] =
        pointers;
    Ok(RecordLayout {
        id,
        record_type,
        team,
        demographics,
        default_note_type,
        facility,
        unit,
        encounter_status,
        treating_team,
        restricted,
        excluded_staff,
        consents,
        defaults,
    })
}

fn note_type(v: &Value, at: &Path<'_>) -> R<NoteType> {
    const FIELDS: &[&str] = &["label", "confidentiality", "sensitivity"];
    let (mut label, mut confidentiality, mut sensitivity) = (None, None, Vec::new());
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => label = Some(string(x, p)?),
            1 => confidentiality = Some(confidentiality_code(x, p)?),
            _ => sensitivity = list(x, p, string)?,
        }
        Ok(())
    })?;
    Ok(NoteType {
        label: required(label, at, "label")?,
        confidentiality: required(confidentiality, at, "confidentiality")?,
        sensitivity,
    })
}

fn confidentiality_code(v: &Value, at: &Path<'_>) -> R<Confidentiality> {
    use Confidentiality as C;
    variant(
        v,
        at,
        &["U", "L", "M", "N", "R", "V"],
        &[C::U, C::L, C::M, C::N, C::R, C::V],
    )
}

fn field_rule(v: &Value, at: &Path<'_>) -> R<FieldRule> {
    const FIELDS: &[&str] = &["pointer", "noteType"];
    let (mut pointer, mut note_type) = (None, None);
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => pointer = Some(string(x, p)?),
            _ => note_type = Some(string(x, p)?),
        }
        Ok(())
    })?;
    Ok(FieldRule {
        pointer: required(pointer, at, "pointer")?,
        note_type: required(note_type, at, "noteType")?,
    })
}

fn note_rule(v: &Value, at: &Path<'_>) -> R<NoteRule> {
    const FIELDS: &[&str] = &["pointer", "typeMember", "metaMembers"];
    let (mut pointer, mut type_member, mut meta_members) = (None, None, Vec::new());
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => pointer = Some(string(x, p)?),
            1 => type_member = Some(string(x, p)?),
            _ => meta_members = list(x, p, string)?,
        }
        Ok(())
    })?;
    Ok(NoteRule {
        pointer: required(pointer, at, "pointer")?,
        type_member: required(type_member, at, "typeMember")?,
        meta_members,
    })
}

fn scope(v: &Value, at: &Path<'_>) -> R<Scope> {
    variant(
        v,
        at,
        &["caseload", "team", "all"],
        &[Scope::Caseload, Scope::Team, Scope::All],
    )
}

fn field_permissions(v: &Value, at: &Path<'_>) -> R<FieldPermissions> {
    const FIELDS: &[&str] = &["view", "edit", "export", "print", "delete", "when"];
    let mut out = FieldPermissions::default();
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        let slot = match i {
            0 => &mut out.view,
            1 => &mut out.edit,
            2 => &mut out.export,
            3 => &mut out.print,
            4 => &mut out.delete,
            _ => {
                out.when = opt(x, p, any)?;
                return Ok(());
            }
        };
        *slot = opt(x, p, scope)?;
        Ok(())
    })?;
    Ok(out)
}

fn host_permissions(v: &Value, at: &Path<'_>) -> R<HostPermissions> {
    const FIELDS: &[&str] = &[
        "search",
        "export",
        "print",
        "edit",
        "delete",
        "roleChange",
        "when",
    ];
    let mut out = HostPermissions::default();
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        let slot = match i {
            0 => &mut out.search,
            1 => &mut out.export,
            2 => &mut out.print,
            3 => &mut out.edit,
            4 => &mut out.delete,
            5 => &mut out.role_change,
            _ => {
                out.when = opt(x, p, any)?;
                return Ok(());
            }
        };
        *slot = opt(x, p, scope)?;
        Ok(())
    })?;
    Ok(out)
}

fn role(v: &Value, at: &Path<'_>) -> R<Role> {
    const FIELDS: &[&str] = &["label", "noteTypes", "hostActions", "when"];
    let mut label = None;
    let mut note_types = BTreeMap::new();
    let mut host_actions = HostPermissions::default();
    let mut when = None;
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => label = Some(string(x, p)?),
            1 => note_types = map(x, p, field_permissions)?,
            2 => host_actions = host_permissions(x, p)?,
            _ => when = opt(x, p, any)?,
        }
        Ok(())
    })?;
    Ok(Role {
        label: required(label, at, "label")?,
        note_types,
        host_actions,
        when,
    })
}

fn grant(v: &Value, at: &Path<'_>) -> R<Grant> {
    const FIELDS: &[&str] = &[
        "id",
        "user",
        "role",
        "noteTypes",
        "hostActions",
        "notBefore",
        "expiresAt",
        "reason",
        "when",
    ];
    let (mut id, mut user, mut role, mut reason) = (None, None, None, None);
    let mut note_types = BTreeMap::new();
    let mut host_actions = HostPermissions::default();
    let (mut not_before, mut expires_at, mut when) = (None, None, None);
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => id = Some(string(x, p)?),
            1 => user = opt(x, p, string)?,
            2 => role = opt(x, p, string)?,
            3 => note_types = map(x, p, field_permissions)?,
            4 => host_actions = host_permissions(x, p)?,
            5 => not_before = opt(x, p, timestamp)?,
            6 => expires_at = Some(timestamp(x, p)?),
            7 => reason = opt(x, p, string)?,
            _ => when = opt(x, p, any)?,
        }
        Ok(())
    })?;
    Ok(Grant {
        id: required(id, at, "id")?,
        user,
        role,
        note_types,
        host_actions,
        not_before,
        expires_at: required(expires_at, at, "expiresAt")?,
        reason,
        when,
    })
}

fn session_rules(v: &Value, at: &Path<'_>) -> R<SessionRules> {
    const FIELDS: &[&str] = &["maxAgeMinutes"];
    let mut max_age_minutes = None;
    object(v, at, OBJECT, FIELDS, &mut |_, x, p| {
        max_age_minutes = Some(uint(x, p)?);
        Ok(())
    })?;
    Ok(SessionRules {
        max_age_minutes: required(max_age_minutes, at, "maxAgeMinutes")?,
    })
}

fn operation(v: &Value, at: &Path<'_>) -> R<Operation> {
    use Operation as O;
    variant(
        v,
        at,
        &[
            "view",
            "edit",
            "export",
            "print",
            "delete",
            "search",
            "roleChange",
        ],
        &[
            O::View,
            O::Edit,
            O::Export,
            O::Print,
            O::Delete,
            O::Search,
            O::RoleChange,
        ],
    )
}

fn step_up_rule(v: &Value, at: &Path<'_>) -> R<StepUpRule> {
    const FIELDS: &[&str] = &[
        "actions",
        "noteTypes",
        "authStrength",
        "maxAgeMinutes",
        "when",
    ];
    let (mut actions, mut note_types, mut auth_strength) = (None, None, None);
    let (mut max_age_minutes, mut when) = (None, None);
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => actions = Some(list(x, p, operation)?),
            1 => note_types = opt(x, p, |x, p| list(x, p, string))?,
            2 => auth_strength = Some(string(x, p)?),
            3 => max_age_minutes = Some(uint(x, p)?),
            _ => when = opt(x, p, any)?,
        }
        Ok(())
    })?;
    Ok(StepUpRule {
        actions: required(actions, at, "actions")?,
        note_types,
        auth_strength: required(auth_strength, at, "authStrength")?,
        max_age_minutes: required(max_age_minutes, at, "maxAgeMinutes")?,
        when,
    })
}

fn break_glass_rules(v: &Value, at: &Path<'_>) -> R<BreakGlassRules> {
    const FIELDS: &[&str] = &[
        "roles",
        "reasonCodes",
        "reasonMinChars",
        "reasonMaxChars",
        "contextMaxChars",
        "incidentRefPattern",
        "incidentRefRequired",
        "expiresMinutes",
        "when",
        "exemptions",
    ];
    let (mut roles, mut reason_codes) = (None, None);
    let (mut reason_min_chars, mut reason_max_chars, mut context_max_chars) = (10, 500, 1000);
    let (mut incident_ref_pattern, mut incident_ref_required) = (None, false);
    let (mut expires_minutes, mut when) = (15, None);
    let mut exemptions = PromptExemptions::default();
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => roles = Some(list(x, p, string)?),
            1 => reason_codes = Some(map(x, p, string)?),
            2 => reason_min_chars = uint(x, p)?,
            3 => reason_max_chars = uint(x, p)?,
            4 => context_max_chars = uint(x, p)?,
            5 => incident_ref_pattern = opt(x, p, string)?,
            6 => incident_ref_required = boolean(x, p)?,
            7 => expires_minutes = uint(x, p)?,
            8 => when = opt(x, p, any)?,
            _ => exemptions = prompt_exemptions(x, p)?,
        }
        Ok(())
    })?;
    Ok(BreakGlassRules {
        roles: roles.unwrap_or_else(|| vec!["admin".to_owned(), "safeguardingLead".to_owned()]),
        reason_codes: required(reason_codes, at, "reasonCodes")?,
        reason_min_chars,
        reason_max_chars,
        context_max_chars,
        incident_ref_pattern,
        incident_ref_required,
        expires_minutes,
        when,
        exemptions,
    })
}

fn prompt_exemptions(v: &Value, at: &Path<'_>) -> R<PromptExemptions> {
    const FIELDS: &[&str] = &["treatingTeam", "repromptDays"];
    let mut out = PromptExemptions::default();
    object(v, at, "struct PromptExemptions", FIELDS, &mut |i, x, p| {
        match i {
            0 => out.treating_team = boolean(x, p)?,
            _ => out.reprompt_days = uint(x, p)?,
        }
        Ok(())
    })?;
    Ok(out)
}

fn size_limits(v: &Value, at: &Path<'_>) -> R<Limits> {
    const FIELDS: &[&str] = &["eventMaxBytes", "recordMaxBytes"];
    let mut out = Limits::default();
    object(v, at, OBJECT, FIELDS, &mut |i, x, p| {
        match i {
            0 => out.event_max_bytes = uint(x, p)?,
            _ => out.record_max_bytes = uint(x, p)?,
        }
        Ok(())
    })?;
    Ok(out)
}

fn alert_config(v: &Value, at: &Path<'_>) -> R<AlertConfig> {
    const FIELDS: &[&str] = &[
        "businessHours",
        "bulkAccess",
        "repeatedUnassigned",
        "concurrentAccess",
        "exportActions",
        "roleChangeActions",
        "carePurposes",
        "offHoursSpike",
        "demographicTargeting",
        "recordIntegrity",
        "clockDrift",
    ];
    let mut out = AlertConfig::default();
    object(v, at, "struct AlertConfig", FIELDS, &mut |i, x, p| {
        match i {
            0 => out.business_hours = business_hours(x, p)?,
            1 => out.bulk_access = bulk_access(x, p)?,
            2 => out.repeated_unassigned = repeated_unassigned(x, p)?,
            3 => out.concurrent_access = concurrent_access(x, p)?,
            4 => out.export_actions = list(x, p, string)?,
            5 => out.role_change_actions = list(x, p, string)?,
            6 => out.care_purposes = list(x, p, string)?,
            7 => out.off_hours_spike = off_hours_spike(x, p)?,
            8 => out.demographic_targeting = demographic_targeting(x, p)?,
            9 => out.record_integrity = record_integrity(x, p)?,
            _ => out.clock_drift = clock_drift(x, p)?,
        }
        Ok(())
    })?;
    Ok(out)
}

fn weekday(v: &Value, at: &Path<'_>) -> R<Weekday> {
    use Weekday as W;
    variant(
        v,
        at,
        &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        &[W::Mon, W::Tue, W::Wed, W::Thu, W::Fri, W::Sat, W::Sun],
    )
}

fn business_hours(v: &Value, at: &Path<'_>) -> R<BusinessHours> {
    const FIELDS: &[&str] = &["timeZone", "days", "start", "end"];
    let mut out = BusinessHours::default();
    object(v, at, "struct BusinessHours", FIELDS, &mut |i, x, p| {
        match i {
            0 => out.time_zone = string(x, p)?,
            1 => out.days = list(x, p, weekday)?,
            2 => out.start = local_time(x, p)?,
            _ => out.end = local_time(x, p)?,
        }
        Ok(())
    })?;
    Ok(out)
}

/// The settings objects made of whole numbers only, each member a `u32`
/// slot: `slots` gives them in the order of `fields`.
fn numbers(
    v: &Value,
    at: &Path<'_>,
    expecting: &str,
    fields: &'static [&'static str],
    slots: &mut [&mut u32],
) -> R<()> {
    object(v, at, expecting, fields, &mut |i, x, p| {
        let n = uint(x, p)?;
        if let Some(slot) = slots.get_mut(i) {
            **slot = n;
        }
        Ok(())
    })
}

fn bulk_access(v: &Value, at: &Path<'_>) -> R<BulkAccess> {
    let mut out = BulkAccess::default();
    numbers(
        v,
        at,
        "struct BulkAccess",
        &["distinctRecords", "windowMinutes"],
        &mut [&mut out.distinct_records, &mut out.window_minutes],
    )?;
    Ok(out)
}

fn repeated_unassigned(v: &Value, at: &Path<'_>) -> R<RepeatedUnassigned> {
    let mut out = RepeatedUnassigned::default();
    numbers(
        v,
        at,
        "struct RepeatedUnassigned",
        &["count", "windowMinutes"],
        &mut [&mut out.count, &mut out.window_minutes],
    )?;
    Ok(out)
}

fn concurrent_access(v: &Value, at: &Path<'_>) -> R<ConcurrentAccess> {
    let mut out = ConcurrentAccess::default();
    numbers(
        v,
        at,
        "struct ConcurrentAccess",
        &["staff", "windowMinutes"],
        &mut [&mut out.staff, &mut out.window_minutes],
    )?;
    Ok(out)
}

fn off_hours_spike(v: &Value, at: &Path<'_>) -> R<OffHoursSpike> {
    let mut out = OffHoursSpike::default();
    numbers(
        v,
        at,
        "struct OffHoursSpike",
        &[
            "windowDays",
            "baselineDays",
            "minBaselineDays",
            "minCount",
            "significanceOneIn",
        ],
        &mut [
            &mut out.window_days,
            &mut out.baseline_days,
            &mut out.min_baseline_days,
            &mut out.min_count,
            &mut out.significance_one_in,
        ],
    )?;
    Ok(out)
}

fn demographic_targeting(v: &Value, at: &Path<'_>) -> R<DemographicTargeting> {
    let mut out = DemographicTargeting::default();
    numbers(
        v,
        at,
        "struct DemographicTargeting",
        &[
            "windowDays",
            "minRecords",
            "minGroupRecords",
            "breakGlassMinRecords",
            "breakGlassMinGroupRecords",
            "minPopulation",
            "significanceOneIn",
        ],
        &mut [
            &mut out.window_days,
            &mut out.min_records,
            &mut out.min_group_records,
            &mut out.break_glass_min_records,
            &mut out.break_glass_min_group_records,
            &mut out.min_population,
            &mut out.significance_one_in,
        ],
    )?;
    Ok(out)
}

fn record_integrity(v: &Value, at: &Path<'_>) -> R<RecordIntegrity> {
    const FIELDS: &[&str] = &[
        "keyFields",
        "keyFieldEdits",
        "keyFieldWindowDays",
        "maxBackdateHours",
    ];
    let mut out = RecordIntegrity::default();
    object(v, at, "struct RecordIntegrity", FIELDS, &mut |i, x, p| {
        match i {
            0 => out.key_fields = list(x, p, string)?,
            1 => out.key_field_edits = uint(x, p)?,
            2 => out.key_field_window_days = uint(x, p)?,
            _ => out.max_backdate_hours = uint(x, p)?,
        }
        Ok(())
    })?;
    Ok(out)
}

fn clock_drift(v: &Value, at: &Path<'_>) -> R<ClockDrift> {
    let mut out = ClockDrift::default();
    numbers(
        v,
        at,
        "struct ClockDrift",
        &["aheadMinutes", "maxOfflineDays"],
        &mut [&mut out.ahead_minutes, &mut out.max_offline_days],
    )?;
    Ok(out)
}

fn review_config(v: &Value, at: &Path<'_>) -> R<ReviewConfig> {
    const FIELDS: &[&str] = &["outcomes", "routing", "breakGlassSeverity", "staffNames"];
    let mut out = ReviewConfig::default();
    object(v, at, "struct ReviewConfig", FIELDS, &mut |i, x, p| {
        match i {
            0 => out.outcomes = list(x, p, outcome)?,
            1 => out.routing = routing(x, p)?,
            2 => out.break_glass_severity = severity(x, p)?,
            _ => {
                out.staff_names = variant(
                    x,
                    p,
                    &["names", "roles", "pseudonyms"],
                    &[StaffNames::Names, StaffNames::Roles, StaffNames::Pseudonyms],
                )?;
            }
        }
        Ok(())
    })?;
    Ok(out)
}

fn outcome(v: &Value, at: &Path<'_>) -> R<OutcomeDef> {
    const FIELDS: &[&str] = &["id", "label", "inappropriate"];
    let (mut id, mut label, mut inappropriate) = (None, None, false);
    object(v, at, "struct OutcomeDef", FIELDS, &mut |i, x, p| {
        match i {
            0 => id = Some(string(x, p)?),
            1 => label = Some(string(x, p)?),
            _ => inappropriate = boolean(x, p)?,
        }
        Ok(())
    })?;
    Ok(OutcomeDef {
        id: required(id, at, "id")?,
        label: required(label, at, "label")?,
        inappropriate,
    })
}

fn severity(v: &Value, at: &Path<'_>) -> R<CaseSeverity> {
    use CaseSeverity as S;
    variant(
        v,
        at,
        &["medium", "high", "critical"],
        &[S::Medium, S::High, S::Critical],
    )
}

fn routing(v: &Value, at: &Path<'_>) -> R<Routing> {
    const FIELDS: &[&str] = &["critical", "high", "medium"];
    let mut out = Routing::default();
    object(v, at, "struct Routing", FIELDS, &mut |i, x, p| {
        let r = route(x, p)?;
        match i {
            0 => out.critical = r,
            1 => out.high = r,
            _ => out.medium = r,
        }
        Ok(())
    })?;
    Ok(out)
}

fn route(v: &Value, at: &Path<'_>) -> R<Route> {
    const FIELDS: &[&str] = &["primary", "backup", "escalation", "respondWithinMinutes"];
    let mut out = Route::default();
    object(v, at, "struct Route", FIELDS, &mut |i, x, p| {
        match i {
            0 => out.primary = opt(x, p, string)?,
            1 => out.backup = opt(x, p, string)?,
            2 => out.escalation = list(x, p, string)?,
            _ => out.respond_within_minutes = uint(x, p)?,
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::policy_doc;
    use crate::policy::PolicyDoc;

    /// Both readers on one value: the same document, or the same pointer and message.
    fn agree(v: &Value, case: &str) -> usize {
        let derived = crate::located::from_value::<PolicyDoc>(v);
        let by_hand = policy_doc(v);
        assert_eq!(by_hand, derived, "{case}");
        usize::from(by_hand.is_err())
    }

    /// The pointers of every value in `v`, from the top.
    fn places(v: &Value, at: &str, out: &mut Vec<String>) {
        out.push(at.to_owned());
        match v {
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    places(x, &format!("{at}/{i}"), out);
                }
            }
            Value::Object(members) => {
                for (k, x) in members {
                    places(x, &crate::pointer::push(at, k), out);
                }
            }
            _ => {}
        }
    }

    /// Every member of the shipped policies, and of one that sets every
    /// optional member, replaced by every kind of value, removed, or joined
    /// by an unknown member: the hand reader answers as the derived one.
    #[test]
    fn reads_as_the_derived_reader_everywhere() {
        let mut full: Value =
            serde_json::from_str(include_str!("../../pkg-config/policy.default.json")).unwrap();
        full["description"] = json!("d");
        full["tests"] = json!([]);
        full["conditions"] = json!({"c": {"all": []}});
        full["record"]["type"] = json!("/type");
        for member in [
            "team",
            "facility",
            "unit",
            "encounterStatus",
            "treatingTeam",
            "restricted",
            "excludedStaff",
            "consents",
        ] {
            full["record"][member] = json!(format!("/{member}"));
        }
        full["record"]["defaults"] = json!({"excludedStaff": []});
        full["grants"] = json!([{"id": "g", "user": "u", "role": "r", "noteTypes": {"x": {"view": "all"}},
            "hostActions": {"search": "team"}, "notBefore": "2026-11-23T06:00:00.000Z",
            "expiresAt": "2026-11-24T06:00:00.000Z", "reason": "r", "when": true}]);
        full["stepUp"] = json!([{"actions": ["view", "roleChange"], "noteTypes": ["x"],
            "authStrength": "mfa", "maxAgeMinutes": 5, "when": true}]);
        full["breakGlass"]["incidentRefPattern"] = json!("INC-[0-9]+");
        full["breakGlass"]["exemptions"] = json!({"treatingTeam": true, "repromptDays": 1});
        full["alerts"] = serde_json::to_value(crate::policy::AlertConfig::default()).unwrap();
        full["review"] = serde_json::to_value(crate::policy::ReviewConfig::default()).unwrap();
        full["review"]["routing"]["high"]["primary"] = json!("p");
        full["limits"] = json!({"eventMaxBytes": 5000, "recordMaxBytes": 6000});
        let youth: Value =
            serde_json::from_str(include_str!("../../pkg-config/policy.youth-facility.json"))
                .unwrap();
        let kinds = [
            json!(null),
            json!(true),
            json!(0),
            json!(7),
            json!(-1),
            json!(1.5),
            json!(4_294_967_296_u64),
            json!("x"),
            json!("U"),
            json!("all"),
            json!("roleChange"),
            json!("mon"),
            json!("critical"),
            json!("pseudonyms"),
            json!("08:30"),
            json!("24:01"),
            json!("2026-11-23T06:00:00.000Z"),
            json!([]),
            json!(["x"]),
            json!([1]),
            json!([{}]),
            json!({}),
            json!({"U": null}),
            json!({"all": 1}),
            json!({"nope": null}),
            json!({"a": 1, "b": 2}),
        ];
        let (mut cases, mut refused) = (0, 0);
        for base in [&full, &youth] {
            assert_eq!(agree(base, "as shipped"), 0);
            let mut at = Vec::new();
            places(base, "", &mut at);
            for p in at.iter().skip(1) {
                for kind in &kinds {
                    let mut v = base.clone();
                    if let Some(slot) = v.pointer_mut(p) {
                        *slot = kind.clone();
                    }
                    refused += agree(&v, &format!("{p} set to {kind}"));
                    cases += 1;
                }
                let (parent, last) = p.rsplit_once('/').unwrap();
                let mut v = base.clone();
                if let Some(Value::Object(m)) = v.pointer_mut(parent) {
                    m.remove(&crate::pointer::unescape_token(last).into_owned());
                }
                refused += agree(&v, &format!("{p} removed"));
                cases += 1;
            }
            for p in &at {
                for name in ["zz", "a map`, expected", "~/x"] {
                    let mut v = base.clone();
                    if let Some(Value::Object(m)) = v.pointer_mut(p) {
                        m.insert(name.to_owned(), json!(1));
                        refused += agree(&v, &format!("{name} added at {p}"));
                        cases += 1;
                    }
                }
            }
        }
        for top in [json!(null), json!(1), json!("x"), json!([]), json!({})] {
            refused += agree(&top, &top.to_string());
            cases += 1;
        }
        assert!(
            cases > 5000 && refused > cases / 2,
            "{cases} cases, {refused} refused"
        );
    }
}
