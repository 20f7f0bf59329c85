//! Pointer patterns: JSON Pointers (RFC 6901) in which a whole `*` token
//! matches any one member name or array index.
//!
//! Policies name record fields with them (`/riskFlags/dv`, `/notes/*`). They
//! are compiled once when the policy is parsed, so sealing a caseload never
//! re-reads pattern text.

use std::fmt;

use crate::pointer::unescape_token;

/// One token of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `*`: any one member name or array index.
    Any,
    /// A member name, or an array index when it is a canonical decimal number.
    Literal {
        /// The unescaped member name.
        name: String,
        /// The index it names in an array, if it is one (`0`, `17`, not `01`).
        index: Option<usize>,
    },
}

/// A compiled pointer pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    segments: Vec<Segment>,
}

/// Why a string is not a pointer pattern.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PatternError {
    /// Does not start with `/`.
    #[error("a pointer starts with `/`, found `{0}`")]
    NoLeadingSlash(String),
    /// Names the whole record, which no rule may claim.
    #[error("a pointer must name a member, not the whole record")]
    Root,
    /// A `~` not followed by `0` or `1`.
    #[error("`~` must be followed by `0` or `1` in `{0}`")]
    BadEscape(String),
}

/// A key of a record node, as the walker sees it.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// An object member name.
    Member(&'a str),
    /// An array index.
    Index(usize),
}

impl Pattern {
    /// Compiles `text`, an RFC 6901 pointer whose `*` tokens are wildcards.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        if text.is_empty() {
            return Err(PatternError::Root);
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(PatternError::NoLeadingSlash(text.to_owned()));
        };
        let mut segments = Vec::new();
        for token in rest.split('/') {
            if has_bad_escape(token) {
                return Err(PatternError::BadEscape(text.to_owned()));
            }
            if token == "*" {
                segments.push(Segment::Any);
                continue;
            }
            let name = unescape_token(token).into_owned();
            let canonical = name == "0" || (!name.starts_with('0') && !name.is_empty());
            let index = if canonical && name.bytes().all(|b| b.is_ascii_digit()) {
                name.parse().ok()
            } else {
                None
            };
            segments.push(Segment::Literal { name, index });
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Never true: a pattern names at least one token.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Whether token number `depth` (from 0) accepts `key`; false past the end.
    pub fn accepts(&self, depth: usize, key: Key<'_>) -> bool {
        match (self.segments.get(depth), key) {
            (None, _) => false,
            (Some(Segment::Any), _) => true,
            (Some(Segment::Literal { name, .. }), Key::Member(m)) => crate::pointer::same(name, m),
            (Some(Segment::Literal { index, .. }), Key::Index(i)) => *index == Some(i),
        }
    }

    /// Whether the pattern matches the pointer made of `keys`.
    pub fn matches(&self, keys: &[Key<'_>]) -> bool {
        keys.len() == self.segments.len()
            && keys.iter().enumerate().all(|(d, k)| self.accepts(d, *k))
    }

    /// Whether `pointer` (RFC 6901 text) names a place the pattern matches
    /// or a place inside one: `/address` covers `/address/street`. A
    /// pointer that is not one (no leading `/`) is covered by nothing.
    pub fn covers(&self, pointer: &str) -> bool {
        let Some(rest) = pointer.strip_prefix('/') else {
            return false;
        };
        let tokens: Vec<_> = rest.split('/').map(unescape_token).collect();
        tokens.len() >= self.segments.len()
            && tokens
                .iter()
                .take(self.segments.len())
                .enumerate()
                .all(|(d, t)| self.accepts(d, Key::Member(t.as_ref())))
    }
}

/// True when a `~` is followed by anything but `0` or `1`.
fn has_bad_escape(token: &str) -> bool {
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return true;
        }
    }
    false
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({})", self.text)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_members_and_indexes() {
        let p = Pattern::parse("/notes/*/text").unwrap();
        assert!(p.matches(&[Key::Member("notes"), Key::Index(3), Key::Member("text")]));
        assert!(p.matches(&[Key::Member("notes"), Key::Member("x"), Key::Member("text")]));
        assert!(!p.matches(&[Key::Member("notes"), Key::Index(3)]));
        assert!(!p.matches(&[Key::Member("notes"), Key::Index(3), Key::Member("date")]));
    }

    #[test]
    fn literals_match_canonical_indexes_and_escapes() {
        let p = Pattern::parse("/a~1b/0").unwrap();
        assert!(p.matches(&[Key::Member("a/b"), Key::Index(0)]));
        assert!(p.matches(&[Key::Member("a/b"), Key::Member("0")]));
        let leading_zero = Pattern::parse("/list/01").unwrap();
        assert!(!leading_zero.matches(&[Key::Member("list"), Key::Index(1)]));
    }

    #[test]
    fn covers_the_place_and_what_is_inside_it() {
        let p = Pattern::parse("/contacts/*/phone").unwrap();
        assert!(p.covers("/contacts/0/phone"));
        assert!(p.covers("/contacts/x/phone/ext"));
        assert!(!p.covers("/contacts/0"));
        assert!(!p.covers("/contacts/0/phones"));
        assert!(!p.covers("contacts/0/phone"));
        let p = Pattern::parse("/a~1b").unwrap();
        assert!(p.covers("/a~1b/c"));
        assert!(!p.covers("/a/b"));
    }

    #[test]
    fn rejects_malformed_patterns() {
        assert_eq!(Pattern::parse(""), Err(PatternError::Root));
        assert!(matches!(
            Pattern::parse("notes"),
            Err(PatternError::NoLeadingSlash(_))
        ));
        assert!(matches!(
            Pattern::parse("/a~2"),
            Err(PatternError::BadEscape(_))
        ));
    }
}
