//! The chain benchmark: verify and append throughput on a 200,000-event
//! chain, against SHA-256 of the same bytes measured in the same run: once
//! as canonical lines (what sealtrail writes), once as another producer
//! writes the same events (other member order, spacing and escapes).
//!
//! Run: `cargo bench --bench chain` (add `-- 50000` for another size, or
//! `-- seal` for the sealing rows alone: a caseload under the default policy
//! without conditions, and with a condition on every rule, and their ratio;
//! `-- alerts` for the alert rules over a burst of views by one person).
//! Figures are the best of three runs each.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use sealtrail::alerts::AlertEngine;
use sealtrail::chain::{to_line, ChainWriter};
use sealtrail::decision::{Access, FieldAction};
use sealtrail::entropy::SeededEntropy;
use sealtrail::event::{Action, Actor, Event, EventDraft, Outcome, Relation, Subject};
use sealtrail::policy::AlertConfig;
use sealtrail::policy::Policy;
use sealtrail::sample::{caseload_record, routine_chain_id, routine_drafts, routine_start};
use sealtrail::session::Session;
use sealtrail::verify::{verify_slice, Options, Verifier};
use sealtrail::{Digest, Timestamp};
use serde_json::{json, Value};

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.unwrap())
}

fn rate(n: u64, d: Duration) -> String {
    let r = n as f64 / d.as_secs_f64();
    if r >= 1e6 {
        format!("{:.2} M events/s", r / 1e6)
    } else {
        format!("{:.0} k events/s", r / 1e3)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// The default policy (`pkg-config/policy.default.json`) as JSON.
fn default_policy() -> Option<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(dir.join("pkg-config/policy.default.json")).ok()?)
        .ok()
}

/// `policy` without any condition: the peer of the same policy with them.
fn without_conditions(mut policy: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("when");
                m.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    if let Some(m) = policy.as_object_mut() {
        m.remove("conditions");
        m.remove("tests");
    }
    strip(&mut policy);
    policy
}

/// `policy` with a condition on every rule: each role's (reading the
/// record), each note type permission and host actions (reading the session).
fn conditions_everywhere(mut policy: Value) -> Value {
    let device = json!({"ref": "trustedDevice"});
    let network = json!({"attribute": "session.network", "oneOf": ["onSite", "vpn", "remote"]});
    if let Some(roles) = policy["roles"].as_object_mut() {
        for role in roles.values_mut() {
            if role.get("when").is_none() {
                role["when"] = json!({"ref": "notExcludedByPatient"});
            }
            if let Some(perms) = role["noteTypes"].as_object_mut() {
                for p in perms.values_mut() {
                    if p.get("when").is_none() {
                        p["when"] = device.clone();
                    }
                }
            }
            role["hostActions"]["when"] = network.clone();
        }
    }
    policy
}

/// What sealing the caseload takes: the whole seal, or the field
/// decisions alone (`Access::decide_record`: the walk and the policy, no
/// salts, commitments or placeholders).
#[derive(Clone, Copy)]
enum Part {
    Seal,
    Decisions,
}

/// Seals (or only decides) a 1,000-record caseload (40 fields, 8 notes
/// each) for a nurse with half of it on her caseload under `policy`;
/// returns the time and the values sealed (or fields decided).
fn seal_caseload(policy: &Value, part: Part) -> Option<(Duration, usize)> {
    let policy = Policy::from_value(policy).ok()?;
    let caseload: Vec<String> = (0..1000)
        .step_by(2)
        .map(|i| format!("youth-{i:04}"))
        .collect();
    let now = Timestamp::parse("2026-11-23T15:00:00.000Z").ok()?;
    let session = Session::from_value(&json!({
        "userId": "staff-0012", "name": "Nurse Example", "role": "nurse", "caseload": caseload, "team": "north",
        "authStrength": "mfa", "authTime": "2026-11-23T14:00:00.000Z", "expiresAt": "2026-11-23T22:00:00.000Z",
        "sessionId": "sess-1", "client": "bench", "network": "onSite", "device": "managed"
    }), &policy, now)
    .ok()?;
    let records: Vec<Value> = (0..1000).map(caseload_record).collect();
    let (t, sealed) = best(3, || {
        let access = Access::new(&policy, &session, now, &[]);
        let mut entropy = SeededEntropy::new(1);
        records
            .iter()
            .map(|r| match part {
                Part::Seal => access
                    .seal(r.clone(), FieldAction::View, &mut entropy)
                    .map(|s| s.vault.len())
                    .unwrap_or(0),
                Part::Decisions => access
                    .decide_record(r, FieldAction::View)
                    .map(|(_, d)| d.len())
                    .unwrap_or(0),
            })
            .sum::<usize>()
    });
    Some((t, sealed))
}

