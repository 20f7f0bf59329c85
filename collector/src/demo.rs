//! The demo's login (`--demo-login`, off by default): mints upload
//! credentials for whoever asks, signed with a key made at start, so the
//! demo page and the sample upload work without a host backend. Never in
//! production: anyone who reaches such a collector can write any chain
//! under any name, which is exactly what credentials exist to prevent.
//!
//! - `GET /api/demo/login`: `{"collectorKey": K}`, the transparency log's
//!   key for the page to pin (`collectorKey` of `start`).
//! - `POST /api/demo/login` with `{"chain", "userId", "sessionId", "role",
//!   "issuedAt"?, "ttlSeconds"?}`: `{"credential": T}` for that chain and
//!   owner, issued at `issuedAt` (seconds, not in the future; default now:
//!   the sample evening's chains were written earlier) for `ttlSeconds`
//!   after now (default 8 hours, at most a day).

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use sealtrail::credential::Claims;
use sealtrail::event::ChainId;

use crate::error::ApiError;
use crate::state::AppState;

/// Default lifetime of a demo credential, s: a shift.
const TTL_SECONDS: u32 = 8 * 3600;
/// Longest lifetime of a demo credential, s.
const TTL_MAX_SECONDS: u32 = 24 * 3600;

/// The demo login's routes (merged only with `--demo-login`).
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/demo/login", get(key).post(login))
}

/// What the demo page asks for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Login {
    chain: String,
    user_id: String,
    session_id: String,
    role: String,
    issued_at: Option<i64>,
    ttl_seconds: Option<u32>,
}

async fn key(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "collectorKey": state.log.public_key() }))
}

async fn login(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let Some(minter) = state.demo.as_deref() else {
        return Err(ApiError::NotFound("the demo login is off".into()));
    };
    let ask: Login = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "expected `{{\"chain\", \"userId\", \"sessionId\", \"role\", \"issuedAt\"?, \"ttlSeconds\"?}}`: {e}"
        ))
    })?;
    for (name, value) in [
        ("userId", &ask.user_id),
        ("sessionId", &ask.session_id),
        ("role", &ask.role),
    ] {
        if value.is_empty() {
            return Err(ApiError::BadRequest(format!(
                "`/{name}`: must not be empty"
            )));
        }
    }
    let chain =
        ChainId::parse(&ask.chain).map_err(|e| ApiError::BadRequest(format!("`/chain`: {e}")))?;
    let now = crate::clock::now_ms() / 1000;
    let iat = ask.issued_at.unwrap_or(now);
    if iat > now {
        return Err(ApiError::BadRequest(format!(
            "`/issuedAt`: expected a time not after now ({now}), found `{iat}`"
        )));
    }
    let ttl = ask.ttl_seconds.unwrap_or(TTL_SECONDS);
    if !(1..=TTL_MAX_SECONDS).contains(&ttl) {
        return Err(ApiError::BadRequest(format!(
            "`/ttlSeconds`: expected 1 to {TTL_MAX_SECONDS}, found `{ttl}`"
        )));
    }
    let claims = Claims {
        sub: ask.user_id,
        sid: ask.session_id,
        role: ask.role,
        chain,
        iat,
        exp: now + i64::from(ttl),
    }
    .checked()
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let credential = minter
        .mint(&claims)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(json!({ "credential": credential })))
}
