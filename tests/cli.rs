//! The `sealtrail` binary end to end: exit codes, output forms, and bad
//! input that must give one line on stderr, never a panic.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sealtrail"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A fresh directory under the target dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

/// Asserts a bad-input exit: code 2, exactly one stderr line, no panic.
fn assert_input_error(o: &Output) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn policy() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pkg-config/policy.default.json")
        .display()
        .to_string()
}

#[test]
fn verify_accepts_a_valid_chain_and_prints_count_and_head() {
    let dir = scratch("valid");
    let c = common::chain(12, 4);
    let f = write(&dir, "c.jsonl", common::jsonl(&c).as_bytes());
    let o = run(&["verify", &f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let head = c[11]["hash"].as_str().unwrap();
    assert_eq!(stdout(&o), format!("valid: 12 events, head {head}\n"));
    let o = run(&["verify", "--json", &f]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"valid": true, "events": 12, "head": head, "seq": null, "rule": null})
    );
    // Non-canonical lines from another producer verify too.
    let f = write(&dir, "loose.jsonl", common::jsonl_loose(&c).as_bytes());
    assert_eq!(run(&["verify", &f]).status.code(), Some(0));
}

#[test]
fn verify_rejects_a_tampered_chain_with_seq_and_rule() {
    let dir = scratch("tampered");
    let mut c = common::chain(12, 4);
    c[7]["actor"]["role"] = "admin".into();
    common::rehash(&mut c[7]);
    let f = write(&dir, "c.jsonl", common::jsonl(&c).as_bytes());
    let o = run(&["verify", &f]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.starts_with("invalid: "), "{text}");
    assert!(
        text.contains("(seq 8)") && text.contains("`prev`"),
        "{text}"
    );
    let o = run(&["verify", "--json", &f]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"valid": false, "events": 8, "head": null, "seq": 8, "rule": "prev"})
    );
}

