//! Encryption at rest: event lines, findings evidence and case notes are
//! sealed in the database with XChaCha20-Poly1305 (RustCrypto
//! `chacha20poly1305`; 24-byte random nonces, so random nonces never
//! repeat in practice), each row naming its data key (`key_id`; `NULL`:
//! written before a key was configured, plaintext).
//!
//! Keys are in two layers, as key management services do it. The operator
//! holds a **master key** (32 bytes, hex, from a file or the environment);
//! the database holds **data keys**, each sealed under a master key
//! (`at_rest_keys`). Rows are sealed under the newest data key of the
//! current master key. Rotation (`sealtrail-collector rekey`) re-seals every
//! data key under a new master key and starts a new data key for the rows
//! written from then on, in one transaction: the old master key then opens
//! nothing in the database, and the audit tables stay append-only (their
//! triggers refuse every `UPDATE`, rotation included). Verification,
//! exports, proofs and the transparency log only ever see the opened line:
//! hashes and Merkle leaves are over the plaintext.
//!
//! Opening a row looks its data key up in this process's keyring: every data
//! key a master key given to this process unsealed, by its random id. Data
//! key ids are 128-bit random, so the stores of one process (the tests run
//! several) never confuse each other's keys.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, RwLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sha2::{Digest as _, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use sealtrail::entropy::{Entropy, OsEntropy};

use crate::store::{keys, Store};

/// Bytes of a key, master or data.
const KEY_BYTES: usize = 32;
/// Bytes of an XChaCha20 nonce.
const NONCE_BYTES: usize = 24;

/// Why keys cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AtRestError {
    /// The master key text is not 64 hex digits.
    #[error("the at-rest master key must be 64 hex digits (32 bytes), found {0}")]
    MasterKey(String),
    /// The key file cannot be read.
    #[error("cannot read the at-rest key file `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The database holds sealed rows and no master key was given.
    #[error("the database holds rows encrypted at rest: start with the master key (`--at-rest-key` or `SEALTRAIL_AT_REST_KEY`)")]
    Locked,
    /// A data key is sealed under another master key.
    #[error("data key `{key}` is sealed under master key `{master}`, not under the one given (`{given}`): give that key, or finish `sealtrail-collector rekey`")]
    OtherMaster {
        /// The data key.
        key: String,
        /// The master key it is sealed under.
        master: String,
        /// The master key given.
        given: String,
    },
    /// A data key does not open: the wrong key, or the row was altered.
    #[error("data key `{0}` does not open under its master key (altered, or a different key with the same id)")]
    Unseal(String),
    /// No entropy.
    #[error("no randomness for a key or nonce: {0}")]
    Entropy(String),
    /// The cipher refused a value (longer than XChaCha20-Poly1305 takes).
    #[error("a value could not be encrypted (too long for XChaCha20-Poly1305)")]
    Seal,
    /// The database failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

/// The operator's key: it seals the data keys, never a row.
pub struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish()
    }
}

impl MasterKey {
    /// A key from its 64 hex digits (surrounding whitespace ignored). Its id
    /// is `mk-` and 8 bytes of the SHA-256 of the key, in hex: which key,
    /// without saying anything of it.
    pub fn from_hex(text: &str) -> Result<Self, AtRestError> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .filter(|b| b.len() == KEY_BYTES)
            .ok_or_else(|| AtRestError::MasterKey(format!("{} characters", text.len())))?;
        let digest = Sha256::digest(&bytes);
        Ok(Self {
            id: format!("mk-{}", hex::encode(digest.get(..8).unwrap_or_default())),
            cipher: XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| AtRestError::MasterKey("a key of the wrong length".into()))?,
        })
    }

    /// The key in the file `path`.
    pub fn load(path: &Path) -> Result<Self, AtRestError> {
        let text = std::fs::read_to_string(path).map_err(|source| AtRestError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_hex(&text)
    }

    /// A new random key, as 64 hex digits.
    pub fn generate() -> Result<String, AtRestError> {
        Ok(hex::encode(random::<KEY_BYTES>()?))
    }

    /// Its id (`mk-` and 16 hex digits).
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A data key: it seals rows.
pub struct DataKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).finish()
    }
}

impl DataKey {
    /// Its id, as rows name it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Every data key this process unsealed, by id.
static KEYRING: LazyLock<RwLock<HashMap<String, Arc<DataKey>>>> = LazyLock::new(Default::default);

fn keyring_add(key: DataKey) -> Arc<DataKey> {
    let key = Arc::new(key);
    if let Ok(mut ring) = KEYRING.write() {
        ring.insert(key.id.clone(), Arc::clone(&key));
    }
    key
}

fn keyring_get(id: &str) -> Option<Arc<DataKey>> {
    KEYRING.read().ok()?.get(id).cloned()
}

fn random<const N: usize>() -> Result<[u8; N], AtRestError> {
    let mut bytes = [0u8; N];
    OsEntropy
        .fill(&mut bytes)
        .map_err(|e| AtRestError::Entropy(e.to_string()))?;
    Ok(bytes)
}

/// `nonce || ciphertext` of `plain` under `cipher`, in base64.
fn seal_bytes(cipher: &XChaCha20Poly1305, aad: &str, plain: &[u8]) -> Result<String, AtRestError> {
    let nonce = random::<NONCE_BYTES>()?;
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| AtRestError::Seal)?;
    Ok(STANDARD.encode([nonce.as_slice(), &sealed].concat()))
}

