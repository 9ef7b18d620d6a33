//! `GET /metrics` from a real netpulse that has run a speed test, checked a
//! monitor that is up and one that is down, and fired an alert: the figures
//! are there under Prometheus's naming, and `promtool check metrics` (from
//! Debian's `prometheus` package) finds nothing wrong.

mod common;

use std::{
    io::Write,
    process::{Command, Stdio},
    time::Duration,
};

use common::{closed_port, fast_config, start, Target};

/// The value of the one series whose line starts with `series` (name and labels).
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_carry_speed_monitors_streams_and_alerts_and_pass_promtool() {
    let closed = closed_port().await;
    let server = start(
        fast_config(&format!(
            "[speed]\ninterval = 3600\n\
             [[monitor]]\nname = \"gone\"\ntcp = \"127.0.0.1:{closed}\"\ninterval = 1\n\
             [[alert]]\nname = \"gone is down\"\nseries = \"probe:gone\"\nfield = \"up\"\ncondition = \"< 1\"\n"
        )),
        Target::Itself,
    )
    .await;
    let client = reqwest::Client::new();
    let mut body = String::new();
    for _ in 0..150 {
        let response = client.get(server.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4");
        body = response.text().await.unwrap();
        let firing = value(&body, "netpulse_alert_state{rule=\"gone is down\",state=\"firing\",subject=\"gone\"}") == Some(1.0);
        if body.contains("netpulse_speed_download_bytes_per_second") && firing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let target = server.url("/speedtest");
    let download = value(&body, &format!("netpulse_speed_download_bytes_per_second{{target=\"{target}\"}}")).expect("a download rate");
    assert!(download > 1e6, "a loopback test moves more than a megabyte a second: {download}");
    let latency = value(&body, &format!("netpulse_speed_latency_seconds{{target=\"{target}\"}}")).expect("a latency");
    assert!(latency > 0.0 && latency < 1.0, "in seconds, not milliseconds: {latency}");
    assert_eq!(value(&body, &format!("netpulse_speed_test_ok{{target=\"{target}\"}}")), Some(1.0));
    assert_eq!(value(&body, "netpulse_monitor_up{monitor=\"gone\"}"), Some(0.0));
    assert_eq!(value(&body, "netpulse_alert_state{rule=\"gone is down\",state=\"firing\",subject=\"gone\"}"), Some(1.0));
    assert_eq!(value(&body, "netpulse_alert_state{rule=\"gone is down\",state=\"ok\",subject=\"gone\"}"), Some(0.0));
    assert!(value(&body, "netpulse_events_published_total").is_some_and(|n| n >= 2.0), "{body}");
    assert_eq!(value(&body, "netpulse_store_ok"), Some(1.0));
    assert!(body.contains("# TYPE netpulse_events_published_total counter"), "{body}");
    assert!(body.contains("netpulse_build_info{node=\"test-node\",version=\""), "{body}");

    let Some(promtool) = ["promtool", "/usr/bin/promtool"].into_iter().find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
    else {
        assert!(std::env::var_os("NETPULSE_REQUIRE_PROMTOOL").is_none(), "promtool is not installed (apt install prometheus)");
        eprintln!("skipping the promtool check: promtool is not installed");
        return;
    };
    let mut child = Command::new(promtool).args(["check", "metrics"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && said.trim().is_empty(), "promtool check metrics: {said}\n{body}");
    server.shutdown().await;
}