/// Sealing the caseload with and without conditions on every rule, in
/// turns (best of three rounds each), and the ratio.
fn seal_rows() {
    let Some(policy) = default_policy() else {
        println!("seal: pkg-config/policy.default.json did not load");
        return;
    };
    let plain = without_conditions(policy.clone());
    let everywhere = conditions_everywhere(policy);
    let mut best_plain: Option<(Duration, usize)> = None;
    let mut best_cond: Option<(Duration, usize)> = None;
    let mut best_decide: Option<(Duration, usize)> = None;
    for _ in 0..3 {
        for (slot, p, part) in [
            (&mut best_plain, &plain, Part::Seal),
            (&mut best_cond, &everywhere, Part::Seal),
            (&mut best_decide, &plain, Part::Decisions),
        ] {
            if let Some((t, n)) = seal_caseload(p, part) {
                if slot.is_none_or(|(b, _)| t < b) {
                    *slot = Some((t, n));
                }
            }
        }
    }
    let (Some((t_plain, n_plain)), Some((t_cond, n_cond)), Some((t_decide, n_decide))) =
        (best_plain, best_cond, best_decide)
    else {
        println!("seal: a policy or the session did not load");
        return;
    };
    println!(
        "seal a 1,000-record caseload (40 fields, 8 notes each; a nurse, half on her caseload): {} ({:.1} µs/record, {n_plain} values sealed)",
        ms(t_plain),
        t_plain.as_secs_f64() * 1e3
    );
    println!(
        "of which the field decisions alone: {} ({n_decide} fields; {:.2} of the seal; goal under 10 ms: {})",
        ms(t_decide),
        t_decide.as_secs_f64() / t_plain.as_secs_f64(),
        if t_decide < Duration::from_millis(10) { "met" } else { "NOT met" }
    );
    let ratio = t_cond.as_secs_f64() / t_plain.as_secs_f64();
    println!(
        "the same with a condition on every rule: {} ({n_cond} values sealed); ratio {ratio:.2} (goal 1.5 or less: {})",
        ms(t_cond),
        if ratio <= 1.5 { "met" } else { "NOT met" }
    );
}

