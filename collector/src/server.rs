//! The HTTP server: routes, static files, CORS, body limit, security headers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::alerting::{read_policy, AlertSettings, Alerting};
use crate::auth::Tokens;
use crate::clock::Clock;
use crate::config::Config;
use crate::credentials::{Minter, Verifier};
use crate::error::ApiError;
use crate::ingest::{Ingestor, Timings};
use crate::limits::Limiter;
use crate::notify::{Notifier, NotifyConfigError};
use crate::readlog::ReadLog;
use crate::state::AppState;
use crate::store::{Store, StoreError};
use crate::tlog::Log;
use crate::{at_rest, cases, reads, upload};

/// The strict content security policy of every response (pages work under it:
/// no inline script or style, only `wasm-unsafe-eval` for the module).
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Largest anchor body: `{"seq", "hash", "credential"}` with room for a
/// host's extra claims in the credential.
pub const ANCHOR_BODY_BYTES: usize = 8 * 1024;

/// Why the collector could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database, after it opened.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// An `--allowed-origin` that is not a header value.
    #[error("allowed origin `{0}` is not a valid origin")]
    Origin(String),
    /// The listen address.
    #[error("cannot listen on `{addr}`: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("server error: {0}")]
    Serve(std::io::Error),
    /// The policy or alert settings.
    #[error(transparent)]
    Alerts(#[from] crate::alerting::AlertSetupError),
    /// The transparency log could not open.
    #[error(transparent)]
    Log(#[from] crate::tlog::LogError),
    /// The upload credentials' key.
    #[error("`--credential-key`: {0}")]
    CredentialKey(#[from] crate::credentials::KeyError),
    /// Neither a credential key nor open ingest.
    #[error("uploads need a credential key: pass `--credential-key FILE` (`sealtrail-collector keygen` makes one), `--demo-login` for the demo, or `--insecure-open-ingest` for development only")]
    NoCredentialKey,
    /// `--demo-login` makes its own key.
    #[error("`--demo-login` signs with a key it makes at start: leave out `--credential-key`")]
    DemoWithKey,
    /// The notification hook's settings.
    #[error(transparent)]
    Notify(#[from] NotifyConfigError),
    /// The at-rest keys.
    #[error(transparent)]
    AtRest(#[from] at_rest::AtRestError),
    /// The read log could not resume.
    #[error("the collector's read log cannot resume: {0}")]
    ReadLog(String),
}

/// Opens the store and builds the router.
pub async fn build(config: &Config) -> Result<(Router, AppState), StartError> {
    let policy = read_policy(config.policy.as_deref())?;
    let alerting = Alerting::new(
        AlertSettings::of(policy.as_ref()),
        i64::from(config.clock_skew_seconds) * 1000,
    )?;
    let review = policy.map(|p| p.doc().review.clone()).unwrap_or_default();
    let notifier = Notifier::new(
        config.notify_url.as_deref(),
        config.notify_secret.as_deref(),
    )?;
    let store = Store::open(&config.database).await?;
    let sealing = at_rest::unlock(
        &store,
        config.master_key()?.as_ref(),
        crate::clock::now_ms(),
    )
    .await?;
    if sealing.is_none() {
        tracing::warn!("no at-rest key (`--at-rest-key` or `SEALTRAIL_AT_REST_KEY`): event lines, findings evidence and case notes are stored in plaintext");
    }
    let store = store.sealing_with(sealing);
    alerting.warm(&store).await?;
    let clock = Clock::default();
    let read_log = ReadLog::open(&store, clock.clone())
        .await
        .map_err(|e| StartError::ReadLog(e.to_string()))?;
    let log = Log::open(
        &store,
        config.log_key.as_deref(),
        &config.log_origin,
        !config.witnesses.is_empty(),
        !config.without_log,
    )
    .await?;
    crate::tlog::witnesses::spawn(Arc::clone(&log), config.witnesses.clone());
    let (verifier, demo) = match (&config.credential_key, config.demo_login) {
        (Some(_), true) => return Err(StartError::DemoWithKey),
        (Some(path), false) => (Some(Verifier::load(path, config.credential_alg)?), None),
        (None, true) => {
            let (minter, verifier) = Minter::ephemeral()?;
            (Some(verifier), Some(Arc::new(minter)))
        }
        (None, false) if config.insecure_open_ingest => (None, None),
        (None, false) => return Err(StartError::NoCredentialKey),
    };
    let credentials = verifier
        .map(|v| Arc::new(v.with_limits(config.credential_grace_days, config.clock_skew_seconds)));
    let timings = Arc::new(Timings::default());
    let alerting = Arc::new(alerting);
    let ingest = Arc::new(Ingestor::new(
        store.clone(),
        Arc::clone(&timings),
        Arc::clone(&alerting),
        i64::from(config.clock_skew_seconds) * 1000,
        &config.limits,
        log.enabled(),
    ));
    let limiter = Arc::new(Limiter::new(&config.limits));
    let state = AppState {
        store,
        timings,
        ingest,
        tokens: Arc::new(Tokens::new(&config.tokens)),
        read_log: Arc::new(read_log),
        retention_days: config.retention_days,
        alerting,
        trusted_proxies: config.trusted_proxies.clone().into(),
        log,
        credentials,
        demo: demo.clone(),
        clock,
        review: Arc::new(review),
        notifier: Arc::new(notifier),
        limiter: Arc::clone(&limiter),
    };
    let upload = Router::new()
        .route(
            "/api/chains/{chain}/events",
            post(upload::post_events).layer(DefaultBodyLimit::max(config.max_body_bytes)),
        )
        .route(
            "/api/chains/{chain}/head",
            post(upload::post_head).layer(DefaultBodyLimit::max(ANCHOR_BODY_BYTES)),
        )
        // A slow body cannot hold a worker: the whole request, body
        // included, has `--request-timeout-secs`.
        .layer(middleware::from_fn_with_state(limiter.timeout(), timeout));
    // What a reviewer reads is never kept by a browser or proxy cache.
    // A minted credential is not kept by a cache either.
    let mut read = reads::routes()
        .merge(cases::api::routes())
        .merge(crate::report::routes());
    if demo.is_some() {
        read = read.merge(crate::demo::routes());
    }
    let read = read.layer(SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ));
    let mut router = Router::new()
        .merge(upload)
        .merge(read)
        .merge(crate::tlog::http::routes())
        // Errors are JSON everywhere under `/api`, unknown paths and methods too.
        .route("/api/{*rest}", any(no_such_api))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .nest_service("/pkg", ServeDir::new(&config.pkg_dir))
        .fallback_service(ServeDir::new(&config.static_dir))
        .with_state(state.clone())
        .layer(middleware::from_fn(content_types))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    if !config.allowed_origins.is_empty() {
        let origins = config
            .allowed_origins
            .iter()
            .map(|o| HeaderValue::from_str(o).map_err(|_| StartError::Origin(o.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]),
        );
    }
    Ok((router.layer(TraceLayer::new_for_http()), state))
}

/// Answers `408 timeout` when the request is not answered within `limit`.
/// Ingest runs on its own task ([`upload`]), so a batch whose transaction
/// began still completes; only the answer is not waited for.
async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::Timeout(format!(
            "the request took longer than this collector allows ({} s, `request-timeout-secs`): retry",
            limit.as_secs()
        ))
        .into_response(),
    }
}

async fn no_such_api(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no API at `{}`", uri.path()))
}

/// Sets the types browsers insist on for modules and wasm, whatever the
/// extension table says (`.mjs`, `.d.ts`).
async fn content_types(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    let forced = if path.ends_with(".js") || path.ends_with(".mjs") {
        Some("text/javascript; charset=utf-8")
    } else if path.ends_with(".wasm") {
        Some("application/wasm")
    } else if path.ends_with(".ts") {
        Some("text/plain; charset=utf-8")
    } else {
        None
    };
    if let Some(ct) = forced {
        if resp.status().is_success() {
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
    }
    resp
}

/// A running collector.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state (tests and the benchmark read the timings).
    pub state: AppState,
    /// The server task.
    pub task: tokio::task::JoinHandle<Result<(), StartError>>,
}

/// Binds and serves in the background (the binary, tests and benchmark all start here).
pub async fn start(config: &Config) -> Result<Running, StartError> {
    let (router, state) = build(config).await?;
    crate::retention::spawn(state.store.clone(), state.retention_days);
    crate::notify::spawn(
        state.clone(),
        std::time::Duration::from_secs(u64::from(config.notify_interval_secs)),
    );
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let log = std::sync::Arc::clone(&state.log);
    let task = tokio::spawn(async move {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop_asked().await;
            let _ = stop.send(true);
        });
        let asked = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|asked| *asked).await;
        };
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(asked(stopping.clone()));
        let served = tokio::select! {
            served = serve => served.map_err(StartError::Serve),
            () = async {
                asked(stopping).await;
                tokio::time::sleep(DRAIN_MAX).await;
            } => {
                tracing::warn!("requests still under way {DRAIN_MAX:?} after the stop: stopping without them");
                Ok(())
            }
        };
        // Requests have drained: the stored checkpoint catches up with the
        // last one signed (else it may lag by up to a second's batches).
        if let Err(e) = log.save_latest().await {
            tracing::warn!(error = %e, "storing the log's last checkpoint at shutdown");
        }
        served
    });
    Ok(Running { addr, state, task })
}

/// How long a stopping collector waits for the requests under way (an
/// upload's transaction, a report); its clients retry what it drops.
const DRAIN_MAX: std::time::Duration = std::time::Duration::from_secs(10);

/// Ctrl-C, or SIGTERM (what `systemctl stop`, `docker stop` and Kubernetes
/// send): the collector stops taking requests and finishes those under way.
async fn stop_asked() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
