//! The agent's outbox: every result is written here first, with the node's
//! next sequence number, and deleted only once the server acknowledges it.
//! While the server is away it holds up to a cap of age and size, dropping
//! the oldest past it and counting them.

use std::path::Path;

use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    SqlitePool,
};

use crate::server::agent::AgentError;

/// How much the outbox keeps while the server cannot be reached.
#[derive(Clone, Copy, Debug)]
pub struct OutboxLimits {
    pub max_age_ms: i64,
    pub max_bytes: i64,
}

/// A result waiting to be acknowledged.
#[derive(Debug, sqlx::FromRow)]
pub struct Pending {
    pub seq: i64,
    pub kind: String,
    pub data: String,
}

/// What the outbox reports with each batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxState {
    pub backlog: u64,
    /// Dropped for want of room since the node joined, and the highest number dropped.
    pub dropped: u64,
    pub dropped_through: u64,
    /// Results numbered since the node joined: the last number taken.
    pub made: u64,
}

/// The outbox's database file in the agent's directory.
pub const FILE: &str = "outbox.db";

pub struct Outbox {
    pool: SqlitePool,
    limits: OutboxLimits,
    /// Wakes the uplink when a result is written, so it goes up at once.
    written: tokio::sync::Notify,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL, at_ms INTEGER NOT NULL)",
    // One row: the last number taken (never reused, even once the outbox is empty), bytes held, drops.
    "CREATE TABLE IF NOT EXISTS outbox_meta (id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL, bytes INTEGER NOT NULL, dropped INTEGER NOT NULL, dropped_through INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO outbox_meta (id, last_seq, bytes, dropped, dropped_through) VALUES (1, 0, 0, 0, 0)",
    "CREATE INDEX IF NOT EXISTS outbox_at ON outbox (at_ms)",
    // Counted again at each start: an older agent counted characters, not bytes.
    "UPDATE outbox_meta SET bytes = (SELECT coalesce(sum(length(CAST(data AS BLOB))), 0) FROM outbox) WHERE id = 1",
];

fn database(error: sqlx::Error) -> AgentError {
    AgentError::Outbox(error.to_string())
}

impl Outbox {
    pub async fn open(dir: &Path, limits: OutboxLimits) -> Result<Self, AgentError> {
        std::fs::create_dir_all(dir).map_err(|error| AgentError::Outbox(format!("{}: {error}", dir.display())))?;
        // WAL with NORMAL sync: a result written survives the process being killed.
        let options = SqliteConnectOptions::new()
            .filename(dir.join(FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(5));
        // One connection: the checks' writes and the uplink's deletes take turns in order. With
        // two, a transaction that reads and then writes fails at once with "database is locked"
        // whenever the other connection wrote in between, and the uplink backed off for a second.
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.map_err(database)?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await.map_err(database)?;
        }
        Ok(Self { pool, limits, written: tokio::sync::Notify::new() })
    }

    /// Writes a result with the next number, then drops what is past the caps; the number.
    pub async fn push(&self, kind: &str, data: &str, now_ms: i64) -> Result<i64, AgentError> {
        let mut transaction = self.pool.begin().await.map_err(database)?;
        let seq: i64 = sqlx::query_scalar("UPDATE outbox_meta SET last_seq = last_seq + 1, bytes = bytes + ? WHERE id = 1 RETURNING last_seq")
            .bind(data.len() as i64)
            .fetch_one(&mut *transaction)
            .await
            .map_err(database)?;
        sqlx::query("INSERT INTO outbox (seq, kind, data, at_ms) VALUES (?, ?, ?, ?)")
            .bind(seq)
            .bind(kind)
            .bind(data)
            .bind(now_ms)
            .execute(&mut *transaction)
            .await
            .map_err(database)?;
        let too_old: Vec<(i64, i64)> =
            sqlx::query_as("DELETE FROM outbox WHERE seq <= (SELECT max(seq) FROM outbox WHERE at_ms < ?) RETURNING seq, length(CAST(data AS BLOB))")
                .bind(now_ms - self.limits.max_age_ms)
                .fetch_all(&mut *transaction)
                .await
                .map_err(database)?;
        let mut dropped = too_old;
        let bytes: i64 = sqlx::query_scalar("SELECT bytes FROM outbox_meta WHERE id = 1").fetch_one(&mut *transaction).await.map_err(database)?;
        let mut excess = bytes - dropped.iter().map(|(_, len)| len).sum::<i64>() - self.limits.max_bytes;
        while excess > 0 {
            let oldest: Vec<(i64, i64)> = sqlx::query_as("SELECT seq, length(CAST(data AS BLOB)) FROM outbox ORDER BY seq LIMIT 1000")
                .fetch_all(&mut *transaction)
                .await
                .map_err(database)?;
            let Some(&(first, _)) = oldest.first() else { break };
            let mut through = first;
            for (seq, len) in oldest {
                excess -= len;
                through = seq;
                dropped.push((seq, len));
                if excess <= 0 {
                    break;
                }
            }
            sqlx::query("DELETE FROM outbox WHERE seq <= ?").bind(through).execute(&mut *transaction).await.map_err(database)?;
        }
        if let Some(through) = dropped.iter().map(|(seq, _)| *seq).max() {
            let freed: i64 = dropped.iter().map(|(_, len)| len).sum();
            sqlx::query("UPDATE outbox_meta SET bytes = bytes - ?, dropped = dropped + ?, dropped_through = max(dropped_through, ?) WHERE id = 1")
                .bind(freed)
                .bind(dropped.len() as i64)
                .bind(through)
                .execute(&mut *transaction)
                .await
                .map_err(database)?;
            tracing::warn!(dropped = dropped.len(), through, "the outbox is full: the oldest results were dropped");
        }
        transaction.commit().await.map_err(database)?;
        self.written.notify_one();
        Ok(seq)
    }

