//! The embedded SQLite store: the durable event log that ids and replay
//! survive restarts with, and the raw samples and rollups history is read from.
//! The schema is in `migrations/`, applied at start-up.

pub mod config;
pub mod event_log;
pub mod fields;
pub mod history;
pub mod late_data;
pub mod maintenance;
pub mod route;

use std::{collections::HashMap, path::Path, str::FromStr, sync::Mutex, time::Duration};

use crate::server::{clock, events::hub::HubEvent};

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "netpulse.db";

const PAGE_SIZE: u64 = 4096;

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
}

/// What recording some fields would do to a series' field count; all zero
/// when every field is already known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldCount {
    pub total_after: usize,
    pub new: usize,
}

pub struct Store {
    pool: SqlitePool,
    /// (series, field name) to `field.id`; fields are few and never change id.
    field_ids: Mutex<HashMap<(String, String), i64>>,
}

impl Store {
    /// Opens (creating on first run) `data_dir/netpulse.db` in WAL mode and
    /// applies any pending migrations. `max_size_mb` caps the file; 0 is no cap.
    pub async fn open(data_dir: &Path, max_size_mb: u64) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir { path: data_dir.display().to_string(), source })?;
        let mut options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(data_dir.join(DATABASE_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Committed data survives a crash of the process; only a power loss may cost the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .pragma("page_size", PAGE_SIZE.to_string());
        if max_size_mb > 0 {
            options = options.pragma("max_page_count", (max_size_mb * 1_000_000 / PAGE_SIZE).to_string());
        }
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        // A new log starts above the clock, so that ids never repeat even when the file is replaced.
        sqlx::query("INSERT OR IGNORE INTO log_meta (name, value) VALUES ('replayable_after', ?)")
            .bind(i64::try_from(clock::id_floor()).unwrap_or(i64::MAX) - 1)
            .execute(&pool)
            .await?;
        Ok(Self { pool, field_ids: Mutex::new(HashMap::new()) })
    }

    /// Every per-target speed series with stored fields (`speed:<target>`).
    pub async fn speed_target_series(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT DISTINCT series FROM field WHERE series LIKE 'speed:%'").fetch_all(&self.pool).await?)
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
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
        let existing: Vec<String> = sqlx::query_scalar("SELECT name FROM field WHERE series = ?").bind(series).fetch_all(&self.pool).await?;
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
        let mut tx = self.pool.begin().await?;
        // 4 parameters a row stays under SQLite's 32,766-parameter limit.
        for chunk in rows.chunks(4096) {
            let mut insert = sqlx::QueryBuilder::new("INSERT OR IGNORE INTO sample (field_id, at_ms, event_id, milli) ");
            insert.push_values(chunk, |mut row, &(field_id, at_ms, event_id, milli)| {
                row.push_bind(field_id).push_bind(at_ms).push_bind(event_id).push_bind(milli);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Drops the cached field ids after fields were deleted.
    pub(crate) fn forget_field_ids(&self) {
        self.field_ids.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Writes what WAL holds into the database file and truncates the WAL, so the file's size is the store's.
    /// Whether the database answers a read: for `/readyz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_master").fetch_one(&self.pool).await?;
        Ok(())
    }

    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await?;
        Ok(())
    }
}
