//! ICMP echo checks, as `ping -c COUNT -i SPACING` does them: loss, and the
//! round trips' min, average, max and mean deviation.

use std::{net::IpAddr, time::Duration};

use surge_ping::{Client, Config, PingIdentifier, PingSequence, SurgeError, ICMP};

use crate::server::{monitor::check::Timings, speed::stats::round3};

/// The shortest and longest a reply is waited for.
const REPLY_WAIT_LEAST: Duration = Duration::from_millis(500);
const REPLY_WAIT_MOST: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct PingCheck {
    pub host: String,
    pub count: u16,
    /// Between two echo requests.
    pub spacing: Duration,
}

/// What a run of echo requests measured; round trips in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PingStats {
    pub loss_pct: f64,
    pub min_ms: f64,
    pub avg_ms: f64,
    pub max_ms: f64,
    pub mdev_ms: f64,
}

impl PingCheck {
    /// From the `[[monitor]]` keys `ping`, `count` and `ping_interval`; the key a mistake is in.
    pub fn parse(host: &str, count: Option<u16>, spacing: Option<f64>, timeout: Duration) -> Result<Self, (&'static str, String)> {
        let host = host.trim().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.len() > 253 || host.contains(['/', ' ', ':']) && host.parse::<IpAddr>().is_err() {
            return Err(("monitor.ping", format!("must be a host name or an IP address, got {host:?}")));
        }
        let count = count.unwrap_or(3);
        if !(1..=100).contains(&count) {
            return Err(("monitor.count", format!("must be 1 to 100, got {count}")));
        }
        let spacing = spacing.unwrap_or(1.0);
        if !(0.2..=10.0).contains(&spacing) {
            return Err(("monitor.ping_interval", format!("must be 0.2 to 10 seconds, got {spacing}")));
        }
        let spacing = Duration::from_secs_f64(spacing);
        // Room for the gaps, and half a second for each reply.
        let needed = spacing * u32::from(count - 1) + REPLY_WAIT_LEAST * u32::from(count);
        if timeout < needed {
            return Err(("monitor.timeout", format!("must be at least (count - 1) × ping_interval + count × 0.5 s, here {:.1} s", needed.as_secs_f64())));
        }
        Ok(Self { host: host.to_owned(), count, spacing })
    }

    pub fn label(&self) -> String {
        format!("icmp://{}", self.host)
    }
}

/// Loss and round-trip figures of `replies` out of `sent`, as ping prints them.
pub fn stats(sent: u16, replies: &[f64]) -> PingStats {
    let loss_pct = round3((f64::from(sent) - replies.len() as f64) / f64::from(sent.max(1)) * 100.0);
    if replies.is_empty() {
        return PingStats { loss_pct, ..PingStats::default() };
    }
    let n = replies.len() as f64;
    let avg = replies.iter().sum::<f64>() / n;
    let mean_square = replies.iter().map(|r| r * r).sum::<f64>() / n;
    PingStats {
        loss_pct,
        min_ms: round3(replies.iter().copied().fold(f64::INFINITY, f64::min)),
        avg_ms: round3(avg),
        max_ms: round3(replies.iter().copied().fold(0.0, f64::max)),
        mdev_ms: round3((mean_square - avg * avg).max(0.0).sqrt()),
    }
}

async fn address(host: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = host.parse() {
        return Ok(ip);
    }
    let mut found = tokio::net::lookup_host((host, 0)).await.map_err(|err| format!("DNS: {host}: {err}"))?;
    found.next().map(|addr| addr.ip()).ok_or_else(|| format!("DNS: {host} has no address"))
}

/// Sends `count` echo requests, each waiting at most a second for its reply, and
/// less when what is left of the check's `timeout` would not hold them all.
/// Up when any reply came. The figures are kept after each request, so a
/// check cut off by its timeout still says what it measured.
pub async fn run(check: &PingCheck, timeout: Duration, timings: &mut Timings) -> Result<(), String> {
    let started = tokio::time::Instant::now();
    let ip = address(&check.host).await?;
    let kind = if ip.is_ipv4() { ICMP::V4 } else { ICMP::V6 };
    let client = Client::new(&Config::builder().kind(kind).build()).map_err(|err| match err.kind() {
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot open an ICMP socket ({err}): unprivileged pings need the sysctl net.ipv4.ping_group_range \
             to include netpulse's group, or netpulse needs CAP_NET_RAW"
        ),
        _ => format!("cannot open an ICMP socket: {err}"),
    })?;
    let mut pinger = client.pinger(ip, PingIdentifier(rand::random())).await;
    let deadline = started + timeout;
    let payload = [0u8; 56];
    let mut replies = Vec::with_capacity(usize::from(check.count));
    let mut failure = None;
    for seq in 0..check.count {
        if seq > 0 {
            tokio::time::sleep(check.spacing).await;
        }
        // What is left, less the gaps still to come, shared by the replies still to come.
        let to_come = u32::from(check.count - seq);
        let left = deadline.saturating_duration_since(tokio::time::Instant::now()).saturating_sub(check.spacing * (to_come - 1));
        pinger.timeout((left / to_come).min(REPLY_WAIT_MOST));
        match pinger.ping(PingSequence(seq), &payload).await {
            Ok((_, rtt)) => replies.push(rtt.as_secs_f64() * 1000.0),
            Err(SurgeError::Timeout { .. }) => {}
            Err(err) => failure = Some(err.to_string()),
        }
        timings.ping = Some(stats(seq + 1, &replies));
    }
    match (replies.is_empty(), failure) {
        (false, _) => Ok(()),
        (true, Some(err)) => Err(format!("ping failed: {err}")),
        (true, None) => Err(format!("no reply to {} ping{}", check.count, if check.count == 1 { "" } else { "s" })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_like_pings_summary() {
        let figures = stats(4, &[1.0, 2.0, 3.0]);
        assert_eq!(figures, PingStats { loss_pct: 25.0, min_ms: 1.0, avg_ms: 2.0, max_ms: 3.0, mdev_ms: 0.816 });
        assert_eq!(stats(3, &[]).loss_pct, 100.0);
    }

    #[test]
    fn keys_are_checked_and_name_themselves() {
        let ten = Duration::from_secs(10);
        let check = PingCheck::parse("198.18.0.2", Some(5), Some(0.5), ten).unwrap();
        assert_eq!((check.count, check.spacing, check.label()), (5, Duration::from_millis(500), "icmp://198.18.0.2".to_owned()));
        assert!(PingCheck::parse("[::1]", None, None, ten).is_ok());
        assert_eq!(PingCheck::parse("a b", None, None, ten).unwrap_err().0, "monitor.ping");
        assert_eq!(PingCheck::parse("gw", Some(0), None, ten).unwrap_err().0, "monitor.count");
        assert_eq!(PingCheck::parse("gw", None, Some(0.01), ten).unwrap_err().0, "monitor.ping_interval");
        assert_eq!(PingCheck::parse("gw", Some(20), Some(1.0), ten).unwrap_err().0, "monitor.timeout");
        assert_eq!(PingCheck::parse("gw", Some(3), Some(1.0), Duration::from_secs(3)).unwrap_err().0, "monitor.timeout", "2 s of gaps and 1.5 s of replies");
    }
}