/// The plaintext [`seal_bytes`] sealed, if it opens.
fn open_bytes(cipher: &XChaCha20Poly1305, aad: &str, text: &str) -> Option<Vec<u8>> {
    let bytes = STANDARD.decode(text).ok()?;
    let (nonce, sealed) = bytes.split_at_checked(NONCE_BYTES)?;
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: aad.as_bytes(),
            },
        )
        .ok()
}

/// What a sealed value is bound to: its column (a sealed value moved to
/// another column does not open).
#[derive(Debug, Clone, Copy)]
pub enum Column {
    /// `events.line` and `events_archive.line` (the archive copies rows).
    EventLine,
    /// `findings.evidence`.
    Evidence,
    /// `case_events.note`.
    Note,
}

impl Column {
    fn aad(self) -> &'static str {
        match self {
            Column::EventLine => "sealtrail-at-rest/1 events.line",
            Column::Evidence => "sealtrail-at-rest/1 findings.evidence",
            Column::Note => "sealtrail-at-rest/1 case_events.note",
        }
    }
}

/// `plain` as stored: sealed under `key` with its id, or as it is without one.
pub fn seal(
    key: Option<&DataKey>,
    column: Column,
    plain: &str,
) -> Result<(String, Option<String>), sqlx::Error> {
    match key {
        None => Ok((plain.to_owned(), None)),
        Some(k) => seal_bytes(&k.cipher, column.aad(), plain.as_bytes())
            .map(|text| (text, Some(k.id.clone())))
            .map_err(|e| sqlx::Error::Encode(Box::new(e))),
    }
}

/// The plaintext of a stored value (`key_id` `None`: stored as it is).
pub fn open(column: Column, stored: String, key_id: Option<String>) -> Result<String, sqlx::Error> {
    let Some(id) = key_id else {
        return Ok(stored);
    };
    let fail = |why: String| sqlx::Error::Decode(why.into());
    let key = keyring_get(&id).ok_or_else(|| {
        fail(format!(
            "a row is sealed under data key `{id}`, which no master key given to this collector opens"
        ))
    })?;
    let plain = open_bytes(&key.cipher, column.aad(), &stored)
        .ok_or_else(|| fail(format!("a row sealed under `{id}` does not open: altered")))?;
    String::from_utf8(plain).map_err(|e| fail(e.to_string()))
}

/// The plaintext of the column `name` of `row`, whose data key is in the
/// column `key_id`.
pub fn open_column(row: &AnyRow, name: &str, column: Column) -> Result<String, sqlx::Error> {
    open(column, row.try_get(name)?, row.try_get("key_id")?)
}

/// As [`open_column`], for a column that may be `NULL`.
pub fn open_optional(
    row: &AnyRow,
    name: &str,
    column: Column,
) -> Result<Option<String>, sqlx::Error> {
    let stored: Option<String> = row.try_get(name)?;
    stored
        .map(|s| open(column, s, row.try_get("key_id")?))
        .transpose()
}

/// The associated data of a sealed data key: its own id.
fn key_aad(id: &str) -> String {
    format!("sealtrail-at-rest-key/1 {id}")
}

/// Unseals every data key under `master` into the keyring and returns the
/// one new rows are sealed under (made now if `master` has none yet).
/// Without a master key: `None` if the database holds no data key
/// (plaintext), [`AtRestError::Locked`] otherwise.
pub async fn unlock(
    store: &Store,
    master: Option<&MasterKey>,
    now_ms: i64,
) -> Result<Option<Arc<DataKey>>, AtRestError> {
    let stored = keys::all(store).await?;
    let Some(master) = master else {
        return if stored.is_empty() {
            Ok(None)
        } else {
            Err(AtRestError::Locked)
        };
    };
    let mut current = None;
    for k in &stored {
        if k.master_id != master.id {
            return Err(AtRestError::OtherMaster {
                key: k.id.clone(),
                master: k.master_id.clone(),
                given: master.id.clone(),
            });
        }
        current = Some(keyring_add(unseal(master, &k.id, &k.sealed)?));
    }
    match current {
        Some(k) => Ok(Some(k)),
        None => {
            let mut tx = store.begin_write().await?;
            let key = new_data_key(&mut tx, master, now_ms).await?;
            tx.commit().await?;
            Ok(Some(key))
        }
    }
}

