//! The event log in the store: batches appended in one transaction with their
//! samples and latest-event rows, ranges read back for resume, what a
//! restarted server takes back, and pruning that keeps resume exact.

use std::sync::Arc;

use sqlx::{any::AnyArguments, Arguments};

use crate::{
    model::LIVE_TOPIC,
    server::{
        events::{
            hub::HubEvent,
            log::{EventLog, LogError, LogFuture},
        },
        store::{fields, late_data, sql, Backend, Store, StoreError},
    },
};

type Row = (i64, String, String, i64, String);

fn event((id, topic, key, at_ms, data): Row) -> Arc<HubEvent> {
    Arc::new(HubEvent::new(u64::try_from(id).unwrap_or_default(), topic, key, at_ms, data))
}

/// Ids are stored as 64-bit integers, which are signed.
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
        self.partitions.ensure(self, events.iter().map(|event| event.at_ms)).await?;
        // A failed commit (a full disk) is rolled back when the transaction is dropped.
        let mut transaction = self.begin_write().await?;
        let created = self.write_batch(&mut transaction, events, lost_through).await?;
        transaction.commit().await?;
        // Only now are the new fields there for everyone.
        self.remember_field_ids(created);
        Ok(())
    }

    /// The samples of `events`, with the ids of their fields; fields seen for
    /// the first time are created inside the batch's transaction, so that no
    /// one ever sees a field without the samples that made it.
    async fn samples(
        &self,
        connection: &mut sqlx::AnyConnection,
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
        connection: &mut sqlx::AnyConnection,
        events: &[Arc<HubEvent>],
        lost_through: Option<u64>,
    ) -> Result<Vec<((String, String), i64)>, StoreError> {
        let mut created = Vec::new();
        let samples = self.samples(connection, events, &mut created).await?;
        // `live` round trips are not history: the in-memory window is all they need.
        let logged: Vec<&Arc<HubEvent>> = events.iter().filter(|e| e.topic != LIVE_TOPIC).collect();
        // One statement per table and chunk, not per row: on one core each statement
        // is a round trip to the database, and they delay every subscriber.
        for chunk in logged.chunks(sql::ROWS_PER_INSERT) {
            let statement = sql::insert_rows(self.backend(), "INSERT INTO event_log (id, topic, key, at_ms, data)", chunk.len(), 5, "");
            let mut insert = sqlx::query(&statement);
            for event in chunk {
                insert = insert.bind(sql_id(event.id)).bind(&event.topic).bind(&event.key).bind(event.at_ms).bind(&event.data);
            }
            insert.execute(&mut *connection).await?;
            let (from_nodes, own): (Vec<&Arc<HubEvent>>, Vec<&Arc<HubEvent>>) = chunk.iter().copied().partition(|event| event.origin.is_some());
            upsert_latest(self.backend(), connection, &own, false).await?;
            upsert_latest(self.backend(), connection, &from_nodes, true).await?;
        }
        insert_samples(self.backend(), connection, &samples).await?;
        let from_nodes: Vec<&Arc<HubEvent>> = events.iter().filter(|e| e.origin.is_some()).collect();
        if !from_nodes.is_empty() {
            late_data::record_results(self.backend(), connection, &from_nodes, &samples).await?;
        }
        // Ids that are not in the log (`live` ones) are recorded, so a restart never issues one again.
        if let Some(newest) = events.last().filter(|_| logged.len() < events.len()) {
            raise_meta(connection, "last_issued", newest.id).await?;
        }
        if let Some(lost) = lost_through {
            raise_meta(connection, "replayable_after", lost).await?;
        }
        Ok(created)
    }

    pub async fn count_events(&self, after: u64, before: u64, topics: &[String], cap: usize) -> Result<usize, StoreError> {
        let filter = range_filter(topics.len());
        let statement = format!("SELECT count(*) FROM (SELECT 1 FROM event_log WHERE {filter} LIMIT ${}) AS page", topics.len() + 3);
        let count: i64 = sqlx::query_scalar_with(&statement, range_arguments(after, before, topics, cap)?).fetch_one(self.pool()).await?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    pub async fn replayable_after(&self) -> Result<u64, StoreError> {
        let value: Option<i64> = sqlx::query_scalar("SELECT value FROM log_meta WHERE name = 'replayable_after'").fetch_optional(self.pool()).await?;
        Ok(value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
    }

    pub async fn read_events(&self, after: u64, before: u64, topics: &[String], limit: usize) -> Result<Vec<Arc<HubEvent>>, StoreError> {
        let filter = range_filter(topics.len());
        let statement = format!("SELECT id, topic, key, at_ms, data FROM event_log WHERE {filter} ORDER BY id LIMIT ${}", topics.len() + 3);
        let rows: Vec<Row> = sqlx::query_as_with(&statement, range_arguments(after, before, topics, limit)?).fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(event).collect())
    }

    /// What a restarted hub needs: the events since `since_ms` (at most
    /// `replay`), the newest `n` of each kept topic, and the latest event
    /// about every key.
    pub async fn events_to_restore(&self, replay: usize, since_ms: i64, kept: &[(String, usize)]) -> Result<Restored, StoreError> {
        let select = "SELECT id, topic, key, at_ms, data FROM event_log";
        let mut rows: Vec<Row> = sqlx::query_as(&format!("{select} WHERE at_ms >= $1 ORDER BY id DESC LIMIT $2"))
            .bind(since_ms)
            .bind(i64::try_from(replay).unwrap_or(i64::MAX))
            .fetch_all(self.pool())
            .await?;
        let window_from = rows.last().and_then(|row| u64::try_from(row.0).ok()).unwrap_or(u64::MAX);
        for (topic, n) in kept {
            let newest: Vec<Row> = sqlx::query_as(&format!("{select} WHERE topic = $1 ORDER BY id DESC LIMIT $2"))
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
            "SELECT max(value) FROM (SELECT max(id) AS value FROM event_log UNION ALL SELECT value FROM log_meta WHERE name = 'last_issued') AS newest",
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
        // A write transaction from the start: the read and the delete must not race the writer's commits.
        let mut transaction = self.begin_write().await?;
        let through: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM event_log WHERE at_ms < $1").bind(before_ms).fetch_one(&mut *transaction).await?;
        let Some(through) = through else { return Ok(0) };
        let deleted = sqlx::query("DELETE FROM event_log WHERE id <= $1").bind(through).execute(&mut *transaction).await?.rows_affected();
        raise_meta(&mut transaction, "replayable_after", u64::try_from(through).unwrap_or_default()).await?;
        transaction.commit().await?;
        Ok(deleted)
    }
}

/// `id > $1 AND id < $2`, and `topic IN ($3, …)` for `topics` of them unless none.
fn range_filter(topics: usize) -> String {
    match topics {
        0 => "id > $1 AND id < $2".to_owned(),
        n => format!("id > $1 AND id < $2 AND topic IN ({})", sql::placeholders(3, n)),
    }
}

/// The values [`range_filter`] and a final LIMIT ask for, in their order.
fn range_arguments(after: u64, before: u64, topics: &[String], limit: usize) -> Result<AnyArguments<'_>, StoreError> {
    let mut arguments = AnyArguments::default();
    let encode = |error| StoreError::Database(sqlx::Error::Encode(error));
    arguments.add(sql_id(after)).map_err(encode)?;
    arguments.add(sql_id(before)).map_err(encode)?;
    for topic in topics {
        arguments.add(topic.as_str()).map_err(encode)?;
    }
    arguments.add(i64::try_from(limit).unwrap_or(i64::MAX)).map_err(encode)?;
    Ok(arguments)
}

