//! What a chart shows under the pointer, or at the sample the arrow keys
//! reached: the time and each line's value there. Pure, so it is unit-tested.

use crate::chart::{
    draw::{PLOT_MARGIN, PLOT_MARGIN_RIGHT, Y_LABEL_AREA},
    scale::{ChartPoint, ChartSeries},
};

#[derive(Clone, Debug, PartialEq)]
pub struct Hover {
    /// Seconds since the Unix epoch of the nearest point.
    pub t: f64,
    /// Each line with a point near that time, in legend order.
    pub values: Vec<(String, f64)>,
}

/// The time at `x` CSS pixels across a chart `width` pixels wide, or `None`
/// outside the plot.
pub fn time_at(series: &ChartSeries, x: f64, width: f64) -> Option<f64> {
    let (t0, t1) = series.time_range()?;
    let (left, right) = (PLOT_MARGIN + Y_LABEL_AREA, width - PLOT_MARGIN_RIGHT);
    if right <= left || x < left || x > right {
        return None;
    }
    Some(t0 + (x - left) / (right - left) * (t1 - t0))
}

/// Where time `t` sits across a chart `width` CSS pixels wide: `time_at`'s inverse.
pub fn x_at(series: &ChartSeries, t: f64, width: f64) -> Option<f64> {
    let (t0, t1) = series.time_range()?;
    let (left, right) = (PLOT_MARGIN + Y_LABEL_AREA, width - PLOT_MARGIN_RIGHT);
    (right > left && t1 > t0).then(|| left + (t - t0) / (t1 - t0) * (right - left))
}

/// A key that moves the keyboard's place along a chart.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    Previous,
    Next,
    First,
    Last,
}

impl Step {
    /// The arrow, Home and End keys, by their `KeyboardEvent.key` names.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "ArrowLeft" => Some(Self::Previous),
            "ArrowRight" => Some(Self::Next),
            "Home" => Some(Self::First),
            "End" => Some(Self::Last),
            _ => None,
        }
    }
}

/// The sample time a key moves to from `from`, over every line's samples.
/// With nothing chosen yet, either arrow starts at the newest sample. At
/// either end the place stays where it is.
pub fn step(series: &ChartSeries, from: Option<f64>, step: Step) -> Option<f64> {
    let firsts = || series.lines.iter().filter_map(|line| line.points.first().map(|p| p.t));
    let lasts = || series.lines.iter().filter_map(|line| line.points.last().map(|p| p.t));
    let newest = lasts().max_by(f64::total_cmp);
    match (step, from) {
        (Step::First, _) => firsts().min_by(f64::total_cmp),
        (Step::Last, _) | (_, None) => newest,
        (Step::Previous, Some(from)) => series
            .lines
            .iter()
            .filter_map(|line| line.points[..line.points.partition_point(|p| p.t < from)].last().map(|p| p.t))
            .max_by(f64::total_cmp)
            .or(Some(from)),
        (Step::Next, Some(from)) => series
            .lines
            .iter()
            .filter_map(|line| line.points.get(line.points.partition_point(|p| p.t <= from)).map(|p| p.t))
            .min_by(f64::total_cmp)
            .or(Some(from)),
    }
}

fn nearest(points: &[ChartPoint], t: f64) -> Option<ChartPoint> {
    let after = points.partition_point(|p| p.t < t);
    [after.checked_sub(1), Some(after)].into_iter().flatten().filter_map(|i| points.get(i).copied()).min_by(|a, b| (a.t - t).abs().total_cmp(&(b.t - t).abs()))
}

/// The point nearest `x`, and every line's value at that point's time. A
/// line whose nearest point is more than `tolerance_s` away is left out.
pub fn hover_at(series: &ChartSeries, x: f64, width: f64, tolerance_s: f64) -> Option<Hover> {
    hover_near(series, time_at(series, x, width)?, tolerance_s)
}

/// As `hover_at`, for the point nearest time `t`.
pub fn hover_near(series: &ChartSeries, t: f64, tolerance_s: f64) -> Option<Hover> {
    let anchor = series.lines.iter().filter_map(|line| nearest(&line.points, t)).min_by(|a, b| (a.t - t).abs().total_cmp(&(b.t - t).abs()))?;
    let values = series
        .lines
        .iter()
        .filter_map(|line| {
            let point = nearest(&line.points, anchor.t)?;
            ((point.t - anchor.t).abs() <= tolerance_s).then(|| (line.name.clone(), point.v))
        })
        .collect();
    Some(Hover { t: anchor.t, values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::scale::Line;

    fn series() -> ChartSeries {
        let line = |name: &str, points: &[(f64, f64)]| Line { name: name.into(), points: points.iter().map(|&(t, v)| ChartPoint { t, v }).collect() };
        ChartSeries {
            lines: vec![line("Download", &[(0.0, 10.0), (60.0, 20.0), (120.0, 30.0)]), line("Upload", &[(0.0, 1.0), (120.0, 3.0)])],
            first_colour: 0,
            ..ChartSeries::default()
        }
    }

    #[test]
    fn the_pointer_maps_to_the_nearest_sample_of_every_line() {
        // Plot from x = 68 to 372 on a 400-pixel chart: 304 pixels for 120 s.
        assert_eq!(time_at(&series(), 68.0, 400.0), Some(0.0));
        assert_eq!(time_at(&series(), 372.0, 400.0), Some(120.0));
        assert_eq!(time_at(&series(), 20.0, 400.0), None, "over the axis labels");
        let middle = hover_at(&series(), 68.0 + 152.0 + 5.0, 400.0, 1.0).unwrap();
        assert_eq!(middle, Hover { t: 60.0, values: vec![("Download".into(), 20.0)] }, "upload has no sample at 60 s");
        let end = hover_at(&series(), 370.0, 400.0, 1.0).unwrap();
        assert_eq!(end.values, [("Download".to_owned(), 30.0), ("Upload".to_owned(), 3.0)]);
        assert_eq!(hover_at(&ChartSeries::default(), 200.0, 400.0, 1.0), None);
    }

    #[test]
    fn keys_step_through_every_line_s_samples() {
        let s = series();
        assert_eq!(step(&s, None, Step::Previous), Some(120.0), "the first press starts at the newest");
        assert_eq!(step(&s, Some(120.0), Step::Previous), Some(60.0), "a time only download has");
        assert_eq!(step(&s, Some(60.0), Step::Previous), Some(0.0));
        assert_eq!(step(&s, Some(0.0), Step::Previous), Some(0.0), "the oldest stays put");
        assert_eq!(step(&s, Some(0.0), Step::Next), Some(60.0));
        assert_eq!(step(&s, Some(120.0), Step::Next), Some(120.0), "the newest stays put");
        assert_eq!(step(&s, Some(60.0), Step::First), Some(0.0));
        assert_eq!(step(&s, Some(60.0), Step::Last), Some(120.0));
        assert_eq!(step(&ChartSeries::default(), None, Step::Next), None);
        assert_eq!(Step::from_key("ArrowRight"), Some(Step::Next));
        assert_eq!(Step::from_key("a"), None);
    }

    #[test]
    fn a_time_maps_back_to_its_column() {
        let s = series();
        assert_eq!(x_at(&s, 0.0, 400.0), Some(68.0));
        assert_eq!(x_at(&s, 120.0, 400.0), Some(372.0));
        let x = x_at(&s, 60.0, 400.0).unwrap();
        assert_eq!(time_at(&s, x, 400.0), Some(60.0));
        assert_eq!(hover_near(&s, 60.0, 1.0).unwrap().values, [("Download".to_owned(), 20.0)]);
    }
}
