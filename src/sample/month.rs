//! The month before the sample evening: team Riverside's routine work, one
//! chain per staff member, on a hundred records that carry `gender` (one of
//! the default policy's demographics). It gives the rules that need history
//! their history: against it the evening's night accesses are a spike, and
//! one colleague's records are concentrated on one group.

use super::{on, SampleChain, SampleError, Scene, Staff, DAY, KAUR, NIGHT};
use crate::event::{Action, Outcome, Relation};

/// Monday 2026-10-26 00:00 UTC: four weeks before the evening's Monday.
const FIRST_DAY: i64 = NIGHT - (2 * 60 + 40) * 60_000 - 29 * DAY;

/// 15:00 UTC: 10:00 or 11:00 in New York, in business hours.
const DAYTIME: i64 = 15 * 3_600_000;

/// 02:30 UTC on a Wednesday: Tuesday 21:30 or 22:30 in New York.
const LATE: i64 = 2 * 3_600_000 + 30 * 60_000;

const REILLY: Staff = Staff {
    id: "staff-0388",
    name: "Tom Reilly",
    role: "outreachSpecialist",
    team: "riverside",
    session: "sess-3c10",
    ip: "10.20.4.21",
};

const SHAH: Staff = Staff {
    id: "staff-0450",
    name: "Priya Shah",
    role: "outreachSpecialist",
    team: "riverside",
    session: "sess-52ab",
    ip: "10.20.4.30",
};

const CARTER: Staff = Staff {
    id: "staff-0219",
    name: "Ben Carter",
    role: "outreachSpecialist",
    team: "riverside",
    session: "sess-6d04",
    ip: "10.20.4.44",
};

/// `youth-1NN`'s gender: 45 female, 40 male, 15 nonbinary.
fn gender(i: u32) -> &'static str {
    match i % 20 {
        0..=8 => "female",
        9..=16 => "male",
        _ => "nonbinary",
    }
}

/// `staff` viewing record `youth-1NN` (`i` = NN) on their caseload.
fn view(staff: &Staff, i: u32, policy: Option<&str>) -> crate::event::EventDraft {
    let mut d = on(
        staff.draft(Action::View, Outcome::Success, policy),
        &format!("youth-{}", 100 + i % 100),
        Relation::Caseload,
    );
    if let Some(s) = d.subject.as_mut() {
        s.demographics
            .insert("gender".into(), gender(i % 100).into());
    }
    d
}

/// The month's chains: three colleagues who each work through every record
/// on weekdays (six views a day, an hour apart) and open one at night each
/// Tuesday; and Ben Carter, whose records over the last three weeks are
/// mostly those of the fifteen nonbinary young people.
pub(super) fn chains(policy: Option<&str>, shift: i64) -> Result<Vec<SampleChain>, SampleError> {
    let mut out = Vec::new();
    let routine = [
        ("riverside-month-kaur.jsonl", &KAUR, 0),
        ("riverside-month-reilly.jsonl", &REILLY, 33),
        ("riverside-month-shah.jsonl", &SHAH, 66),
    ];
    for (n, (name, staff, offset)) in routine.into_iter().enumerate() {
        let mut s = Scene::new(10 + n as u64, FIRST_DAY, shift)?;
        let mut k: u32 = offset;
        for d in 0..28 {
            let day = FIRST_DAY + d * DAY;
            if d % 7 == 2 {
                s.at(day + LATE, view(staff, k * 7, policy))?;
            }
            if d % 7 < 5 {
                for j in 0..6 {
                    s.at(day + DAYTIME + j * 65 * 60_000, view(staff, k * 37, policy))?;
                    k += 1;
                }
            }
        }
        out.push(SampleChain {
            name,
            events: s.events,
        });
    }
    let mut s = Scene::new(13, FIRST_DAY, shift)?;
    let (mut targeted, mut other) = (0u32, 0u32);
    for d in 7..28 {
        if d % 7 >= 5 {
            continue;
        }
        for j in 0..2 {
            let v = (d * 2 + j) as u32;
            let i = if v % 3 == 2 {
                other += 1;
                other * 20 + other % 17
            } else {
                targeted += 1;
                (targeted % 15 / 3) * 20 + 17 + targeted % 3
            };
            s.at(
                FIRST_DAY + d * DAY + DAYTIME + j * 90 * 60_000,
                view(&CARTER, i, policy),
            )?;
        }
    }
    out.push(SampleChain {
        name: "riverside-month-carter.jsonl",
        events: s.events,
    });
    Ok(out)
}
