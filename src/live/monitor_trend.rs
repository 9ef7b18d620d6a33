//! A monitor's recent record in fixed time buckets: uptime and mean response
//! time, loaded from history and kept current by live checks. It feeds the
//! monitor table's uptime strip and response-time sparkline.

use crate::{
    live::range::TimeRange,
    model::{History, ProbeResult},
};

/// How many buckets a strip has at least; few enough to tell apart on a phone.
const BUCKETS: i64 = 48;

/// One bucket of checks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrendBucket {
    /// Start, in ms since the Unix epoch.
    pub t: i64,
    pub checks: u32,
    pub up: u32,
    /// Mean response time of the checks that measured one.
    pub response_ms: Option<f64>,
    responses: u32,
}

impl TrendBucket {
    pub fn uptime(&self) -> Option<f64> {
        (self.checks > 0).then(|| f64::from(self.up) / f64::from(self.checks))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MonitorTrend {
    pub span_ms: i64,
    pub step_ms: i64,
    /// Oldest first, no two with the same start.
    pub buckets: Vec<TrendBucket>,
    /// The newest check taken in, so a replayed check is not counted twice.
    newest_ms: i64,
}

/// The span a monitor's strip covers for a dashboard range: Live shows 24 h.
pub fn trend_span_ms(range: TimeRange) -> i64 {
    range.span_ms().unwrap_or(86_400_000)
}

/// The widest bucket, in whole minutes, that still gives at least [`BUCKETS`]
/// buckets; each is a multiple of the history API's rollups, so each is exact.
pub fn trend_step_ms(span_ms: i64) -> i64 {
    const STEP_MINUTES: [i64; 9] = [10_080, 1440, 720, 360, 180, 60, 30, 10, 1];
    let minutes = STEP_MINUTES.into_iter().find(|&m| span_ms / (m * 60_000) >= BUCKETS).unwrap_or(1);
    minutes * 60_000
}

impl MonitorTrend {
    pub fn empty(span_ms: i64) -> Self {
        Self { span_ms, step_ms: trend_step_ms(span_ms), buckets: Vec::new(), newest_ms: i64::MIN }
    }

    /// From `GET /api/history?series=probe:<name>&step=<step>`: `up`'s mean is
    /// the bucket's uptime fraction.
    pub fn from_history(span_ms: i64, history: &History) -> Self {
        let mut trend = Self::empty(span_ms);
        for point in &history.points {
            let Some(up) = point.values.get("up") else { continue };
            let response = point.values.get("response_ms");
            let checks = up.n.max(0) as u32;
            trend.buckets.push(TrendBucket {
                t: point.t.div_euclid(trend.step_ms) * trend.step_ms,
                checks,
                up: (up.mean * f64::from(checks)).round() as u32,
                response_ms: response.map(|r| r.mean),
                responses: response.map_or(0, |r| r.n.max(0) as u32),
            });
            trend.newest_ms = trend.newest_ms.max(point.t);
        }
        trend.buckets.dedup_by_key(|b| b.t);
        // The loaded history ends where the newest bucket starts: a live check
        // inside that bucket may already be counted in it, so later checks only.
        if let Some(last) = trend.buckets.last() {
            trend.newest_ms = trend.newest_ms.max(history.to_ms.min(last.t + trend.step_ms - 1));
        }
        trend
    }

    /// Counts a live check into its bucket and drops buckets that left the span.
    pub fn absorb(&mut self, check: &ProbeResult) {
        let at = check.at.timestamp_millis();
        if at <= self.newest_ms {
            return;
        }
        self.newest_ms = at;
        let start = at.div_euclid(self.step_ms) * self.step_ms;
        if self.buckets.last().is_none_or(|b| b.t < start) {
            self.buckets.push(TrendBucket { t: start, checks: 0, up: 0, response_ms: None, responses: 0 });
        }
        let Some(bucket) = self.buckets.iter_mut().rev().find(|b| b.t == start) else { return };
        bucket.checks += 1;
        bucket.up += u32::from(check.up);
        if let Some(ms) = check.response_ms {
            let before = bucket.response_ms.unwrap_or(0.0) * f64::from(bucket.responses);
            bucket.responses += 1;
            bucket.response_ms = Some((before + ms) / f64::from(bucket.responses));
        }
        let oldest = at - self.span_ms;
        self.buckets.retain(|b| b.t + self.step_ms > oldest);
    }

    /// Uptime over the whole span, or `None` before the first check.
    pub fn uptime(&self) -> Option<f64> {
        let (checks, up) = self.buckets.iter().fold((0u64, 0u64), |(c, u), b| (c + u64::from(b.checks), u + u64::from(b.up)));
        (checks > 0).then(|| up as f64 / checks as f64)
    }

    /// Every bucket of the span, ending with the newest one, with its checks
    /// where there were any: the uptime strip's cells.
    pub fn slots(&self) -> Vec<(i64, Option<TrendBucket>)> {
        let Some(newest) = self.buckets.last() else { return Vec::new() };
        let count = (self.span_ms / self.step_ms).max(1);
        (0..count)
            .rev()
            .map(|back| {
                let t = newest.t - back * self.step_ms;
                (t, self.buckets.iter().find(|b| b.t == t).copied())
            })
            .collect()
    }

    /// The response-time line as SVG `points` in a `width` × `height` box,
    /// time left to right and the slowest bucket at the top.
    pub fn sparkline_points(&self, width: f64, height: f64) -> String {
        let values: Vec<(i64, f64)> = self.buckets.iter().filter_map(|b| Some((b.t, b.response_ms?))).collect();
        let (Some(first), Some(last)) = (self.buckets.first(), self.buckets.last()) else { return String::new() };
        let span = (last.t - first.t).max(1) as f64;
        let max = values.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(f64::EPSILON);
        values.iter().map(|(t, v)| format!("{:.1},{:.1}", (t - first.t) as f64 / span * width, height - v / max * height)).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HistoryStats;
    use chrono::DateTime;

    fn check(at_ms: i64, up: bool, response_ms: Option<f64>) -> ProbeResult {
        ProbeResult {
            monitor: "api".into(),
            url: "http://198.18.0.2/".into(),
            at: DateTime::from_timestamp_millis(at_ms).unwrap(),
            up,
            status_code: up.then_some(200),
            response_ms,
            error: (!up).then(|| "refused".into()),
            ..ProbeResult::default()
        }
    }

    fn stats(n: i64, mean: f64) -> HistoryStats {
        HistoryStats { n, min: mean, mean, max: mean, p95: mean }
    }

    #[test]
    fn steps_give_about_48_buckets_in_whole_rollups() {
        for range in TimeRange::ALL {
            let span = trend_span_ms(range);
            let step = trend_step_ms(span);
            assert!(step % 60_000 == 0 && (step % 600_000 == 0 || step == 60_000), "{range:?}");
            assert!((48..=96).contains(&(span / step)), "{range:?}: {} buckets", span / step);
        }
        assert_eq!(TimeRange::ALL.map(|r| trend_step_ms(trend_span_ms(r)) / 60_000), [30, 30, 180, 720, 10_080]);
    }

    #[test]
    fn history_then_live_checks_make_one_record() {
        let step = 1_800_000;
        let mut values = std::collections::BTreeMap::new();
        values.insert("up".to_owned(), stats(4, 0.75));
        values.insert("response_ms".to_owned(), stats(3, 20.0));
        let history = History {
            series: "probe:api".into(),
            source: "1m".into(),
            step_s: 1800,
            from_ms: 0,
            to_ms: step + 60_000,
            fields: vec!["up".into(), "response_ms".into()],
            points: vec![crate::model::HistoryPoint { t: step, values }],
        };
        let mut trend = MonitorTrend::from_history(86_400_000, &history);
        assert_eq!(trend.uptime(), Some(0.75));
        trend.absorb(&check(step + 30_000, true, Some(99.0)));
        assert_eq!(trend.buckets[0].checks, 4, "a check the history already holds is not counted twice");
        trend.absorb(&check(step + 120_000, false, None));
        trend.absorb(&check(step + 150_000, true, Some(40.0)));
        assert_eq!((trend.buckets[0].checks, trend.buckets[0].up), (6, 4));
        assert_eq!(trend.buckets[0].response_ms, Some(25.0), "(3 × 20 + 40) / 4");
        trend.absorb(&check(2 * step + 1, true, Some(10.0)));
        assert_eq!(trend.buckets.len(), 2);
        assert_eq!(trend.uptime(), Some(5.0 / 7.0));
        // A day later the first bucket has left the span; the second ends inside it.
        trend.absorb(&check(2 * step + 86_400_000, true, Some(10.0)));
        assert_eq!(trend.buckets.iter().map(|b| b.t).collect::<Vec<_>>(), [2 * step, 2 * step + 86_400_000]);
    }

    #[test]
    fn sparkline_puts_the_slowest_bucket_at_the_top() {
        let mut trend = MonitorTrend::empty(3_600_000);
        assert_eq!(trend.sparkline_points(100.0, 20.0), "");
        trend.absorb(&check(0, true, Some(10.0)));
        trend.absorb(&check(60_000, false, None));
        trend.absorb(&check(120_000, true, Some(40.0)));
        assert_eq!(trend.sparkline_points(100.0, 20.0), "0.0,15.0 100.0,0.0");
        assert_eq!(trend.buckets[1].uptime(), Some(0.0));
        let slots = trend.slots();
        assert_eq!(slots.len(), 60, "an hour in minutes");
        assert_eq!(slots.last().map(|(t, b)| (*t, b.map(|b| b.checks))), Some((120_000, Some(1))));
        assert!(slots[..57].iter().all(|(_, b)| b.is_none()), "no checks before the first");
    }
}
