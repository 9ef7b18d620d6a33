//! The arithmetic of one transfer phase: the goodput after the warm-up and
//! when the rate has settled enough to stop early. Pure, so it is unit-tested.

use std::time::Duration;

use crate::server::speed::stats;

/// The counted rate must hold within this fraction...
pub const STABLE_TOLERANCE: f64 = 0.02;
/// ...over this much of the most recent counting...
pub const STABLE_WINDOW: Duration = Duration::from_secs(1);
/// ...after at least this much counting in all.
pub const MIN_COUNTED: Duration = Duration::from_secs(2);

/// Cumulative bytes sampled over one phase, as (time since the phase began, bytes).
#[derive(Clone, Debug, Default)]
pub struct RateTrace {
    points: Vec<(Duration, u64)>,
}

impl RateTrace {
    pub fn push(&mut self, at: Duration, bytes: u64) {
        self.points.push((at, bytes));
    }

    pub fn bytes(&self) -> u64 {
        self.points.last().map_or(0, |&(_, bytes)| bytes)
    }

    /// The first sample at or after the grace period: where counting starts.
    fn counting_start(&self, grace: Duration) -> Option<(Duration, u64)> {
        self.points.iter().copied().find(|&(at, _)| at >= grace)
    }

    /// Mbit/s from the end of the grace period to the last sample. A phase
    /// cut short before the grace ended (by the byte budget, or streams that
    /// finished) is counted from its start instead, which is the best it has.
    pub fn goodput(&self, grace: Duration) -> Option<f64> {
        let &(end_at, end_bytes) = self.points.last()?;
        let (from_at, from_bytes) = match self.counting_start(grace) {
            Some(start) if start.0 < end_at => start,
            _ => (Duration::ZERO, 0),
        };
        let counted = end_bytes.saturating_sub(from_bytes);
        if counted == 0 {
            return None;
        }
        stats::mbps(counted, end_at - from_at)
    }

    /// True once the rate has settled: at least [`MIN_COUNTED`] counted, the
    /// counted rate moved less than [`STABLE_TOLERANCE`] over the last
    /// [`STABLE_WINDOW`], and the rate within that window agrees with it (so a
    /// rate still ramping up is not mistaken for a settled one).
    pub fn is_stable(&self, grace: Duration) -> bool {
        let Some((start_at, start_bytes)) = self.counting_start(grace) else { return false };
        let Some(&(end_at, end_bytes)) = self.points.last() else { return false };
        if end_at < start_at + MIN_COUNTED {
            return false;
        }
        let window_from = end_at - STABLE_WINDOW;
        let counted_rate = |(at, bytes): (Duration, u64)| bytes.saturating_sub(start_bytes) as f64 / (at - start_at).as_secs_f64();
        let recent: Vec<f64> = self.points.iter().copied().filter(|&(at, _)| at >= window_from && at > start_at).map(counted_rate).collect();
        let (Some(low), Some(high)) = (recent.iter().copied().reduce(f64::min), recent.iter().copied().reduce(f64::max)) else { return false };
        if high <= 0.0 || (high - low) / high > STABLE_TOLERANCE {
            return false;
        }
        let Some(&(window_at, window_bytes)) = self.points.iter().find(|&&(at, _)| at >= window_from) else { return false };
        if window_at >= end_at {
            return false;
        }
        let window_rate = end_bytes.saturating_sub(window_bytes) as f64 / (end_at - window_at).as_secs_f64();
        let overall = counted_rate((end_at, end_bytes));
        (window_rate - overall).abs() / overall <= STABLE_TOLERANCE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Samples every 100 ms of a phase whose rate (bytes per 100 ms) is given per tick.
    fn trace(rates: impl IntoIterator<Item = u64>) -> RateTrace {
        let mut trace = RateTrace::default();
        let mut bytes = 0;
        for (tick, rate) in rates.into_iter().enumerate() {
            bytes += rate;
            trace.push(ms(100 * (tick as u64 + 1)), bytes);
        }
        trace
    }

    #[test]
    fn warm_up_is_not_counted() {
        // A slow first second (slow start), then 1.25 MB per 100 ms = 100 Mbit/s.
        let t = trace((0..10).map(|_| 10_000).chain((0..30).map(|_| 1_250_000)));
        assert_eq!(t.goodput(ms(1000)).map(stats::round3), Some(100.0));
        // Counting the warm-up drags the figure down.
        assert!(t.goodput(Duration::ZERO).unwrap() < 80.0);
    }

    #[test]
    fn a_phase_shorter_than_the_grace_counts_from_its_start() {
        let t = trace([125_000; 5]);
        assert_eq!(t.goodput(ms(1500)).map(stats::round3), Some(10.0));
        assert_eq!(RateTrace::default().goodput(ms(1500)), None);
        assert_eq!(trace([0; 20]).goodput(ms(500)), None);
    }

    #[test]
    fn a_steady_rate_is_stable_after_the_minimum_counting_time() {
        let steady = |ticks| trace((0..ticks).map(|_| 1_000_000));
        assert!(!steady(20).is_stable(ms(500)), "1.5 s counted is too soon");
        assert!(steady(26).is_stable(ms(500)), "2.1 s counted at a flat rate");
    }

    #[test]
    fn a_ramping_or_noisy_rate_is_not_stable() {
        // Growing 3% per tick, as a congestion window still opening does.
        let ramp = trace((0..40).map(|tick| (1_000_000.0 * 1.03f64.powi(tick)) as u64));
        assert!(!ramp.is_stable(ms(500)));
        // Alternating bursts and stalls: the counted rate swings too much.
        let bursty = trace((0..40).map(|tick| if (tick / 5) % 2 == 0 { 2_000_000 } else { 0 }));
        assert!(!bursty.is_stable(ms(500)));
    }

    #[test]
    fn small_noise_settles() {
        let noisy = trace((0..40).map(|tick| if tick % 2 == 0 { 1_010_000 } else { 990_000 }));
        assert!(noisy.is_stable(ms(500)));
    }
}
