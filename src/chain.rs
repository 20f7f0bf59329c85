//! The hash chain: genesis, event hash and appending, exactly as
//! `docs/protocol.md` defines them.
//!
//! Bytes hashed, in full:
//!
//! ```text
//! genesis(chain) = hex(SHA-256(UTF-8("sealtrail/v1/genesis/" + chain)))
//! hash(event)    = hex(SHA-256(JCS(event without its "hash" member)))
//! ```
//!
//! The known-answer vectors in the tests below pin both.

use serde_json::{Map, Value};

use crate::canon::strict::{self, FormatError};
use crate::canon::tape::Tape;
use crate::event::{ChainId, Event, EventDraft, VERSION};
use crate::{Digest, Timestamp};

/// `hash(event)`: SHA-256 of the canonical form of `event` without its
/// `hash` member, written straight into the hasher. An event outside the
/// strict profile ([`strict`]: a float, an integer past 2^53, U+0000)
/// has no hash: the error names the member.
pub fn hash_event(event: &Map<String, Value>) -> Result<Digest, FormatError> {
    strict::hash_object(event, "hash")
}

/// [`hash_event`] of an event's JSON text, read in one pass and hashed from
/// the text itself (no tree is built): the browser's `hashEvent` and any
/// caller holding text. The whole text must be one object within the
/// strict profile: its `hash` member too, and no member named twice.
pub fn hash_event_text(text: &[u8]) -> Result<Digest, FormatError> {
    let tape = Tape::parse(text)?;
    if !tape.is_object() {
        return Err(FormatError::Syntax("expected a JSON object".into()));
    }
    match tape.duplicate().or_else(|| tape.fault()) {
        Some(e) => Err(e),
        None => Ok(tape.hash_object("hash")),
    }
}

/// Why an event could not be appended.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppendError {
    /// The draft holds what events may not carry (a number that is not an
    /// integer within ±(2^53-1), U+0000 in a string): the error names it.
    #[error("the event cannot be written: {0}")]
    Format(#[from] FormatError),
    /// The draft cannot be turned into JSON at all.
    #[error("the event cannot be written: {0}")]
    Json(String),
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
        self.advance(draft, now, |e| Ok((hash_of(e)?, ())))
            .map(|(event, ())| event)
    }

    /// [`ChainWriter::append`], also returning the event's line
    /// ([`to_line`]), made in the same pass as its hash: what a store writes.
    pub fn append_line(
        &mut self,
        draft: EventDraft,
        now: Timestamp,
    ) -> Result<(Event, String), AppendError> {
        self.advance(draft, now, hash_and_line)
    }

    /// Numbers, links and clamps `draft`, then hashes it with `hash` (which
    /// may also make something of the event, such as its line).
    fn advance<T>(
        &mut self,
        draft: EventDraft,
        now: Timestamp,
        hash: impl FnOnce(&Event) -> Result<(Digest, T), AppendError>,
    ) -> Result<(Event, T), AppendError> {
        let ts = match self.last_ts {
            Some(last) if now < last => last,
            _ => now,
        };
        if self.next_seq > strict::MAX_SAFE_INTEGER {
            return Err(AppendError::Exhausted(strict::MAX_SAFE_INTEGER));
        }
        let mut event = Event {
            v: VERSION,
            chain: self.chain.clone(),
            seq: self.next_seq,
            ts,
            prev: self.prev,
            body: draft,
            hash: self.prev,
        };
        // Hashing checks the strict profile: a draft holding a float or
        // U+0000 is refused here, so no event a verifier refuses is written.
        let (digest, made) = hash(&event)?;
        event.hash = digest;
        self.next_seq += 1;
        self.prev = event.hash;
        self.last_ts = Some(ts);
        Ok((event, made))
    }
}

/// An event's `hash(event)` and its line, from one serialization and no
/// tree: serde_json writes the typed event as compact text, the tape reads
/// that once (checking the strict profile), and writes its canonical form
/// into SHA-256 without `hash` and into the line with the hash found.
/// (`appends_hash_like_the_verifier` and the tree-path comparisons in the
/// tests hold it to the spec.)
fn hash_and_line(event: &Event) -> Result<(Digest, String), AppendError> {
    let text = text_of(event)?;
    let tape = checked(&text)?;
    let hash = tape.hash_object("hash");
    let line = tape.canonical_replacing("hash", format!("\"{}\"", hash.to_hex()).as_bytes());
    Ok((hash, line))
}

/// `hash(event)` alone, the same way as [`hash_and_line`].
fn hash_of(event: &Event) -> Result<Digest, AppendError> {
    let text = text_of(event)?;
    let digest = checked(&text)?.hash_object("hash");
    Ok(digest)
}

