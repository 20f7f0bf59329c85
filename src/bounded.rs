//! Bounded events: no event is appended larger than the policy's
//! `limits.eventMaxBytes`, so no single event can exceed what a collector
//! accepts and stop its chain for good.
//!
//! An event's size is the length of the RFC 8785 canonical form of its
//! draft plus [`CHAIN_RESERVE_BYTES`] for the members the chain adds (`v`,
//! `chain`, `seq`, `ts`, `prev`, `hash`). When a draft is larger, [`bound`]
//! shortens it, in this order, until it fits:
//!
//! 1. `detail.sealed` (the sealed pointers of a view) and then `fields` are
//!    replaced by a count and a digest of the full list;
//! 2. a search's `detail.query` is cut to its first [`QUERY_KEEP_CHARS`]
//!    characters, with the full query's length in UTF-8 bytes and digest;
//! 3. a search's `detail.filters` become `{}`, with their count and digest;
//! 4. any other `detail` member, largest first, is replaced by the length
//!    and digest of its canonical form.
//!
//! What was shortened is written in `detail.bounded` (a [`Bounded`]) and
//! handed to the host. A producer that builds a list too long to ever fit
//! may digest it as it goes ([`ListDigester`]) and write `detail.bounded`
//! itself: sealing a record of 100,000 notes does, so it never holds the
//! canonical text of its lists. An event still too large after all that (a record id
//! of megabytes) is refused: nothing is appended, nothing shown.
//!
//! # Digests
//!
//! Each is `"sha256:"` + lowercase hex SHA-256 of exactly these bytes, so a
//! reviewer holding the full value can check it with any SHA-256 tool:
//!
//! ```text
//! list digest  (fields, sealed)     = SHA-256(JCS(["/a", "/b", ...]))   the full list, as a JSON array
//! text digest  (query)              = SHA-256(UTF-8(query))             the full query text
//! value digest (filters, detail.*)  = SHA-256(JCS(value))               the full value
//! ```
//!
//! Known answers are in the tests below.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canon::{self, CanonError};
use crate::digest::Hasher;
use crate::event::EventDraft;
use crate::Digest;

/// Bytes reserved for the members the chain adds to a draft: `v`, a
/// 32-character `chain`, a 20-digit `seq`, `ts`, `prev` and `hash`, with
/// their names and punctuation (under 250 bytes), and room to spare.
pub const CHAIN_RESERVE_BYTES: usize = 320;

/// Characters of a search query kept when it must be cut.
pub const QUERY_KEEP_CHARS: usize = 256;

/// What [`bound`] shortened, written in `detail.bounded`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounded {
    /// The view's `detail.sealed` list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<ListDigest>,
    /// The `fields` list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<ListDigest>,
    /// A search's query, cut to its first [`QUERY_KEEP_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<TextDigest>,
    /// A search's filters (count of members), replaced by `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<ListDigest>,
    /// Other `detail` members, removed, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detail: BTreeMap<String, TextDigest>,
}

/// A list replaced by its length and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDigest {
    /// How many entries the full list had.
    pub count: u64,
    /// `sha256:` digest of the full list (see the module documentation).
    pub digest: String,
}

/// A text or value replaced (or cut) by its length and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextDigest {
    /// Its length in bytes (UTF-8 text, or canonical JSON).
    pub bytes: u64,
    /// `sha256:` digest of the full text or value.
    pub digest: String,
}

/// Why an event could not be bounded.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BoundError {
    /// Still larger than the cap with every list and text digested.
    #[error("an event of {bytes} bytes stays larger than the policy's `limits.eventMaxBytes` ({max} bytes) with its lists and texts digested: shorten the record id, type, team or demographics, or the session's names")]
    TooLarge {
        /// Its size, bounded as far as it goes.
        bytes: u64,
        /// The cap.
        max: u64,
    },
    /// A value has no canonical form.
    #[error(transparent)]
    Canon(#[from] CanonError),
}

/// The member of `detail` that records what was shortened.
pub const BOUNDED_MEMBER: &str = "bounded";

