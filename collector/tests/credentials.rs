//! Upload credentials against a real collector (SQLite, or PostgreSQL with
//! `SEALTRAIL_TEST_POSTGRES_URL`): each attack of issue 9 is one test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use serde_json::{json, Value};

use common::*;
use sealtrail::chain::ChainWriter;
use sealtrail::credential::Claims;
use sealtrail::event::{Action, Actor, ChainId, EventDraft, Outcome, SessionRef, Subject};
use sealtrail::Timestamp;
use sealtrail_collector::credentials::Minter;

const USER: &str = "u-ana";
const SESSION: &str = "sess-ana";
const ROLE: &str = "nurse";

/// A credential for `chain`: `iat` an hour and a minute ago (the test chains
/// start an hour before the process did), `exp` `exp_in` seconds from now.
fn credential(m: &Minter, chain: &ChainId, sub: &str, exp_in: i64) -> String {
    let now = now_ms() / 1000;
    m.mint(&Claims {
        sub: sub.into(),
        sid: SESSION.into(),
        role: ROLE.into(),
        chain: chain.clone(),
        iat: base_ms() / 1000 - 60,
        exp: now + exp_in,
    })
    .unwrap()
}

/// One user's events: views stamped at `stamps` (milliseconds).
fn events(chain: &ChainId, stamps: &[i64], edit: impl Fn(usize, &mut EventDraft)) -> Vec<Value> {
    let mut w = ChainWriter::new(chain.clone());
    stamps
        .iter()
        .enumerate()
        .map(|(i, ts)| {
            let mut d = EventDraft::new(
                Actor {
                    id: USER.into(),
                    role: ROLE.into(),
                    name: Some("Ana".into()),
                    auth_strength: None,
                    team: None,
                },
                Action::View,
                Outcome::Success,
            );
            d.subject = Some(Subject {
                record_id: format!("p-{i}"),
                record_type: Some("patient".into()),
                relation: None,
                demographics: Default::default(),
                related: false,
            });
            d.session = Some(SessionRef {
                id: SESSION.into(),
                ip: None,
                client: None,
            });
            edit(i, &mut d);
            serde_json::to_value(w.append(d, Timestamp::from_millis(*ts).unwrap()).unwrap())
                .unwrap()
        })
        .collect()
}

fn normal(chain: &ChainId, n: usize) -> Vec<Value> {
    let stamps: Vec<i64> = (0..n).map(|i| base_ms() + i as i64 * 1000).collect();
    events(chain, &stamps, |_, _| {})
}

#[tokio::test]
async fn the_owner_uploads_and_anchors_with_a_credential() {
    let (s, m) = server_with_credentials().await;
    let c = chain_id(1);
    let cred = credential(&m, &c, USER, 3600);
    let evs = normal(&c, 3);
    let (st, body) = s.upload_as(c.as_str(), &evs, Some(&cred)).await;
    assert_eq!((st, &body["ackedSeq"]), (200, &json!(2)), "{body}");
    let hash = evs[2]["hash"].as_str().unwrap();
    assert_eq!(s.anchor_as(c.as_str(), 2, hash, &cred).await.0, 200);
}

#[tokio::test]
async fn no_credential_is_a_401_and_stores_nothing() {
    let (s, _) = server_with_credentials().await;
    let c = chain_id(2);
    let (st, body) = s.upload_as(c.as_str(), &normal(&c, 2), None).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (st, _) = s.anchor(c.as_str(), 0, &"0".repeat(64)).await;
    assert_eq!(st, 401);
    assert_eq!(s.stored_count(c.as_str()).await, 0);
    // Nobody unauthenticated can make findings either.
    assert!(s.findings(c.as_str()).await.is_empty());
}

