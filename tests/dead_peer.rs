//! A subscriber whose host vanishes, with no FIN and no RST, loses its stream
//! slot within a minute: the accepted socket has keepalive and a TCP user
//! timeout. The subscriber runs in a network namespace this test creates,
//! behind a veth pair on 198.18.7.0/30, whose far end is then taken down.
//!
//! Needs root and `ip`; skips without them unless `NETPULSE_REQUIRE_NETNS=1`,
//! which `cargo make test` sets.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{
    fast_config,
    netns::{ip, Namespace},
    start_on, Target,
};
use serde_json::Value;

const HOST: &str = "198.18.7.1";
const PEER: &str = "198.18.7.2";

/// A client in the namespace that opens the stream and reads it forever.
fn subscriber(namespace: &Namespace, port: u16) -> Child {
    let script = format!(
        "import socket,sys\ns=socket.create_connection(('{HOST}',{port}))\n\
         s.sendall(b'GET /api/events HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n\
         while s.recv(65536): pass\n"
    );
    Command::new("ip").args(["netns", "exec", &namespace.name, "python3", "-c", &script]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

async fn open_streams(base: &str) -> u64 {
    let status: Value = reqwest::get(format!("{base}/api/status")).await.unwrap().json().await.unwrap();
    status["connections"]["total"].as_u64().unwrap()
}

#[tokio::test]
async fn a_subscriber_whose_host_vanishes_is_freed_within_a_minute() {
    let required = std::env::var_os("NETPULSE_REQUIRE_NETNS").is_some();
    let Some(namespace) = Namespace::create("dead", HOST, PEER, 30) else {
        assert!(!required, "cannot create a network namespace (this test needs root and iproute2)");
        eprintln!("skipped: cannot create a network namespace");
        return;
    };
    // Heartbeats every second, so the server keeps sending into the void.
    let server = start_on(&format!("{HOST}:0"), fast_config("[sse]\nheartbeat = 1.0\n[speed]\nenabled = false"), Target::Refusing).await;
    let base = format!("http://{}", server.addr);
    let mut subscriber = subscriber(&namespace, server.addr.port());
    let connected = Instant::now();
    while open_streams(&base).await != 1 {
        assert!(connected.elapsed() < Duration::from_secs(10), "the subscriber in the namespace never connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The far end goes dark: its packets stop, and it never says goodbye.
    assert!(ip(&["-n", &namespace.name, "link", "set", &namespace.peer_side, "down"]), "taking the peer's link down");
    let vanished = Instant::now();
    let mut freed = None;
    while vanished.elapsed() < Duration::from_secs(60) {
        if open_streams(&base).await == 0 {
            freed = Some(vanished.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = subscriber.kill();
    let _ = subscriber.wait();
    let freed = freed.expect("the vanished subscriber still held its slot after 60 s");
    eprintln!("slot freed {freed:?} after the peer vanished");
    server.shutdown().await;
}
