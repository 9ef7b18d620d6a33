//! Speed tests from a real `netpulse agent` against the server's own
//! `/speedtest`: the agent runs the server's `[speed]` section and its
//! samples reach the central stream as `<target>@<node>`; "test now" reaches
//! it down its command stream within seconds, and a revocation ends that stream.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{
    agents::{admin_cookie, config_with, join_token},
    next_event, open_stream, start_on, Target, TestServer, OPEN_READ,
};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};

fn spawn_agent(dir: &std::path::Path, log: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_netpulse"))
        .args(["agent", "run", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// The next speed sample on `events` whose target ends with `suffix`, within `within`; the others it passed.
async fn next_sample(
    events: &mut (impl futures_util::Stream<Item = eventsource_stream::Event> + Unpin),
    suffix: &str,
    within: Duration,
) -> (Value, Vec<Value>) {
    let mut passed = Vec::new();
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = next_event(events, "speed", left).await;
        let sample: Value = serde_json::from_str(&event.data).unwrap();
        if sample["target"].as_str().unwrap().ends_with(suffix) {
            return (sample, passed);
        }
        passed.push(sample);
    }
}

async fn test_now(client: &Client, server: &TestServer, cookie: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut request = client.post(server.url("/api/speed/test-now")).json(&body);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_runs_the_servers_speed_tests_and_tests_now_when_asked() {
    let server_dir = tempfile::tempdir().unwrap();
    let mut config = config_with(server_dir.path(), OPEN_READ).await;
    config.speed.enabled = true;
    // One test at start-up and then hourly: any other sample was asked for.
    config.speed.interval = 3600;
    let server = start_on("127.0.0.1:0", config, Target::Itself).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut stream = open_stream(&server.url("/api/events?topics=speed"), None).await;
    assert_eq!(stream.status, StatusCode::OK);

    let token = join_token(&client, &server, &cookie).await;
    let agent_dir = tempfile::tempdir().unwrap();
    let joined = Command::new(env!("CARGO_BIN_EXE_netpulse"))
        .args(["agent", "join", &server.url(""), &token, "--name", "edge", "--data-dir"])
        .arg(agent_dir.path())
        .output()
        .unwrap();
    assert!(joined.status.success(), "{}", String::from_utf8_lossy(&joined.stderr));
    let log = agent_dir.path().join("agent.log");
    let mut agent = spawn_agent(agent_dir.path(), &log);

    // The agent's start-up test, measured from where it runs and named by its node.
    let target = format!("http://{}/speedtest", server.addr);
    let (first, _) = next_sample(&mut stream.events, "@edge", Duration::from_secs(60)).await;
    assert_eq!(first["target"], format!("{target}@edge"));
    assert_eq!(first["node"], "edge");
    assert!(first["error"].is_null(), "{first}");
    assert!(first["download_mbps"].as_f64().unwrap() > 0.0 && first["upload_mbps"].as_f64().unwrap() > 0.0, "{first}");

    // Bad requests say what is wrong; only operators may ask.
    assert_eq!(test_now(&client, &server, None, json!({})).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = test_now(&client, &server, Some(&cookie), json!({ "node": "nowhere" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().starts_with("node:"), "{body}");
    let (status, body) = test_now(&client, &server, Some(&cookie), json!({ "target": "http://127.0.0.1:1/speedtest" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].as_str().unwrap().starts_with("target:"), "{body}");
    assert_eq!(test_now(&client, &server, Some(&cookie), json!({ "nodes": "edge" })).await.0, StatusCode::BAD_REQUEST);

    // "Test now" on the node: its sample arrives within seconds, and this server runs none.
    let asked = Instant::now();
    let (status, body) = test_now(&client, &server, Some(&cookie), json!({ "node": "edge", "target": target })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["testing"], json!(["edge"]));
    let (status, again) = test_now(&client, &server, Some(&cookie), json!({ "node": "edge" })).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "a second click within 10 s queues nothing: {again}");
    let (second, passed) = next_sample(&mut stream.events, "@edge", Duration::from_secs(30)).await;
    eprintln!("test now on the node: its sample {} ms after asking", asked.elapsed().as_millis());
    assert!(passed.is_empty(), "this server tested too: {passed:?}");
    assert!(second["at"].as_str().unwrap() > first["at"].as_str().unwrap());

    // Everywhere: this server and the node each test once more.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (status, body) = test_now(&client, &server, Some(&cookie), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["testing"], json!(["test-node", "edge"]));
    let (_, passed) = next_sample(&mut stream.events, "@edge", Duration::from_secs(30)).await;
    if passed.is_empty() {
        next_sample(&mut stream.events, "/speedtest", Duration::from_secs(30)).await;
    }

    // Revoked: the node's stream ends and it is refused from then on.
    let response = client.delete(server.url("/api/agents/edge")).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let refused = async {
        loop {
            if std::fs::read_to_string(&log).unwrap().contains("the server refuses this node's stream") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(15), refused).await.expect("the agent heard it was revoked within 15 s");
    agent.kill().unwrap();
    agent.wait().unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn the_command_stream_opens_with_the_node_config_and_needs_a_credential() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(dir.path(), "[[monitor]]\nname = \"web\"\ntcp = \"127.0.0.1:1\"\n").await;
    let server = start_on("127.0.0.1:0", config, Target::Refusing).await;
    let client = Client::new();
    let response = client.get(server.url("/api/agent/stream")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("Bearer npn_"));

    let cookie = admin_cookie(&client, &server).await;
    let agent = common::agents::Agent::enrol(&client, &server, &cookie, "tokyo").await;
    let response = client.get(server.url("/api/agent/stream")).bearer_auth(&agent.credential).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut events = response.bytes_stream().eventsource();
    let peers = tokio::time::timeout(Duration::from_secs(5), events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!((peers.event.as_str(), peers.data.as_str()), ("peers", r#"{"server":"test-node","nodes":{}}"#), "no node serves /speedtest yet");
    let first = tokio::time::timeout(Duration::from_secs(5), events.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(first.event, "config");
    let config: Value = serde_json::from_str(&first.data).unwrap();
    assert_eq!((config["node"].as_str(), config["monitors"][0]["name"].as_str()), (Some("tokyo"), Some("web")));
    assert!(config["speed"].is_null(), "speed tests are off on this server: {config}");
    server.shutdown().await;
}
