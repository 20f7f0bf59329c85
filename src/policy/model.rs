//! The policy document as a compliance lead writes it (camelCase JSON).
//!
//! These types only describe the shape; cross-references (a role naming a
//! note type, a grant naming a role) are checked by [`super::Policy::parse`], and
//! `pkg-config/policy.schema.json` describes the same shape for editors and
//! other languages. Every struct refuses members it does not know, so a typo
//! in a policy is an error rather than a silently ignored rule.
//!
//! [`super::Policy::parse`] reads them with the hand-written reader in
//! `reader.rs` (a fraction of the derived code in the `.wasm`); the derived
//! `Deserialize` stays the reference its tests compare it with, so a member
//! added here without its reader fails them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::alert_config::AlertConfig;
use super::review_config::ReviewConfig;
use crate::Timestamp;

/// The whole policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct PolicyDoc {
    /// Format version; only `1` exists.
    pub version: u32,
    /// A name people recognise (`CareBridge default`).
    pub name: String,
    /// Free text for reviewers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where a record keeps its id, type, team and demographics.
    pub record: RecordLayout,
    /// Note types by id: labels and FHIR security codes.
    pub note_types: BTreeMap<String, NoteType>,
    /// Structured fields that hold a given note type.
    #[serde(default)]
    pub fields: Vec<FieldRule>,
    /// Arrays of note objects whose type is a member of each note.
    #[serde(default)]
    pub notes: Vec<NoteRule>,
    /// Roles by id.
    pub roles: BTreeMap<String, Role>,
    /// Time-bound permissions for one user or a whole role.
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Session lifetime.
    pub session: SessionRules,
    /// Authentication strengths, weakest first (`["password", "mfa"]`).
    pub auth_strengths: Vec<String>,
    /// Operations that need a recent, strong enough authentication.
    #[serde(default)]
    pub step_up: Vec<StepUpRule>,
    /// Emergency access.
    pub break_glass: BreakGlassRules,
    /// Business hours, time zone and alert thresholds (all have defaults).
    #[serde(default)]
    pub alerts: AlertConfig,
    /// Size caps on events and records (all have defaults).
    #[serde(default)]
    pub limits: Limits,
    /// Named conditions rules use through `{"ref": name}` (see
    /// [`super::condition`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, Value>,
    /// Test cases `sealtrail policy check` runs (see
    /// [`crate::decision::selftest`]); no effect on decisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Value>,
    /// Case outcomes, routing, response times and report naming (all have defaults).
    #[serde(default)]
    pub review: ReviewConfig,
}

/// Where a record keeps the facts events need (JSON Pointers into the record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct RecordLayout {
    /// Pointer to the record id (a string or integer); a record without one is refused.
    pub id: String,
    /// Pointer to the record type (`patient`, `youth`, ...).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
    /// Pointer to the team the record belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Coarse demographic attributes logged for the bias review (`ageBand`),
    /// by name, each a pointer. Never put identifying values here.
    #[serde(default)]
    pub demographics: BTreeMap<String, String>,
    /// Note type of every value no field or note rule claims.
    pub default_note_type: String,
    /// Pointer to the facility the record belongs to (`record.facility`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// Pointer to the unit or ward (`record.unit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Pointer to the status of the current encounter (`record.encounterStatus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encounter_status: Option<String>,
    /// Pointer to the staff ids treating the patient in that encounter
    /// (`record.treatingTeam`, an array of strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treating_team: Option<String>,
    /// Pointer to the restricted-patient flag (`record.restricted`, a boolean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted: Option<String>,
    /// Pointer to the staff ids the patient excluded (`record.excludedStaff`,
    /// an array of strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_staff: Option<String>,
    /// Pointer to the patient's consents (`record.consents`: an array of
    /// `{"noteTypes": [...], "users"|"roles"|"teams": [...], "until": time}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consents: Option<String>,
    /// Values record attributes take when the record holds nothing at
    /// their pointer, by attribute name without `record.` (`{"excludedStaff":
    /// []}`: a record without a restriction list restricts nobody). An
    /// attribute without one is unknown when absent, and its conditions deny.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub defaults: BTreeMap<String, Value>,
}

