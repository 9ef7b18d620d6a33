//! What a rule compares and how: a condition such as `< 100` or `< 80%`
//! (a share of a baseline), and an aggregation of the recent samples
//! (`last`, `3 of 5`, `mean 10m`, `median 10m`, `p95 10m`). Pure and parsed
//! from the config's strings, so that both are unit-tested.

use std::{fmt, time::Duration};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Below,
    AtMost,
    Above,
    AtLeast,
    Equal,
    NotEqual,
}

impl Comparison {
    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Below => value < threshold,
            Self::AtMost => value <= threshold,
            Self::Above => value > threshold,
            Self::AtLeast => value >= threshold,
            Self::Equal => value == threshold,
            Self::NotEqual => value != threshold,
        }
    }

    /// How a notification says it: "download 41.8 Mbit/s below 100".
    pub fn words(self) -> &'static str {
        match self {
            Self::Below => "below",
            Self::AtMost => "at most",
            Self::Above => "above",
            Self::AtLeast => "at least",
            Self::Equal => "equal to",
            Self::NotEqual => "not",
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Self::Below => "<",
            Self::AtMost => "<=",
            Self::Above => ">",
            Self::AtLeast => ">=",
            Self::Equal => "==",
            Self::NotEqual => "!=",
        }
    }
}

/// A threshold test: `value <op> threshold`, where the threshold may be a
/// percentage of the rule's baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Condition {
    pub comparison: Comparison,
    pub number: f64,
    pub percent_of_baseline: bool,
}

impl Condition {
    /// Parses `< 100`, `>= 99.5`, `< 80%`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (comparison, rest) = [
            ("<=", Comparison::AtMost),
            (">=", Comparison::AtLeast),
            ("==", Comparison::Equal),
            ("!=", Comparison::NotEqual),
            ("<", Comparison::Below),
            (">", Comparison::Above),
        ]
        .into_iter()
        .find_map(|(symbol, comparison)| text.strip_prefix(symbol).map(|rest| (comparison, rest.trim())))
        .ok_or_else(|| format!("must start with <, <=, >, >=, == or != and a number, as in \"< 100\" or \"< 80%\", got {text:?}"))?;
        let (number, percent_of_baseline) = match rest.strip_suffix('%') {
            Some(number) => (number.trim(), true),
            None => (rest, false),
        };
        let number: f64 = number.parse().map_err(|_| format!("{number:?} in {text:?} is not a number"))?;
        if !number.is_finite() {
            return Err(format!("{text:?} needs a finite number"));
        }
        Ok(Self { comparison, number, percent_of_baseline })
    }

    /// The absolute threshold, given the baseline a percentage refers to.
    pub fn threshold(&self, baseline: Option<f64>) -> Option<f64> {
        if self.percent_of_baseline {
            baseline.map(|base| base * self.number / 100.0)
        } else {
            Some(self.number)
        }
    }

    /// Whether `value` meets the condition; never without a threshold.
    pub fn holds(&self, value: f64, baseline: Option<f64>) -> bool {
        self.threshold(baseline).is_some_and(|threshold| self.comparison.holds(value, threshold))
    }

    /// The recovery condition a rule gets when it names none: the opposite.
    pub fn negated(&self) -> Self {
        let comparison = match self.comparison {
            Comparison::Below => Comparison::AtLeast,
            Comparison::AtMost => Comparison::Above,
            Comparison::Above => Comparison::AtMost,
            Comparison::AtLeast => Comparison::Below,
            Comparison::Equal => Comparison::NotEqual,
            Comparison::NotEqual => Comparison::Equal,
        };
        Self { comparison, ..*self }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}{}", self.comparison.symbol(), self.number, if self.percent_of_baseline { "%" } else { "" })
    }
}

/// Which of the recent samples a rule judges.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Aggregation {
    /// The newest sample alone.
    Last,
    /// At least `m` of the newest `n` samples breach (and recover alike).
    MOfN { m: usize, n: usize },
    /// A statistic of the samples within the window.
    Over { statistic: Statistic, window: Duration },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Statistic {
    Mean,
    Median,
    P95,
    Min,
    Max,
}

/// The most samples `M of N` may look back over.
pub const MAX_SAMPLES: usize = 1000;

impl Aggregation {
    /// Parses `last`, `3 of 5`, `mean 10m`, `median 1h`, `p95 30m`, `min 5m`, `max 5m`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["last"] => Ok(Self::Last),
            [m, "of", n] => {
                let (m, n): (usize, usize) = (m.parse().map_err(|_| format!("{m:?} is not a count"))?, n.parse().map_err(|_| format!("{n:?} is not a count"))?);
                if m == 0 || m > n || n > MAX_SAMPLES {
                    return Err(format!("\"M of N\" needs 1 <= M <= N <= {MAX_SAMPLES}, got {text:?}"));
                }
                Ok(Self::MOfN { m, n })
            }
            [statistic, window] => {
                let statistic = match *statistic {
                    "mean" => Statistic::Mean,
                    "median" => Statistic::Median,
                    "p95" => Statistic::P95,
                    "min" => Statistic::Min,
                    "max" => Statistic::Max,
                    other => return Err(format!("unknown statistic {other:?}: use mean, median, p95, min or max")),
                };
                let window = parse_duration(window)?;
                if window.is_zero() {
                    return Err("the window must be longer than zero".to_owned());
                }
                Ok(Self::Over { statistic, window })
            }
            _ => Err(format!("must be \"last\", \"M of N\" or a statistic and a window such as \"median 10m\", got {text:?}")),
        }
    }

    /// How many samples must be kept, at most, to judge.
    pub fn keeps(&self) -> usize {
        match self {
            Self::Last => 1,
            Self::MOfN { n, .. } => *n,
            Self::Over { .. } => MAX_SAMPLES,
        }
    }
}

