//! The database: SQLite (embedded default, a file created on first start) or
//! PostgreSQL (by URL), behind one `sqlx::Any` pool so every query is written
//! once. Queries use `$N` placeholders, which both drivers accept, and only
//! `BIGINT` and `TEXT` columns, which both map to `i64` and `String`.
//!
//! One submodule of typed queries per table (`chains`, `credentials`, `events`, `anchors`,
//! `findings`, `readlog` with `meta`, `case_events`, `notifications`, `keys`): every
//! SQL statement of the collector is in this module. A new column or table is a numbered migration in both
//! `migrations/sqlite` and `migrations/postgres` (a test checks they match)
//! plus the queries here.
//!
//! The two stores differ in three places only, all here: the embedded
//! migrations (triggers are dialect-specific), how a write transaction starts
//! and the row lock that serialises ingest per chain on PostgreSQL. SQLite has
//! one writer at a time: writers queue, first come first served, on an
//! in-process gate before `BEGIN IMMEDIATE`, rather than polling the file lock
//! with `busy_timeout`'s growing sleeps (which made the slowest batches wait
//! seconds under concurrent uploads).

pub mod anchors;
pub mod case_events;
pub mod chains;
pub mod credentials;
pub mod events;
pub mod findings;
pub mod keys;
pub mod notifications;
pub mod readlog;
pub mod tlog;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::at_rest::DataKey;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database the URL named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path`: one file, one writer at a time.
    Sqlite,
    /// `postgres://...`: many writers, rows locked per chain.
    Postgres,
}

/// Why the database could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("database URL `{0}` must start with `sqlite:` or `postgres:`")]
    Scheme(String),
    /// The driver failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// The embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// The pool and what kind of database is behind it.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's single-writer queue (none on PostgreSQL: rows are locked per chain).
    write_gate: Option<Arc<Mutex<()>>>,
    /// The data key new rows are sealed under (none: stored as they are).
    sealing: Option<Arc<DataKey>>,
}

/// A write transaction, holding SQLite's writer turn until it ends.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
    sealing: Option<Arc<DataKey>>,
}

impl WriteTx {
    /// The connection, for queries inside the transaction.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// The data key rows written in it are sealed under (none: as they are).
    pub fn sealing(&self) -> Option<&DataKey> {
        self.sealing.as_deref()
    }

    /// Sets a savepoint (SQLite's group commit: one per batch).
    pub async fn savepoint(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("SAVEPOINT batch")
            .execute(self.conn())
            .await
            .map(drop)
    }

    /// Undoes everything since the savepoint (it stays set).
    pub async fn rollback_to_savepoint(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("ROLLBACK TO batch")
            .execute(self.conn())
            .await
            .map(drop)
    }

    /// Forgets the savepoint, keeping what was done since.
    pub async fn release_savepoint(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("RELEASE batch")
            .execute(self.conn())
            .await
            .map(drop)
    }

    /// Commits, then gives the writer turn to the next in line.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, .. } = self;
        tx.commit().await
    }

    /// Rolls back, then gives the writer turn to the next in line.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        let WriteTx { tx, .. } = self;
        tx.rollback().await
    }
}

impl Store {
    /// Connects (creating a SQLite file if missing) and runs the migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            (Backend::Sqlite, sqlite_url(url))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::Scheme(url.to_owned()));
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // `synchronous = FULL`: a `200` tells the browser it may
                        // delete its copy, so a commit must survive a power cut.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        let write_gate = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self {
            pool,
            backend,
            write_gate,
            sealing: None,
        })
    }

    /// This store, sealing the rows it writes under `key` (none: plaintext).
    pub fn sealing_with(self, key: Option<Arc<DataKey>>) -> Self {
        Self {
            sealing: key,
            ..self
        }
    }

    /// The data key new rows are sealed under, if any.
    pub fn sealing(&self) -> Option<&DataKey> {
        self.sealing.as_deref()
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction (on SQLite, after waiting for the writer turn).
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = match &self.write_gate {
            Some(gate) => Some(Arc::clone(gate).lock_owned().await),
            None => None,
        };
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx {
            tx,
            _turn: turn,
            sealing: self.sealing.clone(),
        })
    }

    /// `FOR UPDATE` where the store has row locks (PostgreSQL); SQLite's
    /// `BEGIN IMMEDIATE` already holds the only write lock.
    pub(crate) fn lock_clause(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Closes the pool (tests and the benchmark reopen files).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Adds `mode=rwc` (create if missing) to a SQLite URL that names no mode.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// A stored `seq` or count (`BIGINT`) as an unsigned number; a negative one,
/// which the store never writes, reads as 0.
pub(crate) fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A `seq` as the store's `BIGINT` (seqs past `i64::MAX` cannot be stored).
pub(crate) fn signed(v: u64) -> Result<i64, sqlx::Error> {
    i64::try_from(v).map_err(|_| sqlx::Error::Protocol(format!("seq {v} is too large to store")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_stores_have_the_same_migrations() {
        let versions = |m: &Migrator| {
            m.iter()
                .map(|x| (x.version, x.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(versions(&SQLITE_MIGRATIONS), versions(&POSTGRES_MIGRATIONS));
    }

    #[test]
    fn sqlite_urls_create_missing_files() {
        assert_eq!(sqlite_url("sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(
            sqlite_url("sqlite://a.db?x=1"),
            "sqlite://a.db?x=1&mode=rwc"
        );
        assert_eq!(sqlite_url("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
    }
}
