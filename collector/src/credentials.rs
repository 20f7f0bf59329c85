//! Upload credentials (`docs/protocol.md`, "Credentials"): the short JWT a
//! host's backend mints for each chain of a logged-in user. The collector
//! holds only the verifying key (`--credential-key`): an Ed25519 public key
//! (`EdDSA`, the default) or, as an option, a shared HS256 secret. Verifying
//! is `jsonwebtoken`'s; what the claims say is the core's
//! [`sealtrail::credential::Claims`], one reading of them for both sides.
//!
//! Keys are files: an Ed25519 private key as PKCS#8 PEM and its public key
//! as SPKI PEM (RFC 8410), which `jose` (Node), OpenSSL and `jsonwebtoken`
//! all read; an HS256 secret is the file's bytes, at least 32 of them.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;

use sealtrail::credential::Claims;
use sealtrail::entropy::{Entropy, OsEntropy};
use sealtrail::event::ChainId;

/// The signature algorithm of the credentials a collector accepts (one only:
/// a token naming another is refused, whatever its signature).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Alg {
    /// Ed25519 (`EdDSA`): the collector holds only the public key.
    #[default]
    #[value(name = "EdDSA")]
    EdDsa,
    /// HMAC-SHA256 with a secret the host and the collector share.
    #[value(name = "HS256")]
    Hs256,
}

impl Alg {
    fn jwt(self) -> Algorithm {
        match self {
            Alg::EdDsa => Algorithm::EdDSA,
            Alg::Hs256 => Algorithm::HS256,
        }
    }
}

/// Why a key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file cannot be read or written.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not a key of the expected kind.
    #[error("`{path}`: expected {expected}, found {found}")]
    Form {
        /// The file.
        path: String,
        /// The kind of key expected.
        expected: &'static str,
        /// What is wrong.
        found: String,
    },
    /// No randomness for a new key.
    #[error("no randomness for a new key: {0}")]
    Entropy(String),
}

/// The DER prefix of an Ed25519 private key in PKCS#8 (RFC 8410 §7), before its 32-byte seed.
const PKCS8_ED25519: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// The DER prefix of an Ed25519 public key in SPKI (RFC 8410 §4), before its 32 bytes.
const SPKI_ED25519: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A new Ed25519 key pair: `(private PKCS#8 PEM, public SPKI PEM)`.
pub fn generate_ed25519() -> Result<(String, String), KeyError> {
    let mut seed = [0u8; 32];
    OsEntropy
        .fill(&mut seed)
        .map_err(|e| KeyError::Entropy(e.to_string()))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let private = [PKCS8_ED25519.as_slice(), &seed].concat();
    let public = [
        SPKI_ED25519.as_slice(),
        key.verifying_key().as_bytes().as_slice(),
    ]
    .concat();
    Ok((pem("PRIVATE KEY", &private), pem("PUBLIC KEY", &public)))
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|source| KeyError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn form(path: &Path, expected: &'static str, found: impl ToString) -> KeyError {
    KeyError::Form {
        path: path.display().to_string(),
        expected,
        found: found.to_string(),
    }
}

/// An HS256 secret: the file's bytes, at least 32 of them.
fn secret(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    if bytes.len() < 32 {
        return Err(form(
            path,
            "an HS256 secret of at least 32 bytes",
            format!("{} bytes", bytes.len()),
        ));
    }
    Ok(())
}

/// What mints credentials: the host's side (and the CLI's, tests', demo's).
pub struct Minter {
    alg: Alg,
    key: EncodingKey,
}

impl Minter {
    /// From a key file: an Ed25519 PKCS#8 PEM private key, or an HS256 secret.
    pub fn load(path: &Path, alg: Alg) -> Result<Self, KeyError> {
        let bytes = read(path)?;
        Self::from_bytes(path, &bytes, alg)
    }

    fn from_bytes(path: &Path, bytes: &[u8], alg: Alg) -> Result<Self, KeyError> {
        let key = match alg {
            Alg::EdDsa => EncodingKey::from_ed_pem(bytes)
                .map_err(|e| form(path, "an Ed25519 private key in PKCS#8 PEM", e))?,
            Alg::Hs256 => {
                secret(path, bytes)?;
                EncodingKey::from_secret(bytes)
            }
        };
        Ok(Self { alg, key })
    }

    /// A new in-memory Ed25519 minter and its verifier (the demo's login).
    pub fn ephemeral() -> Result<(Self, Verifier), KeyError> {
        let (private, public) = generate_ed25519()?;
        let here = Path::new("(generated)");
        Ok((
            Self::from_bytes(here, private.as_bytes(), Alg::EdDsa)?,
            Verifier::from_bytes(here, public.as_bytes(), Alg::EdDsa)?,
        ))
    }

    /// The compact JWT of `claims`.
    pub fn mint(&self, claims: &Claims) -> Result<String, KeyError> {
        jsonwebtoken::encode(&Header::new(self.alg.jwt()), claims, &self.key)
            .map_err(|e| form(Path::new("(key)"), "a key that signs", e))
    }
}

/// Why a credential is refused (`401`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// None was sent.
    #[error("no credential: send `Authorization: Bearer <credential>` (an anchor: the `credential` member)")]
    Missing,
    /// The signature, algorithm or form is wrong.
    #[error("the credential is not valid: {0}")]
    Invalid(String),
    /// It names another chain.
    #[error("the credential is for chain `{found}`, not `{expected}`")]
    OtherChain {
        /// The chain posted to.
        expected: String,
        /// The credential's `chain`.
        found: String,
    },
    /// Past `exp` and the grace period for late uploads.
    #[error("the credential expired at {exp} (seconds since 1970) and its {grace_days}-day grace for late uploads is over: ask the host for a new one")]
    Expired {
        /// Its `exp`.
        exp: i64,
        /// The grace.
        grace_days: u32,
    },
    /// Issued ahead of the collector's clock.
    #[error(
        "the credential is issued at {iat} (seconds since 1970), ahead of this collector's clock"
    )]
    Future {
        /// Its `iat`.
        iat: i64,
    },
}

