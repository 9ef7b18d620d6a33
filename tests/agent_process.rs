//! The `netpulse agent` binary against a real server: it joins with a token,
//! runs the server's monitor, and through a `kill -9` and a server outage
//! every result it made reaches history exactly once; bad flags exit 2.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{
    agents::{admin_cookie, config_with_monitor, join_token, raw_points},
    start_on, Target, TestServer,
};
use reqwest::{header, Client};
use serde_json::Value;

fn netpulse(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netpulse")).args(args).output().unwrap()
}

fn spawn_agent(dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_netpulse"))
        .args(["agent", "run", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The node's row in the node list.
async fn node(client: &Client, server: &TestServer, cookie: &str) -> Value {
    let nodes: Value = client.get(server.url("/api/agents")).header(header::COOKIE, cookie).send().await.unwrap().json().await.unwrap();
    nodes[0].clone()
}

/// Waits (at most 20 s) until the node's acknowledgement reaches `at_least`; the acknowledgement.
async fn acknowledged_reaches(client: &Client, server: &TestServer, cookie: &str, at_least: i64) -> i64 {
    for _ in 0..200 {
        let acknowledged = node(client, server, cookie).await["acknowledged"].as_i64().unwrap_or(0);
        if acknowledged >= at_least {
            return acknowledged;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the agent's acknowledgement did not reach {at_least} within 20 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_result_arrives_once_through_a_kill_9_and_a_server_outage() {
    // The monitored service: a TCP port that accepts.
    let service = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service_addr = service.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((socket, _)) = service.accept().await {
            drop(socket);
        }
    });
    let server_dir = tempfile::tempdir().unwrap();
    let server = start_on("127.0.0.1:0", config_with_monitor(server_dir.path(), &service_addr, 1).await, Target::Refusing).await;
    let address = server.addr.to_string();
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let token = join_token(&client, &server, &cookie).await;

    let agent_dir = tempfile::tempdir().unwrap();
    let dir = agent_dir.path().to_str().unwrap();
    let joined = netpulse(&["agent", "join", &server.url(""), &token, "--name", "edge", "--data-dir", dir]);
    assert!(joined.status.success(), "{}", String::from_utf8_lossy(&joined.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(agent_dir.path().join("agent.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the credential file is its owner's alone");
    }
    let again = netpulse(&["agent", "join", &server.url(""), &token, "--name", "edge", "--data-dir", dir]);
    assert_eq!(again.status.code(), Some(1), "joined already");

    let mut agent = spawn_agent(agent_dir.path());
    let first = acknowledged_reaches(&client, &server, &cookie, 3).await;
    assert_eq!(node(&client, &server, &cookie).await["online"], true);
    agent.kill().unwrap();
    agent.wait().unwrap();
    let mut agent = spawn_agent(agent_dir.path());
    acknowledged_reaches(&client, &server, &cookie, first + 3).await;

    // The server goes away; the agent keeps checking into its outbox.
    server.shutdown().await;
    let outage_from = chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let outage_to = chrono::Utc::now().timestamp_millis();
    let server = start_on(&address, config_with_monitor(server_dir.path(), &service_addr, 1).await, Target::Refusing).await;
    let cookie = admin_cookie(&client, &server).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // A clean stop; whatever it made before is sent or waits in its outbox for the next run.
    Command::new("kill").arg("-TERM").arg(agent.id().to_string()).status().unwrap();
    agent.wait().unwrap();
    let mut agent = spawn_agent(agent_dir.path());
    tokio::time::sleep(Duration::from_secs(2)).await;
    agent.kill().unwrap();
    agent.wait().unwrap();
    let outbox = netpulse::server::agent::outbox::Outbox::open(
        agent_dir.path(),
        netpulse::server::agent::outbox::OutboxLimits { max_age_ms: i64::MAX / 4, max_bytes: i64::MAX / 4 },
    )
    .await
    .unwrap();
    let waiting = outbox.state().await.unwrap().backlog as i64;
    let acknowledged = node(&client, &server, &cookie).await["acknowledged"].as_i64().unwrap();
    let points = raw_points(&client, &server, &cookie, "probe:web@edge", "up", outage_from - 600_000).await;
    assert_eq!(points.len() as i64, acknowledged, "every acknowledged number is in history exactly once ({waiting} still waiting)");
    let during = points.iter().filter(|(t, _)| (outage_from..outage_to).contains(t)).count();
    eprintln!("acknowledged {acknowledged}, {waiting} waiting in the outbox, {during} made during the outage");
    let mut times: Vec<i64> = points.iter().map(|(t, _)| *t).collect();
    times.dedup();
    assert_eq!(times.len(), points.len(), "no result twice");
    assert!(points.iter().all(|(_, up)| *up == 1.0), "the service was up from the node");
    assert!(during >= 2, "checks made while the server was down arrived later");
    server.shutdown().await;
}

#[test]
fn bad_agent_flags_exit_2_naming_the_flag() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    for (args, names) in [
        (vec!["agent", "run", "--data-dir", dir, "--max-mb", "0"], "--max-mb"),
        (vec!["agent", "run", "--data-dir", dir, "--max-age-days", "0"], "--max-age-days"),
        (vec!["agent", "run", "--data-dir", dir], "agent join"),
        (vec!["agent", "join", "not a url", "npj_x", "--name", "edge", "--data-dir", dir], "SERVER"),
        (vec!["agent", "join", "http://127.0.0.1:1"], "--name"),
        // Refused before any request: nothing listens on port 1.
        (vec!["agent", "join", "http://127.0.0.1:1", "npj_x", "--name", "to kyo", "--data-dir", dir], "--name"),
    ] {
        let output = netpulse(&args);
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {said}");
        assert_eq!(said.lines().count(), 1, "one line: {said}");
        assert!(said.contains(names), "{args:?}: {said}");
    }
}

#[test]
fn join_reads_the_token_from_the_environment_and_replaces_an_empty_credential_file() {
    let dir = tempfile::tempdir().unwrap();
    // What a join cut short leaves behind.
    std::fs::write(dir.path().join("agent.json"), "").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_netpulse"))
        .args(["agent", "join", "http://127.0.0.1:1", "--name", "edge", "--data-dir"])
        .arg(dir.path())
        .env("NETPULSE_JOIN_TOKEN", "npj_from_the_environment")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    // Nothing listens on port 1: the token was taken and the request made.
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(!said.contains("TOKEN") && !said.contains("joined already"), "{said}");
    assert!(!said.contains("npj_from_the_environment"), "the token is not echoed: {said}");
    assert!(!dir.path().join("agent.json").exists(), "a failed join leaves no file behind");
}
