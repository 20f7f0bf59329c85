//! Query parameters of the review APIs, parsed strictly into each handler's
//! typed query: a parameter given twice, one the endpoint does not know, a
//! value out of range or not one of the listed values, or U+0000 anywhere is
//! a `400` naming the parameter. Limits are enforced, never clamped, so a
//! reviewer never believes they saw everything when they did not.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use sealtrail::Timestamp;

use crate::error::ApiError;

/// The widest `days` any endpoint accepts.
pub const MAX_DAYS: i64 = 3650;

/// A typed query, built from the parameters it knows.
pub trait FromParams: Sized {
    /// Takes the parameters this query knows out of `p`.
    fn from_params(p: &mut Params) -> Result<Self, ApiError>;
}

/// Parses `query` (the URI's query string) into `T`, refusing what `T` does not take.
pub fn parse<T: FromParams>(query: Option<&str>) -> Result<T, ApiError> {
    let mut p = Params::parse(query.unwrap_or(""))?;
    let typed = T::from_params(&mut p)?;
    p.finish()?;
    Ok(typed)
}

/// No parameters at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoParams;

impl FromParams for NoParams {
    fn from_params(_: &mut Params) -> Result<Self, ApiError> {
        Ok(Self)
    }
}

/// The parameters of one request, by name, each given once.
#[derive(Debug, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    fn parse(query: &str) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::BadRequest(format!("the query string is malformed: {e}")))?;
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            if name.contains('\0') || value.contains('\0') {
                return Err(ApiError::BadRequest(format!(
                    "parameter `{}` holds U+0000",
                    name.replace('\0', "\\u0000")
                )));
            }
            if map.contains_key(&name) {
                return Err(ApiError::BadRequest(format!(
                    "parameter `{name}` is given more than once"
                )));
            }
            map.insert(name, value);
        }
        Ok(Self(map))
    }

    /// Refuses whatever the query did not take.
    fn finish(self) -> Result<(), ApiError> {
        match self.0.into_keys().next() {
            None => Ok(()),
            Some(name) => Err(ApiError::BadRequest(format!(
                "parameter `{name}` is not known here"
            ))),
        }
    }

    /// The text of `name`, if given.
    pub fn text(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    /// An integer within `range`, or `default`.
    pub fn int(
        &mut self,
        name: &str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<i64, ApiError> {
        Ok(self.opt_int(name, range)?.unwrap_or(default))
    }

    /// An integer within `range`, if given.
    pub fn opt_int(
        &mut self,
        name: &str,
        range: RangeInclusive<i64>,
    ) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        let v: i64 = text.parse().map_err(|_| {
            ApiError::BadRequest(format!(
                "parameter `{name}` must be an integer, found `{text}`"
            ))
        })?;
        if range.contains(&v) {
            Ok(Some(v))
        } else {
            Err(ApiError::BadRequest(format!(
                "parameter `{name}` must be between {} and {}, found {v}",
                range.start(),
                range.end()
            )))
        }
    }

    /// `days` (1..=3650), or `default`.
    pub fn days(&mut self, default: i64) -> Result<i64, ApiError> {
        self.int("days", default, 1..=MAX_DAYS)
    }

    /// `offset` (0 or more), or 0.
    pub fn offset(&mut self) -> Result<i64, ApiError> {
        self.int("offset", 0, 0..=i64::MAX)
    }

    /// A time (RFC 3339 UTC) in milliseconds, or `default`.
    pub fn time(&mut self, name: &str, default: i64) -> Result<i64, ApiError> {
        match self.text(name) {
            None => Ok(default),
            Some(t) => Timestamp::parse(&t)
                .map(Timestamp::millis)
                .map_err(|e| ApiError::BadRequest(format!("parameter `{name}`: {e}"))),
        }
    }

    /// A comma-separated list, each one of `allowed` (empty when not given).
    pub fn choices(
        &mut self,
        name: &str,
        allowed: &[&'static str],
    ) -> Result<Vec<&'static str>, ApiError> {
        let Some(list) = self.text(name) else {
            return Ok(Vec::new());
        };
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                allowed.iter().copied().find(|a| *a == s).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "parameter `{name}`: `{s}` is not one of {}",
                        allowed.join(", ")
                    ))
                })
            })
            .collect()
    }

    /// One of `allowed`, or `default`.
    pub fn choice(
        &mut self,
        name: &str,
        default: &'static str,
        allowed: &[&'static str],
    ) -> Result<&'static str, ApiError> {
        Ok(self.opt_choice(name, allowed)?.unwrap_or(default))
    }

    /// One of `allowed`, if given.
    pub fn opt_choice(
        &mut self,
        name: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, ApiError> {
        let Some(v) = self.text(name) else {
            return Ok(None);
        };
        allowed
            .iter()
            .copied()
            .find(|a| *a == v)
            .map(Some)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "parameter `{name}` must be one of {}, found `{v}`",
                    allowed.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Q {
        days: i64,
        kind: &'static str,
    }

    impl FromParams for Q {
        fn from_params(p: &mut Params) -> Result<Self, ApiError> {
            Ok(Self {
                days: p.days(30)?,
                kind: p.choice("kind", "alert", &["alert", "fork"])?,
            })
        }
    }

    fn refusal(query: &str) -> String {
        match parse::<Q>(Some(query)) {
            Err(ApiError::BadRequest(m)) => m,
            Err(other) => panic!("{query}: {other:?}"),
            Ok(_) => panic!("{query}: accepted"),
        }
    }

    #[test]
    fn takes_known_parameters_once() {
        let q = parse::<Q>(Some("days=7&kind=fork")).unwrap();
        assert_eq!((q.days, q.kind), (7, "fork"));
        let q = parse::<Q>(None).unwrap();
        assert_eq!((q.days, q.kind), (30, "alert"));
    }

    #[test]
    fn refuses_repeats_unknowns_bad_values_and_nul_naming_the_parameter() {
        assert!(refusal("days=99999&days=1").contains("`days`"));
        assert!(refusal("days=1&days=1").contains("more than once"));
        assert!(refusal("kind=urgent").contains("`kind`"));
        assert!(refusal("format=xml").contains("`format` is not known"));
        assert!(refusal("days=0").contains("`days`"));
        assert!(refusal("days=x").contains("`days`"));
        assert!(refusal("kind=%00").contains("`kind`"));
    }
}