#[test]
fn verify_refuses_a_member_named_twice_under_format() {
    // A lenient reader keeps the last `actor`: the first one, the intruder,
    // would be silently dropped and the hash would still match.
    let dir = scratch("duplicate");
    let c = common::chain(4, 4);
    let mut lines: Vec<String> = common::jsonl(&c).lines().map(str::to_owned).collect();
    lines[2] = lines[2].replacen(
        r#""actor":"#,
        r#""actor":{"id":"intruder","role":"admin"},"actor":"#,
        1,
    );
    let f = write(
        &dir,
        "c.jsonl",
        format!("{}\n", lines.join("\n")).as_bytes(),
    );
    let o = run(&["verify", "--json", &f]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (v["events"].as_u64(), v["rule"].as_str()),
        (Some(2), Some("format"))
    );
    let o = run(&["verify", &f]);
    assert!(
        stdout(&o).contains("member `/actor` appears twice"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn verify_checks_a_range_after_a_named_event() {
    let dir = scratch("range");
    let c = common::chain(12, 4);
    let f = write(&dir, "r.jsonl", common::jsonl(&c[5..]).as_bytes());
    // From genesis, a range starting at seq 5 is a gap.
    assert_eq!(run(&["verify", &f]).status.code(), Some(1));
    let prev = &c[4];
    let (hash, ts) = (prev["hash"].as_str().unwrap(), prev["ts"].as_str().unwrap());
    let o = run(&[
        "verify",
        &f,
        "--prev-seq",
        "4",
        "--prev-hash",
        hash,
        "--prev-ts",
        ts,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let head = c[11]["hash"].as_str().unwrap();
    assert_eq!(stdout(&o), format!("valid: 7 events, head {head}\n"));
    // After the wrong event, the first event of the range breaks `prev`.
    let other = c[3]["hash"].as_str().unwrap();
    let o = run(&[
        "verify",
        "--json",
        &f,
        "--prev-seq",
        "4",
        "--prev-hash",
        other,
        "--prev-ts",
        ts,
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (v["seq"].as_u64(), v["rule"].as_str()),
        (Some(5), Some("prev"))
    );
    // A malformed starting point is a usage error.
    assert_input_error(&run(&[
        "verify",
        &f,
        "--prev-seq",
        "4",
        "--prev-hash",
        "xyz",
        "--prev-ts",
        ts,
    ]));
}

#[test]
fn verify_allows_a_clock_step_when_asked() {
    let dir = scratch("clock");
    let mut c = common::chain(5, 4);
    let t = sealtrail::Timestamp::parse(c[2]["ts"].as_str().unwrap()).unwrap();
    c[3]["ts"] = t.plus_millis(-300).to_string().into();
    common::relink(&mut c, 3);
    let f = write(&dir, "c.jsonl", common::jsonl(&c).as_bytes());
    let o = run(&["verify", "--json", &f]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (v["seq"].as_u64(), v["rule"].as_str()),
        (Some(3), Some("backdated"))
    );
    let o = run(&["verify", "--max-clock-step-ms", "500", &f]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = scratch("bad");
    let c = common::chain(6, 4);
    let text = common::jsonl(&c);
    let missing = dir.join("missing.jsonl").display().to_string();
    assert_input_error(&run(&["verify", &missing]));
    let cut = write(&dir, "cut.jsonl", &text.as_bytes()[..text.len() - 30]);
    assert_input_error(&run(&["verify", &cut]));
    let o = run(&["verify", "--json", &cut]);
    assert_input_error(&o);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["rule"].as_str()),
        (Some(false), Some("format"))
    );
    let mixed = write(
        &dir,
        "mixed.jsonl",
        format!("{}not json\n", &text).as_bytes(),
    );
    assert_input_error(&run(&["verify", &mixed]));
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let bin_file = write(&dir, "garbage.bin", &garbage);
    assert_input_error(&run(&["verify", &bin_file]));
    assert_input_error(&run(&["canon", &bin_file]));
    assert_input_error(&run(&["alerts", &bin_file, "--policy", &policy()]));
    assert_input_error(&run(&["fhir", &bin_file]));
    assert_input_error(&run(&["policy", "check", &bin_file]));
    let empty = write(&dir, "empty.jsonl", b"");
    assert_input_error(&run(&["verify", &empty]));
    // Usage errors are exit 2 too (clap).
    assert_eq!(run(&["verify"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        run(&["verify", "--max-clock-step-ms", "-5", &cut])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn canon_prints_the_canonical_form_without_newline() {
    let dir = scratch("canon");
    let f = write(
        &dir,
        "d.json",
        "{\n  \"b\": [1.50, 1E3, \"\\u00e9\\/\"],\n  \"a\": {\"\u{1F602}\": 1, \"\u{FB33}\": 2}\n}\n".as_bytes(),
    );
    let o = run(&["canon", &f]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "{\"a\":{\"\u{1F602}\":1,\"\u{FB33}\":2},\"b\":[1.5,1000,\"é/\"]}"
    );
    // The RFC's own vectors, through the binary.
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/jcs");
    let input = vectors.join("input/weird.json");
    let o = run(&["canon", input.to_str().unwrap()]);
    assert_eq!(
        o.stdout,
        std::fs::read(vectors.join("output/weird.json")).unwrap()
    );
}

#[test]
fn sample_then_verify_alerts_and_fhir() {
    let dir = scratch("sample");
    let d = dir.display().to_string();
    let o = run(&["sample", &d, "--policy", &policy()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        7,
        "the evening, the morning and the month before: {files:?}"
    );
    assert!(
        files[6].ends_with("safeguarding-morning.jsonl"),
        "{files:?}"
    );
    for f in &files {
        assert_eq!(run(&["verify", f]).status.code(), Some(0), "{f}");
    }
    let pol = policy();
    let mut args = vec!["alerts"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--policy", pol.as_str(), "--json"]);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rules: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules.len(), 14, "every rule fires on the sample: {rules:?}");
    let targeting = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "demographic-targeting")
        .unwrap();
    assert_eq!(targeting["safeguardingReview"], true);
    let first = &v["findings"][0];
    assert!(first["severity"].is_string() && first["actors"][0]["id"].is_string());
    assert!(first["events"][0]["chain"].is_string() && first["events"][0]["seq"].is_u64());
    // Human form: one line per finding after the count.
    let o = run(&args[..args.len() - 1]);
    let text = stdout(&o);
    assert!(
        text.lines().any(|l| l.starts_with("CRITICAL export")),
        "{text}"
    );

    let o = run(&["fhir", &files[6]]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let b: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(b["resourceType"], "Bundle");
    let entries = b["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert!(entries
        .iter()
        .any(|e| e["resource"]["purposeOfEvent"][0]["coding"][0]["code"] == "BTG"));
}

#[test]
fn alerts_and_fhir_refuse_a_broken_chain() {
    let dir = scratch("broken");
    let mut c = common::chain(6, 4);
    c[2]["outcome"] = "success".into();
    c[2]["action"] = "export".into();
    let f = write(&dir, "c.jsonl", common::jsonl(&c).as_bytes());
    let o = run(&["alerts", &f, "--policy", &policy()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a valid chain"), "{}", stderr(&o));
    assert_eq!(run(&["fhir", &f]).status.code(), Some(1));
}

#[test]
fn policy_check_names_the_pointer() {
    let dir = scratch("policy");
    let o = run(&["policy", "check", &policy()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("sha256:"));
    let mut p: Value = serde_json::from_str(&std::fs::read_to_string(policy()).unwrap()).unwrap();
    p["alerts"]["bulkAccess"]["windowMinute"] = 5.into();
    let f = write(&dir, "p.json", p.to_string().as_bytes());
    let o = run(&["policy", "check", &f]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/alerts/bulkAccess/windowMinute"), "{err}");
}

#[test]
fn large_files_show_no_progress_bar_when_stderr_is_not_a_terminal() {
    let dir = scratch("large");
    let d = dir.display().to_string();
    let o = run(&["sample", &d, "--routine", "7000"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let f = dir.join("routine.jsonl");
    assert!(
        std::fs::metadata(&f).unwrap().len() > 4 << 20,
        "over the progress-bar threshold"
    );
    let o = run(&["verify", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("valid: 7000 events, head "));
    assert_eq!(stderr(&o), "", "no bar drawn into a pipe");
}

#[test]
fn policy_explain_says_which_rule_and_condition_decided() {
    let dir = scratch("explain");
    let record = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/records/clinic-record.json")
        .display()
        .to_string();
    let session = |network: &str| {
        serde_json::json!({
            "userId": "u-doctor-9", "name": "Dr Nine", "role": "doctor", "caseload": ["p-1001"],
            "team": "east", "authStrength": "mfa", "authTime": "2026-11-23T14:30:00.000Z",
            "expiresAt": "2026-11-23T22:00:00.000Z", "sessionId": "s-1", "client": "cli",
            "network": network, "device": "unmanaged"
        })
        .to_string()
    };
    let remote = write(&dir, "remote.json", session("remote").as_bytes());
    let pol = policy();
    let ask = |s: &str, extra: &[&str]| {
        let mut args = vec![
            "policy",
            "explain",
            "--policy",
            &pol,
            "--session",
            s,
            "--record",
            &record,
            "--action",
            "view",
            "--at",
            "2026-11-23T15:00:00.000Z",
        ];
        args.extend(extra);
        run(&args)
    };
    let o = ask(&remote, &["--pointer", "/hivStatus"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("/hivStatus [hivStatus] sealed (condition)"),
        "{text}"
    );
    assert!(
        text.contains("rule `/roles/doctor/noteTypes/hivStatus`"),
        "{text}"
    );
    assert!(text.contains("(unmanaged remote device)"), "{text}");
    let on_site = write(&dir, "on-site.json", session("onSite").as_bytes());
    let o = ask(&on_site, &["--pointer", "/diagnoses", "--json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v[0]["decision"]["type"], "allow");
    assert_eq!(v[0]["why"]["rule"], "/roles/doctor/noteTypes/clinical");
    // Bad input: one line, exit 2.
    assert_input_error(&ask(&on_site, &["--pointer", "/nowhere"]));
    let bad = write(&dir, "bad.json", br#"{"userId": "u"}"#);
    assert_input_error(&ask(&bad, &[]));
    assert_input_error(&run(&[
        "policy",
        "explain",
        "--policy",
        &pol,
        "--session",
        &on_site,
        "--record",
        &record,
        "--action",
        "peek",
    ]));
}

#[test]
fn policy_check_runs_the_policy_s_test_cases() {
    let dir = scratch("policy-tests");
    let o = run(&["policy", "check", &policy()]);
    assert!(stdout(&o).contains("test cases passed"), "{}", stdout(&o));
    let mut p: Value = serde_json::from_str(&std::fs::read_to_string(policy()).unwrap()).unwrap();
    p["tests"]["cases"][1]["expect"] = "allow".into();
    let f = write(&dir, "p.json", p.to_string().as_bytes());
    let o = run(&["policy", "check", &f]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("failed: `/tests/cases/1`"), "{err}");
    assert!(err.contains("expected `allow`, found `seal`"), "{err}");
    assert!(err.contains("patient restriction"), "{err}");
    // A case that cannot be read names its pointer.
    p["tests"]["cases"][1]["session"] = "nobody".into();
    let f = write(&dir, "p.json", p.to_string().as_bytes());
    let o = run(&["policy", "check", &f]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/tests/cases/1/session"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pseudonym_prints_each_records_pseudonym_under_the_key_file() {
    let dir = scratch("pseudonym");
    let key = write(
        &dir,
        "record.key",
        format!("{}\n", "00".repeat(32)).as_bytes(),
    );
    let o = run(&["pseudonym", "p-1001", "p-1002", "--key", &key]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    // The vector the core's tests and the access report page hold too.
    assert_eq!(lines[0], "rp-432a122c773b7e6048f11280874ad78d");
    assert_eq!(lines.len(), 2);
    assert_ne!(lines[0], lines[1]);
    let bad = write(&dir, "bad.key", b"not a key");
    let o = run(&["pseudonym", "p-1001", "--key", &bad]);
    assert_input_error(&o);
    assert!(stderr(&o).contains("64 hex digits"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("not a key"), "the key is never echoed");
}