/// The bytes of data key `id`, sealed under `master`.
fn unseal_bytes(master: &MasterKey, id: &str, sealed: &str) -> Result<Vec<u8>, AtRestError> {
    open_bytes(&master.cipher, &key_aad(id), sealed)
        .ok_or_else(|| AtRestError::Unseal(id.to_owned()))
}

fn unseal(master: &MasterKey, id: &str, sealed: &str) -> Result<DataKey, AtRestError> {
    let bytes = unseal_bytes(master, id, sealed)?;
    Ok(DataKey {
        id: id.to_owned(),
        cipher: XChaCha20Poly1305::new_from_slice(&bytes)
            .map_err(|_| AtRestError::Unseal(id.to_owned()))?,
    })
}

/// A new random data key, stored sealed under `master` and in the keyring.
async fn new_data_key(
    tx: &mut crate::store::WriteTx,
    master: &MasterKey,
    now_ms: i64,
) -> Result<Arc<DataKey>, AtRestError> {
    let id = format!("dk-{}", hex::encode(random::<16>()?));
    let bytes = random::<KEY_BYTES>()?;
    let sealed = seal_bytes(&master.cipher, &key_aad(&id), &bytes)?;
    keys::insert(tx, &id, &master.id, &sealed, now_ms).await?;
    Ok(keyring_add(DataKey {
        id,
        cipher: XChaCha20Poly1305::new(&bytes.into()),
    }))
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    /// Data keys re-sealed under the new master key.
    pub resealed: usize,
    /// The data key rows are sealed under from now on.
    pub current: String,
}

/// Rotation: in one transaction, re-seals every data key under `new` (each
/// must open under `old`, or already be under `new`: a rotation cut short
/// is finished by running it again) and adds a data key under `new` for the
/// rows written from now on.
pub async fn rekey(
    store: &Store,
    old: &MasterKey,
    new: &MasterKey,
    now_ms: i64,
) -> Result<Rekeyed, AtRestError> {
    let mut tx = store.begin_write().await?;
    let mut resealed = 0;
    for k in keys::all_in(&mut tx).await? {
        if k.master_id == new.id {
            continue;
        }
        if k.master_id != old.id {
            return Err(AtRestError::OtherMaster {
                key: k.id,
                master: k.master_id,
                given: old.id.clone(),
            });
        }
        let bytes = unseal_bytes(old, &k.id, &k.sealed)?;
        let sealed = seal_bytes(&new.cipher, &key_aad(&k.id), &bytes)?;
        keys::reseal(&mut tx, &k.id, &new.id, &sealed).await?;
        resealed += 1;
    }
    let current = new_data_key(&mut tx, new, now_ms).await?;
    tx.commit().await?;
    Ok(Rekeyed {
        resealed,
        current: current.id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_key() -> DataKey {
        DataKey {
            id: "dk-test".into(),
            cipher: XChaCha20Poly1305::new_from_slice(&[7u8; KEY_BYTES]).unwrap(),
        }
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_column_and_unaltered() {
        let key = keyring_add(data_key());
        let line = r#"{"reason":{"text":"imminent risk"}}"#;
        let (sealed, id) = seal(Some(&key), Column::EventLine, line).unwrap();
        assert_eq!(id.as_deref(), Some("dk-test"));
        assert!(!sealed.contains("imminent"));
        // Random nonces: the same line seals differently each time.
        assert_ne!(seal(Some(&key), Column::EventLine, line).unwrap().0, sealed);
        assert_eq!(
            open(Column::EventLine, sealed.clone(), id.clone()).unwrap(),
            line
        );
        assert!(open(Column::Note, sealed.clone(), id.clone()).is_err());
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        if let Some(b) = bytes.last_mut() {
            *b ^= 1;
        }
        let altered = STANDARD.encode(bytes);
        let e = open(Column::EventLine, altered, id).unwrap_err();
        assert!(e.to_string().contains("altered"), "{e}");
        let e = open(Column::EventLine, sealed, Some("dk-unknown".into())).unwrap_err();
        assert!(e.to_string().contains("no master key"), "{e}");
    }

    #[test]
    fn without_a_key_values_are_stored_as_they_are() {
        assert_eq!(
            seal(None, Column::Evidence, "{}").unwrap(),
            ("{}".to_owned(), None)
        );
        assert_eq!(open(Column::Evidence, "{}".into(), None).unwrap(), "{}");
    }

    #[test]
    fn a_data_key_opens_only_under_its_master_key_and_id() {
        let master = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        let other = MasterKey::from_hex(&"cd".repeat(32)).unwrap();
        let sealed = seal_bytes(&master.cipher, &key_aad("dk-1"), &[9u8; KEY_BYTES]).unwrap();
        assert_eq!(
            unseal_bytes(&master, "dk-1", &sealed).unwrap(),
            [9u8; KEY_BYTES]
        );
        assert!(unseal_bytes(&other, "dk-1", &sealed).is_err());
        assert!(unseal_bytes(&master, "dk-2", &sealed).is_err());
    }
}
