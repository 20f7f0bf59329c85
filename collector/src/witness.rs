//! `sealtrail-collector witness`: a minimal C2SP `tlog-witness`, so a clinic
//! can run one on another machine. It follows the logs whose keys it is
//! given, keeps the latest checkpoint it cosigned for each (its own SQLite
//! file), and cosigns a new one only if it is consistent with that.
//!
//! - `POST /add-checkpoint`: the protocol's checks
//!   ([`sealtrail::tlog::witness::AddCheckpoint::check`]); `200` with the
//!   cosignature line, or `400`/`403`/`404`/`409` (body: the size it has,
//!   `text/x.tlog.size`)/`422`.
//! - `GET /<hex SHA-256 of origin>/checkpoint`: the latest checkpoint it
//!   cosigned for that log, with the log's signature and its cosignature.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};
use tokio::sync::Mutex;

use sealtrail::tlog::checkpoint::{decode_hash, encode_hash};
use sealtrail::tlog::ed25519::{self, SigningKey};
use sealtrail::tlog::witness::{AddCheckpoint, Refusal};
use sealtrail::tlog::{KeyType, VerifierKey};
use sealtrail::Digest;

/// `sealtrail-collector witness` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct WitnessConfig {
    /// Address to listen on.
    #[arg(
        long,
        env = "SEALTRAIL_WITNESS_LISTEN",
        default_value = "127.0.0.1:8788"
    )]
    pub listen: SocketAddr,
    /// The witness's state: `sqlite://FILE` (created on first start).
    #[arg(
        long,
        env = "SEALTRAIL_WITNESS_DATABASE",
        default_value = "sqlite://witness.sqlite"
    )]
    pub database: String,
    /// The witness's private key file (`sealtrail-collector keygen --witness`).
    #[arg(long, env = "SEALTRAIL_WITNESS_KEY")]
    pub key: PathBuf,
    /// A log to follow: its public key `<origin>+<id>+<base64>` (repeat; comma-separated in the environment).
    #[arg(
        long = "log",
        env = "SEALTRAIL_WITNESS_LOGS",
        value_delimiter = ',',
        required = true
    )]
    pub logs: Vec<String>,
}

/// Why the witness could not start.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The key file.
    #[error("witness key: {0}")]
    Key(String),
    /// A `--log` key.
    #[error("`--log`: {0}")]
    Log(String),
    /// The database.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// The listen address.
    #[error("cannot listen on `{0}`: {1}")]
    Listen(SocketAddr, std::io::Error),
}

struct Witness {
    key: SigningKey,
    logs: Vec<VerifierKey>,
    pool: AnyPool,
    /// Check and update are one step (the protocol requires it atomic).
    turn: Mutex<()>,
}

/// A running witness.
pub struct RunningWitness {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The server task.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Opens the state, binds, and serves in the background.
pub async fn start(config: &WitnessConfig) -> Result<RunningWitness, WitnessError> {
    let text = std::fs::read_to_string(&config.key)
        .map_err(|e| WitnessError::Key(format!("cannot read `{}`: {e}", config.key.display())))?;
    let key = SigningKey::parse(&text).map_err(|e| WitnessError::Key(e.to_string()))?;
    if key.verifier().kind() != KeyType::Cosignature {
        return Err(WitnessError::Key(
            "expected a witness key (type 0x04); make one with `keygen --witness`".into(),
        ));
    }
    let logs = config
        .logs
        .iter()
        .map(|l| VerifierKey::parse(l).map_err(|e| WitnessError::Log(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    sqlx::any::install_default_drivers();
    let url = if config.database.contains("mode=") {
        config.database.clone()
    } else {
        format!("{}?mode=rwc", config.database)
    };
    let pool = AnyPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS witness_logs (origin TEXT PRIMARY KEY, size BIGINT NOT NULL, \
         root TEXT NOT NULL, checkpoint TEXT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    let state = Arc::new(Witness {
        key,
        logs,
        pool,
        turn: Mutex::new(()),
    });
    let router = Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin}/checkpoint", get(checkpoint))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| WitnessError::Listen(config.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| WitnessError::Listen(config.listen, e))?;
    let task = tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(RunningWitness { addr, task })
}

fn plain(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// Why a submission got no cosignature.
enum Fail {
    /// The protocol's refusals.
    Refused(Refusal),
    /// The witness's own store (`500`).
    Store(String),
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.to_string())
    }
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    match cosign(&w, &body).await {
        Ok(line) => plain(StatusCode::OK, "text/plain; charset=utf-8", line),
        Err(Fail::Store(e)) => {
            tracing::error!(error = %e, "the witness's store failed");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "the witness failed; see its log\n".into(),
            )
        }
        Err(Fail::Refused(Refusal::Conflict(size))) => plain(
            StatusCode::CONFLICT,
            "text/x.tlog.size",
            format!("{size}\n"),
        ),
        Err(Fail::Refused(r)) => plain(
            StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST),
            "text/plain; charset=utf-8",
            format!("{r}\n"),
        ),
    }
}

/// Checks, stores and cosigns in one step; the cosignature line.
async fn cosign(w: &Witness, body: &[u8]) -> Result<String, Fail> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Refusal::BadRequest("the body is not UTF-8".into()))?;
    let req = AddCheckpoint::parse(text)?;
    let _turn = w.turn.lock().await;
    let origin = sealtrail::tlog::Note::parse(&req.checkpoint)
        .ok()
        .and_then(|n| sealtrail::tlog::Checkpoint::parse(n.text()).ok())
        .map(|c| c.origin)
        .unwrap_or_default();
    let row = sqlx::query("SELECT size, root FROM witness_logs WHERE origin = $1")
        .bind(origin.clone())
        .fetch_optional(&w.pool)
        .await?;
    let seen = match row {
        Some(r) => {
            let size: i64 = r.try_get(0)?;
            let root: String = r.try_get(1)?;
            match (u64::try_from(size), decode_hash(&root)) {
                (Ok(size), Some(root)) => Some((size, root)),
                _ => {
                    return Err(Fail::Store(format!(
                        "the stored state of `{origin}` is malformed"
                    )))
                }
            }
        }
        None => None,
    };
    let (cp, mut note) = req.check(&w.logs, |_| seen, ed25519::verify)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let sig = w.key.cosign(&note, now);
    note.add(sig.clone());
    sqlx::query(
        "INSERT INTO witness_logs (origin, size, root, checkpoint) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, checkpoint = excluded.checkpoint",
    )
    .bind(cp.origin)
    .bind(i64::try_from(cp.size).unwrap_or(i64::MAX))
    .bind(encode_hash(&cp.root))
    .bind(note.to_string())
    .execute(&w.pool)
    .await?;
    Ok(sig.to_string())
}

async fn checkpoint(State(w): State<Arc<Witness>>, Path(origin): Path<String>) -> Response {
    let rows = sqlx::query("SELECT origin, checkpoint FROM witness_logs")
        .fetch_all(&w.pool)
        .await
        .unwrap_or_default();
    for r in rows {
        let (Ok(o), Ok(c)) = (r.try_get::<String, _>(0), r.try_get::<String, _>(1)) else {
            continue;
        };
        if Digest::of(o.as_bytes()).to_hex() == origin {
            return plain(StatusCode::OK, "text/plain; charset=utf-8", c);
        }
    }
    plain(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "no checkpoint cosigned for that log\n".into(),
    )
}
