//! The hash chain: genesis, event hash and appending, exactly as
//! `shared/spec/audit-chain.md` defines them.
//!
//! Bytes hashed, in full:
//!
//! ```text
//! genesis(chain) = hex(SHA-256(UTF-8("sealtrail/v1/genesis/" + chain)))
//! hash(event)    = hex(SHA-256(JCS(event without its "hash" member)))
//! ```
//!
//! The known-answer vectors in the tests below pin both.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::canon::{self, CanonError};
use crate::digest::is_lower_hex;
use crate::entropy::{Entropy, EntropyError};
use crate::event::{Event, EventDraft, VERSION};
use crate::{Digest, Timestamp};

/// Domain-separation prefix of the genesis value.
pub const GENESIS_PREFIX: &str = "sealtrail/v1/genesis/";

/// A chain id: 32 lowercase hex characters (128 random bits), one per page session.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId(String);

/// Why a string is not a chain id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainIdError {
    /// Not 32 lowercase hex characters.
    #[error("a chain id is 32 lowercase hex characters, found `{0}`")]
    Malformed(String),
}

impl ChainId {
    /// Parses the 32-character form.
    pub fn parse(s: &str) -> Result<Self, ChainIdError> {
        if s.len() == 32 && is_lower_hex(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ChainIdError::Malformed(s.to_owned()))
        }
    }

    /// A new random chain id.
    pub fn random(entropy: &mut dyn Entropy) -> Result<Self, EntropyError> {
        let mut bytes = [0u8; 16];
        entropy.fill(&mut bytes)?;
        Ok(Self(hex::encode(bytes)))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `genesis(chain)`: the `prev` of the event with `seq` 0.
    pub fn genesis(&self) -> Digest {
        Digest::of_parts(&[GENESIS_PREFIX.as_bytes(), self.0.as_bytes()])
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({})", self.0)
    }
}

impl Serialize for ChainId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ChainId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Serializes an event object minus its `hash` member, without copying it.
struct WithoutHash<'a>(&'a Map<String, Value>);

impl Serialize for WithoutHash<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.0.iter().filter(|(k, _)| k.as_str() != "hash") {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// `hash(event)`: SHA-256 of the canonical form of `event` without its `hash` member.
///
/// A JSON tree's members are already in sorted order, so its plain
/// serialization is often canonical already: when
/// [`crate::verify`]'s strict scanner confirms that byte for byte, those
/// bytes are hashed and the canonicalizer (much slower) is skipped.
pub fn hash_event(event: &Map<String, Value>) -> Result<Digest, CanonError> {
    if let Ok(plain) = serde_json::to_vec(&WithoutHash(event)) {
        if crate::verify::is_canonical(&plain) {
            return Ok(Digest::of(&plain));
        }
    }
    Ok(Digest::of(&canon::to_vec(&WithoutHash(event))?))
}

/// Why an event could not be appended.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppendError {
    /// The draft holds a number that is not an integer (the spec allows integers only).
    #[error("event member `{pointer}` is not an integer; events carry integers only")]
    NonInteger {
        /// JSON Pointer of the offending number inside the event.
        pointer: String,
    },
    /// The draft cannot be written as canonical JSON.
    #[error(transparent)]
    Canon(#[from] CanonError),
    /// The chain has reached the largest `seq`.
    #[error("the chain is full: no `seq` after {0}")]
    Exhausted(u64),
}

/// Appends events to one chain: numbers them, links them, clamps their time
/// so it never steps back, and hashes them.
#[derive(Debug, Clone)]
pub struct ChainWriter {
    chain: ChainId,
    next_seq: u64,
    prev: Digest,
    last_ts: Option<Timestamp>,
}

impl ChainWriter {
    /// A new, empty chain.
    pub fn new(chain: ChainId) -> Self {
        let prev = chain.genesis();
        Self {
            chain,
            next_seq: 0,
            prev,
            last_ts: None,
        }
    }

    /// Continues a chain whose last stored event is `last`.
    pub fn resume(last: &Event) -> Self {
        Self {
            chain: last.chain.clone(),
            next_seq: last.seq.saturating_add(1),
            prev: last.hash,
            last_ts: Some(last.ts),
        }
    }

    /// The chain's id.
    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    /// The `seq` the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The hash the next event will link to.
    pub fn head(&self) -> Digest {
        self.prev
    }

    /// Appends `draft` at time `now` (clamped to the previous event's time if
    /// the clock stepped back). The writer only advances on success.
    pub fn append(&mut self, draft: EventDraft, now: Timestamp) -> Result<Event, AppendError> {
        let ts = match self.last_ts {
            Some(last) if now < last => last,
            _ => now,
        };
        let next = self
            .next_seq
            .checked_add(1)
            .ok_or(AppendError::Exhausted(self.next_seq))?;
        let mut event = Event {
            v: VERSION,
            chain: self.chain.clone(),
            seq: self.next_seq,
            ts,
            prev: self.prev,
            body: draft,
            hash: self.prev,
        };
        // Only `detail` holds free-form JSON; every other member is typed
        // and cannot carry a float.
        let mut pointer = String::from("/detail");
        for (k, v) in &event.body.detail {
            with_token(&mut pointer, k, |p| find_non_integer(v, p))?;
        }
        let Value::Object(map) = serde_json::to_value(Unhashed::of(&event))
            .map_err(|e| CanonError::Unrepresentable(e.to_string()))?
        else {
            return Err(CanonError::Unrepresentable("event is not an object".into()).into());
        };
        event.hash = hash_event(&map)?;
        self.next_seq = next;
        self.prev = event.hash;
        self.last_ts = Some(ts);
        Ok(event)
    }
}

/// An event as hashed: every member but `hash` (`appends_hash_like_the_verifier`
/// checks it hashes as the verifier does).
#[derive(Serialize)]
struct Unhashed<'a> {
    v: u64,
    chain: &'a ChainId,
    seq: u64,
    ts: Timestamp,
    prev: Digest,
    #[serde(flatten)]
    body: &'a EventDraft,
}

