//! Every text of the break-glass dialog, in English by default; a host
//! translates them through `options.strings`.

use serde::Deserialize;
use serde_json::Value;

use super::error::StartError;

/// Every text the dialog shows. `{record}`, `{role}`, `{count}`, `{min}` and
/// `{max}` are replaced where they appear.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    default,
    expecting = "an object of dialog texts"
)]
pub struct DialogStrings {
    /// Heading.
    pub title: String,
    /// Sentence under the heading naming the record.
    pub intro: String,
    /// Label of the reason code select.
    pub reason_code: String,
    /// First, empty option of the select.
    pub reason_code_choose: String,
    /// Error when no reason code was chosen.
    pub reason_code_missing: String,
    /// Label of the reason text.
    pub reason_text: String,
    /// Hint under the reason text.
    pub reason_hint: String,
    /// Live count under a text field.
    pub count: String,
    /// Label of the optional context.
    pub context: String,
    /// Hint under the context.
    pub context_hint: String,
    /// Label of the incident reference.
    pub incident_ref: String,
    /// Hint under the incident reference.
    pub incident_hint: String,
    /// Confirm button.
    pub confirm: String,
    /// Cancel button.
    pub cancel: String,
    /// Heading shown to a role that may not break the glass.
    pub unauthorised_title: String,
    /// Why, for that role.
    pub unauthorised: String,
    /// Button that closes the refusal.
    pub close: String,
    /// Announced when the form has errors.
    pub fix_errors: String,
}

impl Default for DialogStrings {
    fn default() -> Self {
        Self {
            title: "Emergency access (break-glass)".into(),
            intro: "You are asking to see restricted notes of record {record}. This access is logged with your reason and reviewed by the safeguarding lead.".into(),
            reason_code: "Reason".into(),
            reason_code_choose: "Choose a reason".into(),
            reason_code_missing: "Choose the reason for emergency access.".into(),
            reason_text: "Why do you need this access now?".into(),
            reason_hint: "Between {min} and {max} characters.".into(),
            count: "{count} of {max} characters".into(),
            context: "Further context (optional)".into(),
            context_hint: "At most {max} characters.".into(),
            incident_ref: "Incident or investigation reference (optional)".into(),
            incident_hint: "If there is one, for example INC-2026-0042.".into(),
            confirm: "Request access".into(),
            cancel: "Cancel".into(),
            unauthorised_title: "Emergency access is not available to your role".into(),
            unauthorised: "Your role {role} may not break the glass on record {record}. Ask a safeguarding lead or an administrator. This attempt has been logged.".into(),
            close: "Close".into(),
            fix_errors: "Please correct the highlighted fields.".into(),
        }
    }
}

impl DialogStrings {
    /// The defaults, overridden by the members of `value` (found at `at`).
    pub fn from_value(value: Value, at: &str) -> Result<Self, StartError> {
        crate::located::from_value(&value)
            .map_err(|(pointer, message)| StartError::shape(format!("{at}{pointer}"), message))
    }
}
