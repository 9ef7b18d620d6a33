//! Turns samples into chart series: points, ranges, axis ceilings, labels and decimation.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

use crate::{chart::marks::AlertMarks, model::SpeedSample};

/// One point: seconds since the Unix epoch, and a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChartPoint {
    pub t: f64,
    pub v: f64,
}

/// One named line of a chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    pub name: String,
    pub points: Vec<ChartPoint>,
}

/// How many line colours there are: download, upload, latency, jitter, and two
/// more. The stylesheet names them `--line-0` and on; the cards share the first four.
pub const LINE_COLOURS: usize = 6;

/// The lines one chart draws, in legend order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChartSeries {
    pub lines: Vec<Line>,
    /// The first line's colour; the others take the colours after it.
    pub first_colour: usize,
    pub marks: AlertMarks,
    /// The first and last test's times, failed ones included, so a stretch
    /// of failures still has a time axis to be shown on.
    pub tested: Option<(f64, f64)>,
}

type Pick = fn(&SpeedSample) -> Option<f64>;

impl ChartSeries {
    /// One line per picked field. Unmeasured values leave a gap rather than a
    /// zero that was never seen.
    fn from_samples<'a>(samples: impl IntoIterator<Item = &'a SpeedSample>, fields: &[(&'static str, Pick)], first_colour: usize) -> Self {
        let mut lines: Vec<Line> = fields.iter().map(|(name, _)| Line { name: (*name).to_owned(), points: Vec::new() }).collect();
        let mut tested: Option<(f64, f64)> = None;
        for sample in samples {
            let t = sample.at.timestamp_millis() as f64 / 1000.0;
            tested = Some(tested.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
            for (line, (_, pick)) in lines.iter_mut().zip(fields) {
                if let Some(v) = pick(sample) {
                    line.points.push(ChartPoint { t, v });
                }
            }
        }
        Self { lines, first_colour, marks: AlertMarks::default(), tested }
    }

    /// Download and upload, Mbit/s, in the download and upload colours.
    pub fn throughput<'a>(samples: impl IntoIterator<Item = &'a SpeedSample>) -> Self {
        Self::from_samples(samples, &[("Download", |s| s.download_mbps), ("Upload", |s| s.upload_mbps)], 0)
    }

    /// Idle latency, jitter, and latency under load in each direction, ms; the
    /// first two in the latency and jitter cards' colours.
    pub fn latency<'a>(samples: impl IntoIterator<Item = &'a SpeedSample>) -> Self {
        Self::from_samples(
            samples,
            &[("Latency", |s| s.latency_ms), ("Jitter", |s| s.jitter_ms), ("Loaded ↓", |s| s.latency_down_ms), ("Loaded ↑", |s| s.latency_up_ms)],
            2,
        )
    }

    /// One line per node of the picked field (`name` names the figure for the
    /// legend, as `tokyo`), in order of each node's first sample: vantage points side by side.
    pub fn per_node<'a>(samples: impl IntoIterator<Item = &'a SpeedSample>, pick: Pick, first_colour: usize) -> Self {
        let mut series = Self { first_colour, ..Self::default() };
        for sample in samples {
            let t = sample.at.timestamp_millis() as f64 / 1000.0;
            series.tested = Some(series.tested.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
            let at = match series.lines.iter().position(|line| line.name == sample.node) {
                Some(at) => at,
                None => {
                    series.lines.push(Line { name: sample.node.clone(), points: Vec::new() });
                    series.lines.len() - 1
                }
            };
            if let Some(v) = pick(sample) {
                series.lines[at].points.push(ChartPoint { t, v });
            }
        }
        series
    }

    /// Lines that have at least one point, each with its colour (below
    /// `LINE_COLOURS`); a chart's legend lists only these.
    pub fn drawn(&self) -> impl Iterator<Item = (usize, &Line)> {
        self.lines.iter().enumerate().filter(|(_, line)| !line.points.is_empty()).map(|(index, line)| ((self.first_colour + index) % LINE_COLOURS, line))
    }

    fn all(&self) -> impl Iterator<Item = &ChartPoint> {
        self.lines.iter().flat_map(|line| &line.points)
    }

    /// The time span to show; a lone point gets a minute either side.
    pub fn time_range(&self) -> Option<(f64, f64)> {
        // Failed tests widen the axis when there is something to show on it:
        // points, or an incident over those tests. With neither, the chart says it waits.
        let points = self.lines.iter().any(|line| !line.points.is_empty());
        let tested = self.tested.filter(|&(lo, hi)| points || self.marks.incidents.iter().any(|&(from, to)| from <= hi && to >= lo));
        let start = tested.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
        let (lo, hi) = self.all().fold(start, |(lo, hi), p| (lo.min(p.t), hi.max(p.t)));
        if lo > hi {
            return None;
        }
        Some(if hi - lo < 1.0 { (lo - 60.0, hi + 60.0) } else { (lo, hi) })
    }

    pub fn max_value(&self) -> f64 {
        self.all().map(|p| p.v).fold(0.0, f64::max)
    }

    pub fn point_count(&self) -> usize {
        self.lines.iter().map(|line| line.points.len()).sum()
    }

    /// Every line reduced to about `columns` horizontal buckets.
    pub fn decimated(&self, columns: usize) -> Self {
        let lines = self.lines.iter().map(|line| Line { name: line.name.clone(), points: decimate(&line.points, columns) }).collect();
        Self { lines, first_colour: self.first_colour, marks: self.marks.clone(), tested: self.tested }
    }
}

