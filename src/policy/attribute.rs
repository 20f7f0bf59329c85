//! The attributes conditions test: their names, what each holds, where
//! record attributes are found, and the values some take.

use serde_json::Value;

use super::alert_config::Weekday;
use super::error::{json_kind as kind_of, PolicyError};
use super::model::RecordLayout;
use crate::pointer::push;

/// What an attribute holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string.
    Text,
    /// `true` or `false`.
    Flag,
    /// An array of strings.
    List,
    /// An instant (`2026-11-23T14:00:00.000Z`).
    Instant,
    /// A local time of day (`HH:MM`).
    Clock,
}

impl Kind {
    pub(crate) fn words(self) -> &'static str {
        match self {
            Self::Text => "a string",
            Self::Flag => "a boolean",
            Self::List => "an array of strings",
            Self::Instant => "a time such as `2026-11-23T14:00:00.000Z`",
            Self::Clock => "a time of day such as `08:30`",
        }
    }
}

/// An attribute a condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attribute {
    /// `session.userId`: the staff id.
    SessionUserId,
    /// `session.role`.
    SessionRole,
    /// `session.team`.
    SessionTeam,
    /// `session.facility`.
    SessionFacility,
    /// `session.unit`.
    SessionUnit,
    /// `session.network`: `onSite`, `vpn` or `remote`.
    SessionNetwork,
    /// `session.device`: `managed` or `unmanaged`.
    SessionDevice,
    /// `session.signInMethod` (`password`, `passkey`, `smartcard`, ...).
    SessionSignInMethod,
    /// `session.authStrength`.
    SessionAuthStrength,
    /// `record.type`.
    RecordType,
    /// `record.team`.
    RecordTeam,
    /// `record.facility`.
    RecordFacility,
    /// `record.unit`.
    RecordUnit,
    /// `record.encounterStatus` (`active`, `finished`, ...).
    RecordEncounterStatus,
    /// `record.treatingTeam`: staff ids treating the patient in the encounter.
    RecordTreatingTeam,
    /// `record.restricted`: a restricted patient (a staff member, a public figure).
    RecordRestricted,
    /// `record.excludedStaff`: staff ids the patient asked never to see the record.
    RecordExcludedStaff,
    /// `record.consents`: what the patient consented to show, to whom, until when.
    RecordConsents,
    /// `time.now`: the time of the decision.
    TimeNow,
    /// `time.weekday`: `mon` to `sun`, in the policy's time zone.
    TimeWeekday,
    /// `time.localTime`: the time of day in the policy's time zone.
    TimeLocalTime,
    /// `time.businessHours`: within the policy's business hours.
    TimeBusinessHours,
}

impl serde::Serialize for Attribute {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Attribute {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::named(&name)
            .map(|(a, _)| a)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown attribute `{name}`")))
    }
}

/// Every attribute with its name and kind.
pub(crate) const ATTRIBUTES: [(Attribute, &str, Kind); 22] = [
    (Attribute::SessionUserId, "session.userId", Kind::Text),
    (Attribute::SessionRole, "session.role", Kind::Text),
    (Attribute::SessionTeam, "session.team", Kind::Text),
    (Attribute::SessionFacility, "session.facility", Kind::Text),
    (Attribute::SessionUnit, "session.unit", Kind::Text),
    (Attribute::SessionNetwork, "session.network", Kind::Text),
    (Attribute::SessionDevice, "session.device", Kind::Text),
    (
        Attribute::SessionSignInMethod,
        "session.signInMethod",
        Kind::Text,
    ),
    (
        Attribute::SessionAuthStrength,
        "session.authStrength",
        Kind::Text,
    ),
    (Attribute::RecordType, "record.type", Kind::Text),
    (Attribute::RecordTeam, "record.team", Kind::Text),
    (Attribute::RecordFacility, "record.facility", Kind::Text),
    (Attribute::RecordUnit, "record.unit", Kind::Text),
    (
        Attribute::RecordEncounterStatus,
        "record.encounterStatus",
        Kind::Text,
    ),
    (
        Attribute::RecordTreatingTeam,
        "record.treatingTeam",
        Kind::List,
    ),
    (Attribute::RecordRestricted, "record.restricted", Kind::Flag),
    (
        Attribute::RecordExcludedStaff,
        "record.excludedStaff",
        Kind::List,
    ),
    (Attribute::RecordConsents, "record.consents", Kind::List),
    (Attribute::TimeNow, "time.now", Kind::Instant),
    (Attribute::TimeWeekday, "time.weekday", Kind::Text),
    (Attribute::TimeLocalTime, "time.localTime", Kind::Clock),
    (
        Attribute::TimeBusinessHours,
        "time.businessHours",
        Kind::Flag,
    ),
];

