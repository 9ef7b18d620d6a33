//! The embedded SQLite store: the durable event log that ids and replay
//! survive restarts with, and the raw samples and rollups history is read from.
//! The schema is in `migrations/`, applied at start-up.

pub mod config;
pub mod fields;
pub mod history;
pub mod maintenance;
pub mod route;

use std::{collections::HashMap, path::Path, str::FromStr, sync::Mutex, time::Duration};

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

/// One event as the log keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub id: u64,
    pub topic: String,
    pub at_ms: i64,
    pub data: String,
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
        Ok(Self { pool, field_ids: Mutex::new(HashMap::new()) })
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
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO field (series, name) VALUES (?, ?) ON CONFLICT (series, name) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(series)
        .bind(name)
        .fetch_one(&self.pool)
        .await?;
        self.field_ids.lock().unwrap_or_else(|p| p.into_inner()).insert(key, id);
        Ok(id)
    }

    /// Writes one event and its samples in one transaction: when this returns,
    /// the event survives a crash.
    pub async fn append(&self, id: u64, topic: &str, at_ms: i64, data: &str) -> Result<(), StoreError> {
        let mut samples = Vec::new();
        for series in fields::series_values(topic, data) {
            for (name, value) in series.values {
                samples.push((self.field_id(&series.series, &name).await?, fields::to_milli(value)));
            }
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO event_log (id, topic, at_ms, data) VALUES (?, ?, ?, ?)")
            .bind(id as i64)
            .bind(topic)
            .bind(at_ms)
            .bind(data)
            .execute(&mut *tx)
            .await?;
        for (field_id, milli) in samples {
            sqlx::query("INSERT OR IGNORE INTO sample (field_id, at_ms, event_id, milli) VALUES (?, ?, ?, ?)")
                .bind(field_id)
                .bind(at_ms)
                .bind(id as i64)
                .bind(milli)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
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

    /// Writes what WAL holds into the database file and truncates the WAL, so the file's size is the store's.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn last_event_id(&self) -> Result<Option<u64>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM event_log").fetch_one(&self.pool).await?;
        Ok(id.map(|id| id as u64))
    }

    /// What a restarted hub needs, oldest first: the events published since
    /// `since_ms` (at most `replay` of them), and the newest `n` of each kept topic.
    pub async fn events_to_restore(&self, replay: usize, since_ms: i64, kept: &[(String, usize)]) -> Result<Vec<StoredEvent>, StoreError> {
        let mut events: Vec<StoredEvent> = Vec::new();
        let rows = sqlx::query_as::<_, (i64, String, i64, String)>(
            "SELECT id, topic, at_ms, data FROM event_log WHERE at_ms >= ? ORDER BY id DESC LIMIT ?",
        )
        .bind(since_ms)
        .bind(replay as i64)
        .fetch_all(&self.pool)
        .await?;
        events.extend(rows.into_iter().map(stored));
        for (topic, n) in kept {
            let rows = sqlx::query_as::<_, (i64, String, i64, String)>(
                "SELECT id, topic, at_ms, data FROM event_log WHERE topic = ? ORDER BY id DESC LIMIT ?",
            )
            .bind(topic)
            .bind(*n as i64)
            .fetch_all(&self.pool)
            .await?;
            events.extend(rows.into_iter().map(stored));
        }
        events.sort_by_key(|e| e.id);
        events.dedup_by_key(|e| e.id);
        Ok(events)
    }

    /// Drops log entries no restart needs: older than `before_ms` and neither
    /// among the newest `replay` nor among the newest `n` of a kept topic.
    pub async fn prune_event_log(&self, replay: usize, before_ms: i64, kept: &[(String, usize)]) -> Result<u64, StoreError> {
        let mut keep_clauses = String::new();
        for _ in kept {
            keep_clauses.push_str(" AND id NOT IN (SELECT id FROM event_log WHERE topic = ? ORDER BY id DESC LIMIT ?)");
        }
        let sql = format!(
            "DELETE FROM event_log WHERE (at_ms < ? OR id < (SELECT coalesce(min(id), 0) FROM (SELECT id FROM event_log ORDER BY id DESC LIMIT ?))){keep_clauses}"
        );
        let mut query = sqlx::query(&sql).bind(before_ms).bind(replay as i64);
        for (topic, n) in kept {
            query = query.bind(topic).bind(*n as i64);
        }
        Ok(query.execute(&self.pool).await?.rows_affected())
    }
}

fn stored((id, topic, at_ms, data): (i64, String, i64, String)) -> StoredEvent {
    StoredEvent { id: id as u64, topic, at_ms, data }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
