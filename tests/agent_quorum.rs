//! "Down from at least K of N nodes": a rule with `nodes_at_least = 2` on
//! `probe:web` judges this server's check and each agent node's on its own,
//! fires for `web` once two of them are down, not when one is, and resolves
//! when fewer than two are; the notification says how many.

mod common;

use std::time::Duration;

use common::{
    agents::{admin_cookie, check, config_with, down, Agent},
    receiver::{Mode, Receiver},
    start, Target,
};
use reqwest::{header, Client, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn a_rule_across_nodes_fires_at_k_nodes_down_and_resolves_below() {
    let receiver = Receiver::start(Mode::Accept).await;
    let dir = tempfile::tempdir().unwrap();
    let closed = common::closed_port().await;
    // This server checks a closed port once: down from here.
    let toml = format!(
        "[[monitor]]\nname = \"web\"\ntcp = \"127.0.0.1:{closed}\"\ninterval = 3600\n\
         [[notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n\
         [[alert]]\nname = \"web down from 2 nodes\"\nseries = \"probe:web\"\nfield = \"up\"\ncondition = \"< 1\"\nnodes_at_least = 2\nnotify = [\"hook\"]\n",
        receiver.url("/hook")
    );
    let server = start(config_with(dir.path(), &toml).await, Target::Refusing).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let board = |client: Client, cookie: String, url: String| async move {
        let alerts: Value = client.get(url).header(header::COOKIE, cookie).send().await.unwrap().json().await.unwrap();
        alerts["alerts"].as_array().unwrap().iter().find(|a| a["rule"] == "web down from 2 nodes").cloned()
    };
    for _ in 0..100 {
        let snapshot: Value = client.get(server.url("/api/snapshot")).header(header::COOKIE, &cookie).send().await.unwrap().json().await.unwrap();
        if snapshot["probes"].as_array().is_some_and(|probes| probes.iter().any(|p| p["monitor"] == "web" && p["up"] == false)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut tokyo = Agent::enrol(&client, &server, &cookie, "tokyo").await;
    let mut berlin = Agent::enrol(&client, &server, &cookie, "berlin").await;

    // Down from here, up from tokyo: one of two, nothing fires.
    assert_eq!(tokyo.send(&client, &server, vec![check(1, tokyo.now_ms(), 2.0)]).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.received().is_empty(), "one node down is that node's problem");
    let state = board(client.clone(), cookie.clone(), server.url("/api/alerts")).await.expect("the rule judged web");
    assert_eq!((state["subject"].as_str(), state["phase"].as_str(), state["value"].as_f64()), (Some("web"), Some("ok"), Some(1.0)), "{state}");

    // Down from berlin too: two of three, it fires for web, once.
    assert_eq!(berlin.send(&client, &server, vec![down(1, berlin.now_ms())]).await.0, StatusCode::OK);
    let received = receiver.wait_for(1, Duration::from_secs(10)).await;
    let body = received[0].json();
    assert_eq!(
        (body["rule"].as_str(), body["subject"].as_str(), body["kind"].as_str()),
        (Some("web down from 2 nodes"), Some("web"), Some("firing")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("nodes breaching the rule"), "{body}");
    assert_eq!(body["facts"]["value"].as_f64(), Some(2.0), "{body}");

    // Berlin recovers: one of three again, it resolves.
    assert_eq!(berlin.send(&client, &server, vec![check(2, berlin.now_ms(), 2.0)]).await.0, StatusCode::OK);
    let received = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(received[1].json()["kind"], "resolved", "{}", received[1].json());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "no node's own breach was sent on its own");
    server.shutdown().await;
}