impl Attribute {
    /// The name as written in policies (`session.network`).
    pub fn as_str(self) -> &'static str {
        ATTRIBUTES
            .iter()
            .find(|(a, ..)| *a == self)
            .map_or("", |(_, n, _)| n)
    }

    pub(crate) fn named(name: &str) -> Option<(Self, Kind)> {
        ATTRIBUTES
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(a, _, k)| (*a, *k))
    }

    /// Whether it is read from the record (so decided per record).
    pub(crate) fn of_record(self) -> bool {
        self.as_str().starts_with("record.")
    }

    /// The pointer of the record section that says where it is, if any.
    pub(crate) fn layout_pointer(self, layout: &RecordLayout) -> Option<&str> {
        let p = match self {
            Self::RecordType => &layout.record_type,
            Self::RecordTeam => &layout.team,
            Self::RecordFacility => &layout.facility,
            Self::RecordUnit => &layout.unit,
            Self::RecordEncounterStatus => &layout.encounter_status,
            Self::RecordTreatingTeam => &layout.treating_team,
            Self::RecordRestricted => &layout.restricted,
            Self::RecordExcludedStaff => &layout.excluded_staff,
            Self::RecordConsents => &layout.consents,
            _ => return None,
        };
        p.as_deref()
    }

    /// The default `layout` gives this record attribute when the record has nothing there.
    pub(crate) fn layout_default(self, layout: &RecordLayout) -> Option<&Value> {
        layout.defaults.get(
            self.as_str()
                .strip_prefix("record.")
                .unwrap_or(self.as_str()),
        )
    }

    /// The record attributes, in the order [`crate::decision::RecordFacts`] keeps them.
    pub(crate) const RECORD: [Attribute; 9] = [
        Self::RecordType,
        Self::RecordTeam,
        Self::RecordFacility,
        Self::RecordUnit,
        Self::RecordEncounterStatus,
        Self::RecordTreatingTeam,
        Self::RecordRestricted,
        Self::RecordExcludedStaff,
        Self::RecordConsents,
    ];
}

/// Checks the record section's `defaults`: each names a record attribute
/// the section points at and holds a value of its kind.
pub(crate) fn check_defaults(layout: &RecordLayout) -> Result<(), PolicyError> {
    for (name, v) in &layout.defaults {
        let at = push("/record/defaults", name);
        let full = format!("record.{name}");
        let Some((attr, kind)) = Attribute::named(&full).filter(|(a, _)| a.of_record()) else {
            let names: Vec<&str> = Attribute::RECORD
                .iter()
                .map(|a| a.as_str().trim_start_matches("record."))
                .collect();
            return Err(PolicyError::invalid(
                at,
                format!("expected one of {}, found `{name}`", quoted(&names)),
            ));
        };
        if attr.layout_pointer(layout).is_none() {
            return Err(PolicyError::invalid(
                at,
                format!("a default for `{full}` needs a pointer at `/record/{name}`"),
            ));
        }
        let fits = match (kind, v) {
            (Kind::Text, Value::String(_)) | (Kind::Flag, Value::Bool(_)) => true,
            (Kind::List, Value::Array(items)) => {
                attr == Attribute::RecordConsents || items.iter().all(Value::is_string)
            }
            _ => false,
        };
        if !fits {
            return Err(PolicyError::invalid(
                at,
                format!("expected {}, found {}", kind.words(), kind_of(v)),
            ));
        }
    }
    Ok(())
}

/// The values of `session.network`.
pub const NETWORKS: [&str; 3] = ["onSite", "vpn", "remote"];
/// The values of `session.device`.
pub const DEVICES: [&str; 2] = ["managed", "unmanaged"];
pub(crate) const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `time.weekday`'s name for `d`.
pub(crate) fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

pub(crate) fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