#[tokio::test]
async fn an_expired_credential_past_its_grace_is_a_401() {
    let (s, m) = server_with_credentials().await;
    let c = chain_id(3);
    let old = m
        .mint(&Claims {
            sub: USER.into(),
            sid: SESSION.into(),
            role: ROLE.into(),
            chain: c.clone(),
            iat: now_ms() / 1000 - 40 * 86_400,
            exp: now_ms() / 1000 - 31 * 86_400,
        })
        .unwrap();
    let stamps = [now_ms() - 35 * 86_400_000];
    let (st, body) = s
        .upload_as(c.as_str(), &events(&c, &stamps, |_, _| {}), Some(&old))
        .await;
    assert_eq!(st, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn a_late_upload_inside_the_grace_is_taken() {
    // The offline shift: written under a credential that expired days ago.
    let (s, m) = server_with_credentials().await;
    let c = chain_id(4);
    let iat = now_ms() / 1000 - 5 * 86_400;
    let cred = m
        .mint(&Claims {
            sub: USER.into(),
            sid: SESSION.into(),
            role: ROLE.into(),
            chain: c.clone(),
            iat,
            exp: iat + 8 * 3600,
        })
        .unwrap();
    let stamps = [iat * 1000 + 60_000, iat * 1000 + 7 * 3_600_000];
    let (st, body) = s
        .upload_as(c.as_str(), &events(&c, &stamps, |_, _| {}), Some(&cred))
        .await;
    assert_eq!(st, 200, "{body}");
}

#[tokio::test]
async fn a_credential_signed_by_another_key_is_a_401() {
    let (s, _) = server_with_credentials().await;
    let (stranger, _) = Minter::ephemeral().unwrap();
    let c = chain_id(5);
    let cred = credential(&stranger, &c, USER, 3600);
    let (st, body) = s.upload_as(c.as_str(), &normal(&c, 1), Some(&cred)).await;
    assert_eq!(st, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("signature"),
        "{body}"
    );
}

#[tokio::test]
async fn another_chains_credential_is_a_401() {
    let (s, m) = server_with_credentials().await;
    let (c, other) = (chain_id(6), chain_id(7));
    let cred = credential(&m, &other, USER, 3600);
    let (st, body) = s.upload_as(c.as_str(), &normal(&c, 1), Some(&cred)).await;
    assert_eq!(st, 401, "{body}");
    let hash = normal(&c, 1)[0]["hash"].as_str().unwrap().to_owned();
    assert_eq!(s.anchor_as(c.as_str(), 0, &hash, &cred).await.0, 401);
}

#[tokio::test]
async fn another_users_credential_for_a_claimed_chain_is_a_403_and_a_finding() {
    let (s, m) = server_with_credentials().await;
    let c = chain_id(8);
    let evs = normal(&c, 2);
    let mine = credential(&m, &c, USER, 3600);
    assert_eq!(s.upload_as(c.as_str(), &evs[..1], Some(&mine)).await.0, 200);
    // Bo got the host to mint a credential naming Ana's chain id.
    let theirs = credential(&m, &c, "u-bo", 3600);
    let mut bos = evs[1..].to_vec();
    bos[0]["actor"]["id"] = json!("u-bo");
    rehash(&mut bos[0]);
    let (st, body) = s.upload_as(c.as_str(), &bos, Some(&theirs)).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let hash = evs[0]["hash"].as_str().unwrap();
    assert_eq!(s.anchor_as(c.as_str(), 0, hash, &theirs).await.0, 403);
    let findings = s.findings(c.as_str()).await;
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(
        (findings[0].0.as_str(), findings[0].1.as_str()),
        ("credential", "owner")
    );
    // The owner goes on.
    assert_eq!(s.upload_as(c.as_str(), &evs[1..], Some(&mine)).await.0, 200);
}

#[tokio::test]
async fn a_pre_claimed_chain_id_keeps_its_first_owner() {
    let (s, m) = server_with_credentials().await;
    let c = chain_id(9);
    // Bo writes first under a chain id he chose...
    let bo = credential(&m, &c, "u-bo", 3600);
    let mut first = normal(&c, 1);
    first[0]["actor"]["id"] = json!("u-bo");
    rehash(&mut first[0]);
    assert_eq!(s.upload_as(c.as_str(), &first, Some(&bo)).await.0, 200);
    // ...and nobody else can write it afterwards.
    let ana = credential(&m, &c, USER, 3600);
    let (st, body) = s
        .upload_as(c.as_str(), &normal(&c, 2)[1..], Some(&ana))
        .await;
    assert_eq!(st, 403, "{body}");
}

#[tokio::test]
async fn an_event_naming_another_actor_session_or_role_is_a_403_naming_it() {
    let (s, m) = server_with_credentials().await;
    for (i, (pointer, value)) in [
        ("/actor/id", json!("u-boss")),
        ("/session/id", json!("sess-other")),
        ("/actor/role", json!("admin")),
    ]
    .into_iter()
    .enumerate()
    {
        let c = chain_id(20 + i as u64);
        let cred = credential(&m, &c, USER, 3600);
        let stamps: Vec<i64> = (0..3).map(|k| base_ms() + k * 1000).collect();
        let evs = events(&c, &stamps, |k, d| {
            if k == 1 {
                match pointer {
                    "/actor/id" => d.actor.id = value.as_str().unwrap().into(),
                    "/actor/role" => d.actor.role = value.as_str().unwrap().into(),
                    _ => d.session.as_mut().unwrap().id = value.as_str().unwrap().into(),
                }
            }
        });
        let (st, body) = s.upload_as(c.as_str(), &evs, Some(&cred)).await;
        assert_eq!((st, &body["seq"]), (403, &json!(1)), "{pointer}: {body}");
        assert_eq!(s.stored_count(c.as_str()).await, 0, "{pointer}");
    }
}

#[tokio::test]
async fn stamps_of_1970_9999_or_ten_minutes_ahead_are_409_clock_and_a_finding() {
    let (s, m) = server_with_credentials().await;
    for (i, ts) in [0, 253_402_300_799_000, now_ms() + 600_000]
        .into_iter()
        .enumerate()
    {
        let c = chain_id(30 + i as u64);
        let cred = credential(&m, &c, USER, 36_000);
        // (A chain writer never stamps an event before its predecessor.)
        let evs = events(&c, &[ts], |_, _| {});
        let (st, body) = s.upload_as(c.as_str(), &evs, Some(&cred)).await;
        assert_eq!(
            conflict(body.clone()),
            json!({"error": "clock", "seq": 0}),
            "{ts}: {body}"
        );
        assert_eq!(st, 409);
        assert_eq!(s.stored_count(c.as_str()).await, 0);
        let findings = s.findings(c.as_str()).await;
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].0, "clock");
    }
}

