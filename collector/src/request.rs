//! What a request says about itself, as extractors whose refusals are JSON:
//! its path segments, and who sent it: the TCP peer, or, when that peer is
//! a configured trusted proxy, the client it names in `X-Forwarded-For`
//! (recorded beside each stored event and in the read log; never taken from
//! anyone else); and the reviewer its bearer token names.
//!
//! A failed authentication (a review token that is not known, an upload
//! credential that does not verify) is appended to the collector's read
//! chain ([`crate::readlog`]) and counts against the client's address
//! ([`crate::limits`]): once over `--auth-failures-per-minute`, the address
//! is answered `429` before any token of its is looked at, and its failures
//! are no longer logged one by one (a flood does not fill the read chain).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde_json::{json, Map};

use sealtrail::event::{Action, Outcome};

use crate::auth::{bearer, Reviewer};
use crate::error::ApiError;
use crate::readlog::ReadEntry;
use crate::state::AppState;

/// The client address of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Self(client(
            peer.ip(),
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        failures_allow(state, ip)?;
        let why = match bearer(&parts.headers) {
            None => "an `Authorization: Bearer` token is required",
            Some(token) => match state.tokens.find(token) {
                Some(reviewer) => return Ok(reviewer.clone()),
                None => "the token is not known",
            },
        };
        failed(state, ip, parts.uri.path(), "review-token", why).await;
        Err(ApiError::Unauthorized(why.to_owned()))
    }
}

/// `429` while `ip` is over its failed authentications.
pub fn failures_allow(state: &AppState, ip: IpAddr) -> Result<(), ApiError> {
    state
        .limiter
        .failures
        .check(&ip)
        .map_err(|secs| ApiError::Limited {
            busy: false,
            message: format!(
                "too many failed authentications from this address ({} a minute, bursts of {}; `auth-failures-per-minute`): retry after {secs} s",
                state.limiter.limits.auth_failures_per_minute,
                state.limiter.limits.auth_failure_burst
            ),
            retry_after_secs: secs,
        })
}

/// Records a failed authentication of `ip` at `path` (`kind`:
/// `review-token` or `upload-credential`; `why` never holds the token):
/// counted against the address, and appended to the read chain unless the
/// address is over its budget. A read chain that cannot be appended to is
/// logged; the request is refused either way.
pub async fn failed(state: &AppState, ip: IpAddr, path: &str, kind: &str, why: &str) {
    if state.limiter.failures.take(&ip).is_err() {
        return;
    }
    let nobody = Reviewer {
        role: "none".into(),
        user_id: "unauthenticated".into(),
        name: None,
    };
    let mut detail = Map::new();
    detail.insert("credential".into(), json!(kind));
    detail.insert("reason".into(), json!(why));
    let entry = ReadEntry {
        reviewer: &nobody,
        endpoint: path,
        query: "",
        record_id: None,
        outcome: Outcome::Denied,
        ip: Some(ip.to_string()),
        action: Action::Other("auth-failure".into()),
        detail,
    };
    if let Err(e) = state.read_log.record(&state.store, entry).await {
        tracing::error!(error = %e, "a failed authentication could not be appended to the read log");
    }
}

/// A path segment (`{id}`, `{chain}`), percent-decoded, without U+0000. Its
/// refusals are JSON like every other error.
pub struct Segment(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("the path: {}", e.body_text())))?;
        if text.contains('\0') {
            return Err(ApiError::BadRequest(
                "a path segment holds U+0000".to_owned(),
            ));
        }
        Ok(Self(text))
    }
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy;
/// then the right-most `X-Forwarded-For` entry that is not a trusted proxy
/// (entries further left were written by the client and prove nothing). A
/// malformed entry stops the walk at the last trustworthy address.
pub fn client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for entry in forwarded.iter().rev() {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !trusted.contains(&ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            if let Ok(v) = v.parse() {
                h.append("x-forwarded-for", v);
            }
        }
        h
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client() {
        let proxy = ip("10.0.0.1");
        let h = forwarded(&["203.0.113.9"]);
        assert_eq!(client(ip("198.51.100.4"), &h, &[]), ip("198.51.100.4"));
        assert_eq!(client(ip("198.51.100.4"), &h, &[proxy]), ip("198.51.100.4"));
        assert_eq!(client(proxy, &h, &[proxy]), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_entry_wins_and_garbage_stops_the_walk() {
        let (p1, p2) = (ip("10.0.0.1"), ip("10.0.0.2"));
        let h = forwarded(&["1.1.1.1, 203.0.113.9", "10.0.0.2"]);
        assert_eq!(client(p1, &h, &[p1, p2]), ip("203.0.113.9"));
        let h = forwarded(&["203.0.113.9, not-an-ip"]);
        assert_eq!(client(p1, &h, &[p1]), p1);
        assert_eq!(client(p1, &HeaderMap::new(), &[p1]), p1);
    }
}
