//! Chains for the native tests: built with the crate's own writer, then
//! handled as raw JSON values so tests can tamper with them freely.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

use sealtrail::chain::{hash_event, ChainWriter};
use sealtrail::event::ChainId;
use sealtrail::event::{Action, Actor, EventDraft, Outcome, Reason, Relation, SessionRef, Subject};
use sealtrail::verify::{
    verify_jsonl, verify_slice, Failure, Options, Rule, Summary, Verifier, VerifyError,
};
use sealtrail::Timestamp;
use serde_json::Value;

/// Start of every test chain: Monday 2026-11-23 15:00 UTC.
pub const T0: i64 = 1_795_446_000_000;

/// A deterministic chain id from a small number.
pub fn chain_id(n: u64) -> ChainId {
    ChainId::parse(&format!("{:032x}", 0x5ea1_0000_u128 + u128::from(n))).unwrap()
}

/// Varied drafts: the `k`th of a chain, derived from `seed`.
pub fn draft(seed: u64, k: u64) -> EventDraft {
    let roles = ["nurse", "doctor", "reception", "safeguarding", "billing"];
    let x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(k);
    let role = roles[(x % 5) as usize];
    let action = match x % 7 {
        0 => Action::View,
        1 => Action::ViewSealed,
        2 => Action::Unseal,
        3 => Action::Search,
        4 => Action::BreakGlass,
        5 => Action::Other("custom-action".into()),
        _ => Action::Deny,
    };
    let mut d = EventDraft::new(
        Actor {
            id: format!("u{}", x % 4),
            role: role.into(),
            name: Some(format!("Zoë \"{}\" Ó'Brien\u{1F600}", x % 3)),
            auth_strength: Some("mfa".into()),
            team: None,
        },
        action.clone(),
        if x % 3 == 0 {
            Outcome::Denied
        } else {
            Outcome::Success
        },
    );
    d.subject = Some(Subject {
        record_id: format!("y{}", x % 9),
        record_type: Some("youth".into()),
        relation: Some(match x % 3 {
            0 => Relation::Caseload,
            1 => Relation::Team,
            _ => Relation::Unassigned,
        }),
        demographics: Default::default(),
        related: false,
    });
    d.fields = vec![format!("/notes/{}", x % 5), "/riskFlags/dv".into()];
    d.note_types = vec!["clinical".into()];
    d.labels = vec!["R".into(), "PSY".into()];
    d.session = Some(SessionRef {
        id: format!("s{seed}"),
        ip: Some("10.1.2.3".into()),
        client: Some("Mozilla/5.0 (X11; Linux)\tTest".into()),
    });
    if action == Action::BreakGlass {
        d.purpose_of_use = Some("BTG".into());
        d.reason = Some(Reason {
            code: "safeguarding-concern".into(),
            text: "line one\nline two \u{2028} \\ end".into(),
            context: None,
            incident_ref: Some("INC-1".into()),
        });
    } else {
        d.purpose_of_use = Some("TREAT".into());
    }
    d.policy = Some(format!("sha256:{}", "ab".repeat(32)));
    d.detail.insert("n".into(), Value::from(x % 1000));
    d.detail.insert("neg".into(), Value::from(-(k as i64)));
    d
}

/// A valid chain of `n` events as JSON values, one second apart.
pub fn chain(n: u64, seed: u64) -> Vec<Value> {
    let mut w = ChainWriter::new(chain_id(seed));
    (0..n)
        .map(|k| {
            let ts = Timestamp::from_millis(T0 + 1000 * k as i64).unwrap();
            let e = w.append(draft(seed, k), ts).unwrap();
            serde_json::to_value(&e).unwrap()
        })
        .collect()
}

/// Recomputes `hash` of one event after an edit.
pub fn rehash(e: &mut Value) {
    let h = hash_event(e.as_object().unwrap()).unwrap();
    e["hash"] = h.to_hex().into();
}

/// Rewrites the chain from `from` on: each `prev` links to its
/// predecessor's hash and each hash is recomputed, as a forger would.
pub fn relink(events: &mut [Value], from: usize) {
    for i in from..events.len() {
        if i > 0 {
            let prev = events[i - 1]["hash"].clone();
            events[i]["prev"] = prev;
        }
        rehash(&mut events[i]);
    }
}

/// The JSONL text of `events`, canonical lines.
pub fn jsonl(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| sealtrail::canon::to_string(e).unwrap() + "\n")
        .collect()
}

/// The JSONL text with each line written non-canonically (spaces, members
/// in another order, escaped solidus): same events, other bytes.
pub fn jsonl_loose(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| {
            let Some(map) = e.as_object() else {
                return format!("{e}\n");
            };
            let mut members: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{} : {}", serde_json::to_string(k).unwrap(), v))
                .collect();
            members.reverse();
            format!("{{ {} }}\n", members.join(" , ")).replace("/notes", "\\/notes")
        })
        .collect()
}

/// Verifies `events` in both byte forms; both must agree.
pub fn verify(events: &[Value]) -> Result<Summary, Failure> {
    verify_with(events, Options::default())
}

/// [`verify`] with options.
pub fn verify_with(events: &[Value], options: Options) -> Result<Summary, Failure> {
    let a = verify_text(&jsonl(events), options);
    let b = verify_text(&jsonl_loose(events), options);
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "canonical and loose lines disagree"),
        (Err(x), Err(y)) => assert_eq!(
            (x.seq, x.position, x.rule),
            (y.seq, y.position, y.rule),
            "canonical and loose lines disagree"
        ),
        _ => panic!("canonical and loose lines disagree: {a:?} vs {b:?}"),
    }
    a
}

/// Verifies JSONL text.
/// Streaming and in-memory parallel verification must agree exactly.
pub fn verify_text(text: &str, options: Options) -> Result<Summary, Failure> {
    let streamed = match verify_jsonl(text.as_bytes(), options) {
        Ok(s) => Ok(s),
        Err(VerifyError::Broken(f)) => Err(f),
        Err(e) => panic!("unexpected error: {e}"),
    };
    for threads in [1, 2, 3] {
        let parallel = verify_slice(
            Verifier::new(options),
            text.as_bytes(),
            threads,
            &mut |_| {},
        );
        assert_eq!(
            parallel, streamed,
            "verify_slice with {threads} threads disagrees"
        );
    }
    streamed
}

/// Asserts the first failure is `rule` at `seq` (as written) and `position`.
pub fn assert_caught(events: &[Value], seq: u64, position: u64, rule: Rule) {
    let f = verify(events).expect_err("tampering went unnoticed");
    assert_eq!(
        (f.seq, f.position, f.rule),
        (Some(seq), position, rule),
        "{f}"
    );
}
