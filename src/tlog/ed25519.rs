//! Ed25519 signing and verifying, natively (`ed25519-dalek`). Not in the
//! browser build: the browser checks signatures with WebCrypto, keeping the
//! `.wasm` free of curve arithmetic.
//!
//! A private key file holds one line, Go `sumdb/note`'s form with the key's
//! type byte in front of its 32-byte seed:
//!
//! ```text
//! PRIVATE+KEY+<name>+<hex key ID>+base64(type || seed)
//! ```

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey as Secret, VerifyingKey};

use crate::entropy::{Entropy, EntropyError};
use crate::tlog::checkpoint::Checkpoint;
use crate::tlog::note::{
    cosigned_message, KeyError, KeyType, Note, NoteError, NoteSignature, SignatureCheck,
    VerifierKey,
};

/// Whether an Ed25519 signature holds (strict RFC 8032 verification).
pub fn verify(check: &SignatureCheck) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(&check.public) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(&check.signature);
    key.verify_strict(&check.message, &sig).is_ok()
}

/// A private key: a log's (type `0x01`) or a witness's (type `0x04`).
pub struct SigningKey {
    verifier: VerifierKey,
    secret: Secret,
}

impl SigningKey {
    /// A new random key.
    pub fn generate(
        name: &str,
        kind: KeyType,
        entropy: &mut dyn Entropy,
    ) -> Result<Result<Self, KeyError>, EntropyError> {
        let mut seed = [0u8; 32];
        entropy.fill(&mut seed)?;
        Ok(Self::from_seed(name, kind, seed))
    }

    fn from_seed(name: &str, kind: KeyType, seed: [u8; 32]) -> Result<Self, KeyError> {
        let secret = Secret::from_bytes(&seed);
        let verifier = VerifierKey::new(name, kind, secret.verifying_key().to_bytes())?;
        Ok(Self { verifier, secret })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key ID>+base64(type || seed)`.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let rest = text.strip_prefix("PRIVATE+KEY+").ok_or(KeyError::Private)?;
        // The base64 may hold `+`; name and ID may not.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::Private);
        };
        let raw = STANDARD.decode(b64).map_err(|_| KeyError::Private)?;
        let (&kind, seed) = raw.split_first().ok_or(KeyError::Private)?;
        let kind = match kind {
            0x01 => KeyType::Ed25519,
            0x04 => KeyType::Cosignature,
            other => return Err(KeyError::Type(other)),
        };
        let seed = <[u8; 32]>::try_from(seed).map_err(|_| KeyError::Private)?;
        let key = Self::from_seed(name, kind, seed)?;
        let found = u32::from_str_radix(id, 16).map_err(|_| KeyError::Private)?;
        if id.len() != 8 || found != key.verifier.id() {
            return Err(KeyError::Id {
                name: name.to_owned(),
                expected: key.verifier.id(),
                found,
            });
        }
        Ok(key)
    }

    /// The private key file's line (keep it secret).
    pub fn to_private(&self) -> String {
        let mut raw = vec![self.verifier.kind().byte()];
        raw.extend_from_slice(self.secret.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.verifier.name(),
            self.verifier.id(),
            STANDARD.encode(raw)
        )
    }

    /// The public half.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// A log signs a checkpoint: the signed note, text and signature line.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<Note, NoteError> {
        let mut note = Note::new(&checkpoint.text())?;
        let sig = self.secret.sign(note.text().as_bytes());
        note.add(NoteSignature {
            name: self.verifier.name().to_owned(),
            key_id: self.verifier.id(),
            signature: sig.to_bytes().to_vec(),
        });
        Ok(note)
    }

    /// A witness cosigns a note's text at `timestamp` (POSIX seconds): the
    /// signature line to add (C2SP `tlog-cosignature`, Ed25519).
    pub fn cosign(&self, note: &Note, timestamp: u64) -> NoteSignature {
        let sig = self.secret.sign(&cosigned_message(timestamp, note.text()));
        let mut bytes = timestamp.to_be_bytes().to_vec();
        bytes.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.verifier.name().to_owned(),
            key_id: self.verifier.id(),
            signature: bytes,
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, secret hidden)", self.verifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::SeededEntropy;

    /// Go `sumdb/note`'s TestSign: a fixed key signs a fixed text to a fixed line.
    #[test]
    fn go_sumdb_note_known_answer() {
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let key = SigningKey::parse(skey).unwrap();
        assert_eq!(
            key.verifier().to_string(),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
        assert_eq!(key.to_private(), skey);
        let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
        let sig = key.secret.sign(text.as_bytes());
        let mut note = Note::new(text).unwrap();
        note.add(NoteSignature {
            name: "PeterNeumann".into(),
            key_id: key.verifier().id(),
            signature: sig.to_bytes().to_vec(),
        });
        assert_eq!(
            note.to_string(),
            format!("{text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
        );
        let checks = key.verifier().checks(&note).unwrap();
        assert!(verify(&checks[0]));
    }

    /// C2SP `signed-note`'s example: its key verifies its note.
    #[test]
    fn c2sp_signed_note_example_verifies() {
        let k = VerifierKey::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        let n = Note::parse("This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n").unwrap();
        let checks = k.checks(&n).unwrap();
        assert!(verify(&checks[0]));
        let mut bad = checks[0].clone();
        bad.message[0] ^= 1;
        assert!(!verify(&bad));
    }

    #[test]
    fn generated_keys_round_trip_and_cosign() {
        let mut e = SeededEntropy::new(3);
        let w = SigningKey::generate("witness.example/w1", KeyType::Cosignature, &mut e)
            .unwrap()
            .unwrap();
        let again = SigningKey::parse(&w.to_private()).unwrap();
        assert_eq!(again.verifier(), w.verifier());
        let note = Note::new("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").unwrap();
        let mut signed = note.clone();
        signed.add(w.cosign(&note, 1_679_315_147));
        let checks = w.verifier().checks(&signed).unwrap();
        assert_eq!(checks[0].timestamp, Some(1_679_315_147));
        assert!(checks[0]
            .message
            .starts_with(b"cosignature/v1\ntime 1679315147\no\n"));
        assert!(verify(&checks[0]));
        assert!(format!("{w:?}").contains("secret hidden"));
        assert!(!format!("{w:?}").contains(&w.to_private()));
    }
}
