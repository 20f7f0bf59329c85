//! The shape property: random shape mutations of every fixture record, for
//! every role of every shipped policy, never show a string the original
//! record seals for that role. Inputs that once broke it are kept in
//! `tests/fixtures/shapes/` and replayed first.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod shape_support;

use std::collections::BTreeSet;

use proptest::prelude::*;
use sealtrail::decision::{Access, FieldAction, RecordFacts};
use sealtrail::entropy::SeededEntropy;
use sealtrail::policy::Policy;
use sealtrail::session::Session;
use sealtrail::Timestamp;
use serde_json::Value;
use shape_support::*;

fn now() -> Timestamp {
    Timestamp::parse("2026-11-23T15:00:00.000Z").unwrap()
}

/// A live session in `role` for which `record` is on the caseload and in the team.
fn session_for(policy: &Policy, role: &str, record: &Value, strength: &str) -> Option<Session> {
    let facts = RecordFacts::read(policy, record).ok()?;
    Some(Session {
        user_id: format!("u-{role}"),
        name: role.to_owned(),
        role: role.to_owned(),
        caseload: vec![facts.id],
        related_records: vec![],
        prior_grants: vec![],
        team: facts.team,
        auth_strength: strength.to_owned(),
        auth_time: Timestamp::parse("2026-11-23T14:55:00.000Z").unwrap(),
        expires_at: Timestamp::parse("2026-11-23T22:00:00.000Z").unwrap(),
        session_id: "s-1".to_owned(),
        client: "shape property".to_owned(),
        ip: None,
        facility: None,
        unit: None,
        network: Some("onSite".to_owned()),
        device: Some("managed".to_owned()),
        sign_in_method: None,
    })
}

/// Strings `record` seals for `session` that nothing shown, no member name
/// and no number could account for: none may appear in a mutant's view.
fn forbidden(policy: &Policy, session: &Session, record: &Value) -> BTreeSet<String> {
    let access = Access::new(policy, session, now(), &[]);
    let sealed = access
        .seal(
            record.clone(),
            FieldAction::View,
            &mut SeededEntropy::new(1),
        )
        .unwrap();
    let mut hidden = BTreeSet::new();
    for e in sealed.vault.entries() {
        strings(record.pointer(&e.pointer).unwrap(), &mut hidden);
    }
    let mut corpus: BTreeSet<String> = visible_strings(&sealed.view).into_iter().collect();
    names_and_scalars(record, &mut corpus);
    corpus.extend(FRESH.iter().map(|s| (*s).to_owned()));
    hidden
        .into_iter()
        .filter(|h| !corpus.iter().any(|c| c.contains(h.as_str())))
        .collect()
}

/// The first forbidden string `mutant`'s view shows, if any.
fn leak(
    policy: &Policy,
    session: &Session,
    mutant: &Value,
    forbidden: &BTreeSet<String>,
) -> Option<String> {
    let access = Access::new(policy, session, now(), &[]);
    // A record the policy cannot read at all (no id any more) shows nothing.
    let sealed = access
        .seal(
            mutant.clone(),
            FieldAction::View,
            &mut SeededEntropy::new(2),
        )
        .ok()?;
    let shown = visible_strings(&sealed.view);
    forbidden
        .iter()
        .find(|f| shown.iter().any(|s| s.contains(f.as_str())))
        .cloned()
}

/// Applies `mutations` at the places `at` picks (modulo the number of
/// places), skipping any place inside or above one already mutated, so no
/// mutation acts on another's output.
fn apply(record: &Value, picks: &[(u16, Mutation)], layout: &[String]) -> Value {
    let places: Vec<Vec<Key>> = paths(record)
        .into_iter()
        .filter(|p| !layout.contains(&pointer_of(p)))
        .collect();
    let mut chosen: Vec<(Vec<Key>, &Mutation)> = Vec::new();
    for (at, m) in picks {
        let Some(p) = places.get(usize::from(*at) % places.len().max(1)) else {
            continue;
        };
        let overlaps = chosen
            .iter()
            .any(|(q, _)| p.starts_with(q) || q.starts_with(p));
        if !overlaps {
            chosen.push((p.clone(), m));
        }
    }
    let mut out = record.clone();
    for (p, m) in chosen {
        let slot = get_mut(&mut out, &p).unwrap();
        let v = std::mem::take(slot);
        *slot = mutate(v, m);
    }
    out
}

fn pointer_of(p: &[Key]) -> String {
    p.iter()
        .map(|k| match k {
            Key::Member(m) => format!("/{}", m.replace('~', "~0").replace('/', "~1")),
            Key::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// The shipped policies' id and team pointers: mutating them only makes
/// the record unreadable.
fn layout() -> Vec<String> {
    Shipped::ALL
        .iter()
        .flat_map(|p| {
            let r = Policy::parse(policy_text(*p)).unwrap().doc().record.clone();
            std::iter::once(r.id).chain(r.team)
        })
        .collect()
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<u8>().prop_map(Mutation::SwapType),
        Just(Mutation::WrapArray),
        Just(Mutation::WrapObject),
        any::<u8>().prop_map(Mutation::Flatten),
        (any::<u8>(), any::<u8>()).prop_map(|(c, g)| Mutation::MoveUp(c, g)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Mutation::MoveDown(a, b)),
    ]
}

/// Checks every role of every shipped policy that can read `record`.
fn check(record: &Value, mutant: &Value) -> Result<(), String> {
    for shipped in Shipped::ALL {
        let policy = Policy::parse(policy_text(shipped)).unwrap();
        for role in policy.doc().roles.keys() {
            for strength in ["password", "mfa"] {
                let Some(s) = session_for(&policy, role, record, strength) else {
                    continue;
                };
                let f = forbidden(&policy, &s, record);
                if let Some(l) = leak(&policy, &s, mutant, &f) {
                    return Err(format!(
                        "{shipped:?} {role} ({strength}) sees `{l}` in {mutant:#}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Every input that once broke sealing: `{"record": ..., "mutant": ...}`.
#[test]
fn kept_inputs_do_not_leak() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shapes");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if let Err(e) = check(&case["record"], &case["mutant"]) {
            panic!("{}: {e}", path.display());
        }
        seen += 1;
    }
    assert!(seen > 0, "no kept inputs in {}", dir.display());
}

proptest! {
    // 256 cases by default; `PROPTEST_CASES=5000` for a longer run.
    #[test]
    fn shape_mutations_never_show_what_the_original_seals(
        which in any::<prop::sample::Index>(),
        picks in prop::collection::vec((any::<u16>(), mutation()), 1..4),
    ) {
        let records = fixture_records();
        let (name, record) = &records[which.index(records.len())];
        let mutant = apply(record, &picks, &layout());
        if let Err(e) = check(record, &mutant) {
            prop_assert!(false, "{name}, {picks:?}: {e}");
        }
    }
}
