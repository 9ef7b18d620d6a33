//! Keeping the store small and fast: per-minute, per-ten-minute and per-hour
//! rollups built incrementally from raw samples, and retention that drops what
//! is past its period.

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::server::{
    clock::now_ms,
    store::{sql, Backend, Store, StoreError},
};

/// The rollup steps, in seconds. Ten-minute buckets let a 30-day chart read
/// a tenth of the rows the minute buckets would need.
pub const MINUTE: i64 = 60;
pub const TEN_MINUTES: i64 = 600;
pub const HOUR: i64 = 3600;
pub const ROLLUP_STEPS: [i64; 3] = [MINUTE, TEN_MINUTES, HOUR];

/// A bucket is built this long after it ends, so samples stamped at its end are in.
pub(crate) const SETTLE_S: i64 = 5;

/// Most of the backlog one pass builds, so that catching up after a long
/// stop never holds the write lock for long.
fn max_catch_up_s(step: i64) -> i64 {
    if step == MINUTE {
        86_400
    } else {
        30 * 86_400
    }
}

/// How long each kind of row is kept.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub raw: Duration,
    /// Minute and ten-minute rollups.
    pub minute: Duration,
    pub hour: Duration,
    /// Events kept in the log for resuming clients.
    pub event_log: Duration,
}

/// One bucket's figures, in thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub n: i64,
    pub min: i64,
    pub mean: i64,
    pub max: i64,
    pub p95: i64,
}

