//! Sample chains: a realistic night of suspicious activity for the demo and
//! the README, and bulk routine activity for the benchmark.
//!
//! Deterministic (seeded chain ids, fixed times), so the same command writes
//! the same bytes in the same week: the evening is written for the dates
//! below and moved by whole weeks to the caller's recent past ([`Week`]), so
//! that a collector receiving it today judges it as fresh evidence, not as
//! the upload of a device that was offline for months (`clock-drift`).
//! The names, records and reasons are invented.

mod month;

use serde_json::{json, Value};

use crate::chain::{AppendError, ChainWriter};
use crate::entropy::{EntropyError, SeededEntropy};
use crate::event::ChainId;
use crate::event::{
    Action, Actor, Event, EventDraft, Outcome, Reason, Relation, SessionRef, Subject,
};
use crate::Timestamp;

/// Why a sample could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// Appending failed (never expected for these drafts).
    #[error(transparent)]
    Append(#[from] AppendError),
    /// No chain id could be drawn.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
    /// A fixed time was out of range.
    #[error(transparent)]
    Time(#[from] crate::TimestampError),
}

/// One sample chain: a file name and its events.
#[derive(Debug, Clone)]
pub struct SampleChain {
    /// Suggested file name (`outreach-night.jsonl`, ...).
    pub name: &'static str,
    /// The events, in order.
    pub events: Vec<Event>,
}

/// Monday 2026-11-23 21:40 in New York (02:40 UTC on Tuesday).
const NIGHT: i64 = 1_795_488_000_000;
/// Monday 2026-11-23 10:05 in New York.
const MORNING: i64 = 1_795_446_300_000;
/// A day, in milliseconds.
const DAY: i64 = 86_400_000;
/// A week, in milliseconds.
const WEEK: i64 = 7 * DAY;

/// When the evening happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Week {
    /// The dates written in this module (Monday 2026-11-23): the same bytes
    /// on any day, for tests that compare them.
    AsWritten,
    /// The latest week whose evening ended at least two days before this
    /// time: the same weekdays and times of day, moved by whole weeks.
    Before(Timestamp),
}

impl Week {
    /// Milliseconds to add to every written time.
    fn shift(self) -> i64 {
        match self {
            Self::AsWritten => 0,
            Self::Before(now) => (now.millis() - 2 * DAY - NIGHT).div_euclid(WEEK) * WEEK,
        }
    }
}

struct Staff {
    id: &'static str,
    name: &'static str,
    role: &'static str,
    team: &'static str,
    session: &'static str,
    ip: &'static str,
}

impl Staff {
    fn draft(&self, action: Action, outcome: Outcome, policy: Option<&str>) -> EventDraft {
        let mut d = EventDraft::new(
            Actor {
                id: self.id.into(),
                role: self.role.into(),
                name: Some(self.name.into()),
                auth_strength: Some("password".into()),
                team: Some(self.team.into()),
            },
            action,
            outcome,
        );
        d.session = Some(SessionRef {
            id: self.session.into(),
            ip: Some(self.ip.into()),
            client: Some("CareBridge Companion web 2.4 (Chromium)".into()),
        });
        d.policy = policy.map(str::to_owned);
        d.purpose_of_use = Some("TREAT".into());
        d
    }
}

fn on(mut d: EventDraft, record: &str, relation: Relation) -> EventDraft {
    d.subject = Some(Subject {
        record_id: record.into(),
        record_type: Some("youth".into()),
        relation: Some(relation),
        demographics: Default::default(),
        related: false,
    });
    d
}

fn sealed(mut d: EventDraft, fields: &[&str], note_types: &[&str], labels: &[&str]) -> EventDraft {
    d.fields = fields.iter().map(|s| (*s).to_owned()).collect();
    d.note_types = note_types.iter().map(|s| (*s).to_owned()).collect();
    d.labels = labels.iter().map(|s| (*s).to_owned()).collect();
    d
}