/// The size of the event `draft` will become, in bytes: its length as
/// compact JSON, counted without writing it out, plus the chain's members.
/// For an event that is exactly the length of its canonical form: the same
/// members, the same string escapes, and integers only (the strict profile).
pub fn event_size(draft: &EventDraft) -> Result<usize, CanonError> {
    let mut counted = Counter(0);
    serde_json::to_writer(&mut counted, draft)
        .map_err(|e| CanonError::Unrepresentable(e.to_string()))?;
    Ok(counted.0 + CHAIN_RESERVE_BYTES)
}

/// A writer that only counts bytes.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Shortens `draft` until its event fits in `max_bytes` (see the module
/// documentation). A producer may have shortened it already, `prior`,
/// and written it in `detail.bounded` ([`write_bounded`]; sealing a large
/// record digests a list that could never fit while it builds it): that is
/// kept and added to. `None` when nothing was shortened.
pub fn bound(
    draft: &mut EventDraft,
    prior: Bounded,
    max_bytes: u32,
) -> Result<Option<Bounded>, BoundError> {
    let max = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    let mut b = prior;
    if event_size(draft)? <= max {
        return Ok((b != Bounded::default()).then_some(b));
    }
    let steps: [Shorten; 4] = [digest_sealed, digest_fields, cut_query, digest_filters];
    for step in steps {
        if step(draft, &mut b)? && fits(draft, &b, max)? {
            return Ok(Some(b));
        }
    }
    // Other detail members, largest first (a few members: no sort).
    let mut others: Vec<(usize, String)> = Vec::new();
    for (k, v) in &draft.detail {
        if k != BOUNDED_MEMBER {
            others.push((canon::to_vec(v)?.len(), k.clone()));
        }
    }
    while let Some(i) = (0..others.len()).max_by_key(|&i| others.get(i)) {
        let (_, k) = others.swap_remove(i);
        if let Some(v) = draft.detail.remove(&k) {
            let bytes = canon::to_vec(&v)?;
            b.detail.insert(
                k,
                TextDigest {
                    bytes: bytes.len() as u64,
                    digest: digest(&bytes),
                },
            );
            if fits(draft, &b, max)? {
                return Ok(Some(b));
            }
        }
    }
    Err(BoundError::TooLarge {
        bytes: with_record(draft, &b)? as u64,
        max: u64::from(max_bytes),
    })
}

/// One way of shortening a draft: true when it shortened something.
type Shorten = fn(&mut EventDraft, &mut Bounded) -> Result<bool, CanonError>;

/// Writes `b` into `draft.detail`; whether the event now fits.
fn fits(draft: &mut EventDraft, b: &Bounded, max: usize) -> Result<bool, CanonError> {
    Ok(with_record(draft, b)? <= max)
}

/// Writes `b` into `draft.detail` and returns the event's size.
fn with_record(draft: &mut EventDraft, b: &Bounded) -> Result<usize, CanonError> {
    write_bounded(draft, b)?;
    event_size(draft)
}

/// Writes `b` into `draft.detail.bounded`.
pub fn write_bounded(draft: &mut EventDraft, b: &Bounded) -> Result<(), CanonError> {
    let record = serde_json::to_value(b).map_err(|e| CanonError::Unrepresentable(e.to_string()))?;
    draft.detail.insert(BOUNDED_MEMBER.to_owned(), record);
    Ok(())
}

fn digest_sealed(draft: &mut EventDraft, b: &mut Bounded) -> Result<bool, CanonError> {
    match draft.detail.get("sealed") {
        Some(Value::Array(list)) if !list.is_empty() => {
            b.sealed = Some(list_digest(list)?);
        }
        _ => return Ok(false),
    }
    draft.detail.remove("sealed");
    Ok(true)
}

fn digest_fields(draft: &mut EventDraft, b: &mut Bounded) -> Result<bool, CanonError> {
    if draft.fields.is_empty() {
        return Ok(false);
    }
    let mut list = ListDigester::default();
    for f in std::mem::take(&mut draft.fields) {
        list.push(&f)?;
    }
    b.fields = Some(list.finish());
    Ok(true)
}

