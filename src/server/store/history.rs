//! Reading history: picks raw samples or a rollup so that any range comes back
//! as about [`CHART_POINTS`] points (at most [`MAX_POINTS`] when a step is
//! asked for), and merges buckets to the step.

use std::collections::BTreeMap;

pub use crate::model::{History, HistoryPoint, HistoryStats as Stats};
use crate::server::store::{
    fields::from_milli,
    maintenance::{summarise, Retention, Summary, HOUR, MINUTE, ROLLUP_STEPS, TEN_MINUTES},
    sql, Store, StoreError,
};

/// The most points one answer carries.
pub const MAX_POINTS: i64 = 5000;

/// The most points an answer without a step carries: about one per pixel of
/// a wide chart. More would be invisible and cost time to read and send.
pub const CHART_POINTS: i64 = 1500;

/// Bucket widths an answer may use, in seconds. Each is a multiple of a
/// rollup step, so a bucket merges whole rollup buckets, and past a minute
/// each merges at most three, so a range reads few rows.
const STEPS: &[i64] = &[60, 600, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800];

#[derive(Clone, Debug)]
pub struct HistoryRequest {
    pub series: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Bucket width in seconds; chosen from the range when absent.
    pub step_s: Option<i64>,
}

impl From<Summary> for Stats {
    fn from(s: Summary) -> Self {
        Self { n: s.n, min: from_milli(s.min), mean: from_milli(s.mean), max: from_milli(s.max), p95: from_milli(s.p95) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Raw,
    Rollup(i64),
}

/// The coarsest rollup whose buckets tile `step_s` (a whole number of minutes).
fn rollup_for_step(step_s: i64) -> i64 {
    ROLLUP_STEPS.iter().rev().copied().find(|rollup| step_s % rollup == 0).unwrap_or(MINUTE)
}

/// The smallest listed step that keeps a span within [`CHART_POINTS`].
pub fn step_for_span(span_s: i64) -> i64 {
    let needed = (span_s + CHART_POINTS - 1) / CHART_POINTS;
    STEPS.iter().copied().find(|&step| step >= needed).unwrap_or_else(|| (needed + 86_399) / 86_400 * 86_400)
}

impl Store {
    /// The field ids and names recorded for a series, by name.
    pub async fn series_fields(&self, series: &str) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT id, name FROM field WHERE series = $1 ORDER BY id").bind(series).fetch_all(self.pool()).await?)
    }

    pub async fn history(&self, request: &HistoryRequest, retention: Retention, now_ms: i64) -> Result<History, StoreError> {
        let fields = self.series_fields(&request.series).await?;
        let span_s = ((request.to_ms - request.from_ms + 999) / 1000).max(1);
        let raw_kept_from = now_ms - retention.raw.as_millis() as i64;
        let minutes_kept_from = now_ms - retention.minute.as_millis() as i64;
        let (source, step_s) = match request.step_s {
            Some(step) if step < MINUTE => (Source::Raw, step),
            Some(step) => (Source::Rollup(rollup_for_step(step)), step),
            None => {
                let raw_fits = match fields.first() {
                    Some((field_id, _)) if request.from_ms >= raw_kept_from => {
                        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM sample WHERE field_id = $1 AND at_ms >= $2 AND at_ms < $3")
                            .bind(field_id)
                            .bind(request.from_ms)
                            .bind(request.to_ms)
                            .fetch_one(self.pool())
                            .await?;
                        count <= CHART_POINTS
                    }
                    _ => false,
                };
                if raw_fits {
                    (Source::Raw, 0)
                } else {
                    let step = step_for_span(span_s);
                    // Minute and ten-minute rollups share a retention period.
                    let rollup = if request.from_ms < minutes_kept_from { HOUR } else { rollup_for_step(step) };
                    (Source::Rollup(rollup), step.max(rollup))
                }
            }
        };
        // Keyed by time and, for raw samples, the event: two events in one
        // millisecond are two points.
        let mut points: BTreeMap<(i64, i64), BTreeMap<String, Stats>> = BTreeMap::new();
        // How far the rollup is built is the same for every field: read it once.
        let rolled_until_s = match source {
            Source::Rollup(rollup) => self.rolled_up_until(rollup).await?,
            Source::Raw => None,
        };
        for (field_id, name) in &fields {
            for (key, stats) in self.field_points(*field_id, source, step_s, rolled_until_s, request).await? {
                points.entry(key).or_default().insert(name.clone(), stats);
            }
        }
        Ok(History {
            series: request.series.clone(),
            source: match source {
                Source::Raw => "raw",
                Source::Rollup(MINUTE) => "1m",
                Source::Rollup(TEN_MINUTES) => "10m",
                Source::Rollup(_) => "1h",
            }
            .to_owned(),
            step_s,
            from_ms: request.from_ms,
            to_ms: request.to_ms,
            fields: fields.into_iter().map(|(_, name)| name).collect(),
            points: points.into_iter().map(|((t, _), values)| HistoryPoint { t, values }).collect(),
        })
    }

    /// One field's points, keyed by (time, event id) for raw samples and (time, 0) for buckets.
    async fn field_points(
        &self,
        field_id: i64,
        source: Source,
        step_s: i64,
        rolled_until_s: Option<i64>,
        request: &HistoryRequest,
    ) -> Result<Vec<((i64, i64), Stats)>, StoreError> {
        let raw = |from_ms: i64| async move {
            let json: String = sqlx::query_scalar(&sql::as_json_array(
                self.backend(),
                "SELECT at_ms, event_id, milli FROM sample WHERE field_id = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms, event_id",
                "at_ms, event_id, milli",
            ))
            .bind(field_id)
            .bind(from_ms)
            .bind(request.to_ms)
            .fetch_one(self.pool())
            .await?;
            let mut rows: Vec<(i64, i64, i64)> = parse_rows(&json)?;
            rows.sort_unstable();
            Ok::<_, StoreError>(rows)
        };
        match source {
            Source::Raw if step_s == 0 => Ok(raw(request.from_ms).await?.into_iter().map(|(at, event, milli)| ((at, event), single(milli))).collect()),
            Source::Raw => Ok(bucket_raw(raw(request.from_ms).await?, step_s)),
            Source::Rollup(rollup) => {
                // Rolled-up buckets merged to the step in SQL; p95 of a merged
                // bucket is the largest of its parts' p95, an upper bound.
                let done_s = rolled_until_s.unwrap_or(i64::MIN / 2_000);
                // Buckets from the one holding `done_s` on come from raw samples, not rolled up yet.
                let width_ms = step_s * 1000;
                let tail_from = (done_s * 1000).div_euclid(width_ms) * width_ms;
                let rolled_until_ms = tail_from.clamp(request.from_ms, request.to_ms);
                let per = step_s / rollup;
                // Buckets that are rollup buckets as they stand need no grouping.
                let statement = if per <= 1 {
                    "SELECT bucket AS b, n, min, mean * 1.0 AS mean, max, p95 FROM rollup \
                     WHERE $1 = $1 AND field_id = $2 AND step_s = $3 AND bucket >= $4 AND bucket < $5 ORDER BY bucket"
                } else {
                    "SELECT bucket / $1 * $1 AS b, sum(n) AS n, min(min) AS min, sum(mean * 1.0 * n) / sum(n) AS mean, max(max) AS max, max(p95) AS p95 \
                     FROM rollup WHERE field_id = $2 AND step_s = $3 AND bucket >= $4 AND bucket < $5 GROUP BY bucket / $1 ORDER BY 1"
                };
                let json: String = sqlx::query_scalar(&sql::as_json_array(self.backend(), statement, "b, n, min, mean, max, p95"))
                    .bind(per.max(1))
                    .bind(field_id)
                    .bind(rollup)
                    .bind(request.from_ms.div_euclid(1000 * rollup))
                    .bind(rolled_until_ms.div_euclid(1000 * rollup))
                    .fetch_one(self.pool())
                    .await?;
                let mut rows: Vec<(i64, i64, i64, f64, i64, i64)> = parse_rows(&json)?;
                rows.sort_unstable_by_key(|row| row.0);
                let mut points: Vec<((i64, i64), Stats)> = rows
                    .into_iter()
                    .map(|(bucket, n, min, mean, max, p95)| {
                        let stats = Stats { n, min: from_milli(min), mean: (mean.round()) / 1000.0, max: from_milli(max), p95: from_milli(p95) };
                        ((bucket * rollup * 1000, 0), stats)
                    })
                    .collect();
                if rolled_until_ms < request.to_ms {
                    points.extend(bucket_raw(raw(rolled_until_ms).await?, step_s));
                }
                Ok(points)
            }
        }
    }
}

fn parse_rows<T: serde::de::DeserializeOwned>(json: &str) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(json).map_err(|err| StoreError::Corrupt(format!("history rows did not parse: {err}")))
}

