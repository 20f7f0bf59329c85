//! Arguments of a page session's calls, read from JSON values with every
//! error naming the offending member as a JSON Pointer.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::PageError;
use crate::breakglass::BreakGlassRequest;

/// `value` as `T`; errors name the member under `at` (`/action/type`).
pub fn parse<T: DeserializeOwned>(value: Value, at: &str) -> Result<T, PageError> {
    crate::located::from_value(&value)
        .map_err(|(pointer, message)| PageError::input(format!("{at}{pointer}"), message))
}

/// The argument of `breakGlassHeadless`: the record and the justification
/// the host's own form collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadlessRequest {
    /// The record, as sealed earlier in this page.
    pub record_id: String,
    /// What the user typed.
    pub request: BreakGlassRequest,
}

impl HeadlessRequest {
    /// Reads `{recordId, reasonCode, reasonText, context?, incidentRef?}`.
    pub fn from_value(value: Value) -> Result<Self, PageError> {
        let Value::Object(mut members) = value else {
            return Err(PageError::input(
                "",
                format!(
                    "expected an object, found {}",
                    crate::decision::kind_of(&value)
                ),
            ));
        };
        let record_id = match members.remove("recordId") {
            Some(Value::String(s)) => s,
            _ => {
                return Err(PageError::input(
                    "/recordId",
                    "a record id string is required",
                ))
            }
        };
        Ok(Self {
            record_id,
            request: parse(Value::Object(members), "")?,
        })
    }
}