/// What checks credentials: the collector's side, holding only the verifying key.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
    grace_days: u32,
    skew_ms: i64,
}

impl Verifier {
    /// From a key file: an Ed25519 SPKI PEM public key, or an HS256 secret.
    pub fn load(path: &Path, alg: Alg) -> Result<Self, KeyError> {
        let bytes = read(path)?;
        Self::from_bytes(path, &bytes, alg)
    }

    fn from_bytes(path: &Path, bytes: &[u8], alg: Alg) -> Result<Self, KeyError> {
        let key = match alg {
            Alg::EdDsa => DecodingKey::from_ed_pem(bytes)
                .map_err(|e| form(path, "an Ed25519 public key in SPKI PEM", e))?,
            Alg::Hs256 => {
                secret(path, bytes)?;
                DecodingKey::from_secret(bytes)
            }
        };
        let mut validation = Validation::new(alg.jwt());
        // `exp` is checked here, against the grace for late uploads.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Ok(Self {
            key,
            validation,
            grace_days: 30,
            skew_ms: 120_000,
        })
    }

    /// How long after `exp` uploads are still taken, and the clock skew allowed.
    pub fn with_limits(mut self, grace_days: u32, skew_seconds: u32) -> Self {
        self.grace_days = grace_days;
        self.skew_ms = i64::from(skew_seconds) * 1000;
        self
    }

    /// The clock skew allowed, in milliseconds.
    pub fn skew_ms(&self) -> i64 {
        self.skew_ms
    }

    /// The claims of `token` if it is signed by the key, names `chain`, is
    /// not issued in the future, and is not past `exp` plus the grace.
    pub fn verify(&self, token: &str, chain: &ChainId, now_ms: i64) -> Result<Claims, Refused> {
        if token.is_empty() {
            return Err(Refused::Missing);
        }
        let data =
            jsonwebtoken::decode::<Value>(token, &self.key, &self.validation).map_err(|e| {
                Refused::Invalid(match e.kind() {
                    ErrorKind::InvalidSignature => "its signature does not verify".to_owned(),
                    ErrorKind::InvalidAlgorithm => {
                        "it is signed with another algorithm than this collector accepts".to_owned()
                    }
                    _ => e.to_string(),
                })
            })?;
        let claims =
            Claims::from_value(&data.claims).map_err(|e| Refused::Invalid(e.to_string()))?;
        if claims.chain != *chain {
            return Err(Refused::OtherChain {
                expected: chain.to_string(),
                found: claims.chain.to_string(),
            });
        }
        let grace_ms = i64::from(self.grace_days) * 86_400_000;
        if claims.exp.saturating_mul(1000).saturating_add(grace_ms) < now_ms {
            return Err(Refused::Expired {
                exp: claims.exp,
                grace_days: self.grace_days,
            });
        }
        if claims.iat.saturating_mul(1000).saturating_sub(self.skew_ms) > now_ms {
            return Err(Refused::Future { iat: claims.iat });
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn claims(chain: &str, iat: i64, exp: i64) -> Claims {
        Claims {
            sub: "u-1".into(),
            sid: "s-1".into(),
            role: "nurse".into(),
            chain: ChainId::parse(chain).unwrap(),
            iat,
            exp,
        }
    }

    const CHAIN: &str = "00112233445566778899aabbccddeeff";
    const OTHER: &str = "ffeeddccbbaa99887766554433221100";

    #[test]
    fn a_minted_credential_verifies_for_its_chain_only() {
        let (minter, verifier) = Minter::ephemeral().unwrap();
        let now = 1_800_000_000_000;
        let token = minter
            .mint(&claims(CHAIN, 1_800_000_000, 1_800_003_600))
            .unwrap();
        let chain = ChainId::parse(CHAIN).unwrap();
        assert_eq!(verifier.verify(&token, &chain, now).unwrap().sub, "u-1");
        let other = ChainId::parse(OTHER).unwrap();
        assert!(matches!(
            verifier.verify(&token, &other, now),
            Err(Refused::OtherChain { .. })
        ));
        // Past exp: taken within the grace, refused after it.
        let late = 1_800_003_600_000 + 29 * 86_400_000;
        assert!(verifier.verify(&token, &chain, late).is_ok());
        let too_late = 1_800_003_600_000 + 31 * 86_400_000;
        assert!(matches!(
            verifier.verify(&token, &chain, too_late),
            Err(Refused::Expired { .. })
        ));
        assert!(matches!(
            verifier.verify(&token, &chain, now - 600_000),
            Err(Refused::Future { .. })
        ));
    }

    #[test]
    fn another_key_another_algorithm_or_a_tampered_token_is_refused() {
        let (minter, _) = Minter::ephemeral().unwrap();
        let (_, verifier) = Minter::ephemeral().unwrap();
        let chain = ChainId::parse(CHAIN).unwrap();
        let token = minter
            .mint(&claims(CHAIN, 1_800_000_000, 1_800_003_600))
            .unwrap();
        assert!(matches!(
            verifier.verify(&token, &chain, 1_800_000_000_000),
            Err(Refused::Invalid(_))
        ));
        let here = Path::new("secret");
        let hs = Minter::from_bytes(here, &[7u8; 32], Alg::Hs256).unwrap();
        let token = hs
            .mint(&claims(CHAIN, 1_800_000_000, 1_800_003_600))
            .unwrap();
        assert!(verifier.verify(&token, &chain, 1_800_000_000_000).is_err());
        let hs_verifier = Verifier::from_bytes(here, &[7u8; 32], Alg::Hs256).unwrap();
        assert!(hs_verifier
            .verify(&token, &chain, 1_800_000_000_000)
            .is_ok());
        assert!(Verifier::from_bytes(here, &[7u8; 31], Alg::Hs256).is_err());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = claims(CHAIN, 1_800_000_000, 1_900_000_000);
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&forged).unwrap());
        parts[1] = &body;
        assert!(hs_verifier
            .verify(&parts.join("."), &chain, 1_800_000_000_000)
            .is_err());
    }
}
