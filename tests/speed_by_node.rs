//! The dashboard's `?node=`: whose speed tests the snapshot and the page
//! carry. A node that has reported and that the caller may read, or every
//! node's readable tests with `*`; anything else is a 404 from the API and
//! this server's tests on the page.

mod common;

use std::time::Duration;

use common::{
    agents::{admin_cookie, config_with, Agent},
    start_on, Target, TestServer, OPEN_READ,
};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};

async fn snapshot(client: &Client, server: &TestServer, query: &str, cookie: Option<&str>) -> (StatusCode, Value) {
    let mut request = client.get(server.url(&format!("/api/snapshot{query}")));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

fn nodes_of(snapshot: &Value) -> Vec<String> {
    let mut nodes: Vec<String> = snapshot["speed"].as_array().unwrap().iter().map(|sample| sample["node"].as_str().unwrap().to_owned()).collect();
    nodes.dedup();
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_and_the_page_carry_the_chosen_nodes_tests_among_those_the_caller_may_read() {
    let dir = tempfile::tempdir().unwrap();
    // Visitors read everything but pune.
    let rules = format!("{OPEN_READ}\n[[access]]\nwho = \"anonymous\"\nseries = \"node:pune\"\nallow = \"deny\"\n[[access]]\nwho = \"anonymous\"\nseries = \"speed:*@pune\"\nallow = \"deny\"\n");
    let mut config = config_with(dir.path(), &rules).await;
    config.speed.enabled = true;
    config.speed.interval = 3600;
    let server = start_on("127.0.0.1:0", config, Target::Itself).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let target = format!("http://{}/speedtest", server.addr);
    for name in ["tokyo", "pune"] {
        let mut agent = Agent::enrol(&client, &server, &cookie, name).await;
        let at = chrono::Utc::now().to_rfc3339();
        let sample = json!({ "node": name, "target": target, "at": at, "download_mbps": 100.0, "upload_mbps": 50.0, "latency_ms": 1.0,
            "jitter_ms": 0.1, "latency_down_ms": null, "latency_up_ms": null, "bytes_down": 1, "bytes_up": 1, "error": null });
        let (status, answer) = agent.send(&client, &server, vec![json!({ "seq": 1, "kind": "speed", "data": sample })]).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    // This server's start-up test, and both nodes' reports on the node topic.
    let ready = async {
        loop {
            let (_, every) = snapshot(&client, &server, "?node=*", Some(&cookie)).await;
            if nodes_of(&every).contains(&"test-node".to_owned()) && every["nodes"].as_array().unwrap().len() == 2 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), ready).await.expect("this server tested and both nodes reported within 30 s");

    let (status, here) = snapshot(&client, &server, "", None).await;
    assert_eq!((status, here["speed_node"].as_str(), nodes_of(&here)), (StatusCode::OK, Some("test-node"), vec!["test-node".to_owned()]));
    let (_, tokyo) = snapshot(&client, &server, "?node=tokyo", None).await;
    assert_eq!((tokyo["speed_node"].as_str(), nodes_of(&tokyo)), (Some("tokyo"), vec!["tokyo".to_owned()]));
    let (_, every) = snapshot(&client, &server, "?node=%2A", None).await;
    let mut seen = nodes_of(&every);
    seen.sort();
    assert_eq!(seen, ["test-node", "tokyo"], "pune's tests are not a visitor's to read");
    let (status, denied) = snapshot(&client, &server, "?node=pune", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(denied["error"].as_str().unwrap().starts_with("node:"), "{denied}");
    assert_eq!(snapshot(&client, &server, "?node=nowhere", Some(&cookie)).await.0, StatusCode::NOT_FOUND);
    let (_, pune) = snapshot(&client, &server, "?node=pune", Some(&cookie)).await;
    assert_eq!(nodes_of(&pune), ["pune"], "an admin may");

    // The page: the node asked for, or this server's where the caller may not read it.
    let page = |query: &'static str| {
        let client = client.clone();
        let url = server.url(&format!("/{query}"));
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(page("?node=tokyo").await.contains(r#"data-shown="tokyo""#));
    let fallback = page("?node=pune").await;
    assert!(fallback.contains(r#"data-shown="test-node""#) && fallback.contains(r#"data-nodes="tokyo""#), "pune is not listed to a visitor either");
    server.shutdown().await;
}