/// `v` as another producer might write it: members in reverse order, `", "`
/// and `": "` between tokens, `/` and every non-ASCII character escaped.
fn other_producer(v: &Value) -> String {
    fn string(s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '/' => out.push_str("\\/"),
                c if (c as u32) < 0x20 || !c.is_ascii() => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04X}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => string(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (k, item)) in members.iter().rev().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    string(k, out);
                    out.push_str(": ");
                    write(item, out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// The machine's load average (1, 5, 15 minutes), printed beside the
/// figures: on a shared machine the ratios hold better than the times.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn main() {
    println!("load average before: {}", load());
    // `cargo bench --bench chain -- seal`: only the sealing rows.
    if std::env::args().skip(1).any(|a| a == "seal") {
        seal_rows();
        println!("load average after: {}", load());
        return;
    }
    // `cargo bench --bench chain -- alerts`: only the burst rows.
    if std::env::args().skip(1).any(|a| a == "alerts") {
        burst_rows();
        println!("load average after: {}", load());
        return;
    }
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let policy = format!("sha256:{}", "5e".repeat(32));
    let drafts = routine_drafts(n, 7, Some(&policy));
    let start = routine_start().unwrap();

    // Append: number, link, clamp, hash (drafts already built); then the
    // same writing each event's line too, as the browser's journal does.
    let at = |k: usize| Timestamp::from_millis(start.millis() + 1000 * k as i64).unwrap();
    let (t_append, events) = best(3, || append_all(&drafts, &at));
    let (t_line, _) = best(3, || {
        let mut w = ChainWriter::new(routine_chain_id(7).unwrap());
        drafts
            .iter()
            .enumerate()
            .map(|(k, d)| w.append_line(d.clone(), at(k)).unwrap())
            .collect::<Vec<_>>()
    });
    let (t_clone, _) = best(3, || drafts.to_vec());
    let t_append = t_append.saturating_sub(t_clone);
    let t_line = t_line.saturating_sub(t_clone);
    let mut text = String::with_capacity(events.len() * 800);
    for e in &events {
        text.push_str(&to_line(e).unwrap());
        text.push('\n');
    }
    drop(events);
    let path = std::env::temp_dir().join(format!("sealtrail-bench-{}.jsonl", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mb = bytes.len() as f64 / 1e6;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    // The same events as another producer might write them: members in
    // reverse order, a space after every separator, `/` and non-ASCII
    // escaped. Every such line takes the general path.
    let other: String = text
        .lines()
        .map(|l| other_producer(&serde_json::from_str(l).unwrap()) + "\n")
        .collect();
    let other = other.into_bytes();
    let other_mb = other.len() as f64 / 1e6;

    // Each kind of line against SHA-256 of its own file, measured in turns
    // so a change of load hits both alike.
    let verify = |data: &[u8], threads: usize| {
        let s = verify_slice(
            Verifier::new(Options::default()),
            data,
            threads,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(s.events, n);
    };
    let (t_sha, _) = best(5, || black_box(Digest::of(black_box(&bytes))));
    let (t_par, ()) = best(5, || verify(&bytes, 0));
    let (t_sha_other, _) = best(5, || black_box(Digest::of(black_box(&other))));
    let (t_other, ()) = best(5, || verify(&other, 0));
    let (t_one, ()) = best(3, || verify(&bytes, 1));
    let (t_other_one, ()) = best(3, || verify(&other, 1));

    println!();
    println!("sealtrail chain benchmark: `cargo bench --bench chain`");
    println!(
        "{n} events: {mb:.1} MB of canonical JSONL, {other_mb:.1} MB as another producer writes them; {threads} threads available"
    );
    // Other processes on these cores slow the threaded figures most: say so.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let one = load.split_whitespace().next().unwrap_or("?");
        println!("load average (1 min) when measured: {one} on {threads} cores");
    }
    println!();
    println!(
        "| measure                                          | time       | throughput         |"
    );
    println!(
        "|--------------------------------------------------|------------|--------------------|"
    );
    let row =
        |what: &str, d: Duration, r: String| println!("| {what:<48} | {:>10} | {r:>18} |", ms(d));
    let mbps = |mb: f64, d: Duration| format!("{:.0} MB/s", mb / d.as_secs_f64());
    row(
        "SHA-256 of the canonical file, once (peer)",
        t_sha,
        mbps(mb, t_sha),
    );
    row(
        "verify, canonical lines, all threads",
        t_par,
        rate(n, t_par),
    );
    row("verify, canonical lines, 1 thread", t_one, rate(n, t_one));
    row(
        "SHA-256 of the other producer's file (peer)",
        t_sha_other,
        mbps(other_mb, t_sha_other),
    );
    row(
        "verify, other producer's lines, all threads",
        t_other,
        rate(n, t_other),
    );
    row(
        "verify, other producer's lines, 1 thread",
        t_other_one,
        rate(n, t_other_one),
    );
    row(
        "append (number, link, canonicalize, hash)",
        t_append,
        rate(n, t_append),
    );
    row("append and write its line", t_line, rate(n, t_line));
    println!();
    for (what, sha, verify) in [
        ("canonical lines", t_sha, t_par),
        ("other producer's lines", t_sha_other, t_other),
    ] {
        let ratio = sha.as_secs_f64() / verify.as_secs_f64();
        println!(
            "{what}: SHA-256 time / verify time = {ratio:.2} (goal 0.5 or better: {})",
            if ratio >= 0.5 { "met" } else { "NOT met" }
        );
    }
    seal_rows();
    burst_rows();
    println!("load average after: {}", load());
}

/// `drafts` appended to a new chain, draft `k` at time `at(k)`.
fn append_all(drafts: &[EventDraft], at: &dyn Fn(usize) -> Timestamp) -> Vec<Event> {
    let mut w = ChainWriter::new(routine_chain_id(7).unwrap());
    drafts
        .iter()
        .enumerate()
        .map(|(k, d)| w.append(d.clone(), at(k)).unwrap())
        .collect()
}

/// A burst of views by one person, as one `sealMany` of a caseload logs:
/// `n` records within a minute, judged by the alert rules (what a page
/// runs on every event it stores, and a collector on every event it
/// receives), against appending the same events (the peer). Judging must
/// grow with the burst as appending does, so the ratio stays level from
/// 1,000 to 20,000 events.
fn burst_rows() {
    let start = routine_start().unwrap();
    let nurse = Actor {
        id: "staff-0012".into(),
        role: "nurse".into(),
        name: None,
        auth_strength: Some("mfa".into()),
        team: None,
    };
    // (events, of distinct records, what, at night)
    for (n, distinct, action, night) in [
        (1_000u64, true, Action::View, false),
        (20_000, true, Action::View, false),
        (20_000, false, Action::View, false),
        (20_000, false, Action::Edit, false),
        (20_000, false, Action::View, true),
    ] {
        // The routine's morning, or 13 hours later (outside business hours).
        let start = start.plus_millis(if night { 13 * 3_600_000 } else { 0 });
        let drafts: Vec<EventDraft> = (0..n)
            .map(|k| {
                let mut d = EventDraft::new(nurse.clone(), action.clone(), Outcome::Success);
                if action == Action::Edit {
                    d.fields = vec!["/address".into()];
                }
                d.subject = Some(Subject {
                    record_id: format!("youth-{:05}", if distinct { k } else { 0 }),
                    record_type: Some("youth".into()),
                    relation: Some(Relation::Caseload),
                    demographics: Default::default(),
                    related: false,
                });
                d
            })
            .collect();
        // Spread over one minute, inside every rule's window.
        let at = |k: usize| {
            Timestamp::from_millis(start.millis() + (60_000 * k as i64) / n as i64).unwrap()
        };
        let (t_append, events) = best(3, || append_all(&drafts, &at));
        let (t_judge, findings) = best(3, || {
            let mut engine = AlertEngine::new(AlertConfig::default(), ["doctor"]).unwrap();
            events.iter().map(|e| engine.push(e).len()).sum::<usize>()
        });
        println!(
            "alert rules over {n} {}{} of {} by one nurse within a minute: {} ({findings} findings), {:.2} of the time to append them ({})",
            if night { "off-hours " } else { "" },
            if action == Action::Edit { "edits of a key field" } else { "views" },
            if distinct { "distinct records" } else { "one record" },
            ms(t_judge),
            t_judge.as_secs_f64() / t_append.as_secs_f64(),
            ms(t_append)
        );
    }
}
