//! Every alert rule raised by a real collector from a realistic sequence:
//! the sample evening (`sealtrail::sample::evening`, what the demo uploads),
//! a month of team Riverside's work and then one night, uploaded the way
//! browsers would (chains interleaved in time order, in batches), judged
//! under the shipped default policy. The rules' near misses are the core's
//! tests (`tests/alerts_patterns.rs`); here it is the collector's engine,
//! its stored findings and what `GET /api/alerts` shows the reviewer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;

use serde_json::{json, Value};

use common::*;
use sealtrail::alerts::RuleId;
use sealtrail::event::Event;
use sealtrail::sample::{evening, SampleChain, Week};

const OUTREACH: &str = "staff-0412";
const RECEPTION: &str = "staff-0133";
const CARTER: &str = "staff-0219";

/// Each rule, and the staff member the sample evening makes it name.
const EXPECTED: [(RuleId, &str); 14] = [
    (RuleId::OutsideCaseload, OUTREACH),
    (RuleId::RepeatedUnassigned, OUTREACH),
    (RuleId::BulkAccess, OUTREACH),
    (RuleId::OffHours, OUTREACH),
    (RuleId::BreakGlassUnauthorised, OUTREACH),
    (RuleId::Export, OUTREACH),
    (RuleId::RoleEscalation, OUTREACH),
    (RuleId::ConcurrentAccess, OUTREACH),
    (RuleId::OffHoursSpike, OUTREACH),
    (RuleId::DemographicTargeting, CARTER),
    (RuleId::KeyFieldEdits, RECEPTION),
    (RuleId::NoteDeleted, OUTREACH),
    (RuleId::BackdatedEntry, OUTREACH),
    (RuleId::RelatedRecord, RECEPTION),
];

/// The evening moved to last week, as the demo uploads it: a collector
/// judges it as fresh evidence on any day the suite runs.
fn this_week() -> Week {
    Week::Before(sealtrail_collector::clock::now().unwrap())
}

fn default_policy() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pkg-config/policy.default.json")
}

/// The events of `chains` in time order, in batches of consecutive events
/// of one chain (as `scripts/demo-seed.mjs` sends them).
fn batches(chains: &[SampleChain]) -> Vec<Vec<&Event>> {
    let mut all: Vec<&Event> = chains.iter().flat_map(|c| &c.events).collect();
    all.sort_by(|a, b| (a.ts, &a.chain, a.seq).cmp(&(b.ts, &b.chain, b.seq)));
    let mut out: Vec<Vec<&Event>> = Vec::new();
    for e in all {
        match out.last_mut() {
            Some(b) if b[0].chain == e.chain && b.len() < 200 => b.push(e),
            _ => out.push(vec![e]),
        }
    }
    out
}

async fn upload_all(s: &TestServer, batches: &[Vec<&Event>]) {
    for b in batches {
        let values: Vec<Value> = b.iter().map(|e| serde_json::to_value(e).unwrap()).collect();
        let (st, body) = s.upload(b[0].chain.as_str(), &values).await;
        assert_eq!(st, 200, "{body}");
    }
}

/// The alert findings the review page lists, by rule.
async fn alerts(s: &TestServer) -> BTreeMap<String, Vec<Value>> {
    let (st, body) = s
        .get("/api/alerts?kind=alert&limit=10000", Some(LEAD))
        .await;
    assert_eq!(st, 200, "{body}");
    let mut by_rule: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for f in body["findings"].as_array().unwrap() {
        by_rule
            .entry(f["rule"].as_str().unwrap().to_owned())
            .or_default()
            .push(f.clone());
    }
    by_rule
}

#[tokio::test]
async fn the_sample_evening_raises_every_rule_on_the_collector() {
    let s = server_with(|c| c.policy = Some(default_policy())).await;
    let chains = evening(None, this_week()).unwrap();
    let sent = batches(&chains);
    upload_all(&s, &sent).await;
    let found = alerts(&s).await;

    for (rule, actor) in EXPECTED {
        let of = found
            .get(rule.as_str())
            .unwrap_or_else(|| panic!("{rule} not raised: {:#?}", found.keys()));
        assert!(
            of.iter()
                .all(|f| f["severity"] == json!(rule.severity().as_str())),
            "{rule}: {of:#?}"
        );
        assert!(
            of.iter().any(|f| f["evidence"]["actors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == json!(actor))),
            "{rule} names {actor}: {of:#?}"
        );
    }
    // The new pattern rules accuse one person each, once, with evidence.
    for rule in [RuleId::OffHoursSpike, RuleId::DemographicTargeting] {
        let of = &found[rule.as_str()];
        assert_eq!(of.len(), 1, "{rule}: {of:#?}");
        assert!(of[0]["evidence"]["events"].as_array().unwrap().len() >= 10);
    }
    let targeting = &found[RuleId::DemographicTargeting.as_str()][0];
    assert_eq!(targeting["evidence"]["safeguardingReview"], json!(true));
    assert!(
        targeting["message"].as_str().unwrap().contains("nonbinary"),
        "{targeting}"
    );
    let spike = &found[RuleId::OffHoursSpike.as_str()][0];
    assert_eq!(spike["evidence"].get("safeguardingReview"), None);
    // The related record is flagged without saying how it is related.
    let related = &found[RuleId::RelatedRecord.as_str()];
    assert_eq!(related[0]["recordId"], json!("youth-041"));

    // The safeguarding lead's proper break-glass raises nothing.
    let lead_chain = chains
        .iter()
        .find(|c| c.name == "safeguarding-morning.jsonl")
        .unwrap()
        .events[0]
        .chain
        .to_string();
    for f in found.values().flatten() {
        assert!(
            f["evidence"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["chain"] != json!(lead_chain)),
            "{f}"
        );
    }

    // Uploading it all again (a retry, the demo run twice) stores nothing new.
    upload_all(&s, &sent).await;
    assert_eq!(alerts(&s).await, found);
}

#[tokio::test]
async fn the_pattern_rules_keep_their_baselines_across_a_restart() {
    let s = server_with(|c| c.policy = Some(default_policy())).await;
    let chains = evening(None, this_week()).unwrap();
    let (month, night): (Vec<SampleChain>, Vec<SampleChain>) = chains
        .into_iter()
        .partition(|c| c.name.starts_with("riverside-month-"));
    upload_all(&s, &batches(&month)).await;
    let before = alerts(&s).await;
    assert!(!before.contains_key(RuleId::OffHoursSpike.as_str()));
    // The month alone already shows the colleague's concentration.
    assert_eq!(before[RuleId::DemographicTargeting.as_str()].len(), 1);

    let s = s
        .restart_with(None, |c| c.policy = Some(default_policy()))
        .await;
    upload_all(&s, &batches(&night)).await;
    let after = alerts(&s).await;
    let spikes = &after[RuleId::OffHoursSpike.as_str()];
    assert_eq!(spikes.len(), 1, "{spikes:#?}");
    assert_eq!(spikes[0]["actorId"], json!(OUTREACH));
}
