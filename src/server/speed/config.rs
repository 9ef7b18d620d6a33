//! The `[speed]` section of the config: how and how often speed tests run,
//! and against which targets.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::server::{
    config::error::{invalid, ConfigError},
    speed::target::{SpeedTarget, TargetKind},
};

/// The public target used when none is configured: Cloudflare's speed test,
/// which serves `__down` and `__up` over HTTPS from a nearby edge.
pub const DEFAULT_TARGET_URL: &str = "https://speed.cloudflare.com";

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeedConfig {
    /// Run scheduled speed tests at all; off for a node that only serves as a target.
    pub enabled: bool,
    /// Seconds between the starts of two tests of a target.
    pub interval: u64,
    /// Each interval is stretched or shrunk at random by up to this fraction.
    pub spread: f64,
    /// Parallel TCP streams per direction.
    pub streams: usize,
    /// Seconds each direction may run, warm-up included.
    pub duration: f64,
    /// Seconds at the start of each direction that are not counted.
    pub grace: f64,
    /// End a direction early once its rate is stable.
    pub early_stop: bool,
    /// Megabytes (10^6) one test may move in both directions together; 0 for no cap.
    pub budget_mb: f64,
    /// Round trips timed for latency and jitter.
    pub pings: usize,
    /// Seconds to wait for a connection or a response before giving up.
    pub timeout: f64,
    #[serde(rename = "target")]
    pub targets: Vec<TargetConfig>,
    /// Megabytes (10^6) one client address (an IPv6 /64) may move through this
    /// node's `/speedtest` per hour, refilled evenly; past it, 429. 0 for no budget.
    pub serve_budget_mb: u32,
    /// Addresses and networks the budget does not apply to.
    pub serve_budget_exempt: Vec<String>,
}

#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    pub url: String,
    #[serde(default)]
    pub kind: Option<TargetKind>,
    /// Seconds between tests of this target; `speed.interval` when absent.
    #[serde(default)]
    pub interval: Option<u64>,
}

/// Without the URL's `user:password@`: a config or node config in a log shows no secret.
impl std::fmt::Debug for TargetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = reqwest::Url::parse(&self.url).map_or_else(|_| "[not a URL]".to_owned(), |url| crate::server::speed::target::shown(&url));
        f.debug_struct("TargetConfig").field("url", &url).field("kind", &self.kind).field("interval", &self.interval).finish()
    }
}

impl Default for SpeedConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: 60,
            spread: 0.1,
            streams: 4,
            duration: 8.0,
            grace: 1.5,
            early_stop: true,
            budget_mb: 1000.0,
            pings: 10,
            timeout: 10.0,
            targets: Vec::new(),
            serve_budget_mb: 2000,
            serve_budget_exempt: ["127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"].map(str::to_owned).to_vec(),
        }
    }
}

/// A target and how often the sampler measures it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledTarget {
    pub target: SpeedTarget,
    pub interval: Duration,
}

fn check_interval(key: &'static str, seconds: u64) -> Result<(), ConfigError> {
    if (1..=86_400).contains(&seconds) {
        Ok(())
    } else {
        Err(invalid(key, format!("must be 1 to 86400 seconds, got {seconds}")))
    }
}