/// A writer with a seeded chain id and a clock that ticks as events are
/// added; times are the written ones, stamped `shift` ms later.
struct Scene {
    w: ChainWriter,
    t: i64,
    shift: i64,
    events: Vec<Event>,
}

impl Scene {
    fn new(seed: u64, start: i64, shift: i64) -> Result<Self, SampleError> {
        let id = ChainId::random(&mut SeededEntropy::new(seed))?;
        Ok(Self {
            w: ChainWriter::new(id),
            t: start,
            shift,
            events: Vec::new(),
        })
    }

    fn add(&mut self, after_secs: i64, d: EventDraft) -> Result<(), SampleError> {
        self.at(self.t + after_secs * 1000, d)
    }

    /// Appends `d` at `ms` (never before the previous event).
    fn at(&mut self, ms: i64, d: EventDraft) -> Result<(), SampleError> {
        self.t = self.t.max(ms);
        let e = self
            .w
            .append(d, Timestamp::from_millis(self.t + self.shift)?)?;
        self.events.push(e);
        Ok(())
    }
}

/// The outreach specialist of the evening, on team Riverside.
const KAUR: Staff = Staff {
    id: "staff-0412",
    name: "Olivia Kaur",
    role: "outreachSpecialist",
    team: "riverside",
    session: "sess-7f3a",
    ip: "10.20.4.17",
};

const DIAZ: Staff = Staff {
    id: "staff-0133",
    name: "Rafael Diaz",
    role: "reception",
    team: "front-desk",
    session: "sess-91c2",
    ip: "10.20.1.5",
};

const MENSAH: Staff = Staff {
    id: "staff-0007",
    name: "Ama Mensah",
    role: "safeguardingLead",
    team: "safeguarding",
    session: "sess-0b6e",
    ip: "10.20.9.2",
};

