//! Alerts in the store: the outbox that holds each notification until it is
//! delivered or expires, and the delivery log; incidents are in `incidents`.

use serde::{Deserialize, Serialize};

use crate::{
    model::alert::Delivery,
    server::store::{Store, StoreError},
};

/// What a notification says, kept with it so a digest can be built from several.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub kind: String,
    pub label: String,
    pub unit: String,
    pub node: String,
    pub at_ms: i64,
    /// NaN when there is none (a reminder before any judged sample); JSON has no NaN and stores null.
    #[serde(deserialize_with = "number_or_nan")]
    pub value: f64,
    pub worst: Option<f64>,
    pub started_ms: Option<i64>,
    pub threshold: Option<f64>,
    /// Lower values are the worse ones (a `<` rule).
    pub lower_is_worse: bool,
}

fn number_or_nan<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// A notification to store.
#[derive(Clone, Debug)]
pub struct NewNotification {
    pub delivery_id: String,
    pub channel: String,
    pub rule: String,
    pub subject: String,
    pub title: String,
    pub message: String,
    pub facts: Facts,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// A stored notification that is due.
#[derive(Clone, Debug)]
pub struct Queued {
    pub id: i64,
    pub delivery_id: String,
    pub channel: String,
    pub rule: String,
    pub subject: String,
    pub title: String,
    pub message: String,
    pub facts: Facts,
    pub attempts: i64,
    pub expires_ms: i64,
}

type QueuedRow = (i64, String, String, String, String, String, String, String, i64, i64);
type DeliveryRow = (String, String, String, i64, String, Option<String>, i64);

impl Store {
    /// Stores a notification. One that joins others still waiting for the same
    /// channel, rule and subject waits with them, so they go out together, in order.
    pub async fn enqueue(&self, notification: &NewNotification) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO alert_outbox (delivery_id, channel, rule, subject, kind, title, message, facts, created_ms, next_attempt_ms, expires_ms, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT max(at) FROM (SELECT $10 AS at UNION ALL SELECT next_attempt_ms FROM alert_outbox \
             WHERE status = 'pending' AND channel = $2 AND rule = $3 AND subject = $4) AS waiting), $11, 'pending')",
        )
        .bind(&notification.delivery_id)
        .bind(&notification.channel)
        .bind(&notification.rule)
        .bind(&notification.subject)
        .bind(&notification.facts.kind)
        .bind(&notification.title)
        .bind(&notification.message)
        .bind(serde_json::to_string(&notification.facts).unwrap_or_default())
        .bind(notification.created_ms)
        .bind(notification.created_ms)
        .bind(notification.expires_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Pending notifications due by `now_ms`, oldest first, with every other
    /// pending one of the same channel, rule and subject: they go out together.
    pub async fn due_notifications(&self, now_ms: i64, limit: i64) -> Result<Vec<Queued>, StoreError> {
        let rows: Vec<QueuedRow> = sqlx::query_as(
            "SELECT id, delivery_id, channel, rule, subject, title, message, facts, attempts, expires_ms FROM alert_outbox \
             WHERE status = 'pending' AND (channel, rule, subject) IN \
             (SELECT channel, rule, subject FROM alert_outbox WHERE status = 'pending' AND next_attempt_ms <= $1) ORDER BY id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut due = Vec::with_capacity(rows.len());
        for (id, delivery_id, channel, rule, subject, title, message, facts, attempts, expires_ms) in rows {
            match serde_json::from_str(&facts) {
                Ok(facts) => due.push(Queued { id, delivery_id, channel, rule, subject, title, message, facts, attempts, expires_ms }),
                // A row that cannot be read would be due forever: it fails, with the reason, instead.
                Err(err) => {
                    sqlx::query("UPDATE alert_outbox SET status = 'failed', last_error = $1, done_ms = $2 WHERE id = $3")
                        .bind(format!("the stored notification cannot be read: {err}"))
                        .bind(now_ms)
                        .bind(id)
                        .execute(self.pool())
                        .await?;
                }
            }
        }
        Ok(due)
    }

    /// When the next pending notification is due, if any is.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT min(next_attempt_ms) FROM alert_outbox WHERE status = 'pending'").fetch_one(self.pool()).await?)
    }

    /// Records one attempt that carried `ids` under `delivery_id`: the rows end
    /// as `status` (`sent`, `merged`, `failed`, `expired`), or stay pending
    /// until `retry_at_ms`. One transaction, so a crash leaves no half record.
    pub async fn record_attempt(&self, attempt: &Attempt<'_>) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (index, id) in attempt.ids.iter().enumerate() {
            let status = match (attempt.retry_at_ms, index) {
                (Some(_), _) => "pending",
                (None, 0) => attempt.outcome,
                // The rest of a delivered digest went out inside the first.
                (None, _) if attempt.outcome == "sent" => "merged",
                (None, _) => attempt.outcome,
            };
            sqlx::query(
                "UPDATE alert_outbox SET attempts = attempts + 1, status = $1, last_error = $2, next_attempt_ms = coalesce($3, next_attempt_ms), \
                 done_ms = CASE WHEN $4 = 'pending' THEN NULL ELSE $5 END WHERE id = $6",
            )
            .bind(status)
            .bind(attempt.error)
            .bind(attempt.retry_at_ms)
            .bind(status)
            .bind(attempt.at_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        let outcome = if attempt.retry_at_ms.is_some() { "retry" } else { attempt.outcome };
        sqlx::query("INSERT INTO alert_delivery (delivery_id, channel, rule, at_ms, outcome, error, notifications) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(attempt.delivery_id)
            .bind(attempt.channel)
            .bind(attempt.rule)
            .bind(attempt.at_ms)
            .bind(outcome)
            .bind(attempt.error)
            .bind(i64::try_from(attempt.ids.len()).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets finished notifications, delivery attempts and ended silences from
    /// before `before_ms`, and incidents that ended before `incidents_before_ms`.
    pub async fn prune_alerts(&self, before_ms: i64, incidents_before_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM alert_outbox WHERE status <> 'pending' AND done_ms < $1").bind(before_ms).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM alert_delivery WHERE at_ms < $1").bind(before_ms).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM alert_silence WHERE ends_ms < $1").bind(before_ms).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM alert_incident WHERE ended_ms < $1").bind(incidents_before_ms).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest delivery attempts, newest first.
    pub async fn deliveries(&self, limit: i64) -> Result<Vec<Delivery>, StoreError> {
        let rows: Vec<DeliveryRow> =
            sqlx::query_as("SELECT delivery_id, channel, rule, at_ms, outcome, error, notifications FROM alert_delivery ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(delivery_id, channel, rule, at_ms, outcome, error, notifications)| Delivery {
                delivery_id,
                channel,
                rule,
                at_ms,
                outcome,
                error,
                notifications,
            })
            .collect())
    }
}

/// One delivery attempt, as `record_attempt` stores it.
pub struct Attempt<'a> {
    pub ids: &'a [i64],
    pub delivery_id: &'a str,
    pub channel: &'a str,
    pub rule: &'a str,
    pub at_ms: i64,
    pub outcome: &'a str,
    pub error: Option<&'a str>,
    /// Set when the attempt failed and will be tried again then.
    pub retry_at_ms: Option<i64>,
}

mod incidents;

pub use incidents::Decided;

#[cfg(test)]
mod tests;
