//! Alert marks on a chart: rules' thresholds and incidents' stretches of
//! time, and how the chart's text alternative says them.

use crate::chart::scale::ChartSeries;

/// What a chart marks for alerts: rules' thresholds as dashed lines in the
/// colour of the line they watch, and incidents as shaded stretches of time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertMarks {
    /// (index of the line, threshold).
    pub thresholds: Vec<(usize, f64)>,
    /// (from, to) in seconds since the Unix epoch; `to` is infinite while it lasts.
    pub incidents: Vec<(f64, f64)>,
}

impl ChartSeries {
    /// The highest value or threshold, so a threshold above every point still shows.
    pub fn max_marked(&self) -> f64 {
        self.marks.thresholds.iter().map(|&(_, v)| v).fold(self.max_value(), f64::max)
    }

    pub fn with_marks(self, marks: AlertMarks) -> Self {
        Self { marks, ..self }
    }

    /// The alert marks in words, for the chart's text alternative: empty
    /// when there are none, else " Alert marks: …" with what is in view.
    pub fn marks_note(&self) -> String {
        let Some((t0, t1)) = self.time_range() else { return String::new() };
        let thresholds = self.marks.thresholds.len();
        let incidents = self.marks.incidents.iter().filter(|&&(from, to)| from < t1 && to > t0).count();
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let parts: Vec<String> = [(thresholds, "threshold", "dashed"), (incidents, "incident", "shaded")]
            .into_iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, what, how)| format!("{n} {what}{} {how}", plural(n)))
            .collect();
        if parts.is_empty() {
            return String::new();
        }
        format!(" Alert marks: {}.", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SpeedSample;

    fn sample(secs: i64, down: Option<f64>, up: Option<f64>) -> SpeedSample {
        SpeedSample::for_test(secs, down, up)
    }

    #[test]
    fn failed_tests_keep_the_time_axis_and_marks_are_described() {
        let samples = [sample(0, None, None), sample(60, None, None), sample(120, Some(40.0), None), sample(180, None, None)];
        let series = ChartSeries::throughput(&samples);
        assert_eq!(series.time_range(), Some((0.0, 180.0)), "the failures before and after the one measurement are on the axis");
        let failures = ChartSeries::throughput(&samples[..2]);
        assert_eq!(failures.time_range(), None, "failures alone, with nothing marked over them: the chart waits");
        let marked = failures.with_marks(AlertMarks { thresholds: vec![], incidents: vec![(0.0, f64::INFINITY)] });
        assert_eq!(marked.time_range(), Some((0.0, 60.0)), "failures alone under an incident get their axis");
        assert_eq!(series.marks_note(), "");
        let marked = series.with_marks(AlertMarks { thresholds: vec![(0, 100.0)], incidents: vec![(30.0, 90.0), (150.0, f64::INFINITY), (-500.0, -100.0)] });
        assert_eq!(marked.marks_note(), " Alert marks: 1 threshold dashed, 2 incidents shaded.");
        let quiet = ChartSeries { marks: AlertMarks { thresholds: vec![(0, 100.0), (1, 20.0)], incidents: vec![] }, ..marked.clone() };
        assert_eq!(quiet.marks_note(), " Alert marks: 2 thresholds dashed.", "no incidents, no word of them");
        assert_eq!(marked.max_marked(), 100.0, "the threshold is above every point");
    }
}
