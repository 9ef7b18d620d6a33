//! Sign-in attempts, limited per client address and per account name, so a
//! password cannot be guessed quickly from one place or against one account.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{
    clock::{Clock, DefaultClock},
    DefaultKeyedRateLimiter, Quota, RateLimiter,
};

pub struct LoginLimiter {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
    /// Attempts since quiet keys were last dropped.
    since_pruned: std::sync::atomic::AtomicU32,
}

impl LoginLimiter {
    /// `per_minute` attempts for each account; an address may try ten accounts' worth.
    pub fn new(per_minute: u32) -> Self {
        let account = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let address = NonZeroU32::new(per_minute.max(1).saturating_mul(10)).unwrap_or(NonZeroU32::MIN);
        Self {
            by_address: RateLimiter::keyed(Quota::per_minute(address)),
            by_account: RateLimiter::keyed(Quota::per_minute(account)),
            since_pruned: std::sync::atomic::AtomicU32::new(0),
        }
    }

    /// Counts an attempt, as `attempt`, refused as the 429 a sign-in answers.
    pub fn admit(&self, address: IpAddr, account: &str) -> Result<(), crate::server::http::error::ApiError> {
        self.attempt(address, account).map_err(|wait| crate::server::http::error::ApiError::TooManyRequests {
            message: "too many sign-in attempts; wait and try again".to_owned(),
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        })
    }

    /// Counts an attempt; `Err` with how long to wait when there were too many.
    pub fn attempt(&self, address: IpAddr, account: &str) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let wait = |outcome: Result<(), governor::NotUntil<_>>| outcome.map_err(|until| until.wait_time_from(now));
        wait(self.by_address.check_key(&address.to_canonical()))?;
        // Names are folded so that case games do not get extra tries.
        wait(self.by_account.check_key(&account.to_lowercase()))?;
        // Keys of quiet addresses are dropped now and then, so the maps stay small; not on
        // every attempt, since the scan is as long as the map.
        if self.since_pruned.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 10_000 {
            self.since_pruned.store(0, std::sync::atomic::Ordering::Relaxed);
            self.by_address.retain_recent();
            self.by_account.retain_recent();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_past_the_quota_wait() {
        let limiter = LoginLimiter::new(3);
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.attempt(here, "alice").is_ok());
        }
        let wait = limiter.attempt(here, "Alice").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        assert!(limiter.attempt(here, "bob").is_ok(), "another account is counted apart");
        let elsewhere: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limiter.attempt(elsewhere, "alice").is_err(), "the account's own limit holds from any address");
    }
}
