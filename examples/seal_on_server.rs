//! Sealing on the server, before the record is sent: the deployment for
//! content that must never reach a browser whose user may not see it.
//!
//! ```sh
//! cargo run --example seal_on_server -- pkg-config/policy.default.json tests/fixtures/records/clinic-record.json
//! ```
//!
//! Prints the sealed view a nurse on the record's team would receive, then the
//! event the server appends to its own chain.

use std::process::ExitCode;

use sealtrail::chain::ChainWriter;
use sealtrail::decision::{Access, FieldAction};
use sealtrail::entropy::OsEntropy;
use sealtrail::event::ChainId;
use sealtrail::policy::Policy;
use sealtrail::session::Session;
use sealtrail::Timestamp;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(policy), Some(record)) = (args.next(), args.next()) else {
        return Err("usage: seal_on_server POLICY.json RECORD.json".into());
    };
    let policy = Policy::parse(&std::fs::read_to_string(policy)?)?;
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(record)?)?;
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let now = Timestamp::from_millis(i64::try_from(since_epoch.as_millis())?)?;
    // In a real server this comes from the request's authenticated session.
    let session = Session::from_value(
        &serde_json::json!({
            "userId": "u-nurse-17", "name": "Nia Patel", "role": "nurse",
            "caseload": [], "team": "east",
            "authStrength": "mfa", "authTime": now.to_string(),
            "expiresAt": now.plus_millis(3_600_000).to_string(),
            "sessionId": "s-example", "client": "seal_on_server example",
        }),
        &policy,
        now,
    )?;

    let access = Access::new(&policy, &session, now, &[]);
    let sealed = access.seal(record, FieldAction::View, &mut OsEntropy)?;
    println!("{}", serde_json::to_string_pretty(&sealed.view)?);

    // The vault (plaintext and salts of what was sealed) stays on the server
    // for a later break-glass unseal; the event goes to the server's chain.
    let mut chain = ChainWriter::new(ChainId::random(&mut OsEntropy)?);
    let event = chain.append(sealed.draft, now)?;
    println!("{}", sealtrail::chain::to_line(&event)?);
    Ok(())
}