    /// Returns once a result has been written since the last call returned.
    pub async fn written(&self) {
        self.written.notified().await;
    }

    /// Numbers the waiting results again from 1, for a new enrolment whose server
    /// expects its sequence to start there; how many are waiting.
    pub async fn renumber(&self) -> Result<u64, AgentError> {
        let mut transaction = self.pool.begin().await.map_err(database)?;
        let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox").fetch_one(&mut *transaction).await.map_err(database)?;
        // 1, 2, 3… in order with no holes (a refused result leaves one), through negative
        // numbers so that no two rows hold one number on the way.
        for statement in [
            "CREATE TEMP TABLE renumbered (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)",
            "INSERT INTO renumbered SELECT seq, row_number() OVER (ORDER BY seq) FROM outbox",
            "UPDATE outbox SET seq = -seq",
            "UPDATE outbox SET seq = (SELECT new FROM renumbered WHERE old = -outbox.seq)",
            "DROP TABLE renumbered",
            "UPDATE outbox_meta SET last_seq = (SELECT count(*) FROM outbox), dropped = 0, dropped_through = 0 WHERE id = 1",
        ] {
            sqlx::query(statement).execute(&mut *transaction).await.map_err(database)?;
        }
        transaction.commit().await.map_err(database)?;
        Ok(u64::try_from(waiting).unwrap_or(0))
    }

    /// The oldest `limit` results.
    pub async fn oldest(&self, limit: i64) -> Result<Vec<Pending>, AgentError> {
        sqlx::query_as("SELECT seq, kind, data FROM outbox ORDER BY seq LIMIT ?").bind(limit).fetch_all(&self.pool).await.map_err(database)
    }

    /// Deletes what the server acknowledged, and the results it refused for good.
    pub async fn remove(&self, acknowledged: u64, refused: &[u64]) -> Result<(), AgentError> {
        let mut transaction = self.pool.begin().await.map_err(database)?;
        let through = i64::try_from(acknowledged).unwrap_or(i64::MAX);
        let mut freed: i64 = sqlx::query_scalar("SELECT coalesce(sum(length(CAST(data AS BLOB))), 0) FROM outbox WHERE seq <= ?")
            .bind(through)
            .fetch_one(&mut *transaction)
            .await
            .map_err(database)?;
        sqlx::query("DELETE FROM outbox WHERE seq <= ?").bind(through).execute(&mut *transaction).await.map_err(database)?;
        for seq in refused {
            let gone: Option<i64> = sqlx::query_scalar("DELETE FROM outbox WHERE seq = ? RETURNING length(CAST(data AS BLOB))")
                .bind(i64::try_from(*seq).unwrap_or(i64::MAX))
                .fetch_optional(&mut *transaction)
                .await
                .map_err(database)?;
            freed += gone.unwrap_or(0);
        }
        sqlx::query("UPDATE outbox_meta SET bytes = bytes - ? WHERE id = 1").bind(freed).execute(&mut *transaction).await.map_err(database)?;
        transaction.commit().await.map_err(database)
    }

