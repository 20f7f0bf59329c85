//! `start`'s configuration (issue 7): every option of the wrong type or
//! range is refused naming its JSON Pointer; nothing falls back to a default.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use serde_json::{json, Value};

use sealtrail::page::{ErrorCode, StartConfig, StartError, StartOptions};
use sealtrail::Timestamp;

const POLICY: &str = include_str!("../pkg-config/policy.default.json");

fn config(options: Value) -> Value {
    json!({
        "policy": serde_json::from_str::<Value>(POLICY).unwrap(),
        "session": {
            "userId": "u1", "name": "U", "role": "nurse", "authStrength": "mfa",
            "authTime": "2026-11-23T09:00:00.000Z", "expiresAt": "2026-11-23T20:00:00.000Z",
            "sessionId": "s", "client": "tests"
        },
        "endpoint": "/api",
        "options": options
    })
}

/// Monday 2026-11-23 10:00 UTC, after every session's sign-in here.
fn now() -> Timestamp {
    Timestamp::parse("2026-11-23T10:00:00.000Z").unwrap()
}

fn parse(config: Value) -> Result<StartConfig, StartError> {
    StartConfig::from_value(config, now())
}

fn refused(options: Value) -> StartError {
    parse(config(options)).unwrap_err()
}

#[test]
fn defaults_and_given_values() {
    let c = parse(config(json!({}))).unwrap();
    assert_eq!(c.options, StartOptions::default());
    assert_eq!(c.options.db_name, "sealtrail");
    let c = parse(config(json!({
        "dbName": "audit", "batchEvents": 2, "batchBytes": 3000, "batchDelayMs": 0,
        "timeoutMs": 300, "backoffMs": 40, "backoffMaxMs": 200,
        "strings": { "title": "Notfallzugriff" }
    })))
    .unwrap();
    let o = c.options;
    assert_eq!(
        (
            o.db_name.as_str(),
            o.batch_events,
            o.batch_bytes,
            o.batch_delay_ms
        ),
        ("audit", 2, 3000, 0)
    );
    assert_eq!(
        (o.timeout_ms, o.backoff_ms, o.backoff_max_ms),
        (300, 40, 200)
    );
    assert_eq!(o.strings.title, "Notfallzugriff");
    assert_eq!(o.strings.cancel, "Cancel", "other texts keep their default");
    // The policy may come as JSON text.
    let mut text = config(json!({}));
    text["policy"] = Value::String(POLICY.to_owned());
    assert!(parse(text).is_ok());
}

#[test]
fn batch_delay_of_the_wrong_kind_or_range_is_refused() {
    // NaN and Infinity reach the core as `null` (JSON has neither; the web
    // layer refuses them before, naming the option the same way).
    for bad in [
        json!(null),
        json!(-1),
        json!(0.5),
        json!(1e12),
        json!(600_001),
        json!("250"),
        json!(true),
    ] {
        let e = refused(json!({ "batchDelayMs": bad }));
        assert_eq!(e.pointer(), "/options/batchDelayMs", "{bad}");
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(
            e.to_string()
                .contains("expected a whole number of milliseconds from 0 to 600000"),
            "{e}"
        );
    }
}

#[test]
fn every_numeric_option_has_a_range() {
    for (name, low, high) in [
        ("batchEvents", 0, 10_001),
        ("batchBytes", 1_023, 64 * 1024 * 1024 + 1),
        ("timeoutMs", 0, 600_001),
        ("backoffMs", 0, 3_600_001),
        ("backoffMaxMs", 0, 86_400_001),
    ] {
        for bad in [json!(low), json!(high), json!(-5), json!(2.5)] {
            let e = refused(json!({ name: bad }));
            assert_eq!(e.pointer(), format!("/options/{name}"), "{name} = {bad}");
        }
    }
}

/// A log key and a witness key, as `sealtrail-collector keygen` prints them.
const LOG_KEY: &str =
    "fixture.sealtrail.test/log+b14a14aa+Aady3F3jgL3ecSIi+DZUmW3PMNp+Q2Sgru60pTTFioPG";

#[test]
fn log_keys_pin_the_collector_and_its_witnesses() {
    let log = sealtrail::tlog::VerifierKey::parse(LOG_KEY).unwrap();
    let witness = sealtrail::tlog::VerifierKey::new(
        "witness.example",
        sealtrail::tlog::KeyType::Cosignature,
        [7; 32],
    )
    .unwrap()
    .to_string();
    let c = parse(config(json!({ "collectorKey": LOG_KEY }))).unwrap();
    let trust = c.options.log.unwrap();
    assert_eq!(
        (trust.log, trust.witnesses.len(), trust.quorum),
        (log, 0, 0)
    );
    let c = parse(config(
        json!({ "collectorKey": LOG_KEY, "witnessKeys": [witness] }),
    ))
    .unwrap();
    assert_eq!(c.options.log.unwrap().quorum, 1, "all witnesses by default");
    for (options, pointer) in [
        (json!({ "collectorKey": 1 }), "/options/collectorKey"),
        (json!({ "collectorKey": "nope" }), "/options/collectorKey"),
        // A cosignature key is no log key, and the other way round.
        (json!({ "collectorKey": witness }), "/options/collectorKey"),
        (
            json!({ "collectorKey": LOG_KEY, "witnessKeys": [LOG_KEY] }),
            "/options/witnessKeys/0",
        ),
        (
            json!({ "collectorKey": LOG_KEY, "witnessKeys": LOG_KEY }),
            "/options/witnessKeys",
        ),
        (json!({ "witnessKeys": [witness] }), "/options/collectorKey"),
        (
            json!({ "collectorKey": LOG_KEY, "witnessKeys": [witness], "witnessQuorum": 2 }),
            "/options/witnessQuorum",
        ),
        (
            json!({ "collectorKey": LOG_KEY, "witnessQuorum": -1 }),
            "/options/witnessQuorum",
        ),
    ] {
        let e = refused(options.clone());
        assert_eq!(e.pointer(), pointer, "{options}: {e}");
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{options}: {e}");
    }
}

