//! DNS monitors against a real resolver on loopback: Debian's dnsmasq, started
//! by the test with records of its own, and a UDP port that never answers.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use netpulse::server::{
    config::Config,
    monitor::{check, config::Monitor},
};

struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// dnsmasq answering for `netpulse.test` on `port`, or None when it is not installed.
async fn dnsmasq(port: u16) -> Option<Dnsmasq> {
    let binary = ["/usr/sbin/dnsmasq", "dnsmasq"].into_iter().find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
    let Some(binary) = binary else {
        assert!(std::env::var_os("NETPULSE_REQUIRE_DNSMASQ").is_none(), "dnsmasq is not installed (apt install dnsmasq)");
        eprintln!("skipping: dnsmasq is not installed");
        return None;
    };
    let child = Command::new(binary)
        .args(["--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1", "--pid-file="])
        .args(["--user=root", "--group=root", &format!("--port={port}")])
        .args(["--local=/netpulse.test/", "--address=/nas.netpulse.test/198.18.0.7", "--txt-record=nas.netpulse.test,\"backups ok\""])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Dnsmasq(child);
    // Ready once it answers a query.
    for _ in 0..50 {
        let (result, _) = run(&format!("dns = \"nas.netpulse.test\"\nresolver = \"127.0.0.1:{port}\"\ntimeout = 1")).await;
        if result.up {
            return Some(server);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("dnsmasq did not answer on {port}");
}

fn monitor(table: &str) -> Monitor {
    let config = Config::from_toml(&format!("[[monitor]]\nname = \"m\"\n{table}\n")).unwrap();
    config.checked_monitors().unwrap().remove(0)
}

async fn run(table: &str) -> (netpulse::model::ProbeResult, Duration) {
    let started = std::time::Instant::now();
    let result = check::check(&monitor(table), &check::tls_connector()).await;
    (result, started.elapsed())
}

#[tokio::test]
async fn dns_checks_time_the_query_report_the_answer_and_hold_it_to_what_is_expected() {
    let port = common::closed_port().await;
    let Some(_dnsmasq) = dnsmasq(port).await else { return };
    let resolver = format!("resolver = \"127.0.0.1:{port}\"");

    let (result, _) = run(&format!("dns = \"nas.netpulse.test\"\n{resolver}\nexpect = \"198.18.0.7\"")).await;
    assert!(result.up, "{result:?}");
    assert_eq!(result.answer.as_deref(), Some("198.18.0.7"));
    assert!(result.dns_ms.is_some_and(|ms| ms > 0.0 && ms < 1000.0), "{result:?}");
    assert_eq!(result.url, format!("dns://127.0.0.1:{port}/nas.netpulse.test A"));

    let (result, _) = run(&format!("dns = \"nas.netpulse.test\"\n{resolver}\nexpect = \"198.18.0.8\"")).await;
    assert!(!result.up);
    assert_eq!(result.error.as_deref(), Some("the answer (198.18.0.7) does not include 198.18.0.8"));

    let (result, _) = run(&format!("dns = \"nas.netpulse.test\"\nrecord = \"TXT\"\n{resolver}\nexpect = \"backups ok\"")).await;
    assert!(result.up, "{result:?}");

    let (result, _) = run(&format!("dns = \"missing.netpulse.test\"\n{resolver}")).await;
    assert!(!result.up && result.answer.is_none(), "{result:?}");
    assert!(result.error.as_deref().is_some_and(|e| e.starts_with("DNS: ")), "{result:?}");

    let (result, _) = run(&format!("dns = \"nas.netpulse.test\"\nrecord = \"TXT\"\n{resolver}")).await;
    assert!(result.answer.as_deref().is_some_and(|a| a.contains("backups ok")), "the record's text: {result:?}");

    // A resolver that never answers: down once the timeout has passed, not hung.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap();
    let (result, elapsed) = run(&format!("dns = \"nas.netpulse.test\"\nresolver = \"{address}\"\ntimeout = 1")).await;
    assert!(!result.up, "{result:?}");
    assert!(elapsed < Duration::from_secs(3), "cut off at the timeout: {elapsed:?}");
}