/// A duration such as `90s`, `10m`, `1h 30m`; bare numbers are refused so
/// that units are never guessed.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|err| format!("{text:?} is not a duration such as \"90s\", \"10m\" or \"1h\": {err}"))
}

/// One value of a series, at the server's time.
pub use crate::model::alert::AlertSample as Sample;

/// The value the aggregation gives over `samples` (oldest first, the newest
/// at `now_ms`), and whether it meets `condition`. `M of N` judges the count
/// of samples that meet it; it needs `N` samples before it judges at all.
pub fn judge(aggregation: &Aggregation, samples: &[Sample], condition: &Condition, baseline: Option<f64>) -> Option<(f64, bool)> {
    let newest = samples.last()?;
    match aggregation {
        Aggregation::Last => Some((newest.value, condition.holds(newest.value, baseline))),
        Aggregation::MOfN { m, n } => {
            if samples.len() < *n {
                return None;
            }
            let recent = &samples[samples.len() - n..];
            let meeting = recent.iter().filter(|s| condition.holds(s.value, baseline)).count();
            Some((newest.value, meeting >= *m))
        }
        Aggregation::Over { statistic, window } => {
            let since = newest.at_ms - i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
            let mut values: Vec<f64> = samples.iter().filter(|s| s.at_ms > since).map(|s| s.value).collect();
            let value = statistic_of(*statistic, &mut values)?;
            Some((value, condition.holds(value, baseline)))
        }
    }
}

fn statistic_of(statistic: Statistic, values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Some(match statistic {
        Statistic::Mean => values.iter().sum::<f64>() / values.len() as f64,
        Statistic::Median => rank(0.5),
        Statistic::P95 => rank(0.95),
        Statistic::Min => values[0],
        Statistic::Max => values[values.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(values: &[f64]) -> Vec<Sample> {
        values.iter().enumerate().map(|(i, &value)| Sample { at_ms: i as i64 * 60_000, value }).collect()
    }

    #[test]
    fn conditions_parse_and_compare() {
        let below = Condition::parse("< 100").unwrap();
        assert!(below.holds(41.8, None) && !below.holds(100.0, None));
        let share = Condition::parse("<80%").unwrap();
        assert_eq!(share.threshold(Some(500.0)), Some(400.0));
        assert!(share.holds(399.0, Some(500.0)) && !share.holds(401.0, Some(500.0)));
        assert!(!share.holds(1.0, None), "no baseline, no verdict");
        assert_eq!(Condition::parse(">= 2.5").unwrap().negated(), Condition::parse("< 2.5").unwrap());
        for bad in ["100", "< fast", "=< 3", "< inf", ""] {
            assert!(Condition::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Condition::parse("<= 80%").unwrap().to_string(), "<= 80%");
    }

    #[test]
    fn aggregations_parse_with_their_limits() {
        assert_eq!(Aggregation::parse("last").unwrap(), Aggregation::Last);
        assert_eq!(Aggregation::parse("3 of 5").unwrap(), Aggregation::MOfN { m: 3, n: 5 });
        assert_eq!(Aggregation::parse("median 10m").unwrap(), Aggregation::Over { statistic: Statistic::Median, window: Duration::from_secs(600) });
        for bad in ["6 of 5", "0 of 3", "mode 5m", "mean 0s", "mean", "mean ten", "1 of 100000"] {
            assert!(Aggregation::parse(bad).is_err(), "{bad}");
        }
        assert!(parse_duration("10").is_err(), "a bare number has no unit");
    }

    #[test]
    fn m_of_n_needs_n_samples_and_m_breaches() {
        let below = Condition::parse("< 100").unwrap();
        let rule = Aggregation::MOfN { m: 3, n: 5 };
        assert_eq!(judge(&rule, &samples(&[50.0, 50.0, 50.0]), &below, None), None, "too few samples to judge");
        assert_eq!(judge(&rule, &samples(&[50.0, 200.0, 50.0, 200.0, 50.0]), &below, None), Some((50.0, true)));
        assert_eq!(judge(&rule, &samples(&[50.0, 50.0, 200.0, 200.0, 200.0, 50.0]), &below, None), Some((50.0, false)), "only the newest five count");
    }

    #[test]
    fn statistics_use_only_the_window() {
        let below = Condition::parse("< 100").unwrap();
        let median = Aggregation::Over { statistic: Statistic::Median, window: Duration::from_secs(180) };
        // One sample a minute: a three-minute window holds the newest three.
        assert_eq!(judge(&median, &samples(&[10.0, 10.0, 300.0, 50.0, 60.0]), &below, None), Some((60.0, true)));
        let p95 = Aggregation::Over { statistic: Statistic::P95, window: Duration::from_secs(7200) };
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(judge(&p95, &samples(&values), &Condition::parse("> 90").unwrap(), None), Some((95.0, true)));
        let mean = Aggregation::Over { statistic: Statistic::Mean, window: Duration::from_secs(3600) };
        assert_eq!(judge(&mean, &samples(&[1.0, 2.0, 6.0]), &below, None), Some((3.0, true)));
    }
}
