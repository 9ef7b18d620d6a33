//! The speed-test byte budget: how many bytes one client address may move
//! through `/speedtest` per hour, so a public netpulse is no free traffic source.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{
    clock::{Clock, DefaultClock},
    DefaultKeyedRateLimiter, Quota, RateLimiter,
};
use ipnet::IpNet;

use crate::server::http::client_address::client_network;

/// The budget counts whole KiB, so an hour's budget of up to 4 TiB fits governor's cells.
const UNIT: u64 = 1024;

/// Why a transfer was refused.
#[derive(Debug, PartialEq)]
pub enum OverBudget {
    /// Wait this long for enough of the budget to refill.
    Wait(Duration),
    /// One request asked for more than a whole hour's budget.
    TooLarge { budget_mb: u32 },
}

pub struct ServeBudget {
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    exempt: Vec<IpNet>,
    budget_mb: u32,
    /// Takes since quiet addresses were last dropped.
    since_pruned: std::sync::atomic::AtomicU32,
}

impl ServeBudget {
    /// `budget_mb` megabytes (10^6) per address per hour, refilled evenly; 0 for no budget.
    pub fn new(budget_mb: u32, exempt: Vec<IpNet>) -> Self {
        let units = (u64::from(budget_mb) * 1_000_000).div_ceil(UNIT);
        let limiter = NonZeroU32::new(u32::try_from(units).unwrap_or(u32::MAX)).map(|units| RateLimiter::keyed(Quota::per_hour(units)));
        Self { limiter, exempt, budget_mb, since_pruned: std::sync::atomic::AtomicU32::new(0) }
    }

    pub fn budget_mb(&self) -> u32 {
        self.budget_mb
    }

    /// Whether `bytes` fit in a whole hour's budget at all.
    pub fn fits(&self, bytes: u64) -> bool {
        self.budget_mb == 0 || bytes.div_ceil(UNIT) <= (u64::from(self.budget_mb) * 1_000_000).div_ceil(UNIT)
    }

    /// Takes `bytes` from `client`'s budget, or says why not (and takes nothing).
    pub fn take(&self, client: IpAddr, bytes: u64) -> Result<(), OverBudget> {
        let Some(limiter) = &self.limiter else { return Ok(()) };
        if bytes == 0 || crate::server::config::networks::contains(&self.exempt, client) {
            return Ok(());
        }
        let units = u32::try_from(bytes.div_ceil(UNIT)).ok().and_then(NonZeroU32::new).ok_or(OverBudget::TooLarge { budget_mb: self.budget_mb })?;
        let now = DefaultClock::default().now();
        let outcome = limiter.check_key_n(&client_network(client), units).map_err(|_| OverBudget::TooLarge { budget_mb: self.budget_mb })?;
        // Quiet addresses are dropped now and then (not on every take: that scan is as long as the map).
        if self.since_pruned.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 10_000 {
            self.since_pruned.store(0, std::sync::atomic::Ordering::Relaxed);
            limiter.retain_recent();
        }
        outcome.map_err(|until| OverBudget::Wait(until.wait_time_from(now)))
    }
}

/// Charges an upload as its chunks arrive, in whole units, carrying the remainder.
pub struct UploadMeter<'a> {
    budget: &'a ServeBudget,
    client: IpAddr,
    uncharged: u64,
}

impl<'a> UploadMeter<'a> {
    pub fn new(budget: &'a ServeBudget, client: IpAddr) -> Self {
        Self { budget, client, uncharged: 0 }
    }

    /// Counts `bytes` more of the body.
    pub fn received(&mut self, bytes: usize) -> Result<(), OverBudget> {
        self.uncharged += bytes as u64;
        let whole = self.uncharged - self.uncharged % UNIT;
        if whole >= 64 * UNIT {
            self.budget.take(self.client, whole)?;
            self.uncharged -= whole;
        }
        Ok(())
    }

    /// Charges what is left at the end of the body.
    pub fn finish(self) -> Result<(), OverBudget> {
        self.budget.take(self.client, self.uncharged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn an_address_gets_its_budget_then_waits() {
        let budget = ServeBudget::new(10, Vec::new());
        assert_eq!(budget.take(ip("198.51.100.7"), 6_000_000), Ok(()));
        let Err(OverBudget::Wait(wait)) = budget.take(ip("198.51.100.7"), 6_000_000) else { panic!("the second 6 MB is over a 10 MB budget") };
        // 2 MB short, at 10 MB an hour: about 12 minutes.
        assert!(wait > Duration::from_secs(600) && wait < Duration::from_secs(900), "{wait:?}");
        assert_eq!(budget.take(ip("198.51.100.8"), 6_000_000), Ok(()), "another address has its own budget");
        assert_eq!(budget.take(ip("198.51.100.7"), 3_000_000), Ok(()), "a refused request took nothing");
        assert_eq!(budget.take(ip("198.51.100.9"), 11_000_000), Err(OverBudget::TooLarge { budget_mb: 10 }));
        assert!(budget.fits(10_000_000) && !budget.fits(11_000_000));
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client_and_exempt_networks_are_free() {
        let exempt = crate::server::config::networks::networks("speed.serve_budget_exempt", &["10.0.0.0/8".into()]).unwrap();
        let budget = ServeBudget::new(1, exempt);
        assert_eq!(budget.take(ip("2001:db8:1:2::1"), 900_000), Ok(()));
        assert!(budget.take(ip("2001:db8:1:2::ffff"), 900_000).is_err(), "same /64");
        assert_eq!(budget.take(ip("2001:db8:1:3::1"), 900_000), Ok(()), "another /64");
        for _ in 0..5 {
            assert_eq!(budget.take(ip("10.1.2.3"), 900_000), Ok(()));
        }
        let unlimited = ServeBudget::new(0, Vec::new());
        assert_eq!(unlimited.take(ip("198.51.100.7"), u64::MAX), Ok(()));
    }

    #[test]
    fn uploads_are_charged_as_they_arrive() {
        let budget = ServeBudget::new(1, Vec::new());
        let mut meter = UploadMeter::new(&budget, ip("198.51.100.7"));
        let mut refused_after = None;
        for chunk in 0..40 {
            if meter.received(64 * 1024).is_err() {
                refused_after = Some(chunk);
                break;
            }
        }
        // 1 MB is 977 KiB: the 16th 64 KiB chunk passes it.
        assert_eq!(refused_after, Some(15));
        let small = ServeBudget::new(1, Vec::new());
        let mut meter = UploadMeter::new(&small, ip("198.51.100.8"));
        meter.received(100).unwrap();
        meter.finish().unwrap();
    }
}