/// The smallest of 1, 2, 2.5 or 5 times a power of ten that leaves 10% headroom over `max`.
pub fn value_ceiling(max: f64) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let wanted = max * 1.1;
    let magnitude = 10f64.powf(wanted.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|step| step * magnitude).find(|c| *c >= wanted).unwrap_or(10.0 * magnitude)
}

/// Keeps the first and last point of each of `columns` buckets of equal
/// width in time, plus their minimum and maximum, so peaks survive and a line
/// through the result looks like the line through every point.
pub fn decimate(points: &[ChartPoint], columns: usize) -> Vec<ChartPoint> {
    if columns == 0 || points.len() <= columns.saturating_mul(4) {
        return points.to_vec();
    }
    let (t0, t1) = (points[0].t, points[points.len() - 1].t);
    let width = (t1 - t0).max(f64::EPSILON) / columns as f64;
    let mut out = Vec::with_capacity(columns * 4);
    let mut start = 0;
    while start < points.len() {
        let bucket = (((points[start].t - t0) / width) as usize).min(columns - 1);
        let mut end = start + 1;
        while end < points.len() && (((points[end].t - t0) / width) as usize).min(columns - 1) == bucket {
            end += 1;
        }
        let slice = &points[start..end];
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in slice.iter().enumerate() {
            if p.v < slice[lo].v {
                lo = i;
            }
            if p.v > slice[hi].v {
                hi = i;
            }
        }
        let mut keep = [0, lo.min(hi), lo.max(hi), slice.len() - 1];
        keep.sort_unstable();
        let mut last = usize::MAX;
        for i in keep {
            if i != last {
                out.push(slice[i]);
                last = i;
            }
        }
        start = end;
    }
    out
}

