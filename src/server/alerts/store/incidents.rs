//! Incidents in the store: opened when a rule fires, updated while it lasts,
//! closed when it ends, and read back a page at a time.

use crate::{
    model::alert::{AlertSample, Incident},
    server::store::{Store, StoreError},
};

type IncidentRow = (i64, String, String, i64, i64, Option<i64>, String, Option<f64>, Option<f64>, String);

/// What decided an incident: its worst value so far, the threshold, the samples judged.
pub struct Decided<'a> {
    pub worst: Option<f64>,
    pub threshold: Option<f64>,
    pub samples: &'a [AlertSample],
}

impl Store {
    /// Opens an incident, unless one is open for this rule and subject already.
    pub async fn open_incident(&self, rule: &str, subject: &str, started_ms: i64, fired_ms: i64, decided: &Decided<'_>) -> Result<(), StoreError> {
        let samples = serde_json::to_string(decided.samples).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO alert_incident (rule, subject, started_ms, fired_ms, state, worst, threshold, samples) \
             SELECT $1, $2, $3, $4, 'firing', $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM alert_incident WHERE rule = $1 AND subject = $2 AND ended_ms IS NULL)",
        )
        .bind(rule)
        .bind(subject)
        .bind(started_ms)
        .bind(fired_ms)
        .bind(decided.worst.filter(|w| w.is_finite()))
        .bind(decided.threshold)
        .bind(samples)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets the open incident's state (and its end, when it is over); the
    /// start of the incident it changed, if one was open.
    pub async fn update_incident(&self, rule: &str, subject: &str, state: &str, worst: Option<f64>, ended_ms: Option<i64>) -> Result<Option<i64>, StoreError> {
        let started: Option<(i64,)> = sqlx::query_as(
            "UPDATE alert_incident SET state = $1, worst = coalesce($2, worst), ended_ms = $3 WHERE rule = $4 AND subject = $5 AND ended_ms IS NULL RETURNING started_ms",
        )
        .bind(state)
        .bind(worst)
        .bind(ended_ms)
        .bind(rule)
        .bind(subject)
        .fetch_optional(self.pool())
        .await?;
        Ok(started.map(|(ms,)| ms))
    }

    /// Incidents still open: what a restarted evaluator resumes as firing.
    pub async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let rows: Vec<IncidentRow> = sqlx::query_as(
            "SELECT id, rule, subject, started_ms, fired_ms, ended_ms, state, worst, threshold, samples FROM alert_incident WHERE ended_ms IS NULL ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|row| incident(row, crate::server::clock::now_ms())).collect())
    }

    /// Incidents that overlap `from_ms..to_ms`, newest first, at most `limit`.
    pub async fn incidents(&self, from_ms: i64, to_ms: i64, limit: i64) -> Result<Vec<Incident>, StoreError> {
        let rows: Vec<IncidentRow> = sqlx::query_as(
            "SELECT id, rule, subject, started_ms, fired_ms, ended_ms, state, worst, threshold, samples FROM alert_incident \
             WHERE started_ms < $1 AND coalesce(ended_ms, $2) >= $3 ORDER BY started_ms DESC, id DESC LIMIT $4",
        )
        .bind(to_ms)
        .bind(i64::MAX)
        .bind(from_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let now = crate::server::clock::now_ms();
        Ok(rows.into_iter().map(|row| incident(row, now)).collect())
    }

    /// A page of incidents, newest first: those that started before `to_ms`, or
    /// at `to_ms` with an id below `before_id`, so that incidents with the same
    /// start are never skipped between pages.
    pub async fn incidents_before(&self, to_ms: i64, before_id: i64, limit: i64) -> Result<Vec<Incident>, StoreError> {
        let rows: Vec<IncidentRow> = sqlx::query_as(
            "SELECT id, rule, subject, started_ms, fired_ms, ended_ms, state, worst, threshold, samples FROM alert_incident \
             WHERE started_ms < $1 OR (started_ms = $1 AND id < $2) ORDER BY started_ms DESC, id DESC LIMIT $3",
        )
        .bind(to_ms)
        .bind(before_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let now = crate::server::clock::now_ms();
        Ok(rows.into_iter().map(|row| incident(row, now)).collect())
    }
}

fn incident((id, rule, subject, started_ms, fired_ms, ended_ms, state, worst, threshold, samples): IncidentRow, now_ms: i64) -> Incident {
    Incident {
        id,
        rule,
        subject,
        started_ms,
        fired_ms,
        ended_ms,
        duration_ms: ended_ms.unwrap_or(now_ms).saturating_sub(started_ms),
        state,
        worst,
        threshold,
        samples: serde_json::from_str(&samples).unwrap_or_default(),
    }
}