fn single(milli: i64) -> Stats {
    let v = from_milli(milli);
    Stats { n: 1, min: v, mean: v, max: v, p95: v }
}

/// Summarises raw samples `(at_ms, event, milli)`, ordered by time, into buckets of `step_s`.
fn bucket_raw(samples: Vec<(i64, i64, i64)>, step_s: i64) -> Vec<((i64, i64), Stats)> {
    let width = step_s.max(1) * 1000;
    let mut out = Vec::new();
    let mut values = Vec::new();
    let mut current: Option<i64> = None;
    for (at_ms, _, milli) in samples.into_iter().map(Some).chain(std::iter::once(None)).map(|s| s.unwrap_or((i64::MAX, 0, 0))) {
        let bucket = at_ms.div_euclid(width) * width;
        if let Some(start) = current.filter(|&c| c != bucket) {
            if let Some(summary) = summarise(&mut values) {
                out.push(((start, 0), summary.into()));
            }
            values.clear();
        }
        current = Some(bucket);
        values.push(milli);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_keep_every_dashboard_range_under_the_point_limit() {
        for (span, expected) in [(86_400, 60), (7 * 86_400, 600), (30 * 86_400, 1800), (365 * 86_400, 21_600)] {
            let step = step_for_span(span);
            assert_eq!(step, expected, "span {span}");
            assert!(span / step <= CHART_POINTS);
        }
    }

    #[test]
    fn each_step_reads_the_coarsest_rollup_that_tiles_it() {
        assert_eq!([60, 120, 600, 1800, 3600, 7200, 5400].map(rollup_for_step), [MINUTE, MINUTE, TEN_MINUTES, TEN_MINUTES, HOUR, HOUR, TEN_MINUTES]);
        assert!(STEPS.iter().all(|&step| step % rollup_for_step(step) == 0));
    }

    #[test]
    fn raw_samples_are_bucketed_by_step() {
        let samples = vec![(0, 1, 1000), (30_000, 2, 3000), (60_000, 3, 5000), (150_000, 4, 7000)];
        let points = bucket_raw(samples, 60);
        assert_eq!(points.iter().map(|((t, _), _)| *t).collect::<Vec<_>>(), [0, 60_000, 120_000]);
        assert_eq!(points[0].1, Stats { n: 2, min: 1.0, mean: 2.0, max: 3.0, p95: 3.0 });
        assert!(bucket_raw(Vec::new(), 60).is_empty());
    }
}