#[tokio::test]
async fn a_refreshed_credential_extends_the_window_and_old_windows_still_count() {
    let (s, m) = server_with_credentials().await;
    let c = chain_id(40);
    let mint = |iat: i64, exp: i64| {
        m.mint(&Claims {
            sub: USER.into(),
            sid: SESSION.into(),
            role: ROLE.into(),
            chain: c.clone(),
            iat,
            exp,
        })
        .unwrap()
    };
    let start = base_ms() / 1000 - 60;
    let first = mint(start, start + 600);
    let evs = events(
        &c,
        &[
            base_ms(),
            base_ms() + 1000,
            base_ms() + 1_200_000,
            base_ms() + 1_201_000,
        ],
        |_, _| {},
    );
    assert_eq!(
        s.upload_as(c.as_str(), &evs[..1], Some(&first)).await.0,
        200
    );
    // Past the first window: refused under it...
    let (st, body) = s.upload_as(c.as_str(), &evs[1..3], Some(&first)).await;
    assert_eq!((st, &body["seq"]), (409, &json!(2)), "{body}");
    // ...taken under the refreshed one, which still accepts seq 1 (the first window).
    let second = mint(start + 900, start + 3600);
    let (st, body) = s.upload_as(c.as_str(), &evs[1..], Some(&second)).await;
    assert_eq!(st, 200, "{body}");
}

#[tokio::test]
async fn an_anchor_by_a_stranger_is_refused() {
    let (s, m) = server_with_credentials().await;
    let c = chain_id(50);
    let evs = normal(&c, 2);
    let mine = credential(&m, &c, USER, 3600);
    assert_eq!(s.upload_as(c.as_str(), &evs, Some(&mine)).await.0, 200);
    let bogus = "ab".repeat(32);
    // No credential, another key, another user: nothing is kept.
    assert_eq!(s.anchor(c.as_str(), 10, &bogus).await.0, 401);
    let (stranger, _) = Minter::ephemeral().unwrap();
    let forged = credential(&stranger, &c, USER, 3600);
    assert_eq!(s.anchor_as(c.as_str(), 10, &bogus, &forged).await.0, 401);
    let bo = credential(&m, &c, "u-bo", 3600);
    assert_eq!(s.anchor_as(c.as_str(), 10, &bogus, &bo).await.0, 403);
    // The owner's later upload is not blocked by any of them.
    let more = normal(&c, 12);
    assert_eq!(
        s.upload_as(c.as_str(), &more[2..], Some(&mine)).await.0,
        200
    );
}

#[tokio::test]
async fn a_contradicting_anchor_is_refused_not_kept_and_recorded() {
    let (s, m) = server_with_credentials().await;
    let c = chain_id(51);
    let evs = normal(&c, 3);
    let mine = credential(&m, &c, USER, 3600);
    assert_eq!(s.upload_as(c.as_str(), &evs, Some(&mine)).await.0, 200);
    let (st, body) = s.anchor_as(c.as_str(), 1, &"cd".repeat(32), &mine).await;
    assert_eq!(conflict(body), json!({"error": "tamper", "seq": 1}));
    assert_eq!(st, 409);
    let findings = s.findings(c.as_str()).await;
    assert_eq!((findings.len(), findings[0].1.as_str()), (1, "anchor"));
    // Not kept: the true anchor at that seq is taken, and so is a retry of the events.
    let hash = evs[1]["hash"].as_str().unwrap();
    assert_eq!(s.anchor_as(c.as_str(), 1, hash, &mine).await.0, 200);
    assert_eq!(s.upload_as(c.as_str(), &evs, Some(&mine)).await.0, 200);
}

