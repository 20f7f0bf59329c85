//! Property tests of condition evaluation: whatever is missing or of the
//! wrong kind never allows, `not(not(c))` is `c`, and `allOf`/`anyOf` obey
//! the laws of (three-valued) logic.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{Facts, Truth};
use crate::policy::clock::LocalClock;
use crate::policy::condition::Attribute;
use crate::policy::{LocalTime, Policy, Weekday};
use crate::session::Session;
use crate::Timestamp;

/// Yes, no or unknown, without the explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Yes,
    No,
    Unknown,
}

fn kind(t: Truth) -> Kind {
    match t {
        Truth::Yes => Kind::Yes,
        Truth::No(_) => Kind::No,
        Truth::Unknown(..) => Kind::Unknown,
    }
}

/// Leaf conditions over every kind of attribute.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"attribute": "session.network", "oneOf": ["onSite", "vpn"]})),
        Just(json!({"attribute": "session.device", "equals": "managed"})),
        Just(json!({"attribute": "record.unit", "equals": {"attribute": "session.unit"}})),
        Just(
            json!({"attribute": "record.excludedStaff", "contains": {"attribute": "session.userId"}})
        ),
        Just(json!({"attribute": "record.restricted", "equals": false})),
        Just(json!({"attribute": "time.localTime", "within": {"from": "22:00", "until": "07:00"}})),
        Just(json!({"attribute": "time.weekday", "oneOf": ["sat", "sun"]})),
        Just(json!({"attribute": "time.now", "before": "2026-11-23T16:00:00.000Z"})),
        Just(json!({"consent": "substanceUse"})),
    ]
}

fn condition() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| json!({"allOf": v})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| json!({"anyOf": v})),
            inner.prop_map(|c| json!({"not": c})),
        ]
    })
}

/// A record attribute value: absent, well typed or ill typed.
fn value(good: Vec<Value>) -> impl Strategy<Value = Option<Value>> {
    let bad = prop_oneof![
        Just(json!(3)),
        Just(json!({"a": 1})),
        Just(json!([1, "u1"]))
    ];
    prop_oneof![
        Just(None),
        prop::sample::select(good).prop_map(Some),
        bad.prop_map(Some)
    ]
}

/// Everything a condition reads; `None` is missing.
#[derive(Debug, Clone)]
struct World {
    network: Option<&'static str>,
    device: Option<&'static str>,
    unit: Option<&'static str>,
    user: &'static str,
    clock: Option<(u8, Weekday)>,
    record: Vec<Option<Value>>,
}

fn world() -> impl Strategy<Value = World> {
    let opt = |xs: &'static [&'static str]| {
        prop_oneof![Just(None), prop::sample::select(xs).prop_map(Some)]
    };
    let record = (
        value(vec![json!("a"), json!("b")]),
        value(vec![json!([]), json!(["u1"]), json!(["u2", "u1"])]),
        value(vec![json!(true), json!(false)]),
        value(vec![
            json!([]),
            json!([{"noteTypes": ["substanceUse"], "users": ["u1"]}]),
        ]),
    );
    (
        opt(&["onSite", "vpn", "remote"]),
        opt(&["managed", "unmanaged"]),
        opt(&["a", "b"]),
        prop::sample::select(&["u1", "u2"][..]),
        prop::option::of((
            0u8..24,
            prop::sample::select(&[Weekday::Mon, Weekday::Sat][..]),
        )),
        record,
    )
        .prop_map(
            |(network, device, unit, user, clock, (runit, excluded, restricted, consents))| {
                let mut record = vec![None; Attribute::RECORD.len()];
                for (attr, v) in [
                    (Attribute::RecordUnit, runit),
                    (Attribute::RecordExcludedStaff, excluded),
                    (Attribute::RecordRestricted, restricted),
                    (Attribute::RecordConsents, consents),
                ] {
                    if let Some(slot) = Attribute::RECORD.iter().position(|a| *a == attr) {
                        record[slot] = v;
                    }
                }
                World {
                    network,
                    device,
                    unit,
                    user,
                    clock,
                    record,
                }
            },
        )
}

fn policy_with(conditions: &[(&str, &Value)]) -> Policy {
    let mut v: Value =
        serde_json::from_str(include_str!("../../pkg-config/policy.default.json")).unwrap();
    v["record"]["unit"] = json!("/unit");
    v["record"].as_object_mut().unwrap().remove("defaults");
    for (name, c) in conditions {
        v["conditions"][*name] = (*c).clone();
    }
    Policy::from_value(&v).unwrap()
}

