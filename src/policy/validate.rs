//! Cross-reference and range checks that the shape alone cannot express.
//!
//! Each check names the JSON Pointer of the value it refuses. The first
//! problem found is reported, in document order of the sections.

use std::collections::BTreeSet;

use super::alert_config::{AlertConfig, AlertConfigError};
use super::error::PolicyError;
use super::model::{BreakGlassRules, FieldPermissions, Limits, PolicyDoc};
use super::pattern::Pattern;
use crate::pointer::push;

/// Checks everything [`PolicyDoc`]'s shape does not.
pub(crate) fn validate(doc: &PolicyDoc) -> Result<(), PolicyError> {
    if doc.version != 1 {
        return Err(PolicyError::invalid(
            "/version",
            format!("only version 1 exists, found {}", doc.version),
        ));
    }
    record(doc)?;
    note_types(doc)?;
    rules(doc)?;
    for (id, role) in &doc.roles {
        non_empty(&push("/roles", id), id)?;
        permissions(
            doc,
            &push(&push("/roles", id), "noteTypes"),
            &role.note_types,
        )?;
    }
    grants(doc)?;
    if doc.session.max_age_minutes == 0 {
        return Err(PolicyError::invalid(
            "/session/maxAgeMinutes",
            "a session must last at least one minute",
        ));
    }
    auth(doc)?;
    break_glass(doc, &doc.break_glass)?;
    alerts(&doc.alerts)?;
    limits(&doc.limits)?;
    doc.review
        .validate()
        .map_err(|e| PolicyError::invalid(format!("/review{}", e.pointer), e.problem.to_string()))
}

fn limits(l: &Limits) -> Result<(), PolicyError> {
    let (min, max) = (Limits::EVENT_MIN_BYTES, Limits::EVENT_MAX_BYTES);
    if !(min..=max).contains(&l.event_max_bytes) {
        return Err(PolicyError::invalid(
            "/limits/eventMaxBytes",
            format!("expected {min} to {max} bytes, found {}", l.event_max_bytes),
        ));
    }
    if l.record_max_bytes == 0 {
        return Err(PolicyError::invalid(
            "/limits/recordMaxBytes",
            "expected at least 1 byte, found 0",
        ));
    }
    Ok(())
}

/// The alert settings' own checks, their pointers placed under `/alerts`.
fn alerts(config: &AlertConfig) -> Result<(), PolicyError> {
    use AlertConfigError as E;
    config.validate().map_err(|e| match e {
        E::Time(t) => PolicyError::invalid(
            "/alerts/businessHours",
            format!("expected a 24-hour time such as `08:30`, found `{t}`"),
        ),
        E::TimeZone { pointer, zone } => PolicyError::invalid(
            format!("/alerts{pointer}"),
            format!("unknown IANA time zone `{zone}`"),
        ),
        E::Hours {
            pointer,
            start,
            end,
        } => PolicyError::invalid(
            format!("/alerts{pointer}"),
            format!("business hours end at {end}, not after their start at {start}"),
        ),
        E::Zero { pointer } => {
            PolicyError::invalid(format!("/alerts{pointer}"), "must be at least 1, found 0")
        }
        E::Range { pointer, message } | E::Pattern { pointer, message } => {
            PolicyError::invalid(format!("/alerts{pointer}"), message)
        }
    })
}

fn record(doc: &PolicyDoc) -> Result<(), PolicyError> {
    let r = &doc.record;
    plain_pointer("/record/id", &r.id)?;
    if let Some(p) = &r.record_type {
        plain_pointer("/record/type", p)?;
    }
    if let Some(p) = &r.team {
        plain_pointer("/record/team", p)?;
    }
    for (name, p) in &r.demographics {
        plain_pointer(&push("/record/demographics", name), p)?;
    }
    let attributes = [
        ("/record/facility", &r.facility),
        ("/record/unit", &r.unit),
        ("/record/encounterStatus", &r.encounter_status),
        ("/record/treatingTeam", &r.treating_team),
        ("/record/restricted", &r.restricted),
        ("/record/excludedStaff", &r.excluded_staff),
        ("/record/consents", &r.consents),
    ];
    for (at, p) in attributes {
        if let Some(p) = p {
            plain_pointer(at, p)?;
        }
    }
    note_type_ref(doc, "/record/defaultNoteType", &r.default_note_type)
}

