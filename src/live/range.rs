//! The dashboard's time ranges (kept in the URL as `?range=`) and turning a
//! loaded speed history into chart samples. Pure, so it is unit-tested.

use chrono::DateTime;

use crate::model::{History, SpeedSample};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeRange {
    /// The points kept in memory, appended to live.
    #[default]
    Live,
    Day,
    Week,
    Month,
    Year,
}

impl TimeRange {
    pub const ALL: [TimeRange; 5] = [Self::Live, Self::Day, Self::Week, Self::Month, Self::Year];

    /// From the URL's `range` value; anything unknown is `Live`.
    pub fn from_query(value: Option<&str>) -> Self {
        match value {
            Some("24h") => Self::Day,
            Some("7d") => Self::Week,
            Some("30d") => Self::Month,
            Some("1y") => Self::Year,
            _ => Self::Live,
        }
    }

    pub fn query_value(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
            Self::Year => "1y",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Live => "Live",
            Self::Day => "24 h",
            Self::Week => "7 d",
            Self::Month => "30 d",
            Self::Year => "1 y",
        }
    }

    /// How far back the range reaches, in ms; `None` for live.
    pub fn span_ms(self) -> Option<i64> {
        const DAY: i64 = 86_400_000;
        match self {
            Self::Live => None,
            Self::Day => Some(DAY),
            Self::Week => Some(7 * DAY),
            Self::Month => Some(30 * DAY),
            Self::Year => Some(365 * DAY),
        }
    }

    /// Whether new live samples are appended to the loaded history.
    pub fn follows_live(self) -> bool {
        matches!(self, Self::Live | Self::Day)
    }
}

/// Chart samples from a speed history: each bucket's means, stamped at its start.
pub fn samples_from_history(history: &History) -> Vec<SpeedSample> {
    let mean = |point: &crate::model::HistoryPoint, field: &str| point.values.get(field).map(|s| s.mean);
    history
        .points
        .iter()
        .filter_map(|point| {
            Some(SpeedSample {
                node: String::new(),
                target: history.series.clone(),
                at: DateTime::from_timestamp_millis(point.t)?,
                download_mbps: mean(point, "download_mbps"),
                upload_mbps: mean(point, "upload_mbps"),
                latency_ms: mean(point, "latency_ms"),
                jitter_ms: mean(point, "jitter_ms"),
                latency_down_ms: mean(point, "latency_down_ms"),
                latency_up_ms: mean(point, "latency_up_ms"),
                bytes_down: 0,
                bytes_up: 0,
                error: None,
            })
        })
        .collect()
}

/// The loaded samples with the live ones that came after them.
pub fn with_newer(mut loaded: Vec<SpeedSample>, live: impl IntoIterator<Item = SpeedSample>) -> Vec<SpeedSample> {
    let newest = loaded.last().map(|s| s.at);
    loaded.extend(live.into_iter().filter(|s| newest.is_none_or(|at| s.at > at)));
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HistoryPoint, HistoryStats};

    #[test]
    fn ranges_round_trip_through_the_url() {
        for range in TimeRange::ALL {
            assert_eq!(TimeRange::from_query(Some(range.query_value())), range);
        }
        assert_eq!(TimeRange::from_query(Some("bogus")), TimeRange::Live);
        assert_eq!(TimeRange::from_query(None), TimeRange::Live);
        assert_eq!(TimeRange::Week.span_ms(), Some(604_800_000));
    }

    #[test]
    fn history_points_become_samples_and_live_ones_follow() {
        let stats = |mean| HistoryStats { n: 1, min: mean, mean, max: mean, p95: mean };
        let point = |t, down| HistoryPoint { t, values: [("download_mbps".to_owned(), stats(down))].into_iter().collect() };
        let history = History {
            series: "speed".into(),
            source: "raw".into(),
            step_s: 0,
            from_ms: 0,
            to_ms: 0,
            fields: vec![],
            points: vec![point(60_000, 10.0), point(120_000, 20.0)],
        };
        let samples = samples_from_history(&history);
        assert_eq!(samples.iter().map(|s| s.download_mbps).collect::<Vec<_>>(), [Some(10.0), Some(20.0)]);
        assert_eq!(samples[1].upload_mbps, None);
        let merged = with_newer(samples, [SpeedSample::for_test(60, Some(1.0), None), SpeedSample::for_test(180, Some(30.0), None)]);
        assert_eq!(merged.iter().map(|s| s.download_mbps).collect::<Vec<_>>(), [Some(10.0), Some(20.0), Some(30.0)], "only newer live samples are added");
    }
}
