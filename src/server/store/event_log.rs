//! The event log in SQLite: batches appended in one transaction with their
//! samples and latest-event rows, ranges read back for resume, what a
//! restarted server takes back, and pruning that keeps resume exact.

use std::sync::Arc;

use crate::{
    model::LIVE_TOPIC,
    server::{
        events::{
            hub::HubEvent,
            log::{EventLog, LogError, LogFuture},
        },
        store::{fields, late_data, Store, StoreError},
    },
};

type Row = (i64, String, String, i64, String);

/// Rows one multi-row INSERT carries: 5 parameters a row stays under SQLite's 32,766.
const ROWS_PER_INSERT: usize = 1000;

fn event((id, topic, key, at_ms, data): Row) -> Arc<HubEvent> {
    Arc::new(HubEvent::new(u64::try_from(id).unwrap_or_default(), topic, key, at_ms, data))
}

/// Ids are stored as SQLite integers, which are signed.
fn sql_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// What a restarted server takes back from the log.
pub struct Restored {
    /// The newest id ever issued by this log (0 for a new one).
    pub last_id: u64,
    /// Oldest first, without duplicates.
    pub events: Vec<Arc<HubEvent>>,
    /// Events from this id on are the recent window, complete; older ones are
    /// only the latest or kept events of their topics, with gaps between them.
    pub window_from: u64,
}

