//! Nodes measuring each other: two real `netpulse agent`s serve
//! `/speedtest`, the server's `node:NAME` targets resolve to where each said
//! it serves, and every node, the server too, measures the others and not
//! itself. A node that stops is a failed test; a revoked one is no target.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{
    agents::{admin_cookie, config_with, join_token},
    closed_port,
    mesh::{measured, samples_of, serving, test_now},
    open_stream, start_on, Target, TestServer, OPEN_READ,
};
use netpulse::server::speed::config::TargetConfig;
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};

struct Node {
    name: &'static str,
    speedtest: String,
    process: Child,
    _dir: tempfile::TempDir,
}

async fn start_node(client: &Client, server: &TestServer, cookie: &str, name: &'static str) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let token = join_token(client, server, cookie).await;
    let joined = Command::new(env!("CARGO_BIN_EXE_netpulse"))
        .args(["agent", "join", &server.url(""), &token, "--name", name, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(joined.status.success(), "{}", String::from_utf8_lossy(&joined.stderr));
    let address = format!("127.0.0.1:{}", closed_port().await);
    let process = Command::new(env!("CARGO_BIN_EXE_netpulse"))
        .args(["agent", "run", "--serve-speedtest", &address, "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("agent.log")).unwrap())
        .spawn()
        .unwrap();
    Node { name, speedtest: format!("http://{address}/speedtest"), process, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_measure_each_other_where_they_say_they_serve() {
    let server_dir = tempfile::tempdir().unwrap();
    let mut config = config_with(server_dir.path(), OPEN_READ).await;
    config.speed.enabled = true;
    // One test at start-up and then hourly: the rest are asked for.
    config.speed.interval = 3600;
    config.speed.targets = ["node:tokyo", "node:pune", "node:test-node"].map(|url| TargetConfig { url: url.to_owned(), kind: None, interval: None }).to_vec();
    let server = start_on("127.0.0.1:0", config, Target::Configured).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut stream = open_stream(&server.url("/api/events?topics=speed"), None).await;

    // The server's start-up tests come before any node said where it serves: failed tests, saying why.
    let started = chrono::Utc::now() - chrono::Duration::seconds(60);
    let early = samples_of(&mut stream.events, &["node:tokyo", "node:pune"], started, Duration::from_secs(30)).await;
    assert!(early["node:tokyo"]["error"].as_str().unwrap().contains("serves no speed test"), "{}", early["node:tokyo"]);

    let mut tokyo = start_node(&client, &server, &cookie, "tokyo").await;
    let mut pune = start_node(&client, &server, &cookie, "pune").await;
    let both = async {
        loop {
            let serving = serving(&client, &server, &cookie).await;
            if serving.get("tokyo") == Some(&json!(tokyo.speedtest)) && serving.get("pune") == Some(&json!(pune.speedtest)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), both).await.expect("both nodes said where they serve within 30 s");

    // Every node measures every other: the server and the agents alike, never itself.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked = chrono::Utc::now();
    test_now(&client, &server, &cookie, json!({})).await;
    let wanted = ["node:tokyo", "node:pune", "node:pune@tokyo", "node:test-node@tokyo", "node:tokyo@pune", "node:test-node@pune"];
    let mesh = samples_of(&mut stream.events, &wanted, asked, Duration::from_secs(90)).await;
    for series in wanted {
        assert!(measured(&mesh[series]), "{series}: {}", mesh[series]);
    }
    assert!(!mesh.contains_key("node:tokyo@tokyo") && !mesh.contains_key("node:test-node"), "a node measured itself: {:?}", mesh.keys());
    eprintln!(
        "tokyo to pune: {:.0} Mbit/s down, pune to tokyo: {:.0} Mbit/s down",
        mesh["node:pune@tokyo"]["download_mbps"].as_f64().unwrap(),
        mesh["node:tokyo@pune"]["download_mbps"].as_f64().unwrap()
    );

    // No node is asked to measure itself.
    let response = client
        .post(server.url("/api/speed/test-now"))
        .header(header::COOKIE, &cookie)
        .json(&json!({ "node": "pune", "target": "node:pune" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("does not measure itself"));

    // Tokyo stops: pune's test of it is a failed test, not a missing one.
    tokyo.process.kill().unwrap();
    tokyo.process.wait().unwrap();
    tokio::time::sleep(Duration::from_secs(11)).await;
    let asked = chrono::Utc::now();
    test_now(&client, &server, &cookie, json!({ "node": "pune", "target": "node:tokyo" })).await;
    let down = samples_of(&mut stream.events, &["node:tokyo@pune"], asked, Duration::from_secs(60)).await;
    assert!(down["node:tokyo@pune"]["error"].is_string() && down["node:tokyo@pune"]["download_mbps"].is_null(), "{}", down["node:tokyo@pune"]);

    // Revoked: tokyo is no one's target any more, and the node list forgets where it served.
    let response = client.delete(server.url("/api/agents/tokyo")).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(serving(&client, &server, &cookie).await["tokyo"], Value::Null);
    tokio::time::sleep(Duration::from_secs(11)).await;
    let asked = chrono::Utc::now();
    test_now(&client, &server, &cookie, json!({ "node": "pune", "target": "node:tokyo" })).await;
    let gone = samples_of(&mut stream.events, &["node:tokyo@pune"], asked, Duration::from_secs(60)).await;
    assert!(gone["node:tokyo@pune"]["error"].as_str().unwrap().contains("serves no speed test"), "{}", gone["node:tokyo@pune"]);

    pune.process.kill().unwrap();
    pune.process.wait().unwrap();
    let _ = (tokyo.name, pune.name);
    server.shutdown().await;
}

#[tokio::test]
async fn a_node_must_report_a_plain_speedtest_url_and_never_measures_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_with(dir.path(), "").await;
    config.speed.targets = vec![TargetConfig { url: "node:tokyo".to_owned(), kind: None, interval: None }];
    let server = start_on("127.0.0.1:0", config, Target::Configured).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut agent = common::agents::Agent::enrol(&client, &server, &cookie, "tokyo").await;
    for bad in ["http://me:secret@198.18.0.3/speedtest", "node:pune", "http://198.18.0.3/speedtest?x=1"] {
        let response = client.get(server.url("/api/agent/stream")).query(&[("speedtest_url", bad)]).bearer_auth(&agent.credential).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let error = response.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_owned();
        assert!(error.starts_with("speedtest_url:") && !error.contains("secret"), "{bad}: {error}");
    }
    assert!(serving(&client, &server, &cookie).await["tokyo"].is_null(), "a refused URL is not kept");

    // A sample of tokyo measuring itself is refused, and says why.
    let at = chrono::Utc::now().to_rfc3339();
    let sample = json!({ "node": "tokyo", "target": "node:tokyo", "at": at, "download_mbps": 900.0, "upload_mbps": 900.0, "latency_ms": 0.1,
        "jitter_ms": 0.0, "latency_down_ms": null, "latency_up_ms": null, "bytes_down": 1, "bytes_up": 1, "error": null });
    let (status, answer) = agent.send(&client, &server, vec![json!({ "seq": 1, "kind": "speed", "data": sample })]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["refused"][0]["reason"].as_str().unwrap().contains("this node itself"), "{answer}");

    // An agent that would listen everywhere must say where it is reached.
    let refused = Command::new(env!("CARGO_BIN_EXE_netpulse"))
        .args(["agent", "run", "--serve-speedtest", "0.0.0.0:8091", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.starts_with("netpulse: --speedtest-url: needed") && stderr.lines().count() == 1, "{stderr}");
    server.shutdown().await;
}