/// Three page sessions of one evening and morning, as three chains, after
/// a month of team Riverside's routine work (see [`month`]):
///
/// - `outreach-night.jsonl`: an outreach specialist at 21:40 (New York)
///   opens records outside their caseload, comes back to one three times,
///   runs through many records within the hour, tries to break the glass
///   (the role may not), adds a note dated six days back and tries to delete
///   the domestic-violence note, tries to export the caseload and to raise
///   their own role; a dozen night accesses where a month of work predicts
///   one a week is an off-hours spike;
/// - `reception-night.jsonl`: a receptionist opens the same record minutes
///   later with no care reason (concurrent access), changes one young
///   person's address three times, and opens the record of a neighbour they
///   declared;
/// - `safeguarding-morning.jsonl`: the safeguarding lead breaks the glass
///   properly, with a reason and incident reference, and reviews the log:
///   no alert;
/// - `riverside-month-*.jsonl`: the month before, one chain per member of
///   team Riverside, whose records carry `gender`: routine daytime work, and
///   one colleague whose records are mostly those of nonbinary young people
///   (demographic targeting).
///
/// Together every alert rule fires at least once.
///
/// `policy` is the hash written in every event (`sha256:…`), when known;
/// `week` says when it happens.
pub fn evening(policy: Option<&str>, week: Week) -> Result<Vec<SampleChain>, SampleError> {
    let shift = week.shift();
    let (kaur, diaz, mensah) = (&KAUR, &DIAZ, &MENSAH);
    let p = policy;
    use Action as A;
    use Outcome as O;
    use Relation as R;

    let mut s = Scene::new(1, NIGHT, shift)?;
    s.add(
        0,
        on(kaur.draft(A::View, O::Success, p), "youth-014", R::Caseload),
    )?;
    let peek = |k: &Staff| {
        sealed(
            on(
                k.draft(A::ViewSealed, O::Success, p),
                "youth-022",
                R::Unassigned,
            ),
            &["/notes/2", "/riskFlags/dv"],
            &["dvIndicator"],
            &["R", "SDV"],
        )
    };
    s.add(40, peek(kaur))?;
    for (i, rec) in [
        "youth-031",
        "youth-032",
        "youth-033",
        "youth-034",
        "youth-035",
    ]
    .iter()
    .enumerate()
    {
        let rel = if i % 2 == 0 { R::Team } else { R::Caseload };
        s.add(55, on(kaur.draft(A::View, O::Success, p), rec, rel))?;
    }
    s.add(120, peek(kaur))?;
    let mut bg = on(
        kaur.draft(A::BreakGlass, O::Denied, p),
        "youth-022",
        R::Unassigned,
    );
    bg.purpose_of_use = Some("BTG".into());
    bg.reason = Some(Reason {
        code: "emergencyCare".into(),
        text: "worried about this young person, want to check".into(),
        context: None,
        incident_ref: None,
    });
    bg.detail
        .insert("refusal".into(), "roleNotAuthorised".into());
    s.add(30, bg)?;
    s.add(90, peek(kaur))?;
    let mut note = on(
        kaur.draft(A::Edit, O::Success, p),
        "youth-022",
        R::Unassigned,
    );
    note.fields = vec!["/notes/4".into()];
    note.detail.insert(
        "effectiveAt".into(),
        Timestamp::from_millis(NIGHT - 6 * DAY + shift)?
            .to_string()
            .into(),
    );
    s.add(75, note)?;
    let mut delete = sealed(
        on(
            kaur.draft(A::Delete, O::Denied, p),
            "youth-022",
            R::Unassigned,
        ),
        &["/notes/2"],
        &["dvIndicator"],
        &["R", "SDV"],
    );
    delete.detail.insert("notes".into(), Value::from(1));
    delete.detail.insert("cause".into(), "notPermitted".into());
    s.add(40, delete)?;
    let mut search = kaur.draft(A::Search, O::Success, p);
    search
        .detail
        .insert("query".into(), "placement:riverside".into());
    search.detail.insert("results".into(), Value::from(12));
    s.add(60, search)?;
    let mut export = kaur.draft(A::Export, O::Denied, p);
    export.detail.insert("format".into(), "csv".into());
    export.detail.insert("scope".into(), "caseload".into());
    export.detail.insert("rows".into(), Value::from(48));
    s.add(45, export)?;
    let mut role = kaur.draft(A::RoleChange, O::Denied, p);
    role.detail.insert("user".into(), kaur.id.into());
    role.detail
        .insert("from".into(), "outreachSpecialist".into());
    role.detail.insert("to".into(), "supervisor".into());
    s.add(30, role)?;
    let outreach = s.events;

    let mut s = Scene::new(2, NIGHT + 10 * 60_000, shift)?;
    s.add(
        0,
        on(diaz.draft(A::View, O::Success, p), "youth-003", R::Caseload),
    )?;
    s.add(75, peek(diaz))?;
    for secs in [200, 90, 150] {
        let mut edit = on(diaz.draft(A::Edit, O::Success, p), "youth-003", R::Caseload);
        edit.fields = vec!["/address/street".into(), "/address/postcode".into()];
        s.add(secs, edit)?;
    }
    let mut neighbour = on(diaz.draft(A::View, O::Success, p), "youth-041", R::Team);
    if let Some(subject) = neighbour.subject.as_mut() {
        subject.related = true;
    }
    s.add(120, neighbour)?;
    let reception = s.events;

    let mut s = Scene::new(3, MORNING, shift)?;
    let mut search = mensah.draft(A::Search, O::Success, p);
    search.detail.insert("query".into(), "youth-022".into());
    search.detail.insert("results".into(), Value::from(1));
    s.add(0, search)?;
    let mut bg = on(
        mensah.draft(A::BreakGlass, O::Success, p),
        "youth-022",
        R::Unassigned,
    );
    bg.purpose_of_use = Some("BTG".into());
    bg.reason = Some(Reason {
        code: "abuseAllegation".into(),
        text: "School reported a disclosure of domestic abuse on Friday; reviewing the DV indicator and notes".into(),
        context: Some("Strategy meeting at 14:00 today".into()),
        incident_ref: Some("INC-2026-0042".into()),
    });
    bg.detail.insert("grantMinutes".into(), Value::from(15));
    s.add(35, bg)?;
    let mut unseal = sealed(
        on(
            mensah.draft(A::Unseal, O::Success, p),
            "youth-022",
            R::Unassigned,
        ),
        &["/notes/2", "/riskFlags/dv"],
        &["dvIndicator"],
        &["R", "SDV"],
    );
    unseal.purpose_of_use = Some("BTG".into());
    s.add(5, unseal)?;
    let mut audit = mensah.draft(A::AuditRead, O::Success, p);
    audit.detail.insert("days".into(), Value::from(30));
    s.add(600, audit)?;
    let safeguarding = s.events;

    let mut chains = month::chains(p, shift)?;
    chains.extend([
        SampleChain {
            name: "outreach-night.jsonl",
            events: outreach,
        },
        SampleChain {
            name: "reception-night.jsonl",
            events: reception,
        },
        SampleChain {
            name: "safeguarding-morning.jsonl",
            events: safeguarding,
        },
    ]);
    Ok(chains)
}