impl Store {
    /// Writes numbered events, their samples and their latest-event rows in one transaction.
    pub async fn append_events(&self, events: &[Arc<HubEvent>], lost_through: Option<u64>) -> Result<(), StoreError> {
        // A transaction by hand, so that a failed COMMIT (a full disk) is rolled
        // back here: SQLite leaves it open, and the connection would hold the
        // write lock when it goes back to the pool.
        let mut connection = self.pool().acquire().await?;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await?;
        match self.write_batch(&mut connection, events, lost_through).await {
            Ok(created) => {
                // Only now are the new fields there for everyone.
                self.remember_field_ids(created);
                Ok(())
            }
            Err(err) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
                Err(err)
            }
        }
    }

    /// The samples of `events`, with the ids of their fields; fields seen for
    /// the first time are created inside the batch's transaction, so that no
    /// one ever sees a field without the samples that made it.
    async fn samples(
        &self,
        connection: &mut sqlx::SqliteConnection,
        events: &[Arc<HubEvent>],
        created: &mut Vec<((String, String), i64)>,
    ) -> Result<Vec<(i64, i64, i64, i64)>, StoreError> {
        let mut samples = Vec::new();
        for event in events {
            let series_values = match event.origin {
                None => fields::series_values(&event.topic, &event.data),
                Some(_) => fields::series_values_from_node(&event.topic, &event.data),
            };
            for series in series_values {
                for (name, value) in series.values {
                    let key = (series.series.clone(), name);
                    let known = self.cached_field_id(&key).or_else(|| created.iter().find(|(k, _)| *k == key).map(|(_, id)| *id));
                    let field_id = match known {
                        Some(id) => id,
                        None => {
                            let id = fields::create_field(connection, &key.0, &key.1).await?;
                            created.push((key, id));
                            id
                        }
                    };
                    samples.push((field_id, event.at_ms, sql_id(event.id), fields::to_milli(value)));
                }
            }
        }
        Ok(samples)
    }

    /// The batch's statements inside its transaction; the fields it created.
    async fn write_batch(
        &self,
        connection: &mut sqlx::SqliteConnection,
        events: &[Arc<HubEvent>],
        lost_through: Option<u64>,
    ) -> Result<Vec<((String, String), i64)>, StoreError> {
        let mut created = Vec::new();
        let samples = self.samples(connection, events, &mut created).await?;
        // `live` round trips are not history: the in-memory window is all they need.
        let logged: Vec<&Arc<HubEvent>> = events.iter().filter(|e| e.topic != LIVE_TOPIC).collect();
        // One statement per table and chunk, not per row: on one core each statement
        // is a round trip to SQLite's thread, and they delay every subscriber.
        for chunk in logged.chunks(ROWS_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::new("INSERT INTO event_log (id, topic, key, at_ms, data) ");
            insert.push_values(chunk, |mut row, event| {
                row.push_bind(sql_id(event.id)).push_bind(&event.topic).push_bind(&event.key).push_bind(event.at_ms).push_bind(&event.data);
            });
            insert.build().execute(&mut *connection).await?;
            let (from_nodes, own): (Vec<&Arc<HubEvent>>, Vec<&Arc<HubEvent>>) = chunk.iter().copied().partition(|event| event.origin.is_some());
            upsert_latest(connection, &own, false).await?;
            upsert_latest(connection, &from_nodes, true).await?;
        }
        for chunk in samples.chunks(ROWS_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::new("INSERT OR IGNORE INTO sample (field_id, at_ms, event_id, milli) ");
            insert.push_values(chunk, |mut row, &(field_id, at_ms, event_id, milli)| {
                row.push_bind(field_id).push_bind(at_ms).push_bind(event_id).push_bind(milli);
            });
            insert.build().execute(&mut *connection).await?;
        }
        let from_nodes: Vec<&Arc<HubEvent>> = events.iter().filter(|e| e.origin.is_some()).collect();
        if !from_nodes.is_empty() {
            late_data::record_results(connection, &from_nodes, &samples).await?;
        }
        // Ids that are not in the log (`live` ones) are recorded, so a restart never issues one again.
        if let Some(newest) = events.last().filter(|_| logged.len() < events.len()) {
            raise_meta(connection, "last_issued", newest.id).await?;
        }
        if let Some(lost) = lost_through {
            raise_meta(connection, "replayable_after", lost).await?;
        }
        sqlx::query("COMMIT").execute(&mut *connection).await?;
        Ok(created)
    }

    pub async fn count_events(&self, after: u64, before: u64, topics: &[String], cap: usize) -> Result<usize, StoreError> {
        let mut query = sqlx::QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM event_log WHERE ");
        range_filter(&mut query, after, before, topics);
        query.push(" LIMIT ").push_bind(i64::try_from(cap).unwrap_or(i64::MAX)).push(")");
        let count: i64 = query.build_query_scalar().fetch_one(self.pool()).await?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    pub async fn replayable_after(&self) -> Result<u64, StoreError> {
        let value: Option<i64> = sqlx::query_scalar("SELECT value FROM log_meta WHERE name = 'replayable_after'").fetch_optional(self.pool()).await?;
        Ok(value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
    }

    pub async fn read_events(&self, after: u64, before: u64, topics: &[String], limit: usize) -> Result<Vec<Arc<HubEvent>>, StoreError> {
        let mut query = sqlx::QueryBuilder::new("SELECT id, topic, key, at_ms, data FROM event_log WHERE ");
        range_filter(&mut query, after, before, topics);
        query.push(" ORDER BY id LIMIT ").push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows: Vec<Row> = query.build_query_as().fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(event).collect())
    }

    /// What a restarted hub needs: the events since `since_ms` (at most
    /// `replay`), the newest `n` of each kept topic, and the latest event
    /// about every key.
    pub async fn events_to_restore(&self, replay: usize, since_ms: i64, kept: &[(String, usize)]) -> Result<Restored, StoreError> {
        let select = "SELECT id, topic, key, at_ms, data FROM event_log";
        let mut rows: Vec<Row> = sqlx::query_as(&format!("{select} WHERE at_ms >= ? ORDER BY id DESC LIMIT ?"))
            .bind(since_ms)
            .bind(i64::try_from(replay).unwrap_or(i64::MAX))
            .fetch_all(self.pool())
            .await?;
        let window_from = rows.last().and_then(|row| u64::try_from(row.0).ok()).unwrap_or(u64::MAX);
        for (topic, n) in kept {
            let newest: Vec<Row> = sqlx::query_as(&format!("{select} WHERE topic = ? ORDER BY id DESC LIMIT ?"))
                .bind(topic)
                .bind(i64::try_from(*n).unwrap_or(i64::MAX))
                .fetch_all(self.pool())
                .await?;
            rows.extend(newest);
        }
        rows.extend(sqlx::query_as::<_, Row>("SELECT id, topic, key, at_ms, data FROM latest_event").fetch_all(self.pool()).await?);
        rows.sort_by_key(|row| row.0);
        rows.dedup_by_key(|row| row.0);
        let newest_logged: Option<i64> = sqlx::query_scalar(
            "SELECT max(value) FROM (SELECT max(id) AS value FROM event_log UNION ALL SELECT value FROM log_meta WHERE name = 'last_issued')",
        )
        .fetch_one(self.pool())
        .await?;
        let last_id =
            [newest_logged.and_then(|id| u64::try_from(id).ok()), rows.last().and_then(|row| u64::try_from(row.0).ok()), Some(self.replayable_after().await?)]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(0);
        Ok(Restored { last_id, events: rows.into_iter().map(event).collect(), window_from })
    }

    /// Drops log entries older than `before_ms`, always a prefix by id, and
    /// moves `replayable_after` past them so resume knows they are gone.
    pub async fn prune_event_log(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut connection = self.pool().acquire().await?;
        // Immediate: the read and the delete must not race the writer's commits.
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await?;
        let outcome = async {
            let through: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM event_log WHERE at_ms < ?").bind(before_ms).fetch_one(&mut *connection).await?;
            let Some(through) = through else { return Ok(0) };
            let deleted = sqlx::query("DELETE FROM event_log WHERE id <= ?").bind(through).execute(&mut *connection).await?.rows_affected();
            raise_meta(&mut connection, "replayable_after", u64::try_from(through).unwrap_or_default()).await?;
            Ok(deleted)
        }
        .await;
        let end = if outcome.is_ok() { "COMMIT" } else { "ROLLBACK" };
        sqlx::query(end).execute(&mut *connection).await?;
        outcome
    }
}