fn note_types(doc: &PolicyDoc) -> Result<(), PolicyError> {
    if doc.note_types.is_empty() {
        return Err(PolicyError::invalid(
            "/noteTypes",
            "define at least one note type",
        ));
    }
    for (id, nt) in &doc.note_types {
        let at = push("/noteTypes", id);
        non_empty(&at, id)?;
        for (i, code) in nt.sensitivity.iter().enumerate() {
            let ok = !code.is_empty()
                && code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(PolicyError::invalid(
                    format!("{at}/sensitivity/{i}"),
                    format!("a sensitivity code is upper-case letters and digits such as `PSY`, found `{code}`"),
                ));
            }
        }
    }
    Ok(())
}

fn rules(doc: &PolicyDoc) -> Result<(), PolicyError> {
    for (i, f) in doc.fields.iter().enumerate() {
        pattern(&format!("/fields/{i}/pointer"), &f.pointer)?;
        note_type_ref(doc, &format!("/fields/{i}/noteType"), &f.note_type)?;
    }
    for (i, n) in doc.notes.iter().enumerate() {
        pattern(&format!("/notes/{i}/pointer"), &n.pointer)?;
        non_empty(&format!("/notes/{i}/typeMember"), &n.type_member)?;
    }
    Ok(())
}

fn grants(doc: &PolicyDoc) -> Result<(), PolicyError> {
    let mut ids = BTreeSet::new();
    for (i, g) in doc.grants.iter().enumerate() {
        let at = format!("/grants/{i}");
        non_empty(&format!("{at}/id"), &g.id)?;
        if !ids.insert(g.id.as_str()) {
            return Err(PolicyError::invalid(
                format!("{at}/id"),
                format!("grant id `{}` is used twice", g.id),
            ));
        }
        match (&g.user, &g.role) {
            (Some(u), None) => non_empty(&format!("{at}/user"), u)?,
            (None, Some(r)) => role_ref(doc, &format!("{at}/role"), r)?,
            _ => {
                return Err(PolicyError::invalid(
                    at,
                    "a grant names exactly one of `user` and `role`",
                ))
            }
        }
        permissions(doc, &format!("{at}/noteTypes"), &g.note_types)?;
        if g.not_before.is_some_and(|nb| nb >= g.expires_at) {
            return Err(PolicyError::invalid(
                format!("{at}/expiresAt"),
                "a grant must expire after it starts (`notBefore`)",
            ));
        }
    }
    Ok(())
}