/// `n` events of routine daytime activity on one chain (a long-lived
/// session, for the benchmark), one second apart: see [`routine_drafts`].
pub fn routine(n: u64, seed: u64, policy: Option<&str>) -> Result<Vec<Event>, SampleError> {
    let mut s = Scene::new(seed, MORNING, 0)?;
    s.events.reserve(usize::try_from(n).unwrap_or(0));
    for d in routine_drafts(n, seed, policy) {
        s.add(1, d)?;
    }
    Ok(s.events)
}

/// The chain id [`routine`] uses for `seed`.
pub fn routine_chain_id(seed: u64) -> Result<ChainId, SampleError> {
    Ok(ChainId::random(&mut SeededEntropy::new(seed))?)
}

/// The first time stamp of [`routine`].
pub fn routine_start() -> Result<Timestamp, SampleError> {
    Ok(Timestamp::from_millis(MORNING)?)
}

/// The drafts of [`routine`]: views, sealed views, searches and unseals by
/// a rotating cast, with every member a real event carries.
pub fn routine_drafts(n: u64, seed: u64, policy: Option<&str>) -> Vec<EventDraft> {
    const ROLES: [&str; 6] = [
        "nurse",
        "doctor",
        "reception",
        "outreachSpecialist",
        "supervisor",
        "billing",
    ];
    const NOTES: [(&str, &[&str]); 4] = [
        ("clinical", &["R"]),
        ("behaviouralHealth", &["R", "PSY"]),
        ("substanceUse", &["R", "ETH"]),
        ("dvIndicator", &["V", "SDV"]),
    ];
    (0..n)
        .map(|k| {
            let x = k.wrapping_mul(2_654_435_761).wrapping_add(seed);
            let role = ROLES.get((x % 6) as usize).copied().unwrap_or("nurse");
            let actor = Actor {
                id: format!("staff-{:04}", x % 97),
                role: role.into(),
                name: Some(format!("Staff Member {}", x % 97)),
                auth_strength: Some(if x % 5 == 0 { "mfa" } else { "password" }.into()),
                team: None,
            };
            let action = match x % 10 {
                0 => Action::Search,
                1..=3 => Action::ViewSealed,
                4 => Action::Unseal,
                _ => Action::View,
            };
            let mut d = EventDraft::new(actor, action.clone(), Outcome::Success);
            d.session = Some(SessionRef {
                id: format!("sess-{:05x}", x % 4099),
                ip: Some(format!("10.20.{}.{}", x % 16, x % 250)),
                client: Some("CareBridge Companion web 2.4 (Chromium)".into()),
            });
            d.policy = policy.map(str::to_owned);
            d.purpose_of_use = Some("TREAT".into());
            if action == Action::Search {
                d.detail
                    .insert("query".into(), format!("name:{}", x % 1000).into());
                d.detail.insert("results".into(), Value::from(x % 40));
                d
            } else {
                let rel = match x % 7 {
                    0 => Relation::Unassigned,
                    1 | 2 => Relation::Team,
                    _ => Relation::Caseload,
                };
                let d = on(d, &format!("youth-{:04}", x % 1000), rel);
                let (nt, labels) = NOTES
                    .get((x % 4) as usize)
                    .copied()
                    .unwrap_or(("clinical", &["R"]));
                sealed(
                    d,
                    &[&format!("/notes/{}", x % 8), "/riskFlags/dv"],
                    &[nt],
                    labels,
                )
            }
        })
        .collect()
}