fn cut_query(draft: &mut EventDraft, b: &mut Bounded) -> Result<bool, CanonError> {
    let Some(Value::String(q)) = draft.detail.get_mut("query") else {
        return Ok(false);
    };
    let Some((cut, _)) = q.char_indices().nth(QUERY_KEEP_CHARS) else {
        return Ok(false);
    };
    b.query = Some(TextDigest {
        bytes: q.len() as u64,
        digest: digest(q.as_bytes()),
    });
    q.truncate(cut);
    Ok(true)
}

fn digest_filters(draft: &mut EventDraft, b: &mut Bounded) -> Result<bool, CanonError> {
    let Some(Value::Object(filters)) = draft.detail.get_mut("filters") else {
        return Ok(false);
    };
    if filters.is_empty() {
        return Ok(false);
    }
    let full = std::mem::take(filters);
    b.filters = Some(ListDigest {
        count: full.len() as u64,
        digest: digest(&canon::to_vec(&full)?),
    });
    Ok(true)
}

/// A list of strings digested as it grows, as [`ListDigest`] has it: a
/// producer of a long list (the fields of a view of 100,000 notes) never
/// holds its canonical text at once.
#[derive(Debug, Clone, Default)]
pub struct ListDigester {
    count: u64,
    /// Canonical bytes so far, brackets included.
    bytes: u64,
    hasher: Hasher,
}

impl ListDigester {
    /// Adds `entry` at the end of the list.
    pub fn push(&mut self, entry: &str) -> Result<(), CanonError> {
        if self.count == 0 {
            self.hasher.update(b"[");
            self.bytes = 2;
        } else {
            self.hasher.update(b",");
            self.bytes += 1;
        }
        // A string's canonical form is its JSON text with the minimal
        // escapes, which serde_json writes (see `event_size`).
        let mut sink = HashSink(&mut self.hasher, 0);
        serde_json::to_writer(&mut sink, entry)
            .map_err(|e| CanonError::Unrepresentable(e.to_string()))?;
        self.bytes += sink.1;
        self.count += 1;
        Ok(())
    }

    /// How many entries it has.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The length of the list's canonical form.
    pub fn bytes(&self) -> u64 {
        self.bytes.max(2)
    }

    /// The count and digest of the whole list.
    pub fn finish(mut self) -> ListDigest {
        if self.count == 0 {
            self.hasher.update(b"[");
        }
        self.hasher.update(b"]");
        ListDigest {
            count: self.count,
            digest: format!("sha256:{}", self.hasher.finish().to_hex()),
        }
    }
}

/// The length of `s`'s canonical form: quotes, and the minimal escapes
/// (`\"`, `\\`, the short forms of `\b \t \n \f \r`, `\u00xx` for
/// other control characters).
pub fn canonical_str_len(s: &str) -> u64 {
    let escapes: u64 = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x09 | 0x0a | 0x0c | 0x0d => 1,
            0x00..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() as u64 + 2 + escapes
}

/// Feeds a hasher and counts the bytes.
struct HashSink<'a>(&'a mut Hasher, u64);

impl std::io::Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn list_digest<T: Serialize>(list: &[T]) -> Result<ListDigest, CanonError> {
    Ok(ListDigest {
        count: list.len() as u64,
        digest: digest(&canon::to_vec(&list)?),
    })
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", Digest::of(bytes).to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Action, Actor, Outcome};

    fn draft(action: Action) -> EventDraft {
        EventDraft::new(
            Actor {
                id: "u1".into(),
                role: "nurse".into(),
                name: None,
                auth_strength: None,
                team: None,
            },
            action,
            Outcome::Success,
        )
    }