/// FHIR confidentiality codes (HL7 v3 `Confidentiality`), least to most restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(expecting = "one of `U`, `L`, `M`, `N`, `R`, `V`")]
pub enum Confidentiality {
    /// Unrestricted.
    U,
    /// Low.
    L,
    /// Moderate.
    M,
    /// Normal.
    N,
    /// Restricted.
    R,
    /// Very restricted.
    V,
}

impl Confidentiality {
    /// The code as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::U => "U",
            Self::L => "L",
            Self::M => "M",
            Self::N => "N",
            Self::R => "R",
            Self::V => "V",
        }
    }
}

/// A kind of content with its security labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct NoteType {
    /// What people call it (`Domestic violence indicator`).
    pub label: String,
    /// FHIR confidentiality code.
    pub confidentiality: Confidentiality,
    /// FHIR sensitivity codes (HL7 `ActCode`: `PSY`, `ETH`, `SDV`, `HIV`, ...).
    #[serde(default)]
    pub sensitivity: Vec<String>,
}

/// A structured field that holds one note type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct FieldRule {
    /// Pointer pattern; `*` matches any one member or index (`/riskFlags/dv`).
    pub pointer: String,
    /// The note type of the value there.
    pub note_type: String,
}

/// Note objects that carry their own type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct NoteRule {
    /// Pointer pattern of each note object (`/notes/*`).
    pub pointer: String,
    /// Member holding the note type id (`type`).
    pub type_member: String,
    /// Members governed by the default note type rather than the note's own
    /// (`date`, `author`); the type member always is. Every other member takes
    /// the note's type, so a member nobody listed is protected.
    #[serde(default)]
    pub meta_members: Vec<String>,
}

/// How far an allowance reaches, from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "one of `caseload`, `team`, `all`"
)]
pub enum Scope {
    /// Records on the user's own caseload.
    Caseload,
    /// Records of the user's team, and the own caseload.
    Team,
    /// Every record.
    All,
}

/// Operations on the content of a note type, each with its scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct FieldPermissions {
    /// See the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<Scope>,
    /// Change the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<Scope>,
    /// Include it in an export or download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Scope>,
    /// Print it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print: Option<Scope>,
    /// Delete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<Scope>,
    /// When these hold (a condition, see [`super::condition`]); always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Value>,
}

/// Operations the host application performs on whole records or the system.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct HostPermissions {
    /// Search records (the scope is informative: the host filters results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Scope>,
    /// Export or download a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<Scope>,
    /// Print a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub print: Option<Scope>,
    /// Edit a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<Scope>,
    /// Delete a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<Scope>,
    /// Change a user's role or permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_change: Option<Scope>,
    /// When these hold (a condition, see [`super::condition`]); always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Value>,
}

/// A role template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct Role {
    /// What people call it (`Outreach specialist`).
    pub label: String,
    /// Allowed operations per note type; a note type not listed is sealed.
    #[serde(default)]
    pub note_types: BTreeMap<String, FieldPermissions>,
    /// Allowed host operations; one not listed is denied.
    #[serde(default)]
    pub host_actions: HostPermissions,
    /// When the role's note type permissions hold (with each permission's
    /// own `when`; host actions carry their own); always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Value>,
}

/// A temporary permission (training, cross-cover) for one user or one role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct Grant {
    /// An id reviewers can cite.
    pub id: String,
    /// The user it is for (exactly one of `user` and `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The role it is for (exactly one of `user` and `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Extra operations per note type.
    #[serde(default)]
    pub note_types: BTreeMap<String, FieldPermissions>,
    /// Extra host operations.
    #[serde(default)]
    pub host_actions: HostPermissions,
    /// Not in force before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    /// Not in force from this time on.
    pub expires_at: Timestamp,
    /// Why it was granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When its note type permissions apply (with each permission's own
    /// `when`; host actions carry their own); always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Value>,
}

/// Session lifetime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct SessionRules {
    /// Minutes after the last authentication (`authTime`) after which the
    /// session unseals nothing, whatever its own `expiresAt` says.
    pub max_age_minutes: u32,
}

/// Operations a step-up rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "one of `view`, `edit`, `export`, `print`, `delete`, `search`, `roleChange`"
)]
pub enum Operation {
    /// View content.
    View,
    /// Edit.
    Edit,
    /// Export or download.
    Export,
    /// Print.
    Print,
    /// Delete.
    Delete,
    /// Search.
    Search,
    /// Change a role.
    RoleChange,
}