/// Record `i` of a sample caseload under the default policy: 40 leaf
/// fields across the policy's structured fields, plus 8 notes, one of each
/// note type from `general` to `safeguarding`. For the sealing benchmark and
/// the shape tests.
pub fn caseload_record(i: usize) -> Value {
    const NOTE_TYPES: [&str; 8] = [
        "general",
        "clinical",
        "behaviouralHealth",
        "substanceUse",
        "dvIndicator",
        "childWelfare",
        "legal",
        "safeguarding",
    ];
    let notes: Vec<Value> = NOTE_TYPES
        .iter()
        .enumerate()
        .map(|(k, t)| {
            json!({"id": format!("n{i}-{k}"), "date": "2026-11-20", "author": "staff-0012", "type": t,
                   "text": format!("Note {k} for youth {i}: seen at the drop-in, discussed school and housing; follow-up booked.")})
        })
        .collect();
    json!({
        "id": format!("youth-{i:04}"), "resourceType": "youth", "team": if i % 2 == 0 { "north" } else { "south" },
        "demographics": {"ageBand": "13-15", "gender": "f"},
        "name": {"given": "Alex", "family": format!("Example{i}"), "preferred": "Al"},
        "birthDate": "2011-04-02", "phone": "555-0100", "email": "a@example.invalid",
        "address": {"line": "1 Main St", "city": "Springfield", "postalCode": "12345", "state": "WV"},
        "school": {"name": "Springfield Middle", "grade": 8, "contact": "Ms Lee"},
        "placement": {"type": "foster", "since": "2025-01-10", "carer": "J. Doe"},
        "keyworker": "staff-0012", "status": "active", "referral": {"source": "school", "date": "2025-01-02"},
        "riskFlags": {"dv": true, "childProtection": false, "suicide": "low", "substanceUse": "none"},
        "diagnoses": ["F41.1"], "medications": ["sertraline 50mg"], "allergies": ["penicillin"],
        "hivStatus": "negative", "legalStatus": "care order", "safetyPlan": "call keyworker",
        "insurance": {"payer": "Medicaid", "member": "M123"}, "invoices": [{"id": "inv1", "amount": 120}],
        "documents": [{"title": "court report", "content": "…"}, {"title": "plan", "content": "…"}],
        "consents": {"sharing": true, "photos": false}, "language": "en", "religion": "none",
        "notes": notes,
    })
}

