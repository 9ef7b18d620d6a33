//! Nodes measuring each other over real links: two `netpulse agent`s in
//! network namespaces serve `/speedtest` on their own addresses, one link
//! shaped with `tc`, and the server's tests of `node:NAME` show which is slow.
//!
//! Needs root, `ip` and `tc`; skips without them unless `NETPULSE_REQUIRE_NETNS=1`,
//! which `cargo make test` sets.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{
    agents::{admin_cookie, config_with, join_token},
    mesh::{measured, samples_of, serving, test_now},
    open_stream, start_on, Target, OPEN_READ,
};
use netpulse::server::speed::config::TargetConfig;
use reqwest::Client;
use serde_json::{json, Value};

/// An agent in a namespace of its own, serving `/speedtest` on its link's address; killed when dropped.
struct LinkedNode {
    _namespace: common::netns::Namespace,
    process: Child,
    _dir: tempfile::TempDir,
}

impl Drop for LinkedNode {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Two agents behind veth links on 198.18.31.0/29, one link shaped to 20 Mbit/s with `tc`:
/// the server's tests of `node:tokyo` and `node:pune` show which link is slow, as a user
/// comparing vantage points would see it. Needs root, `ip` and `tc`; skips without them
/// unless `NETPULSE_REQUIRE_NETNS=1`, which `cargo make test` sets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shaped_link_shows_as_the_slow_node() {
    let required = std::env::var_os("NETPULSE_REQUIRE_NETNS").is_some();
    let links = [("tokyo", "198.18.31.1", "198.18.31.2"), ("pune", "198.18.31.5", "198.18.31.6")];
    let mut namespaces = Vec::new();
    for (n, (name, host, peer)) in links.iter().enumerate() {
        let Some(namespace) = common::netns::Namespace::create(&format!("me{n}"), host, peer, 30) else {
            assert!(!required, "cannot create a network namespace (this test needs root and iproute2)");
            return eprintln!("skipped: cannot create a network namespace");
        };
        if n > 0 {
            assert!(namespace.run(&["ip", "route", "add", "198.18.31.1/32", "via", host]), "a route to the server from {name}");
        }
        namespaces.push(namespace);
    }
    // Tokyo's link carries 20 Mbit/s each way: its sending side in the namespace, the host's toward it.
    let tokyo = &namespaces[0];
    let shaped = tokyo.run(&["tc", "qdisc", "add", "dev", &tokyo.peer_side, "root", "tbf", "rate", "20mbit", "burst", "32kb", "latency", "50ms"])
        && std::process::Command::new("tc")
            .args(["qdisc", "add", "dev", &tokyo.host_side, "root", "tbf", "rate", "20mbit", "burst", "32kb", "latency", "50ms"])
            .status()
            .is_ok_and(|status| status.success());
    assert!(shaped || !required, "cannot shape a link with tc");
    if !shaped {
        return eprintln!("skipped: cannot shape a link with tc");
    }

    let server_dir = tempfile::tempdir().unwrap();
    let mut config = config_with(server_dir.path(), OPEN_READ).await;
    config.speed.enabled = true;
    config.speed.interval = 3600;
    (config.speed.duration, config.speed.grace) = (3.0, 0.5);
    config.speed.targets = ["node:tokyo", "node:pune"].map(|url| TargetConfig { url: url.to_owned(), kind: None, interval: None }).to_vec();
    let server = start_on("198.18.31.1:0", config, Target::Configured).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut stream = open_stream(&server.url("/api/events?topics=speed"), None).await;

    let mut nodes = Vec::new();
    for ((name, _, peer), namespace) in links.iter().zip(namespaces) {
        let dir = tempfile::tempdir().unwrap();
        let token = join_token(&client, &server, &cookie).await;
        let exec = |args: &[&str]| {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", &namespace.name, env!("CARGO_BIN_EXE_netpulse"), "agent"]).args(args).arg("--data-dir").arg(dir.path());
            command
        };
        let joined = exec(&["join", &server.url(""), &token, "--name", name]).output().unwrap();
        assert!(joined.status.success(), "{name}: {}", String::from_utf8_lossy(&joined.stderr));
        // These nodes only serve: measuring each other would need the host to route between them.
        let process =
            exec(&["run", "--no-speed-tests", "--serve-speedtest", &format!("{peer}:8091")]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        nodes.push(LinkedNode { _namespace: namespace, process, _dir: dir });
    }
    let both = async {
        loop {
            let serving = serving(&client, &server, &cookie).await;
            if serving.get("tokyo") == Some(&json!("http://198.18.31.2:8091/speedtest"))
                && serving.get("pune") == Some(&json!("http://198.18.31.6:8091/speedtest"))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), both).await.expect("both nodes said where they serve, on their own addresses, within 30 s");

    let asked = chrono::Utc::now();
    test_now(&client, &server, &cookie, json!({ "node": "test-node" })).await;
    let tested = samples_of(&mut stream.events, &["node:tokyo", "node:pune"], asked, Duration::from_secs(60)).await;
    let (tokyo, pune) = (&tested["node:tokyo"], &tested["node:pune"]);
    assert!(measured(tokyo) && measured(pune), "{tokyo}\n{pune}");
    let rate = |sample: &Value, field: &str| sample[field].as_f64().unwrap();
    eprintln!(
        "to tokyo (shaped to 20 Mbit/s): {:.1} down, {:.1} up; to pune: {:.0} down, {:.0} up (Mbit/s)",
        rate(tokyo, "download_mbps"),
        rate(tokyo, "upload_mbps"),
        rate(pune, "download_mbps"),
        rate(pune, "upload_mbps")
    );
    for field in ["download_mbps", "upload_mbps"] {
        assert!((10.0..=24.0).contains(&rate(tokyo, field)), "tokyo's {field} is its link's 20 Mbit/s: {tokyo}");
        assert!(rate(pune, field) > 3.0 * rate(tokyo, field), "pune's {field} is not held back: {pune}");
    }
    drop(nodes);
    server.shutdown().await;
}