fn eval(p: &Policy, name: &str, w: &World) -> Truth {
    let session = Session {
        user_id: w.user.into(),
        name: "U".into(),
        role: "nurse".into(),
        caseload: vec![],
        related_records: vec![],
        prior_grants: vec![],
        team: Some("east".into()),
        auth_strength: "mfa".into(),
        auth_time: Timestamp::parse("2026-11-23T14:00:00.000Z").unwrap(),
        expires_at: Timestamp::parse("2026-11-23T20:00:00.000Z").unwrap(),
        session_id: "s".into(),
        client: "c".into(),
        ip: None,
        facility: None,
        unit: w.unit.map(str::to_owned),
        network: w.network.map(str::to_owned),
        device: w.device.map(str::to_owned),
        sign_in_method: None,
    };
    let facts = Facts {
        session: &session,
        now: Timestamp::parse("2026-11-23T15:00:00.000Z").unwrap(),
        clock: w.clock.map(|(h, d)| LocalClock {
            weekday: d,
            time: LocalTime::new(h, 0),
            business: (8..18).contains(&h),
        }),
        record: Some(&w.record),
    };
    let conditions = &p.rules.conditions;
    facts.eval(conditions, conditions.named(name).unwrap())
}

/// `w` with one attribute taken away (or made ill-typed): `which` picks it.
fn without(w: &World, which: usize, ill: bool) -> World {
    let mut w = w.clone();
    match which % 8 {
        0 => w.network = None,
        1 => w.device = None,
        2 => w.unit = None,
        3 => w.clock = None,
        n => {
            let slot = [
                Attribute::RecordUnit,
                Attribute::RecordExcludedStaff,
                Attribute::RecordRestricted,
                Attribute::RecordConsents,
            ][n - 4];
            if let Some(i) = Attribute::RECORD.iter().position(|a| *a == slot) {
                w.record[i] = ill.then(|| json!(7));
            }
        }
    }
    w
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Taking an attribute away (or giving it the wrong kind) never turns
    /// a refusal into an allowance: whatever allows without it allows with it.
    #[test]
    fn a_missing_or_ill_typed_attribute_never_allows(c in condition(), w in world(), which in 0usize..8, ill: bool) {
        let p = policy_with(&[("c", &c)]);
        let less = without(&w, which, ill);
        if kind(eval(&p, "c", &less)) == Kind::Yes {
            prop_assert_eq!(kind(eval(&p, "c", &w)), Kind::Yes);
        }
    }

    #[test]
    fn not_not_is_the_identity(c in condition(), w in world()) {
        let nn = json!({"not": {"not": c.clone()}});
        let p = policy_with(&[("c", &c), ("nn", &nn)]);
        prop_assert_eq!(kind(eval(&p, "nn", &w)), kind(eval(&p, "c", &w)));
    }

    #[test]
    fn all_of_and_any_of_obey_the_laws(a in condition(), b in condition(), w in world()) {
        let named = [
            ("a", a.clone()),
            ("ab", json!({"allOf": [a.clone(), b.clone()]})),
            ("ba", json!({"allOf": [b.clone(), a.clone()]})),
            ("a_or_b", json!({"anyOf": [a.clone(), b.clone()]})),
            ("b_or_a", json!({"anyOf": [b.clone(), a.clone()]})),
            ("not_ab", json!({"not": {"allOf": [a.clone(), b.clone()]}})),
            ("demorgan", json!({"anyOf": [{"not": a.clone()}, {"not": b.clone()}]})),
            ("not_a_or_b", json!({"not": {"anyOf": [a.clone(), b.clone()]}})),
            ("demorgan2", json!({"allOf": [{"not": a.clone()}, {"not": b.clone()}]})),
            ("absorb", json!({"allOf": [a.clone(), {"anyOf": [a.clone(), b.clone()]}]})),
            ("aa", json!({"allOf": [a.clone(), a.clone()]})),
        ];
        let refs: Vec<(&str, &Value)> = named.iter().map(|(n, v)| (*n, v)).collect();
        let p = policy_with(&refs);
        let k = |n: &str| kind(eval(&p, n, &w));
        prop_assert_eq!(k("ab"), k("ba"));
        prop_assert_eq!(k("a_or_b"), k("b_or_a"));
        prop_assert_eq!(k("not_ab"), k("demorgan"));
        prop_assert_eq!(k("not_a_or_b"), k("demorgan2"));
        prop_assert_eq!(k("absorb"), k("a"));
        prop_assert_eq!(k("aa"), k("a"));
        // allOf is yes only when both are; anyOf no only when both are.
        prop_assert_eq!(k("ab") == Kind::Yes, k("a") == Kind::Yes && kind(eval(&policy_with(&[("b", &b)]), "b", &w)) == Kind::Yes);
    }
}
