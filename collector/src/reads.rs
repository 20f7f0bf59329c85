//! The review APIs (all behind a bearer token and a role).

use axum::Router;

use crate::server::AppState;

/// The read routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
