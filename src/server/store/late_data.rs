//! Results that arrive late, from agents catching up after an outage: each
//! (node, sequence number) recorded with its event, and the rollup buckets
//! its samples fall in marked stale when they may already be built, then
//! rebuilt from the raw samples so charts and history are complete.

use std::{collections::BTreeSet, sync::Arc};

use crate::server::{
    events::hub::HubEvent,
    store::{
        maintenance::{summarise, ROLLUP_STEPS, SETTLE_S},
        sql, Backend, Store, StoreError,
    },
};

/// Stale buckets one pass rebuilds, so that the write lock is held briefly.
const REBUILT_PER_PASS: i64 = 2000;

/// The buckets of every step a sample at `at_ms` falls in that are complete
/// at `now_ms`, and so may have been rolled up already.
pub fn complete_buckets(at_ms: i64, now_ms: i64) -> impl Iterator<Item = (i64, i64)> {
    let settled_s = now_ms.div_euclid(1000) - SETTLE_S;
    ROLLUP_STEPS.into_iter().filter_map(move |step| {
        let bucket = at_ms.div_euclid(1000 * step);
        ((bucket + 1) * step <= settled_s).then_some((step, bucket))
    })
}

/// Inside an event batch's transaction: the (node, sequence) of each agent
/// result, and the stale buckets of its samples. `samples` are the batch's
/// `(field_id, at_ms, event_id, milli)`.
pub(super) async fn record_results(
    backend: Backend,
    connection: &mut sqlx::AnyConnection,
    from_nodes: &[&Arc<HubEvent>],
    samples: &[(i64, i64, i64, i64)],
) -> Result<(), StoreError> {
    let now_ms = crate::server::clock::now_ms();
    let rows: Vec<(i64, i64, i64)> = from_nodes
        .iter()
        .filter_map(|event| {
            event.origin.map(|origin| (origin.node_id, i64::try_from(origin.seq).unwrap_or(i64::MAX), i64::try_from(event.id).unwrap_or(i64::MAX)))
        })
        .collect();
    for chunk in rows.chunks(sql::ROWS_PER_INSERT) {
        // A plain INSERT: a number stored twice fails the batch rather than be stored twice.
        let statement = sql::insert_rows(backend, "INSERT INTO agent_result (node_id, seq, event_id)", chunk.len(), 3, "");
        let mut insert = sqlx::query(&statement);
        for &(node_id, seq, event_id) in chunk {
            insert = insert.bind(node_id).bind(seq).bind(event_id);
        }
        insert.execute(&mut *connection).await?;
    }
    let from_node_ids: BTreeSet<i64> = rows.iter().map(|(_, _, event_id)| *event_id).collect();
    let stale: BTreeSet<(i64, i64, i64)> = samples
        .iter()
        .filter(|(_, _, event_id, _)| from_node_ids.contains(event_id))
        .flat_map(|&(field_id, at_ms, _, _)| complete_buckets(at_ms, now_ms).map(move |(step, bucket)| (field_id, step, bucket)))
        .collect();
    let stale: Vec<_> = stale.into_iter().collect();
    for chunk in stale.chunks(sql::ROWS_PER_INSERT) {
        let statement = sql::insert_rows(backend, "INSERT INTO rollup_stale (field_id, step_s, bucket)", chunk.len(), 3, " ON CONFLICT DO NOTHING");
        let mut insert = sqlx::query(&statement);
        for &(field_id, step, bucket) in chunk {
            insert = insert.bind(field_id).bind(step).bind(bucket);
        }
        insert.execute(&mut *connection).await?;
    }
    Ok(())
}

impl Store {
    /// Rebuilds rollup buckets that late results changed; how many it rebuilt.
    pub async fn rebuild_stale_rollups(&self) -> Result<u64, StoreError> {
        // One write transaction: no batch can add samples between reading a bucket and writing it back.
        let mut transaction = self.begin_write().await?;
        let rebuilt = rebuild(self.backend(), &mut transaction).await?;
        transaction.commit().await?;
        Ok(rebuilt)
    }
}

/// Rebuilds up to [`REBUILT_PER_PASS`] stale buckets that are already built;
/// the others are left for the rollup's own pass, which reads every sample.
async fn rebuild(backend: Backend, connection: &mut sqlx::AnyConnection) -> Result<u64, StoreError> {
    let stale: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT s.field_id, s.step_s, s.bucket FROM rollup_stale s JOIN rollup_progress p ON p.step_s = s.step_s \
         WHERE (s.bucket + 1) * s.step_s <= p.done_until_s LIMIT $1",
    )
    .bind(REBUILT_PER_PASS)
    .fetch_all(&mut *connection)
    .await?;
    for &(field_id, step, bucket) in &stale {
        let mut values: Vec<i64> = sqlx::query_scalar("SELECT milli FROM sample WHERE field_id = $1 AND at_ms >= $2 AND at_ms < $3")
            .bind(field_id)
            .bind(bucket * step * 1000)
            .bind((bucket + 1) * step * 1000)
            .fetch_all(&mut *connection)
            .await?;
        match summarise(&mut values) {
            Some(s) => {
                sqlx::query(&sql::insert_rows(backend, "INSERT INTO rollup (field_id, step_s, bucket, n, min, mean, max, p95)", 1, 8, sql::REPLACE_ROLLUP))
                    .bind(field_id)
                    .bind(step)
                    .bind(bucket)
                    .bind(s.n)
                    .bind(s.min)
                    .bind(s.mean)
                    .bind(s.max)
                    .bind(s.p95)
                    .execute(&mut *connection)
                    .await?;
            }
            // Retention dropped the samples meanwhile: the bucket goes too.
            None => {
                sqlx::query("DELETE FROM rollup WHERE field_id = $1 AND step_s = $2 AND bucket = $3")
                    .bind(field_id)
                    .bind(step)
                    .bind(bucket)
                    .execute(&mut *connection)
                    .await?;
            }
        }
        sqlx::query("DELETE FROM rollup_stale WHERE field_id = $1 AND step_s = $2 AND bucket = $3")
            .bind(field_id)
            .bind(step)
            .bind(bucket)
            .execute(&mut *connection)
            .await?;
    }
    Ok(stale.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_buckets_that_ended_and_settled_are_stale() {
        let now_ms = 10_000 * 1000;
        // Ten seconds ago: its minute is still open.
        assert_eq!(complete_buckets(now_ms - 10_000, now_ms).count(), 0);
        // Two hours ago: every step's bucket ended.
        let steps: Vec<i64> = complete_buckets(now_ms - 7_200_000, now_ms).map(|(step, _)| step).collect();
        assert_eq!(steps, ROLLUP_STEPS);
        // A minute that ended 3 s ago has not settled (5 s); one that ended 6 s ago has.
        let minute_end_ms = 9_960 * 1000;
        assert_eq!(complete_buckets(minute_end_ms - 1, minute_end_ms + 3_000).count(), 0);
        assert_eq!(complete_buckets(minute_end_ms - 1, minute_end_ms + 6_000).next(), Some((60, 9_960 / 60 - 1)));
    }
}