impl SpeedConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_interval("speed.interval", self.interval)?;
        if !(0.0..=0.5).contains(&self.spread) {
            return Err(invalid("speed.spread", format!("must be 0 to 0.5, got {}", self.spread)));
        }
        if !(1..=64).contains(&self.streams) {
            return Err(invalid("speed.streams", format!("must be 1 to 64, got {}", self.streams)));
        }
        if !(self.duration > 0.0 && self.duration <= 120.0) {
            return Err(invalid("speed.duration", format!("must be above 0 and at most 120 seconds, got {}", self.duration)));
        }
        if !(self.grace >= 0.0 && self.grace < self.duration) {
            return Err(invalid("speed.grace", format!("must be at least 0 and below speed.duration ({}), got {}", self.duration, self.grace)));
        }
        if !(self.budget_mb == 0.0 || (1.0..=1e6).contains(&self.budget_mb)) {
            return Err(invalid("speed.budget_mb", format!("must be 0 (no cap) or 1 to 1000000, got {}", self.budget_mb)));
        }
        if !(1..=100).contains(&self.pings) {
            return Err(invalid("speed.pings", format!("must be 1 to 100, got {}", self.pings)));
        }
        if !(self.timeout > 0.0 && self.timeout <= 300.0) {
            return Err(invalid("speed.timeout", format!("must be above 0 and at most 300 seconds, got {}", self.timeout)));
        }
        if self.serve_budget_mb > 4_000_000 {
            return Err(invalid("speed.serve_budget_mb", format!("must be 0 (no budget) to 4000000, got {}", self.serve_budget_mb)));
        }
        self.serve_budget_exempt()?;
        for target in &self.targets {
            let parsed = SpeedTarget::parse(&target.url, target.kind.unwrap_or(TargetKind::Netpulse)).map_err(|reason| invalid("speed.target.url", reason))?;
            // `<target>@tokyo` is the target as agent node `tokyo` tests it.
            if parsed.label().contains('@') {
                return Err(invalid("speed.target.url", format!("{:?} must not contain '@' past its host, which names an agent node's copy", parsed.label())));
            }
            if let Some(seconds) = target.interval {
                check_interval("speed.target.interval", seconds)?;
            }
        }
        Ok(())
    }

    /// The networks `/speedtest` serves without counting.
    pub fn serve_budget_exempt(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        crate::server::config::networks::networks("speed.serve_budget_exempt", &self.serve_budget_exempt)
    }

    /// The targets to measure: the configured ones, or the public default.
    pub fn targets(&self) -> Vec<ScheduledTarget> {
        if self.targets.is_empty() {
            let target = SpeedTarget::parse(DEFAULT_TARGET_URL, TargetKind::Cloudflare).expect("the default target URL is valid");
            return vec![ScheduledTarget { target, interval: Duration::from_secs(self.interval) }];
        }
        self.targets
            .iter()
            .filter_map(|t| {
                let target = SpeedTarget::parse(&t.url, t.kind.unwrap_or(TargetKind::Netpulse)).ok()?;
                Some(ScheduledTarget { target, interval: Duration::from_secs(t.interval.unwrap_or(self.interval)) })
            })
            .collect()
    }

    /// The targets `node` measures: every one but a `node:NAME` naming itself.
    pub fn targets_of(&self, node: &str) -> Vec<ScheduledTarget> {
        self.targets().into_iter().filter(|scheduled| scheduled.target.node() != Some(node)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::Config;

    #[test]
    fn defaults_measure_cloudflare_every_minute_with_a_budget() {
        let speed = Config::from_toml("").unwrap().speed;
        speed.validate().unwrap();
        let targets = speed.targets();
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].target.kind, TargetKind::Cloudflare);
        assert_eq!(targets[0].interval, Duration::from_secs(60));
        assert_eq!((speed.spread, speed.budget_mb, speed.early_stop), (0.1, 1000.0, true));
    }

    #[test]
    fn each_target_keeps_its_kind_and_interval() {
        let text = "[speed]\ninterval = 300\n[[speed.target]]\nurl = \"http://127.0.0.1:1/backend\"\nkind = \"librespeed\"\n\
                    [[speed.target]]\nurl = \"http://127.0.0.1:2/speedtest\"\ninterval = 900\n";
        let speed = Config::from_toml(text).unwrap().speed;
        speed.validate().unwrap();
        let targets = speed.targets();
        assert_eq!(targets[0].target.kind, TargetKind::Librespeed);
        assert_eq!(targets[0].interval, Duration::from_secs(300));
        assert_eq!(targets[1].target.kind, TargetKind::Netpulse);
        assert_eq!(targets[1].interval, Duration::from_secs(900));
    }

    #[test]
    fn a_node_measures_the_others_but_not_itself() {
        let speed = Config::from_toml("[[speed.target]]\nurl = \"node:tokyo\"\n[[speed.target]]\nurl = \"node:pune\"\n").unwrap().speed;
        speed.validate().unwrap();
        let labels = |node| speed.targets_of(node).iter().map(|scheduled| scheduled.target.label()).collect::<Vec<_>>();
        assert_eq!(labels("tokyo"), ["node:pune"]);
        assert_eq!(labels("central"), ["node:tokyo", "node:pune"]);
    }

    #[test]
    fn a_targets_credentials_never_show_in_debug() {
        let speed = Config::from_toml("[[speed.target]]\nurl = \"https://me:s3cret@speed.lan/speedtest\"\n").unwrap().speed;
        let shown = format!("{speed:?}");
        assert!(shown.contains("speed.lan") && !shown.contains("s3cret") && !shown.contains("me:"), "{shown}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("[[speed.target]]\nurl = \"ftp://x\"\n", "speed.target.url"),
            ("[[speed.target]]\nurl = \"http://h/\"\ninterval = 0\n", "speed.target.interval"),
            ("[speed]\nspread = 0.9\n", "speed.spread"),
            ("[speed]\nbudget_mb = -1\n", "speed.budget_mb"),
            ("[[speed.target]]\nurl = \"http://h/@me/speedtest\"\n", "speed.target.url"),
            ("[[speed.target]]\nurl = \"node:no such\"\n", "speed.target.url"),
        ] {
            let err = Config::from_toml(text).unwrap().validate().unwrap_err().to_string();
            assert!(err.starts_with(&format!("invalid {key}:")), "{text}: {err}");
        }
    }
}