    pub async fn state(&self) -> Result<OutboxState, AgentError> {
        let (backlog, dropped, dropped_through, made): (i64, i64, i64, i64) =
            sqlx::query_as("SELECT (SELECT count(*) FROM outbox), dropped, dropped_through, last_seq FROM outbox_meta WHERE id = 1")
                .fetch_one(&self.pool)
                .await
                .map_err(database)?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(OutboxState { backlog: count(backlog), dropped: count(dropped), dropped_through: count(dropped_through), made: count(made) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    #[tokio::test]
    async fn numbers_are_never_reused_and_the_caps_drop_the_oldest_and_count_them() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path(), OutboxLimits { max_age_ms: 7 * DAY_MS, max_bytes: 1_000 }).await.unwrap();
        let row = "x".repeat(100);
        for n in 1..=5 {
            assert_eq!(outbox.push("probe", &row, n * 1000).await.unwrap(), n);
        }
        outbox.remove(5, &[]).await.unwrap();
        assert_eq!(outbox.push("probe", &row, 6_000).await.unwrap(), 6, "acknowledged numbers are not taken again");
        // Eleven rows of 100 bytes past a 1,000-byte cap: the oldest go.
        for n in 7..=16 {
            outbox.push("probe", &row, n * 1000).await.unwrap();
        }
        let state = outbox.state().await.unwrap();
        assert_eq!(state.backlog, 10);
        assert_eq!((state.dropped, state.dropped_through), (1, 6));
        assert_eq!(outbox.oldest(1).await.unwrap()[0].seq, 7);
        // A week later, everything but the newest is too old.
        outbox.push("probe", &row, 16_001 + 7 * DAY_MS).await.unwrap();
        let state = outbox.state().await.unwrap();
        assert_eq!((state.backlog, state.dropped, state.dropped_through), (1, 11, 16));
        drop(outbox);
        let reopened = Outbox::open(dir.path(), OutboxLimits { max_age_ms: 7 * DAY_MS, max_bytes: 1_000 }).await.unwrap();
        assert_eq!(reopened.push("probe", &row, 16_002 + 7 * DAY_MS).await.unwrap(), 18, "the numbering survives a restart");
        reopened.remove(0, &[17]).await.unwrap();
        assert_eq!(reopened.oldest(10).await.unwrap().iter().map(|p| p.seq).collect::<Vec<_>>(), [18]);
    }

    #[tokio::test]
    async fn the_age_cap_drops_a_prefix_even_when_the_clock_stepped_back() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path(), OutboxLimits { max_age_ms: 7 * DAY_MS, max_bytes: 1_000_000 }).await.unwrap();
        outbox.push("probe", "a", 8 * DAY_MS).await.unwrap();
        // The clock stepped back a week before the second result, then on again.
        outbox.push("probe", "b", DAY_MS).await.unwrap();
        outbox.push("probe", "c", 9 * DAY_MS).await.unwrap();
        let state = outbox.state().await.unwrap();
        assert_eq!((state.dropped, state.dropped_through, state.backlog), (2, 2, 1), "nothing below a dropped number is kept");
        assert_eq!(outbox.oldest(10).await.unwrap()[0].seq, 3);
    }

    #[tokio::test]
    async fn sizes_count_bytes_and_a_new_enrolment_numbers_the_waiting_results_from_1() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path(), OutboxLimits { max_age_ms: 7 * DAY_MS, max_bytes: 1_000 }).await.unwrap();
        // 100 characters, 200 bytes: five fill the cap exactly and nothing is dropped.
        let row = "é".repeat(100);
        for n in 1..=5 {
            outbox.push("probe", &row, n * 1000).await.unwrap();
        }
        outbox.remove(5, &[]).await.unwrap();
        for n in 6..=10 {
            outbox.push("probe", &row, n * 1000).await.unwrap();
        }
        assert_eq!(outbox.state().await.unwrap().dropped, 0, "the count went back to zero when the first five left");
        outbox.push("probe", &row, 11_000).await.unwrap();
        assert_eq!(outbox.state().await.unwrap().dropped, 1);
        outbox.remove(0, &[8]).await.unwrap();
        assert_eq!(outbox.renumber().await.unwrap(), 4, "7, 9, 10, 11 wait, with a hole where 8 was refused");
        let state = outbox.state().await.unwrap();
        assert_eq!((state.made, state.dropped, state.dropped_through), (4, 0, 0));
        assert_eq!(outbox.oldest(10).await.unwrap().iter().map(|p| p.seq).collect::<Vec<_>>(), [1, 2, 3, 4], "numbered again with no hole");
        assert_eq!(outbox.push("probe", &row, 12_000).await.unwrap(), 5);
    }
}