/// Summarises raw values; `p95` is the nearest-rank 95th percentile.
pub fn summarise(values: &mut [i64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    let sum: i128 = values.iter().map(|&v| v as i128).sum();
    let rank = (n * 95).div_ceil(100).max(1);
    Some(Summary { n: n as i64, min: values[0], mean: (sum as f64 / n as f64).round() as i64, max: values[n - 1], p95: values[rank - 1] })
}

impl Store {
    /// Builds complete buckets of every rollup step not built yet, up to a
    /// bounded amount; true once everything complete at `now_ms` is built.
    pub async fn roll_up(&self, now_ms: i64) -> Result<bool, StoreError> {
        let mut caught_up = true;
        for step in ROLLUP_STEPS {
            caught_up &= self.roll_up_step(step, now_ms).await?;
        }
        // Buckets that late results from agents changed after they were built.
        caught_up &= self.rebuild_stale_rollups().await? == 0;
        Ok(caught_up)
    }

    async fn roll_up_step(&self, step: i64, now_ms: i64) -> Result<bool, StoreError> {
        let field_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM field").fetch_all(self.pool()).await?;
        let done: Option<i64> = sqlx::query_scalar("SELECT done_until_s FROM rollup_progress WHERE step_s = $1").bind(step).fetch_optional(self.pool()).await?;
        let from_s = match done {
            Some(done) => done,
            None => {
                let mut first: Option<i64> = None;
                for field_id in &field_ids {
                    let at: Option<i64> = sqlx::query_scalar("SELECT min(at_ms) FROM sample WHERE field_id = $1").bind(field_id).fetch_one(self.pool()).await?;
                    first = match (first, at) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                match first {
                    Some(at_ms) => at_ms.div_euclid(1000 * step) * step,
                    None => return Ok(true),
                }
            }
        };
        let complete_s = (now_ms / 1000 - SETTLE_S).div_euclid(step) * step;
        let until_s = complete_s.min(from_s + max_catch_up_s(step));
        if until_s <= from_s {
            return Ok(true);
        }
        let mut rows = Vec::new();
        for field_id in field_ids {
            let samples: Vec<(i64, i64)> = sqlx::query_as("SELECT at_ms, milli FROM sample WHERE field_id = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms")
                .bind(field_id)
                .bind(from_s * 1000)
                .bind(until_s * 1000)
                .fetch_all(self.pool())
                .await?;
            let mut bucket_values = Vec::new();
            let mut current = None;
            for (at_ms, milli) in samples.into_iter().chain(std::iter::once((i64::MAX, 0))) {
                let bucket = at_ms.div_euclid(1000 * step);
                if current.is_some_and(|c| c != bucket) {
                    if let Some(summary) = summarise(&mut bucket_values) {
                        rows.push((field_id, current.unwrap_or_default(), summary));
                    }
                    bucket_values.clear();
                }
                current = Some(bucket);
                bucket_values.push(milli);
            }
        }
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO rollup_progress (step_s, done_until_s) VALUES ($1, $2) ON CONFLICT (step_s) DO UPDATE SET done_until_s = excluded.done_until_s",
        )
        .bind(step)
        .bind(until_s)
        .execute(&mut *tx)
        .await?;
        for chunk in rows.chunks(sql::ROWS_PER_INSERT) {
            let statement =
                sql::insert_rows(self.backend(), "INSERT INTO rollup (field_id, step_s, bucket, n, min, mean, max, p95)", chunk.len(), 8, sql::REPLACE_ROLLUP);
            let mut insert = sqlx::query(&statement);
            for (field_id, bucket, s) in chunk {
                insert = insert.bind(*field_id).bind(step).bind(*bucket).bind(s.n).bind(s.min).bind(s.mean).bind(s.max).bind(s.p95);
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(until_s == complete_s)
    }

    /// How far the rollups of `step` are built, in unix seconds.
    pub async fn rolled_up_until(&self, step: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT done_until_s FROM rollup_progress WHERE step_s = $1").bind(step).fetch_optional(self.pool()).await?)
    }

    /// Deletes rows past their retention; raw samples not yet rolled up are kept.
    pub async fn apply_retention(&self, now_ms: i64, retention: Retention) -> Result<u64, StoreError> {
        let mut rolled = i64::MAX;
        for step in ROLLUP_STEPS {
            rolled = rolled.min(self.rolled_up_until(step).await?.unwrap_or(0) * 1000);
        }
        let raw_before = (now_ms - retention.raw.as_millis() as i64).min(rolled);
        let bucket_before = |kept: Duration, step: i64| (now_ms / 1000 - kept.as_secs() as i64).div_euclid(step);
        let rollups_before = [
            (MINUTE, bucket_before(retention.minute, MINUTE)),
            (TEN_MINUTES, bucket_before(retention.minute, TEN_MINUTES)),
            (HOUR, bucket_before(retention.hour, HOUR)),
        ];
        // On PostgreSQL whole days go at once, and rows are deleted one by one only in the default partition.
        let mut deleted = self.partitions.drop_before(self, raw_before).await?;
        let samples = match self.backend() {
            Backend::Sqlite => "sample",
            Backend::Postgres => "sample_default",
        };
        let field_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM field").fetch_all(self.pool()).await?;
        // Field by field, so each delete is a range of the primary key.
        for field_id in field_ids {
            deleted += sqlx::query(&format!("DELETE FROM {samples} WHERE field_id = $1 AND at_ms < $2"))
                .bind(field_id)
                .bind(raw_before)
                .execute(self.pool())
                .await?
                .rows_affected();
            for (step, before) in rollups_before {
                deleted += sqlx::query("DELETE FROM rollup WHERE field_id = $1 AND step_s = $2 AND bucket < $3")
                    .bind(field_id)
                    .bind(step)
                    .bind(before)
                    .execute(self.pool())
                    .await?
                    .rows_affected();
            }
        }
        Ok(deleted)
    }

    /// Deletes custom topics whose latest event is older than `before_ms`,
    /// and fields with no samples or rollups left; returns the topics. The
    /// writer creates fields inside the transaction of their first samples and
    /// looks cached ids up inside its own: forgetting the cache before and
    /// after the delete means it never writes under an id just deleted.
    pub async fn collect_orphans(&self, before_ms: i64) -> Result<Vec<String>, StoreError> {
        let builtin: Vec<String> = crate::model::BUILTIN_TOPICS.iter().map(|t| t.to_string()).collect();
        let statement = format!("DELETE FROM latest_event WHERE at_ms < $1 AND topic NOT IN ({}) RETURNING topic", sql::placeholders(2, builtin.len()));
        let query = builtin.iter().fold(sqlx::query_scalar(&statement).bind(before_ms), |query, topic| query.bind(topic));
        let mut topics: Vec<String> = query.fetch_all(self.pool()).await?;
        topics.sort();
        topics.dedup();
        // Inside the write lock, so no batch is writing under a cached id meanwhile.
        let mut transaction = self.begin_write().await?;
        self.forget_field_ids();
        sqlx::query(
            "DELETE FROM field WHERE NOT EXISTS (SELECT 1 FROM sample WHERE field_id = field.id)
             AND NOT EXISTS (SELECT 1 FROM rollup WHERE field_id = field.id)",
        )
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        self.forget_field_ids();
        Ok(topics)
    }
}

/// Called with the custom topics whose last event is past raw retention and
/// that the store has collected, so the hub forgets them too.
pub type OnCollected = Box<dyn Fn(&[String]) + Send + Sync>;

/// Every minute until shutdown: roll up, apply retention, prune the event log
/// and the alert tables, and collect orphaned fields and topics. Failures are logged and retried on
/// the next pass; they never stop the server.
pub async fn run(store: Arc<Store>, retention: Retention, on_collected: OnCollected, shutdown: CancellationToken) {
    crate::server::schedule::every(Duration::from_secs(60), &shutdown, || {
        let (store, shutdown, on_collected) = (store.clone(), shutdown.clone(), &on_collected);
        async move {
            let now = now_ms();
            let outcome = async {
                while !store.roll_up(now).await? && !shutdown.is_cancelled() {}
                store.apply_retention(now, retention).await?;
                store.prune_event_log(now.saturating_sub(millis(retention.event_log))).await?;
                // The outbox and delivery log as long as raw samples, incidents as long as hourly history.
                store.prune_alerts(now.saturating_sub(millis(retention.raw)), now.saturating_sub(millis(retention.hour))).await?;
                let collected = store.collect_orphans(now.saturating_sub(millis(retention.raw))).await?;
                if !collected.is_empty() {
                    tracing::info!(topics = ?collected, "custom topics past retention collected");
                    on_collected(&collected);
                }
                Ok::<_, StoreError>(())
            };
            if let Err(err) = outcome.await {
                tracing::warn!(%err, "history maintenance failed; retrying in a minute");
            }
        }
    })
    .await;
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_bucket() {
        let mut values: Vec<i64> = (1..=100).rev().collect();
        let s = summarise(&mut values).unwrap();
        assert_eq!((s.n, s.min, s.max, s.mean, s.p95), (100, 1, 100, 51, 95));
        assert_eq!(summarise(&mut [7]).unwrap(), Summary { n: 1, min: 7, mean: 7, max: 7, p95: 7 });
        assert_eq!(summarise(&mut []), None);
        // Nearest rank: of 3 values the 95th percentile is the largest.
        assert_eq!(summarise(&mut [1, 2, 3]).unwrap().p95, 3);
    }
}
