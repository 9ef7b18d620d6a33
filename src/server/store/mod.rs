//! The store: the durable event log that ids and replay survive restarts
//! with, the raw samples and rollups history is read from, and the accounts,
//! alert state and agent nodes. The embedded SQLite file by default, or a
//! PostgreSQL database (`database_url`); the same queries run on both.

pub mod config;
pub mod connect;
pub mod event_log;
pub mod fields;
pub mod history;
pub mod late_data;
pub mod maintenance;
pub mod partitions;
pub mod route;
pub mod server_lock;
pub mod sql;
#[doc(hidden)]
pub mod test_cluster;
pub mod transaction;

use std::{collections::HashMap, path::Path, sync::Mutex};

use crate::server::{clock, events::hub::HubEvent};

use sqlx::AnyPool;

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "netpulse.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unexpected data in the database: {0}")]
    Corrupt(String),
    #[error("database_url must be a postgres:// or postgresql:// URL")]
    BadUrl,
    #[error("another netpulse server is using this PostgreSQL database (waited 10 s for it to stop); one server per database until replicas are supported")]
    InUse,
    #[error("lost this server's lock on the PostgreSQL database (its session failed); stopped so that nothing runs twice")]
    LockLost,
}

/// The database behind the store, where their SQL differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// What recording some fields would do to a series' field count; all zero
/// when every field is already known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldCount {
    pub total_after: usize,
    pub new: usize,
}

pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// PostgreSQL's monthly partitions of raw samples known to exist.
    partitions: partitions::Partitions,
    /// (series, field name) to `field.id`; fields are few and never change id.
    field_ids: Mutex<HashMap<(String, String), i64>>,
}

impl Store {
    /// Opens (creating on first run) `data_dir/netpulse.db` in WAL mode and
    /// applies any pending migrations. `max_size_mb` caps the file; 0 is no cap.
    pub async fn open(data_dir: &Path, max_size_mb: u64) -> Result<Self, StoreError> {
        Self::start(connect::open_sqlite(data_dir, max_size_mb).await?, Backend::Sqlite).await
    }

    /// Connects to the PostgreSQL database `url` names and applies any pending migrations.
    pub async fn open_postgres(url: &str) -> Result<Self, StoreError> {
        Self::start(connect::open_postgres(url).await?, Backend::Postgres).await
    }

    /// The configured database: `database_url`'s PostgreSQL, else the SQLite file in `data_dir`.
    pub async fn open_configured(config: &crate::server::config::Config) -> Result<Self, StoreError> {
        match &config.database_url {
            Some(url) => Self::open_postgres(url.expose()).await,
            None => Self::open(&config.data_dir, config.history.max_size_mb).await,
        }
    }

    async fn start(pool: AnyPool, backend: Backend) -> Result<Self, StoreError> {
        // A new log starts above the clock, so that ids never repeat even when the database is replaced.
        sqlx::query("INSERT INTO log_meta (name, value) VALUES ('replayable_after', $1) ON CONFLICT (name) DO NOTHING")
            .bind(i64::try_from(clock::id_floor()).unwrap_or(i64::MAX) - 1)
            .execute(&pool)
            .await?;
        Ok(Self { pool, backend, field_ids: Mutex::new(HashMap::new()), partitions: partitions::Partitions::default() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Every per-target speed series with stored fields (`speed:<target>`).
    pub async fn speed_target_series(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT DISTINCT series FROM field WHERE series LIKE 'speed:%'").fetch_all(&self.pool).await?)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The id of a series' field, created on first use.
    pub async fn field_id(&self, series: &str, name: &str) -> Result<i64, StoreError> {
        let key = (series.to_owned(), name.to_owned());
        if let Some(id) = self.field_ids.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(*id);
        }
        let mut connection = self.pool.acquire().await?;
        let id = fields::create_field(&mut connection, series, name).await?;
        self.field_ids.lock().unwrap_or_else(|p| p.into_inner()).insert(key, id);
        Ok(id)
    }

    pub(crate) fn cached_field_id(&self, key: &(String, String)) -> Option<i64> {
        self.field_ids.lock().unwrap_or_else(|p| p.into_inner()).get(key).copied()
    }

    pub(crate) fn remember_field_ids(&self, created: Vec<((String, String), i64)>) {
        self.field_ids.lock().unwrap_or_else(|p| p.into_inner()).extend(created);
    }

    /// How many fields `series` would have with `names` recorded too, and how
    /// many of `names` are new to it. Names already known cost no query.
    pub async fn known_field_count(&self, series: &str, names: &[String]) -> Result<FieldCount, StoreError> {
        let cached = |name: &String| self.field_ids.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&(series.to_owned(), name.clone()));
        let unknown: Vec<&String> = names.iter().filter(|name| !cached(name)).collect();
        if unknown.is_empty() {
            return Ok(FieldCount { total_after: 0, new: 0 });
        }
        let existing: Vec<String> = sqlx::query_scalar("SELECT name FROM field WHERE series = $1").bind(series).fetch_all(&self.pool).await?;
        let new = unknown.iter().filter(|name| !existing.contains(name)).count();
        Ok(FieldCount { total_after: existing.len() + new, new })
    }

    /// Appends one event that already has its id, for imports, tests and
    /// benchmarks; live events go through the writer.
    pub async fn append(&self, id: u64, topic: &str, at_ms: i64, data: &str) -> Result<(), StoreError> {
        let event = HubEvent::new(id, topic.to_owned(), String::new(), at_ms, data.to_owned());
        self.append_events(&[std::sync::Arc::new(event)], None).await
    }

    /// Bulk-loads raw samples `(field_id, at_ms, event_id, milli)` in one
    /// transaction, for imports and benchmarks; live events use [`Store::append`].
    pub async fn import_samples(&self, rows: &[(i64, i64, i64, i64)]) -> Result<(), StoreError> {
        self.partitions.ensure(self, rows.iter().map(|row| row.1)).await?;
        let mut tx = self.begin_write().await?;
        event_log::insert_samples(self.backend, &mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drops the cached field ids after fields were deleted.
    pub(crate) fn forget_field_ids(&self) {
        self.field_ids.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Whether the database answers a query: for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM log_meta").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Refreshes the query planner's statistics (and on PostgreSQL marks the
    /// pages of bulk-loaded rows all-visible), as autovacuum would in time:
    /// for benchmarks and imports that time queries right after a bulk load.
    pub async fn analyze(&self) -> Result<(), StoreError> {
        let statement = match self.backend {
            Backend::Sqlite => "ANALYZE",
            Backend::Postgres => "VACUUM (ANALYZE)",
        };
        sqlx::query(statement).execute(&self.pool).await?;
        Ok(())
    }

    /// The database's size on disk, tables and indexes: for benchmarks and operators.
    pub async fn database_bytes(&self) -> Result<u64, StoreError> {
        let bytes: i64 = match self.backend {
            Backend::Sqlite => sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").fetch_one(&self.pool).await?,
            Backend::Postgres => sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(&self.pool).await?,
        };
        Ok(u64::try_from(bytes).unwrap_or_default())
    }

    /// Writes what SQLite's WAL holds into the database file and truncates the
    /// WAL, so the file's size is the store's; nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await?;
        }
        Ok(())
    }
}
