//! Minting a sealtrail upload credential in a Rust backend with
//! `jsonwebtoken` (docs/protocol.md, "Credentials"). The backend has
//! authenticated the user; the browser module asks for one credential per
//! chain.
//!
//! ```sh
//! cargo run -p sealtrail-collector --example mint_credential -- \
//!   SIGNING_KEY.pem USER SESSION ROLE CHAIN [TTL_SECONDS]
//! ```
//!
//! `SIGNING_KEY.pem` is the Ed25519 PKCS#8 key of `sealtrail-collector
//! keygen --signing-key FILE --verifying-key FILE`; the collector runs with
//! `--credential-key` naming the verifying key.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// The claims the collector requires (a host may add its own).
#[derive(Serialize)]
pub struct UploadClaims<'a> {
    /// The user id: every event's `actor.id`.
    pub sub: &'a str,
    /// The login session: every event's `session.id`.
    pub sid: &'a str,
    /// The role the login granted: every event's `actor.role`.
    pub role: &'a str,
    /// The one chain the credential is for.
    pub chain: &'a str,
    /// Now, seconds since 1970.
    pub iat: u64,
    /// When it stops covering new events.
    pub exp: u64,
}

/// The credential for `chain`, written by `user` in login `session` as `role`.
pub fn mint_credential(
    signing_key_pem: &[u8],
    user: &str,
    session: &str,
    role: &str,
    chain: &str,
    ttl_seconds: u64,
) -> Result<String, jsonwebtoken::errors::Error> {
    let key = EncodingKey::from_ed_pem(signing_key_pem)?;
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = UploadClaims {
        sub: user,
        sid: session,
        role,
        chain,
        iat,
        exp: iat + ttl_seconds,
    };
    jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &key)
}

#[allow(dead_code)] // the tests include this file for `mint_credential`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [key, user, session, role, chain, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: mint_credential SIGNING_KEY.pem USER SESSION ROLE CHAIN [TTL_SECONDS]".into(),
        );
    };
    let ttl = rest.first().map_or(Ok(8 * 3600), |t| t.parse())?;
    let pem = std::fs::read(key)?;
    println!(
        "{}",
        mint_credential(&pem, user, session, role, chain, ttl)?
    );
    Ok(())
}
