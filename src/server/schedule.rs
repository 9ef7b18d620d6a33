//! Periodic work: first at once, then every period, never overlapping itself,
//! and stopped promptly (mid-work too) when shutdown is signalled.

use std::{future::Future, time::Duration};

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

pub async fn every<F, Fut>(period: Duration, shutdown: &CancellationToken, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(period);
    // Work that overruns its period delays the next run instead of starting a burst.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = work() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{atomic::{AtomicU32, Ordering}, Arc};

    #[tokio::test(start_paused = true)]
    async fn runs_at_once_then_every_period_until_cancelled() {
        let runs = Arc::new(AtomicU32::new(0));
        let token = CancellationToken::new();
        let task = {
            let (runs, token) = (runs.clone(), token.clone());
            tokio::spawn(async move { every(Duration::from_secs(10), &token, || async { runs.fetch_add(1, Ordering::SeqCst); }).await })
        };
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "at 0, 10 and 20 s");
        token.cancel();
        task.await.unwrap();
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