    #[test]
    fn digests_known_answers() {
        // sha256(b'["/a","/b"]') and sha256(b"abc"), computed independently.
        assert_eq!(
            list_digest(&["/a", "/b"]).unwrap().digest,
            "sha256:41763a9c1b41fd5f2178d75c885e999503108b2f0f932d57f95da6e8f325967c"
        );
        assert_eq!(
            digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_list_digested_as_it_grows_is_the_list_digested_whole() {
        for list in [
            vec![],
            vec!["/a"],
            vec!["/a", "/b"],
            vec!["/\u{1}\"é", "/x~1y"],
        ] {
            let mut d = ListDigester::default();
            for e in &list {
                d.push(e).unwrap();
            }
            assert_eq!(d.bytes(), canon::to_vec(&list).unwrap().len() as u64);
            assert_eq!(d.finish(), list_digest(&list).unwrap(), "{list:?}");
        }
    }

    #[test]
    fn string_lengths_are_canonical_lengths() {
        for s in [
            "",
            "/notes/3/text",
            "a\"b\\c",
            "\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}",
            "é😂\u{2028}",
        ] {
            assert_eq!(
                canonical_str_len(s),
                canon::to_vec(&s).unwrap().len() as u64,
                "{s:?}"
            );
        }
    }

    #[test]
    fn the_counted_size_is_the_canonical_size() {
        let mut d = draft(Action::Search);
        d.detail
            .insert("query".into(), "\u{1}\"\\\n\t é 😂 \u{2028}".into());
        d.detail
            .insert("n".into(), Value::from(-9_007_199_254_740_991_i64));
        d.fields = vec!["/a~1b".into(), "/ü".into()];
        assert_eq!(
            event_size(&d).unwrap(),
            canon::to_vec(&d).unwrap().len() + CHAIN_RESERVE_BYTES
        );
    }

    #[test]
    fn small_events_are_left_alone() {
        let mut d = draft(Action::Search);
        d.detail.insert("query".into(), "name:jordan".into());
        let before = d.clone();
        assert_eq!(bound(&mut d, Bounded::default(), 4096).unwrap(), None);
        assert_eq!(d, before);
    }

    #[test]
    fn a_long_query_is_cut_with_its_length_and_digest() {
        let mut d = draft(Action::Search);
        let q = "é".repeat(10_000);
        d.detail.insert("query".into(), Value::from(q.as_str()));
        d.detail
            .insert("filters".into(), serde_json::json!({"team": "east"}));
        let b = bound(&mut d, Bounded::default(), 4096).unwrap().unwrap();
        let kept = d.detail["query"].as_str().unwrap();
        assert_eq!(kept.chars().count(), QUERY_KEEP_CHARS);
        assert!(q.starts_with(kept));
        assert_eq!(
            b.query,
            Some(TextDigest {
                bytes: 20_000,
                digest: digest(q.as_bytes())
            })
        );
        assert_eq!(b.filters, None, "the filters were small enough to keep");
        assert_eq!(d.detail[BOUNDED_MEMBER], serde_json::to_value(&b).unwrap());
        assert!(event_size(&d).unwrap() <= 4096);
    }

    #[test]
    fn long_lists_become_a_count_and_a_digest() {
        let mut d = draft(Action::ViewSealed);
        let pointers: Vec<String> = (0..60_000).map(|i| format!("/notes/{i}/text")).collect();
        d.fields = pointers.clone();
        d.detail.insert(
            "sealed".into(),
            pointers.iter().map(|p| Value::from(p.as_str())).collect(),
        );
        let b = bound(&mut d, Bounded::default(), 65_536).unwrap().unwrap();
        let expected = list_digest(&pointers).unwrap();
        assert_eq!(b.sealed, Some(expected.clone()));
        assert_eq!(b.fields, Some(expected));
        assert!(d.fields.is_empty());
        assert!(!d.detail.contains_key("sealed"));
        assert!(event_size(&d).unwrap() <= 65_536);
    }

    #[test]
    fn other_detail_members_go_largest_first_and_what_cannot_shrink_is_refused() {
        let mut d = draft(Action::Export);
        d.detail
            .insert("format".into(), Value::from("x".repeat(9_000)));
        d.detail.insert("rows".into(), Value::from(12));
        let b = bound(&mut d, Bounded::default(), 4096).unwrap().unwrap();
        assert_eq!(b.detail.keys().collect::<Vec<_>>(), ["format"]);
        assert_eq!(d.detail["rows"], 12);
        let mut huge = draft(Action::View);
        huge.actor.id = "u".repeat(9_000);
        assert!(matches!(
            bound(&mut huge, Bounded::default(), 4096),
            Err(BoundError::TooLarge { max: 4096, .. })
        ));
    }
}
