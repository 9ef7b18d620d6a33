//! Periodic work: first at once, then every period (optionally spread at
//! random), never overlapping itself, and stopped promptly (mid-work too)
//! when shutdown is signalled.

use std::{future::Future, time::Duration};

use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub async fn every<F, Fut>(period: Duration, shutdown: &CancellationToken, work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    every_spread(period, 0.0, shutdown, work).await
}

/// Like [`every`], but each gap between starts is `period` stretched or shrunk
/// by a random fraction of at most `spread`, so that many installs started
/// together drift apart instead of all testing the same link at once.
pub async fn every_spread<F, Fut>(period: Duration, spread: f64, shutdown: &CancellationToken, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut next_start = Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(next_start) => {}
        }
        let started = Instant::now();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = work() => {}
        }
        let offset = if spread > 0.0 { rand::rng().random_range(-spread..=spread) } else { 0.0 };
        // Work that overran its gap starts again at once rather than in a burst.
        next_start = started + spread_gap(period, offset);
    }
}

/// `period` scaled by `1 + offset`.
pub fn spread_gap(period: Duration, offset: f64) -> Duration {
    period.mul_f64((1.0 + offset).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    };

    #[tokio::test(start_paused = true)]
    async fn runs_at_once_then_every_period_until_cancelled() {
        let runs = Arc::new(AtomicU32::new(0));
        let token = CancellationToken::new();
        let task = {
            let (runs, token) = (runs.clone(), token.clone());
            tokio::spawn(async move {
                every(Duration::from_secs(10), &token, || async {
                    runs.fetch_add(1, Ordering::SeqCst);
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "at 0, 10 and 20 s");
        token.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn spread_gaps_stay_within_their_bounds() {
        assert_eq!(spread_gap(Duration::from_secs(60), 0.1), Duration::from_secs(66));
        assert_eq!(spread_gap(Duration::from_secs(60), -0.1), Duration::from_secs(54));
        let starts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let token = CancellationToken::new();
        let task = {
            let (starts, token) = (starts.clone(), token.clone());
            tokio::spawn(async move {
                every_spread(Duration::from_secs(60), 0.1, &token, || {
                    starts.lock().unwrap().push(Instant::now());
                    async {}
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_secs(60 * 40)).await;
        token.cancel();
        task.await.unwrap();
        let starts = starts.lock().unwrap();
        let gaps: Vec<f64> = starts.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
        assert!(gaps.len() >= 35, "{} runs", starts.len());
        assert!(gaps.iter().all(|gap| (54.0..=66.0).contains(gap)), "{gaps:?}");
        // Random, not constant: the gaps differ from one another.
        assert!(gaps.iter().any(|gap| (gap - gaps[0]).abs() > 0.5), "{gaps:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_interrupts_work_in_progress() {
        let token = CancellationToken::new();
        let task = {
            let token = token.clone();
            tokio::spawn(async move { every(Duration::from_secs(1), &token, || tokio::time::sleep(Duration::from_secs(3600))).await })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        token.cancel();
        tokio::time::timeout(Duration::from_secs(1), task).await.expect("stops at once").unwrap();
    }
}