/// A record of the default policy's layout (id `p-big`, team `north`)
/// with `notes` domestic-violence notes: the large record of the size
/// tests and benchmarks.
pub fn record_with_notes(notes: usize) -> Value {
    let list: Vec<Value> = (0..notes)
        .map(|k| {
            json!({"id": format!("n{k}"), "date": "2026-11-20", "author": "staff-0012", "type": "dvIndicator",
                   "text": format!("Note {k}: disclosed controlling behaviour at home; safety plan reviewed.")})
        })
        .collect();
    json!({"id": "p-big", "resourceType": "patient", "team": "north", "name": "Sam Example", "notes": list})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weeks the evening is tried in: as written, and moved to the
    /// recent past of a day in winter, in summer (daylight saving time in New
    /// York) and of a day years away.
    fn weeks() -> Vec<Week> {
        let mut w = vec![Week::AsWritten];
        for day in [
            "2027-01-11T09:00:00.000Z",
            "2027-07-02T23:30:00.000Z",
            "2031-03-09T12:00:00.000Z",
        ] {
            w.push(Week::Before(Timestamp::parse(day).unwrap()));
        }
        w
    }

    #[test]
    fn a_moved_evening_is_recent_but_never_ahead() {
        for week in weeks() {
            let Week::Before(now) = week else { continue };
            let chains = evening(None, week).unwrap();
            let times: Vec<i64> = chains
                .iter()
                .flat_map(|c| c.events.iter().map(|e| e.ts.millis()))
                .collect();
            let (first, last) = (times.iter().min().unwrap(), times.iter().max().unwrap());
            assert!(
                now.millis() - last >= DAY,
                "{week:?}: ends a day before now"
            );
            assert!(
                now.millis() - first <= 40 * DAY,
                "{week:?}: starts within 40 days"
            );
        }
    }

    #[cfg(feature = "tz")]
    #[test]
    fn the_evening_raises_every_rule_and_the_morning_none() {
        for week in weeks() {
            every_rule_and_the_morning_none(week);
        }
    }

    #[cfg(feature = "tz")]
    fn every_rule_and_the_morning_none(week: Week) {
        use crate::alerts::{scan, RuleId};
        use crate::policy::AlertConfig;
        use std::collections::BTreeSet;
        let chains = evening(None, week).unwrap();
        let all: Vec<Event> = chains.iter().flat_map(|c| c.events.clone()).collect();
        let f = scan(AlertConfig::default(), ["admin", "safeguardingLead"], &all).unwrap();
        let rules: BTreeSet<RuleId> = f.iter().map(|f| f.rule).collect();
        for r in [
            RuleId::OutsideCaseload,
            RuleId::RepeatedUnassigned,
            RuleId::BulkAccess,
            RuleId::OffHours,
            RuleId::BreakGlassUnauthorised,
            RuleId::Export,
            RuleId::RoleEscalation,
            RuleId::ConcurrentAccess,
            RuleId::OffHoursSpike,
            RuleId::DemographicTargeting,
            RuleId::KeyFieldEdits,
            RuleId::NoteDeleted,
            RuleId::BackdatedEntry,
            RuleId::RelatedRecord,
        ] {
            assert!(rules.contains(&r), "{week:?}: {r} missing: {f:#?}");
        }
        let one = |rule: RuleId| {
            let of: Vec<&crate::alerts::Finding> = f.iter().filter(|x| x.rule == rule).collect();
            assert_eq!(of.len(), 1, "{week:?}: {rule}: {of:#?}");
            of[0].actors[0].id.clone()
        };
        assert_eq!(one(RuleId::OffHoursSpike), "staff-0412");
        assert_eq!(one(RuleId::DemographicTargeting), "staff-0219");
        let lead = &chains
            .iter()
            .find(|c| c.name == "safeguarding-morning.jsonl")
            .unwrap()
            .events[0]
            .chain;
        assert!(
            f.iter().all(|f| f.events.iter().all(|e| &e.chain != lead)),
            "{week:?}: the proper break-glass raises nothing"
        );
    }

    #[test]
    fn routine_chains_verify() {
        let evs = routine(300, 9, None).unwrap();
        let mut v = crate::verify::Verifier::new(Default::default());
        for e in &evs {
            let line = crate::chain::to_line(e).unwrap();
            v.push_line(line.as_bytes()).unwrap();
        }
        assert_eq!(v.finish().events, 300);
    }
}