impl<'a> Unhashed<'a> {
    fn of(e: &'a Event) -> Self {
        Self {
            v: e.v,
            chain: &e.chain,
            seq: e.seq,
            ts: e.ts,
            prev: e.prev,
            body: &e.body,
        }
    }
}

/// Fails on the first number in `v` that is not an integer.
fn find_non_integer(v: &Value, pointer: &mut String) -> Result<(), AppendError> {
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => Err(AppendError::NonInteger {
            pointer: pointer.clone(),
        }),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            with_token(pointer, &i.to_string(), |p| find_non_integer(item, p))
        }),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, item)| with_token(pointer, k, |p| find_non_integer(item, p))),
        _ => Ok(()),
    }
}

/// Runs `f` with `token` appended to `pointer` (RFC 6901 escaped), then restores it.
fn with_token<T>(pointer: &mut String, token: &str, f: impl FnOnce(&mut String) -> T) -> T {
    let len = pointer.len();
    pointer.push('/');
    pointer.push_str(&crate::pointer::escape_token(token));
    let out = f(pointer);
    pointer.truncate(len);
    out
}

/// The line form of an event in files and stores: its canonical JSON, `hash`
/// included. Writing canonical lines lets verifiers take a fast path.
pub fn to_line(event: &Event) -> Result<String, CanonError> {
    // As in `hash_event`: a JSON tree written plainly is usually canonical already.
    if let Ok(plain) = serde_json::to_value(event).and_then(|v| serde_json::to_string(&v)) {
        if crate::verify::is_canonical(plain.as_bytes()) {
            return Ok(plain);
        }
    }
    canon::to_string(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Action, Actor, Outcome};

    fn actor() -> Actor {
        Actor {
            id: "u1".into(),
            role: "nurse".into(),
            name: None,
            auth_strength: None,
        }
    }

    #[test]
    fn genesis_known_answer() {
        let c = ChainId::parse("00000000000000000000000000000000").unwrap();
        // printf 'sealtrail/v1/genesis/00000000000000000000000000000000' | sha256sum
        assert_eq!(
            c.genesis().to_hex(),
            Digest::of(b"sealtrail/v1/genesis/00000000000000000000000000000000").to_hex()
        );
    }

    #[test]
    fn appends_link_and_clamp_time() {
        let c = ChainId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let mut w = ChainWriter::new(c.clone());
        let t1 = Timestamp::from_millis(1_000_000).unwrap();
        let e0 = w
            .append(EventDraft::new(actor(), Action::View, Outcome::Success), t1)
            .unwrap();
        assert_eq!(e0.prev, c.genesis());
        let e1 = w
            .append(
                EventDraft::new(actor(), Action::View, Outcome::Success),
                Timestamp::from_millis(5).unwrap(),
            )
            .unwrap();
        assert_eq!(e1.seq, 1);
        assert_eq!(e1.prev, e0.hash);
        assert_eq!(e1.ts, t1, "clock stepped back: clamp");
    }

    #[test]
    fn appends_hash_like_the_verifier() {
        let c = ChainId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let mut w = ChainWriter::new(c);
        let mut d = EventDraft::new(
            actor(),
            Action::Other("x\u{1F600}\"".into()),
            Outcome::Denied,
        );
        d.detail.insert(
            "n".into(),
            serde_json::json!([1, -2, {"b": 9007199254740993_u64, "a": "é"}]),
        );
        d.labels = vec!["R".into()];
        let e = w.append(d, Timestamp::from_millis(1).unwrap()).unwrap();
        assert_eq!(to_line(&e).unwrap(), canon::to_string(&e).unwrap());
        let Value::Object(map) = serde_json::to_value(&e).unwrap() else {
            panic!("not an object")
        };
        assert_eq!(hash_event(&map).unwrap(), e.hash);
    }

    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1000i64..1000).prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z\\u{0}-\\u{1f}\"\\\\/\\u{7f}\\u{e9}\\u{2028}\\u{e000}\\u{ffff}\\u{1f600}]{0,6}"
                .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(
                    "[a-z\\u{e9}\\u{e000}\\u{ffff}\\u{1f600}_]{0,4}",
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn the_shortcut_hashes_exactly_the_canonical_form(
            members in proptest::collection::btree_map("[a-z\\u{e000}\\u{1f600}]{0,4}", json(), 0..8)
        ) {
            let map: Map<String, Value> = members.into_iter().collect();
            let canonical = canon::to_vec(&WithoutHash(&map)).unwrap();
            proptest::prop_assert_eq!(hash_event(&map).unwrap(), Digest::of(&canonical));
        }
    }

    #[test]
    fn refuses_floats() {
        let c = ChainId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let mut w = ChainWriter::new(c);
        let mut d = EventDraft::new(actor(), Action::Export, Outcome::Success);
        d.detail.insert("ratio".into(), serde_json::json!(0.5));
        let err = w.append(d, Timestamp::from_millis(0).unwrap()).unwrap_err();
        assert_eq!(
            err,
            AppendError::NonInteger {
                pointer: "/detail/ratio".into()
            }
        );
        assert_eq!(
            w.next_seq(),
            0,
            "a failed append leaves the chain as it was"
        );
    }
}