#[test]
fn a_record_pseudonym_key_is_kept_and_never_shown() {
    let key = "ab".repeat(32);
    let c = parse(config(json!({ "recordPseudonymKey": key }))).unwrap();
    let k = c.options.record_key.clone().unwrap();
    assert_eq!(
        k.pseudonym("p-1"),
        sealtrail::page::RecordKey::from_hex(&key)
            .unwrap()
            .pseudonym("p-1")
    );
    assert!(!format!("{:?}", c.options).contains("abab"));
    let e = refused(json!({ "recordPseudonymKey": format!("{key}00") }));
    assert!(
        !e.to_string().contains("abab"),
        "the error shows no key: {e}"
    );
}

#[test]
fn names_texts_and_callbacks_of_the_wrong_kind_are_refused() {
    for (options, pointer) in [
        (json!({ "dbName": "" }), "/options/dbName"),
        (json!({ "dbName": "  " }), "/options/dbName"),
        (json!({ "dbName": 7 }), "/options/dbName"),
        (
            json!({ "strings": { "title": 1 } }),
            "/options/strings/title",
        ),
        (
            json!({ "strings": { "titel": "x" } }),
            "/options/strings/titel",
        ),
        (json!({ "strings": "x" }), "/options/strings"),
        (json!({ "onAlert": "alert" }), "/options/onAlert"),
        (json!({ "onEvent": null }), "/options/onEvent"),
        (json!({ "batchSize": 5 }), "/options/batchSize"),
        (
            json!({ "recordPseudonymKey": 7 }),
            "/options/recordPseudonymKey",
        ),
        (
            json!({ "recordPseudonymKey": "00" }),
            "/options/recordPseudonymKey",
        ),
        (
            json!({ "recordPseudonymKey": "z".repeat(64) }),
            "/options/recordPseudonymKey",
        ),
        (
            json!({ "backoffMs": 500, "backoffMaxMs": 100 }),
            "/options/backoffMaxMs",
        ),
        (json!(null), "/options"),
        (json!([]), "/options"),
    ] {
        let e = refused(options.clone());
        assert_eq!(e.pointer(), pointer, "{options}: {e}");
    }
}

#[test]
fn a_first_retry_delay_alone_raises_the_ceiling() {
    let c = parse(config(json!({ "backoffMs": 120_000 }))).unwrap();
    assert_eq!(c.options.backoff_max_ms, 120_000);
}

#[test]
fn the_configuration_itself_is_checked() {
    let mut c = config(json!({}));
    c["endpoint"] = json!(" ");
    assert_eq!(parse(c.clone()).unwrap_err().pointer(), "/endpoint");
    c["endpoint"] = json!(5);
    assert_eq!(parse(c.clone()).unwrap_err().pointer(), "/endpoint");
    c.as_object_mut().unwrap().remove("endpoint");
    assert_eq!(parse(c.clone()).unwrap_err().pointer(), "/endpoint");
    let mut c = config(json!({}));
    c["extra"] = json!(1);
    assert_eq!(parse(c).unwrap_err().pointer(), "/extra");
    let mut c = config(json!({}));
    c["session"]["authTime"] = json!("yesterday");
    assert_eq!(parse(c).unwrap_err().pointer(), "/session/authTime");
    let mut c = config(json!({}));
    c["policy"]["roles"] = json!(3);
    assert_eq!(parse(c).unwrap_err().pointer(), "/policy/roles");
    assert_eq!(parse(json!("x")).unwrap_err().pointer(), "");
}

proptest! {
    /// Any JSON number for a millisecond option is accepted exactly when it
    /// is a whole number in range, and then kept as given.
    #[test]
    fn batch_delay_accepts_exactly_the_whole_numbers_in_range(n in prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        (0i64..700_000).prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
    ]) {
        let ok = n.as_u64().filter(|v| *v <= 600_000);
        match parse(config(json!({ "batchDelayMs": n.clone() }))) {
            Ok(c) => prop_assert_eq!(Some(u64::from(c.options.batch_delay_ms)), ok),
            Err(e) => {
                prop_assert!(ok.is_none(), "{} refused: {}", n, e);
                prop_assert_eq!(e.pointer(), "/options/batchDelayMs");
            }
        }
    }
}