/// The event as serde_json writes it: compact, members in field order.
fn text_of(event: &Event) -> Result<Vec<u8>, AppendError> {
    serde_json::to_vec(event).map_err(|e| AppendError::Json(e.to_string()))
}

/// `text` read into a tape within the strict profile: no member named
/// twice, no float, no integer past 2^53, no U+0000.
fn checked(text: &[u8]) -> Result<Tape<'_>, FormatError> {
    let tape = Tape::parse(text)?;
    match tape.duplicate().or_else(|| tape.fault()) {
        Some(e) => Err(e),
        None => Ok(tape),
    }
}

/// The line form of an event in files and stores: its canonical JSON, `hash`
/// included. Writing canonical lines lets verifiers take a fast path.
pub fn to_line(event: &Event) -> Result<String, AppendError> {
    let text = text_of(event)?;
    let line = checked(&text)?.canonical();
    Ok(line)
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
            team: None,
        }
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
            serde_json::json!([1, -2, {"b": 9007199254740991_u64, "a": "é\u{1}"}]),
        );
        d.labels = vec!["R".into()];
        let e = w.append(d, Timestamp::from_millis(1).unwrap()).unwrap();
        assert_eq!(to_line(&e).unwrap(), crate::canon::to_string(&e).unwrap());
        let Value::Object(map) = serde_json::to_value(&e).unwrap() else {
            panic!("not an object")
        };
        assert_eq!(hash_event(&map).unwrap(), e.hash);
    }

    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::from),
            3 => (-(1i64 << 53)..=(1i64 << 53)).prop_map(Value::from),
            1 => any::<i64>().prop_map(Value::from),
            1 => any::<u64>().prop_map(Value::from),
            1 => (-1000i64..1000).prop_map(Value::from),
            1 => any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            4 => "[a-z\\u{1}-\\u{1f}\"\\\\/\\u{7f}\\u{e9}\\u{2028}\\u{e000}\\u{ffff}\\u{1f600}]{0,6}"
                .prop_map(Value::from),
            1 => "[a-z\\u{0}-\\u{1f}]{0,3}".prop_map(Value::from),
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

    /// True when `v` fits the strict profile: integers within ±(2^53-1), no U+0000.
    fn in_profile(v: &Value) -> bool {
        match v {
            Value::Number(n) => n
                .as_i64()
                .map(|i| i.unsigned_abs())
                .or(n.as_u64())
                .is_some_and(|m| m <= strict::MAX_SAFE_INTEGER),
            Value::String(s) => !s.contains('\0'),
            Value::Array(items) => items.iter().all(in_profile),
            Value::Object(m) => m.iter().all(|(k, v)| !k.contains('\0') && in_profile(v)),
            _ => true,
        }
    }

    proptest::proptest! {
        #[test]
        fn hashes_exactly_the_canonical_form_or_refuses(
            members in proptest::collection::btree_map("[a-z\\u{0}\\u{e000}\\u{1f600}]{0,4}|hash", json(), 0..8)
        ) {
            let map: Map<String, Value> = members.into_iter().collect();
            // Read from text (compact or spaced out), the same answer; the
            // text is refused as a whole, its `hash` member included.
            let tree = hash_event(&map);
            let hash_in_profile = map.get("hash").is_none_or(in_profile);
            for text in [
                serde_json::to_string(&map).unwrap(),
                serde_json::to_string_pretty(&map).unwrap(),
            ] {
                match (hash_event_text(text.as_bytes()), &tree) {
                    (Ok(a), Ok(b)) => proptest::prop_assert_eq!(&a, b),
                    (Err(_), Ok(_)) => proptest::prop_assert!(!hash_in_profile),
                    (Ok(_), Err(_)) => proptest::prop_assert!(false, "{text}"),
                    (Err(_), Err(_)) => {}
                }
            }
            let mut unhashed = map.clone();
            unhashed.remove("hash");
            let unhashed = Value::Object(unhashed);
            match hash_event(&map) {
                Ok(d) => {
                    proptest::prop_assert!(in_profile(&unhashed));
                    let canonical = crate::canon::to_vec(&unhashed).unwrap();
                    proptest::prop_assert_eq!(d, Digest::of(&canonical));
                    proptest::prop_assert_eq!(strict::to_vec(&unhashed).unwrap(), canonical);
                }
                Err(_) => proptest::prop_assert!(!in_profile(&unhashed)),
            }
        }
    }

    proptest::proptest! {
        /// The append's one pass over serde_json's text gives the hash and
        /// line the tree path gives (RFC 8785 over the whole event), and
        /// refuses exactly the drafts outside the profile.
        #[test]
        fn appends_hash_and_line_as_the_tree_path_does(
            detail in proptest::collection::btree_map("[a-z\\u{0}\\u{e9}\\u{1f600}]{0,4}", json(), 0..6),
            action in "[a-z\\u{0}\\u{1}\"\\u{2028}\\u{1f600}]{0,6}",
        ) {
            let c = ChainId::parse("0123456789abcdef0123456789abcdef").unwrap();
            let mut w = ChainWriter::new(c);
            let mut d = EventDraft::new(actor(), Action::Other(action), Outcome::Success);
            d.detail = detail.into_iter().collect();
            let tree = serde_json::to_value(&d).unwrap();
            match w.append_line(d, Timestamp::from_millis(7).unwrap()) {
                Ok((e, line)) => {
                    proptest::prop_assert!(in_profile(&tree));
                    let Value::Object(map) = serde_json::to_value(&e).unwrap() else {
                        panic!("not an object")
                    };
                    proptest::prop_assert_eq!(hash_event(&map).unwrap(), e.hash);
                    proptest::prop_assert_eq!(&line, &crate::canon::to_string(&e).unwrap());
                    proptest::prop_assert_eq!(&line, &to_line(&e).unwrap());
                    proptest::prop_assert_eq!(w.head(), e.hash);
                }
                Err(AppendError::Format(_)) => proptest::prop_assert!(!in_profile(&tree)),
                Err(other) => proptest::prop_assert!(false, "{other}"),
            }
        }
    }

    #[test]
    fn event_text_outside_the_profile_has_no_hash() {
        for (text, found) in [
            (r#"{"a":1,"a":2}"#, "appears twice"),
            (r#"{"a":1.5}"#, "1.5"),
            (r#"{"a":"\u0000"}"#, "U+0000"),
            ("[1]", "expected a JSON object"),
            (r#"{"a":"#, "not JSON"),
        ] {
            let e = hash_event_text(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(found), "{text}: {e}");
        }
        assert_eq!(
            hash_event_text(br#" {"hash": "x", "b": [1], "a": "\u00e9"} "#).unwrap(),
            Digest::of("{\"a\":\"\u{e9}\",\"b\":[1]}".as_bytes())
        );
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
            AppendError::Format(FormatError::NotInteger {
                pointer: "/detail/ratio".into(),
                found: "0.5".into()
            })
        );
        assert_eq!(
            w.next_seq(),
            0,
            "a failed append leaves the chain as it was"
        );
    }

    #[test]
    fn refuses_what_a_verifier_refuses_naming_the_member() {
        let c = ChainId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let mut w = ChainWriter::new(c);
        let t = Timestamp::from_millis(0).unwrap();
        let mut nul_actor = actor();
        nul_actor.id = "u\u{0}1".into();
        let mut nul_key = EventDraft::new(actor(), Action::Search, Outcome::Success);
        nul_key.detail.insert("q\0".into(), serde_json::json!("x"));
        let mut big = EventDraft::new(actor(), Action::Export, Outcome::Success);
        big.detail.insert(
            "n".into(),
            serde_json::json!([1, -9_007_199_254_740_992_i64]),
        );
        for (draft, expected) in [
            (
                EventDraft::new(nul_actor, Action::View, Outcome::Success),
                FormatError::Nul {
                    pointer: "/actor/id".into(),
                },
            ),
            (
                nul_key,
                FormatError::Nul {
                    pointer: "/detail/q\\u0000".into(),
                },
            ),
            (
                big,
                FormatError::OutOfRange {
                    pointer: "/detail/n/1".into(),
                    found: "-9007199254740992".into(),
                },
            ),
        ] {
            assert_eq!(w.append(draft, t), Err(AppendError::Format(expected)));
        }
        assert_eq!(w.next_seq(), 0);
        let mut edge = EventDraft::new(actor(), Action::Export, Outcome::Success);
        edge.detail.insert(
            "n".into(),
            serde_json::json!([9_007_199_254_740_991_u64, -9_007_199_254_740_991_i64]),
        );
        assert!(w.append(edge, t).is_ok());
    }

    #[test]
    fn no_seq_past_two_to_the_53() {
        let c = ChainId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let mut w = ChainWriter::new(c);
        w.next_seq = strict::MAX_SAFE_INTEGER;
        let t = Timestamp::from_millis(0).unwrap();
        let draft = EventDraft::new(actor(), Action::View, Outcome::Success);
        assert_eq!(
            w.append(draft.clone(), t).unwrap().seq,
            strict::MAX_SAFE_INTEGER
        );
        assert_eq!(
            w.append(draft, t),
            Err(AppendError::Exhausted(strict::MAX_SAFE_INTEGER))
        );
    }
}
