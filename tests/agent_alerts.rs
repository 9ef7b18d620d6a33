//! Alert rules on one agent node's checks: a node catching up after an
//! outage sends a down result measured half an hour ago, which fires the
//! rule's incident but notifies nobody (it is history, and says so in the
//! delivery log); the next fresh down result does notify, once, and a late
//! up result then resolves what was told. A node that
//! stops reporting fires a dead-man rule on the `node` series.

mod common;

use std::time::Duration;

use common::{
    agents::{admin_cookie, check, config_with, down, Agent},
    receiver::{Mode, Receiver},
    start, Target, TestServer,
};
use reqwest::{header, Client, StatusCode};
use serde_json::Value;

async fn get(client: &Client, server: &TestServer, cookie: &str, path: &str) -> Value {
    let response = client.get(server.url(path)).header(header::COOKIE, cookie).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn metrics(client: &Client, server: &TestServer, cookie: &str) -> String {
    let response = client.get(server.url("/metrics")).header(header::COOKIE, cookie).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_late_result_fires_the_incident_without_notifying_and_a_fresh_one_notifies() {
    let receiver = Receiver::start(Mode::Accept).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[[monitor]]\nname = \"web\"\ntcp = \"127.0.0.1:9\"\ninterval = 3600\n\
         [[notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n\
         [[alert]]\nname = \"web down from tokyo\"\nseries = \"probe:web@tokyo\"\nfield = \"up\"\ncondition = \"< 1\"\nnotify = [\"hook\"]\n",
        receiver.url("/hook")
    );
    let server = start(config_with(dir.path(), &toml).await, Target::Refusing).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut agent = Agent::enrol(&client, &server, &cookie, "tokyo").await;

    let (status, answer) = agent.send(&client, &server, vec![down(1, agent.now_ms() - 30 * 60_000)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let mut firing = None;
    for _ in 0..100 {
        let alerts = get(&client, &server, &cookie, "/api/alerts").await;
        firing = alerts["alerts"].as_array().unwrap().iter().find(|a| a["subject"] == "web@tokyo" && a["phase"] == "firing").cloned();
        if firing.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let firing = firing.expect("the late down result fires the rule");
    assert!(firing["not_sent"].as_str().is_some_and(|reason| reason.contains("late result")), "{firing}");
    let deliveries = get(&client, &server, &cookie, "/api/alerts/deliveries").await;
    let held = &deliveries["deliveries"][0];
    assert_eq!(held["outcome"], "suppressed", "{deliveries}");
    assert!(held["error"].as_str().unwrap().contains("measured 30 min ago"), "{held}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.received().is_empty(), "nobody is told about half an hour ago");

    // Still down now: that is news.
    let (status, answer) = agent.send(&client, &server, vec![down(2, agent.now_ms())]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    let body = received[0].json();
    assert_eq!(body["rule"], "web down from tokyo", "{body}");
    assert_eq!((body["subject"].as_str(), body["kind"].as_str()), (Some("web@tokyo"), Some("firing")), "{body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "told once");

    // Its end, though measured ten minutes ago, ends what they were told of.
    let (status, answer) = agent.send(&client, &server, vec![check(3, agent.now_ms() - 10 * 60_000, 2.0)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let received = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(received[1].json()["kind"], "resolved", "{}", received[1].json());
    server.shutdown().await;
}

/// A dead-man rule: a node that stops reporting fires within `agents.offline_after`
/// and a few seconds, and resolves when it reports again; `node:<name>` history has both.
#[tokio::test]
async fn a_node_that_stops_reporting_fires_its_dead_man_rule_and_resolves_on_return() {
    let receiver = Receiver::start(Mode::Accept).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[agents]\noffline_after = 20\n[[monitor]]\nname = \"web\"\ntcp = \"127.0.0.1:9\"\ninterval = 3600\n\
         [[notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n\
         [[alert]]\nname = \"node silent\"\nseries = \"node\"\nfield = \"online\"\ncondition = \"< 1\"\nnotify = [\"hook\"]\n",
        receiver.url("/hook")
    );
    let server = start(config_with(dir.path(), &toml).await, Target::Refusing).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let from_ms = chrono::Utc::now().timestamp_millis();
    let mut agent = Agent::enrol(&client, &server, &cookie, "tokyo").await;
    let (status, answer) = agent.send(&client, &server, vec![check(1, agent.now_ms(), 2.0)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // Silent from now on: the rule fires once the node is offline.
    let silent_from = std::time::Instant::now();
    let fired = receiver.wait_for(1, Duration::from_secs(40)).await;
    let waited = silent_from.elapsed();
    let body = fired[0].json();
    assert_eq!((body["rule"].as_str(), body["subject"].as_str(), body["kind"].as_str()), (Some("node silent"), Some("tokyo"), Some("firing")), "{body}");
    assert!(waited >= Duration::from_secs(19), "not before agents.offline_after: {waited:?}");
    assert!(metrics(&client, &server, &cookie).await.contains("netpulse_agent_online{node=\"tokyo\"} 0"));

    let (status, answer) = agent.send(&client, &server, vec![check(2, agent.now_ms(), 2.0)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let resolved = receiver.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(resolved[1].json()["kind"], "resolved", "{}", resolved[1].json());
    let text = metrics(&client, &server, &cookie).await;
    assert!(text.contains("netpulse_agent_online{node=\"tokyo\"} 1") && text.contains("netpulse_agent_outbox_results{node=\"tokyo\"} 0"), "{text}");

    let history = get(&client, &server, &cookie, &format!("/api/history?series=node:tokyo&from={from_ms}")).await;
    let online: Vec<f64> = history["points"].as_array().unwrap().iter().map(|p| p["online"]["mean"].as_f64().unwrap()).collect();
    assert!(online.windows(2).any(|w| w == [1.0, 0.0]) && online.last() == Some(&1.0), "online, offline, online again: {online:?}");
    server.shutdown().await;
}