/// Makes `events` the latest of their (topic, key); with `only_if_newer`, not
/// where a newer one is there: an agent catching up sends old results late.
async fn upsert_latest(backend: Backend, connection: &mut sqlx::AnyConnection, events: &[&Arc<HubEvent>], only_if_newer: bool) -> Result<(), StoreError> {
    // One row per (topic, key): PostgreSQL refuses to update a row twice in one statement.
    let mut latest: Vec<&Arc<HubEvent>> = Vec::with_capacity(events.len());
    for event in events {
        match latest.iter_mut().find(|kept| kept.topic == event.topic && kept.key == event.key) {
            Some(kept) if !only_if_newer || event.at_ms >= kept.at_ms => *kept = event,
            Some(_) => {}
            None => latest.push(event),
        }
    }
    if latest.is_empty() {
        return Ok(());
    }
    let condition = if only_if_newer { " WHERE excluded.at_ms >= latest_event.at_ms" } else { "" };
    let statement = sql::insert_rows(
        backend,
        "INSERT INTO latest_event (topic, key, id, at_ms, data)",
        latest.len(),
        5,
        &format!(" ON CONFLICT (topic, key) DO UPDATE SET id = excluded.id, at_ms = excluded.at_ms, data = excluded.data{condition}"),
    );
    let mut insert = sqlx::query(&statement);
    for event in latest {
        insert = insert.bind(&event.topic).bind(&event.key).bind(sql_id(event.id)).bind(event.at_ms).bind(&event.data);
    }
    insert.execute(&mut *connection).await?;
    Ok(())
}

/// Inserts raw samples `(field_id, at_ms, event_id, milli)`; one already stored is kept.
pub(super) async fn insert_samples(backend: Backend, connection: &mut sqlx::AnyConnection, samples: &[(i64, i64, i64, i64)]) -> Result<(), StoreError> {
    for chunk in samples.chunks(sql::ROWS_PER_INSERT) {
        let statement = sql::insert_rows(backend, "INSERT INTO sample (field_id, at_ms, event_id, milli)", chunk.len(), 4, " ON CONFLICT DO NOTHING");
        let mut insert = sqlx::query(&statement);
        for &(field_id, at_ms, event_id, milli) in chunk {
            insert = insert.bind(field_id).bind(at_ms).bind(event_id).bind(milli);
        }
        insert.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Sets a `log_meta` value to `value` unless it is already higher.
async fn raise_meta(connection: &mut sqlx::AnyConnection, name: &str, value: u64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO log_meta (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = CASE WHEN excluded.value > log_meta.value THEN excluded.value ELSE log_meta.value END",
    )
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
mod tests;