/// `id > after AND id < before`, and on `topics` unless it is empty.
fn range_filter(query: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>, after: u64, before: u64, topics: &[String]) {
    query.push("id > ").push_bind(sql_id(after)).push(" AND id < ").push_bind(sql_id(before));
    if !topics.is_empty() {
        query.push(" AND topic IN (");
        let mut names = query.separated(", ");
        for topic in topics {
            names.push_bind(topic.clone());
        }
        query.push(")");
    }
}

/// Makes `events` the latest of their (topic, key); with `only_if_newer`, not
/// where a newer one is there: an agent catching up sends old results late.
async fn upsert_latest(connection: &mut sqlx::SqliteConnection, events: &[&Arc<HubEvent>], only_if_newer: bool) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut latest = sqlx::QueryBuilder::new("INSERT INTO latest_event (topic, key, id, at_ms, data) ");
    latest.push_values(events, |mut row, event| {
        row.push_bind(&event.topic).push_bind(&event.key).push_bind(sql_id(event.id)).push_bind(event.at_ms).push_bind(&event.data);
    });
    latest.push(" ON CONFLICT (topic, key) DO UPDATE SET id = excluded.id, at_ms = excluded.at_ms, data = excluded.data");
    if only_if_newer {
        latest.push(" WHERE excluded.at_ms >= latest_event.at_ms");
    }
    latest.build().execute(&mut *connection).await?;
    Ok(())
}

/// Sets a `log_meta` value to `value` unless it is already higher.
async fn raise_meta(connection: &mut sqlx::SqliteConnection, name: &str, value: u64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO log_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)")
        .bind(name)
        .bind(sql_id(value))
        .execute(connection)
        .await?;
    Ok(())
}

impl From<StoreError> for LogError {
    fn from(err: StoreError) -> Self {
        Self(err.to_string())
    }
}

impl EventLog for Store {
    fn append<'a>(&'a self, events: &'a [Arc<HubEvent>], lost_through: Option<u64>) -> LogFuture<'a, ()> {
        Box::pin(async move { Ok(self.append_events(events, lost_through).await?) })
    }

    fn replayable_after(&self) -> LogFuture<'_, u64> {
        Box::pin(async move { Ok(Store::replayable_after(self).await?) })
    }

    fn read_range<'a>(&'a self, after: u64, before: u64, topics: &'a [String], limit: usize) -> LogFuture<'a, Vec<Arc<HubEvent>>> {
        Box::pin(async move { Ok(self.read_events(after, before, topics, limit).await?) })
    }

    fn count_range<'a>(&'a self, after: u64, before: u64, topics: &'a [String], cap: usize) -> LogFuture<'a, usize> {
        Box::pin(async move { Ok(self.count_events(after, before, topics, cap).await?) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pruning_removes_exactly_the_old_prefix_and_makes_it_unreplayable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).await.unwrap();
        let first = store.replayable_after().await.unwrap() + 1;
        let events: Vec<_> = (0..10u64).map(|n| Arc::new(HubEvent::new(first + n, "sales".into(), String::new(), 1_000 * n as i64, "{}".into()))).collect();
        store.append_events(&events, None).await.unwrap();
        // Events at 0..=4 s are older than 4.5 s.
        assert_eq!(store.prune_event_log(4_500).await.unwrap(), 5);
        let left: Vec<u64> = store.read_events(0, u64::MAX, &[], 100).await.unwrap().iter().map(|e| e.id).collect();
        assert_eq!(left, (first + 5..first + 10).collect::<Vec<_>>());
        assert_eq!(store.replayable_after().await.unwrap(), first + 4, "resume from before the cut is no longer exact");
        assert_eq!(store.prune_event_log(4_500).await.unwrap(), 0, "nothing more to prune");
        // The latest event of the topic outlives the log's pruning.
        let restored = store.events_to_restore(0, i64::MAX, &[]).await.unwrap();
        assert_eq!(restored.events.iter().map(|e| e.id).collect::<Vec<_>>(), [first + 9]);
    }

    #[tokio::test]
    async fn a_failed_write_makes_the_ids_before_it_unreplayable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).await.unwrap();
        let first = store.replayable_after().await.unwrap() + 1;
        let event = |n: u64| Arc::new(HubEvent::new(first + n, "sales".into(), String::new(), 0, "{}".into()));
        store.append_events(&[event(0)], None).await.unwrap();
        // Event 1 went out live but never reached the disk; event 2's write records the gap.
        store.append_events(&[event(2)], Some(first + 1)).await.unwrap();
        assert_eq!(store.replayable_after().await.unwrap(), first + 1);
    }
}
