//! Ping monitors against peers in a network namespace this test creates
//! (198.18.9.0/29): one that answers, an address nobody has, and the same
//! peer once it ignores every echo request.
//!
//! Needs root and `ip`; skips without them unless `NETPULSE_REQUIRE_NETNS=1`,
//! which `cargo make test` sets.

mod common;

use std::time::Duration;

use common::netns::Namespace;
use netpulse::server::{config::Config, monitor::check};

const HOST: &str = "198.18.9.1";
const PEER: &str = "198.18.9.2";
/// In the namespace's subnet, on no machine: no one answers its ARP, so no echo comes back.
const NOBODY: &str = "198.18.9.5";

async fn ping(host: &str, count: u16) -> netpulse::model::ProbeResult {
    let table = format!("[[monitor]]\nname = \"gw\"\nping = \"{host}\"\ncount = {count}\nping_interval = 0.2\ntimeout = 3\n");
    let monitor = Config::from_toml(&table).unwrap().checked_monitors().unwrap().remove(0);
    check::check(&monitor, &check::tls_connector()).await
}

#[tokio::test]
async fn pings_report_loss_and_round_trips_and_a_silent_peer_is_down() {
    let Some(namespace) = Namespace::create("ping", HOST, PEER, 29) else {
        assert!(std::env::var_os("NETPULSE_REQUIRE_NETNS").is_none(), "cannot create a network namespace (this test needs root and iproute2)");
        eprintln!("skipped: cannot create a network namespace");
        return;
    };
    let result = ping(PEER, 4).await;
    assert!(result.up, "{result:?}");
    assert_eq!((result.url.as_str(), result.loss_pct), ("icmp://198.18.9.2", Some(0.0)));
    let (min, avg, max) = (result.rtt_min_ms.unwrap(), result.response_ms.unwrap(), result.rtt_max_ms.unwrap());
    assert!(0.0 < min && min <= avg && avg <= max && max < 100.0, "{result:?}");
    assert!(result.rtt_mdev_ms.is_some_and(|mdev| mdev >= 0.0 && mdev <= max - min), "{result:?}");

    let started = std::time::Instant::now();
    let result = ping(NOBODY, 2).await;
    assert!(!result.up, "{result:?}");
    assert_eq!((result.loss_pct, result.error.as_deref()), (Some(100.0), Some("no reply to 2 pings")));
    assert_eq!((result.response_ms, result.rtt_min_ms), (None, None), "no round trips to show");
    assert!(started.elapsed() < Duration::from_secs(4), "bounded by the timeout");

    // The same peer, now dropping every echo request.
    assert!(namespace.run(&["sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=1"]), "setting the namespace's sysctl");
    let result = ping(PEER, 3).await;
    assert!(!result.up && result.loss_pct == Some(100.0), "{result:?}");
}