/// An axis label in the viewer's time zone, as precise as the span needs.
pub fn time_label(t: f64, span_secs: f64, utc_offset_minutes: i32) -> String {
    let offset = FixedOffset::east_opt(utc_offset_minutes * 60).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    let Some(at) = DateTime::from_timestamp_millis((t * 1000.0) as i64) else { return String::new() };
    let local = at.with_timezone(&offset);
    // Written out rather than with strftime, whose parser would add to the WASM bundle.
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (h, m, s) = (local.hour(), local.minute(), local.second());
    if span_secs <= 600.0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else if span_secs <= 2.0 * 86_400.0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{} {:02} {h:02}:{m:02}", MONTHS[local.month0() as usize], local.day())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn sample(secs: i64, down: Option<f64>, up: Option<f64>) -> SpeedSample {
        SpeedSample::for_test(secs, down, up)
    }

    #[test]
    fn each_node_is_one_line_in_its_own_colour() {
        let at = |secs, node: &str, down| SpeedSample { node: node.into(), ..sample(secs, down, None) };
        let samples = [at(0, "central", Some(900.0)), at(30, "tokyo", None), at(60, "central", Some(910.0)), at(90, "tokyo", Some(80.0))];
        let series = ChartSeries::per_node(&samples, |s| s.download_mbps, 0);
        let drawn: Vec<(usize, &str, usize)> = series.drawn().map(|(colour, line)| (colour, line.name.as_str(), line.points.len())).collect();
        assert_eq!(drawn, [(0, "central", 2), (1, "tokyo", 1)], "a failed test is a gap");
        assert_eq!(series.tested, Some((0.0, 90.0)));
    }

    #[test]
    fn unmeasured_values_are_gaps() {
        let samples = [sample(0, Some(10.0), None), sample(60, None, None), sample(120, Some(12.0), Some(3.0))];
        let series = ChartSeries::throughput(&samples);
        assert_eq!(series.lines[0].points.len(), 2);
        assert_eq!(series.lines[1].points, vec![ChartPoint { t: 120.0, v: 3.0 }]);
        assert_eq!(series.time_range(), Some((0.0, 120.0)));
        assert_eq!(series.max_value(), 12.0);
        assert_eq!(series.point_count(), 3);
    }

    #[test]
    fn latency_lines_include_loaded_latency_only_where_measured() {
        let mut loaded = sample(60, Some(1.0), Some(1.0));
        (loaded.latency_ms, loaded.jitter_ms, loaded.latency_down_ms, loaded.latency_up_ms) = (Some(9.0), Some(0.5), Some(48.0), Some(95.0));
        let mut idle_only = sample(0, Some(1.0), Some(1.0));
        (idle_only.latency_ms, idle_only.jitter_ms) = (Some(8.0), Some(0.4));
        let series = ChartSeries::latency(&[idle_only, loaded]);
        let names: Vec<_> = series.lines.iter().map(|l| (l.name.as_str(), l.points.len())).collect();
        assert_eq!(names, [("Latency", 2), ("Jitter", 2), ("Loaded ↓", 1), ("Loaded ↑", 1)]);
        assert_eq!(series.max_value(), 95.0);
        let without_load = ChartSeries::latency(&[sample(0, Some(1.0), None)]);
        assert_eq!(without_load.drawn().count(), 0, "a sample with no latency draws nothing");
    }

    #[test]
    fn lines_take_the_colours_of_their_cards() {
        let mut full = sample(0, Some(90.0), Some(20.0));
        (full.latency_ms, full.jitter_ms, full.latency_down_ms, full.latency_up_ms) = (Some(9.0), Some(0.5), Some(48.0), Some(95.0));
        let colours = |series: ChartSeries| series.drawn().map(|(colour, _)| colour).collect::<Vec<_>>();
        assert_eq!(colours(ChartSeries::throughput([&full])), [0, 1], "download, upload");
        assert_eq!(colours(ChartSeries::latency([&full])), [2, 3, 4, 5], "latency, jitter, then the loaded lines");
        let topic = ChartSeries {
            lines: (0..8).map(|i| Line { name: i.to_string(), points: vec![ChartPoint { t: 0.0, v: 1.0 }] }).collect(),
            first_colour: 0,
            ..ChartSeries::default()
        };
        assert_eq!(colours(topic), [0, 1, 2, 3, 4, 5, 0, 1], "more lines than colours wrap around");
    }

    #[test]
    fn a_lone_point_gets_a_visible_range() {
        let series = ChartSeries::throughput(&[sample(1000, Some(1.0), Some(1.0))]);
        assert_eq!(series.time_range(), Some((940.0, 1060.0)));
        assert_eq!(ChartSeries::default().time_range(), None);
    }

    #[test]
    fn ceilings_are_round_with_headroom() {
        assert_eq!(value_ceiling(0.0), 1.0);
        assert_eq!(value_ceiling(f64::NAN), 1.0);
        assert_eq!(value_ceiling(9.0), 10.0);
        assert_eq!(value_ceiling(10.0), 20.0);
        assert_eq!(value_ceiling(94.0), 200.0);
        assert_eq!(value_ceiling(200.0), 250.0);
        assert_eq!(value_ceiling(940.0), 2000.0);
        assert_eq!(value_ceiling(0.45), 0.5);
    }

    #[test]
    fn decimation_bounds_points_and_keeps_extremes() {
        let points: Vec<ChartPoint> = (0..3600).map(|i| ChartPoint { t: i as f64, v: if i == 1234 { 999.0 } else { (i % 7) as f64 } }).collect();
        let reduced = decimate(&points, 100);
        assert!(reduced.len() <= 400, "{}", reduced.len());
        assert!(reduced.iter().any(|p| p.v == 999.0), "the spike survives");
        assert_eq!(reduced.first(), points.first());
        assert_eq!(reduced.last(), points.last());
        assert!(reduced.windows(2).all(|w| w[0].t < w[1].t), "still in time order");
        let few = &points[..10];
        assert_eq!(decimate(few, 100), few.to_vec());
    }

    #[test]
    fn labels_follow_span_and_time_zone() {
        let t = Utc.with_ymd_and_hms(2026, 11, 21, 6, 30, 15).unwrap().timestamp() as f64;
        assert_eq!(time_label(t, 300.0, 0), "06:30:15");
        assert_eq!(time_label(t, 3600.0, 60), "07:30");
        assert_eq!(time_label(t, 7.0 * 86_400.0, -120), "Nov 21 04:30");
    }
}
