//! Measurement arithmetic: rates, medians and jitter, kept free of I/O so it can be unit-tested.

use std::time::Duration;

/// Goodput in Mbit/s (10^6 bits per second), with no overhead factor.
pub fn mbps(bytes: u64, elapsed: Duration) -> Option<f64> {
    let secs = elapsed.as_secs_f64();
    (secs > 0.0).then(|| bytes as f64 * 8.0 / secs / 1e6)
}

pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) { (sorted[mid - 1] + sorted[mid]) / 2.0 } else { sorted[mid] })
}

/// Jitter as the mean absolute difference of consecutive round trips (RFC 3550's
/// idea without its smoothing), so one spike counts once, not forever.
pub fn jitter(samples: &[f64]) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let total: f64 = samples.windows(2).map(|pair| (pair[1] - pair[0]).abs()).sum();
    Some(total / (samples.len() - 1) as f64)
}

/// Rounds a figure for display on the wire: three decimals is below any
/// precision these measurements have.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbps_uses_decimal_megabits() {
        assert_eq!(mbps(125_000_000, Duration::from_secs(1)), Some(1000.0));
        assert_eq!(mbps(1_250_000, Duration::from_millis(500)), Some(20.0));
        assert_eq!(mbps(10, Duration::ZERO), None);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn jitter_is_mean_absolute_consecutive_difference() {
        assert_eq!(jitter(&[10.0]), None);
        assert_eq!(jitter(&[10.0, 12.0, 11.0, 15.0]), Some((2.0 + 1.0 + 4.0) / 3.0));
        assert_eq!(jitter(&[5.0, 5.0, 5.0]), Some(0.0));
    }

    #[test]
    fn round3_keeps_three_decimals() {
        assert_eq!(round3(1.23456), 1.235);
    }
}