#[tokio::test]
async fn an_anchor_body_over_its_limit_is_a_413() {
    let (s, m) = server_with_credentials().await;
    let c = chain_id(52);
    let cred = credential(&m, &c, USER, 3600);
    let body =
        json!({ "seq": 0, "hash": "ab".repeat(32), "credential": cred, "pad": "x".repeat(20_000) });
    let (st, _) = s
        .post(&format!("/api/chains/{c}/head"), body.to_string())
        .await;
    assert_eq!(st, 413);
}

#[tokio::test]
async fn a_flood_of_refused_batches_leaves_one_finding_per_cause_and_real_ones_visible() {
    // Every batch reaches the ingest decision (tests/limits.rs floods with the rates on).
    let (s, m) = server_with_credentials_and(|c| c.limits.credential_burst = 1000).await;
    let c = chain_id(60);
    let mine = credential(&m, &c, USER, 36_000);
    assert_eq!(
        s.upload_as(c.as_str(), &normal(&c, 1), Some(&mine)).await.0,
        200
    );
    // A real tamper finding on another chain.
    let t = chain_id(61);
    let tc = credential(&m, &t, USER, 3600);
    let mut bad = normal(&t, 3);
    bad[1]["outcome"] = json!("denied");
    assert_eq!(s.upload_as(t.as_str(), &bad, Some(&tc)).await.0, 409);
    // The flood: events ahead of the clock, and events of someone else.
    for i in 0..40 {
        let ahead = now_ms() + 3_600_000 + i * 1000;
        let evs = events(&c, &[base_ms(), ahead], |_, _| {});
        assert_eq!(s.upload_as(c.as_str(), &evs[1..], Some(&mine)).await.0, 409);
        let evs = events(&c, &[base_ms(), base_ms() + 1000], |_, d| {
            d.actor.id = format!("u-{i}");
        });
        assert_eq!(s.upload_as(c.as_str(), &evs[1..], Some(&mine)).await.0, 403);
    }
    let findings = s.findings(c.as_str()).await;
    assert_eq!(findings.len(), 2, "{findings:?}");
    let (st, all) = s.get("/api/alerts", Some(LEAD)).await;
    assert_eq!(st, 200);
    assert!(
        all["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == json!("tamper") && f["chain"] == json!(t.as_str())),
        "{all}"
    );
}

#[tokio::test]
async fn the_binary_makes_keys_and_mints_credentials_the_collector_takes() {
    let dir = tempfile::tempdir().unwrap();
    let (signing, verifying) = (dir.path().join("sign.pem"), dir.path().join("verify.pem"));
    let bin = env!("CARGO_BIN_EXE_sealtrail-collector");
    let run =
        |args: &[&std::ffi::OsStr]| std::process::Command::new(bin).args(args).output().unwrap();
    let out = run(&[
        "keygen".as_ref(),
        "--signing-key".as_ref(),
        signing.as_os_str(),
        "--verifying-key".as_ref(),
        verifying.as_os_str(),
    ]);
    assert!(out.status.success(), "{out:?}");
    // Never overwritten.
    let again = run(&[
        "keygen".as_ref(),
        "--signing-key".as_ref(),
        signing.as_os_str(),
        "--verifying-key".as_ref(),
        verifying.as_os_str(),
    ]);
    assert!(!again.status.success());
    let c = chain_id(70);
    let out = run(&[
        "credential".as_ref(),
        "--signing-key".as_ref(),
        signing.as_os_str(),
        "--user".as_ref(),
        USER.as_ref(),
        "--session".as_ref(),
        SESSION.as_ref(),
        "--role".as_ref(),
        ROLE.as_ref(),
        "--chain".as_ref(),
        c.as_str().as_ref(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let cred = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let s = server_with(|cfg| {
        cfg.credential_key = Some(verifying.clone());
        cfg.insecure_open_ingest = false;
    })
    .await;
    // Minted now: events from now on are inside its window.
    let evs = events(&c, &[now_ms()], |_, _| {});
    let (st, body) = s.upload_as(c.as_str(), &evs, Some(&cred)).await;
    assert_eq!(st, 200, "{body}");
}

#[tokio::test]
async fn a_collector_without_a_credential_key_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(
        format!("sqlite://{}", dir.path().join("c.sqlite").display()),
        dir.path(),
    );
    cfg.insecure_open_ingest = false;
    let err = sealtrail_collector::start(&cfg).await.err().unwrap();
    assert!(err.to_string().contains("--credential-key"), "{err}");
}

#[path = "../examples/mint_credential.rs"]
mod rust_example;

#[tokio::test]
async fn the_node_and_rust_minting_examples_make_credentials_the_collector_takes() {
    let dir = tempfile::tempdir().unwrap();
    let (signing, verifying) = (dir.path().join("sign.pem"), dir.path().join("verify.pem"));
    let (private, public) = sealtrail_collector::credentials::generate_ed25519().unwrap();
    std::fs::write(&signing, &private).unwrap();
    std::fs::write(&verifying, public).unwrap();
    let s = server_with(|cfg| {
        cfg.credential_key = Some(verifying.clone());
        cfg.insecure_open_ingest = false;
    })
    .await;
    let (node_chain, rust_chain) = (chain_id(80), chain_id(81));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("node")
        .arg(root.join("examples/mint-credential.mjs"))
        .arg(&signing)
        .args([USER, SESSION, ROLE, node_chain.as_str()])
        .current_dir(root.parent().unwrap())
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_node = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let from_rust = rust_example::mint_credential(
        private.as_bytes(),
        USER,
        SESSION,
        ROLE,
        rust_chain.as_str(),
        3600,
    )
    .unwrap();
    for (c, cred) in [(&node_chain, from_node), (&rust_chain, from_rust)] {
        let evs = events(c, &[now_ms()], |_, _| {});
        let (st, body) = s.upload_as(c.as_str(), &evs, Some(&cred)).await;
        assert_eq!(st, 200, "{body}");
    }
}

#[tokio::test]
async fn the_demo_login_mints_credentials_the_collector_takes_and_is_off_by_default() {
    let (off, _) = server_with_credentials().await;
    let (st, _) = off.get("/api/demo/login", None).await;
    assert_eq!(st, 404, "off by default");
    drop(off);

    let s = server_with(|cfg| {
        cfg.insecure_open_ingest = false;
        cfg.demo_login = true;
    })
    .await;
    let (st, key) = s.get("/api/demo/login", None).await;
    assert_eq!(st, 200);
    assert_eq!(key["collectorKey"], json!(s.running.state.log.public_key()));
    let c = chain_id(90);
    let earlier = now_ms() - 3_600_000;
    let ask = json!({"chain": c.as_str(), "userId": USER, "sessionId": SESSION, "role": ROLE,
        "issuedAt": earlier / 1000 - 60});
    let (st, minted) = s.post("/api/demo/login", ask.to_string()).await;
    assert_eq!(st, 200, "{minted}");
    let cred = minted["credential"].as_str().unwrap();
    // Events written an hour ago, inside the window the demo issued.
    let evs = events(&c, &[earlier, now_ms()], |_, _| {});
    let (st, body) = s.upload_as(c.as_str(), &evs, Some(cred)).await;
    assert_eq!(st, 200, "{body}");
    // Without a credential, still refused.
    let (st, _) = s.upload_as(c.as_str(), &evs, None).await;
    assert_eq!(st, 401);

    for (bad, member) in [
        (
            json!({"chain": "nope", "userId": "u", "sessionId": "s", "role": "r"}),
            "/chain",
        ),
        (
            json!({"chain": c.as_str(), "userId": "", "sessionId": "s", "role": "r"}),
            "/userId",
        ),
        (
            json!({"chain": c.as_str(), "userId": "u", "sessionId": "s", "role": "r", "issuedAt": now_ms() / 1000 + 3600}),
            "/issuedAt",
        ),
        (
            json!({"chain": c.as_str(), "userId": "u", "sessionId": "s", "role": "r", "ttlSeconds": 0}),
            "/ttlSeconds",
        ),
    ] {
        let (st, body) = s.post("/api/demo/login", bad.to_string()).await;
        assert_eq!(st, 400, "{bad}: {body}");
        assert!(body["message"].as_str().unwrap().contains(member), "{body}");
    }
    let (st, body) = s
        .post(
            "/api/demo/login",
            json!({"chain": c.as_str(), "extra": 1}).to_string(),
        )
        .await;
    assert_eq!(st, 400, "{body}");
}

#[tokio::test]
async fn the_demo_login_refuses_a_credential_key_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(
        format!("sqlite://{}", dir.path().join("c.sqlite").display()),
        dir.path(),
    );
    cfg.demo_login = true;
    cfg.credential_key = Some(dir.path().join("verify.pem"));
    let err = sealtrail_collector::start(&cfg).await.err().unwrap();
    assert!(err.to_string().contains("--demo-login"), "{err}");
}