impl Operation {
    /// The name as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Edit => "edit",
            Self::Export => "export",
            Self::Print => "print",
            Self::Delete => "delete",
            Self::Search => "search",
            Self::RoleChange => "roleChange",
        }
    }
}

/// Operations that need a recent, strong enough authentication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct StepUpRule {
    /// Operations covered.
    pub actions: Vec<Operation>,
    /// Only for these note types (field operations); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note_types: Option<Vec<String>>,
    /// Weakest acceptable strength, one of `authStrengths`.
    pub auth_strength: String,
    /// Maximum minutes since that authentication.
    pub max_age_minutes: u32,
    /// When the rule applies (session and time attributes only); always
    /// when absent. A condition that cannot be evaluated applies the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Value>,
}

/// Emergency access rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct BreakGlassRules {
    /// Roles that may break the glass.
    #[serde(default = "default_break_glass_roles")]
    pub roles: Vec<String>,
    /// Reason codes with the label the dialog shows.
    pub reason_codes: BTreeMap<String, String>,
    /// Fewest characters of reason text, after trimming.
    #[serde(default = "default_reason_min")]
    pub reason_min_chars: u32,
    /// Most characters of reason text, after trimming.
    #[serde(default = "default_reason_max")]
    pub reason_max_chars: u32,
    /// Most characters of optional context.
    #[serde(default = "default_context_max")]
    pub context_max_chars: u32,
    /// Regular expression a whole incident reference must match (`^INC-[0-9]{6}$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_ref_pattern: Option<String>,
    /// Whether an incident reference is required.
    #[serde(default)]
    pub incident_ref_required: bool,
    /// Minutes a grant lasts.
    #[serde(default = "default_grant_minutes")]
    pub expires_minutes: u32,
    /// When the authorised roles may break the glass (session and time
    /// attributes only); always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Value>,
    /// When the justification prompt is not shown (a grant is still issued
    /// and logged, saying why there was no prompt): so that prompts stay
    /// rare enough to be read rather than clicked through.
    #[serde(default)]
    pub exemptions: PromptExemptions,
}

/// Break-glass without the prompt: both off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct PromptExemptions {
    /// No prompt when the record is on the user's own caseload or their
    /// team's (the treating team).
    pub treating_team: bool,
    /// No prompt within this many days of the user's previous grant on the
    /// same record (0: always prompt).
    pub reprompt_days: u32,
}

fn default_break_glass_roles() -> Vec<String> {
    vec!["admin".to_owned(), "safeguardingLead".to_owned()]
}

fn default_reason_min() -> u32 {
    10
}

fn default_reason_max() -> u32 {
    500
}

fn default_context_max() -> u32 {
    1000
}

fn default_grant_minutes() -> u32 {
    15
}

/// Size caps: no event is appended larger than `eventMaxBytes` (see
/// [`crate::bounded`]), and a record larger than `recordMaxBytes` shows
/// only what the default note type holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, expecting = "an object")]
pub struct Limits {
    /// Largest event, in bytes of its RFC 8785 canonical form with every
    /// member the chain adds. Keep it well under the collector's body limit
    /// (`--max-body-bytes`, 2 MiB by default).
    #[serde(default = "default_event_max_bytes")]
    pub event_max_bytes: u32,
    /// Largest record sealed field by field, in bytes of its JSON text
    /// (strings counted by their UTF-8 length).
    #[serde(default = "default_record_max_bytes")]
    pub record_max_bytes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            event_max_bytes: default_event_max_bytes(),
            record_max_bytes: default_record_max_bytes(),
        }
    }
}

impl Limits {
    /// Smallest `eventMaxBytes` a policy may set: room for every member a
    /// bounded event keeps.
    pub const EVENT_MIN_BYTES: u32 = 4096;
    /// Largest `eventMaxBytes`: half the collector's default body limit.
    pub const EVENT_MAX_BYTES: u32 = 1024 * 1024;
}

fn default_event_max_bytes() -> u32 {
    64 * 1024
}

fn default_record_max_bytes() -> u32 {
    8 * 1024 * 1024
}