fn auth(doc: &PolicyDoc) -> Result<(), PolicyError> {
    if doc.auth_strengths.is_empty() {
        return Err(PolicyError::invalid(
            "/authStrengths",
            "list at least one authentication strength, weakest first",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, s) in doc.auth_strengths.iter().enumerate() {
        non_empty(&format!("/authStrengths/{i}"), s)?;
        if !seen.insert(s.as_str()) {
            return Err(PolicyError::invalid(
                format!("/authStrengths/{i}"),
                format!("`{s}` is listed twice"),
            ));
        }
    }
    for (i, rule) in doc.step_up.iter().enumerate() {
        let at = format!("/stepUp/{i}");
        if rule.actions.is_empty() {
            return Err(PolicyError::invalid(
                format!("{at}/actions"),
                "list at least one action",
            ));
        }
        if !seen.contains(rule.auth_strength.as_str()) {
            return Err(PolicyError::Dangling {
                pointer: format!("{at}/authStrength"),
                kind: "authentication strength",
                name: rule.auth_strength.clone(),
                defined_in: "/authStrengths",
            });
        }
        for (j, nt) in rule.note_types.iter().flatten().enumerate() {
            note_type_ref(doc, &format!("{at}/noteTypes/{j}"), nt)?;
        }
    }
    Ok(())
}

fn break_glass(doc: &PolicyDoc, bg: &BreakGlassRules) -> Result<(), PolicyError> {
    for (i, r) in bg.roles.iter().enumerate() {
        role_ref(doc, &format!("/breakGlass/roles/{i}"), r)?;
    }
    if bg.reason_codes.is_empty() {
        return Err(PolicyError::invalid(
            "/breakGlass/reasonCodes",
            "define at least one reason code",
        ));
    }
    for (code, label) in &bg.reason_codes {
        non_empty(&push("/breakGlass/reasonCodes", code), code)?;
        non_empty(&push("/breakGlass/reasonCodes", code), label)?;
    }
    if bg.reason_min_chars == 0 {
        return Err(PolicyError::invalid(
            "/breakGlass/reasonMinChars",
            "a reason must be at least one character",
        ));
    }
    if bg.reason_max_chars < bg.reason_min_chars {
        return Err(PolicyError::invalid(
            "/breakGlass/reasonMaxChars",
            format!(
                "the maximum ({}) is below the minimum ({})",
                bg.reason_max_chars, bg.reason_min_chars
            ),
        ));
    }
    if let Some(p) = &bg.incident_ref_pattern {
        super::incident_regex(p).map_err(|e| {
            PolicyError::invalid(
                "/breakGlass/incidentRefPattern",
                format!("not a valid regular expression: {e}"),
            )
        })?;
    } else if bg.incident_ref_required {
        return Err(PolicyError::invalid(
            "/breakGlass/incidentRefRequired",
            "a required incident reference needs an `incidentRefPattern`",
        ));
    }
    if bg.expires_minutes == 0 {
        return Err(PolicyError::invalid(
            "/breakGlass/expiresMinutes",
            "a grant must last at least one minute",
        ));
    }
    Ok(())
}

fn permissions(
    doc: &PolicyDoc,
    at: &str,
    perms: &std::collections::BTreeMap<String, FieldPermissions>,
) -> Result<(), PolicyError> {
    for nt in perms.keys() {
        note_type_ref(doc, &push(at, nt), nt)?;
    }
    Ok(())
}

fn note_type_ref(doc: &PolicyDoc, at: &str, name: &str) -> Result<(), PolicyError> {
    if doc.note_types.contains_key(name) {
        Ok(())
    } else {
        Err(PolicyError::Dangling {
            pointer: at.to_owned(),
            kind: "note type",
            name: name.to_owned(),
            defined_in: "/noteTypes",
        })
    }
}

fn role_ref(doc: &PolicyDoc, at: &str, name: &str) -> Result<(), PolicyError> {
    if doc.roles.contains_key(name) {
        Ok(())
    } else {
        Err(PolicyError::Dangling {
            pointer: at.to_owned(),
            kind: "role",
            name: name.to_owned(),
            defined_in: "/roles",
        })
    }
}

fn non_empty(at: &str, s: &str) -> Result<(), PolicyError> {
    if s.trim().is_empty() {
        Err(PolicyError::invalid(at, "must not be empty"))
    } else {
        Ok(())
    }
}

fn pattern(at: &str, text: &str) -> Result<Pattern, PolicyError> {
    Pattern::parse(text).map_err(|e| PolicyError::invalid(at, e.to_string()))
}

/// A pointer without wildcards (record layout pointers name one place).
fn plain_pointer(at: &str, text: &str) -> Result<(), PolicyError> {
    let p = pattern(at, text)?;
    if text.split('/').any(|t| t == "*") {
        return Err(PolicyError::invalid(
            at,
            format!("`{p}` must name one place: no `*`"),
        ));
    }
    Ok(())
}
