//! Nodes measuring each other, as a test sees it: where each node says it
//! serves, the speed samples that follow an ask, and "test now".

use std::{collections::BTreeMap, time::Duration};

use reqwest::{header, Client, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use super::{next_event, TestServer};

/// Where each enrolled node serves, as `GET /api/agents` tells an admin.
pub async fn serving(client: &Client, server: &TestServer, cookie: &str) -> BTreeMap<String, Value> {
    let nodes: Value = client.get(server.url("/api/agents")).header(header::COOKIE, cookie).send().await.unwrap().json().await.unwrap();
    nodes.as_array().unwrap().iter().map(|node| (node["name"].as_str().unwrap().to_owned(), node["speedtest_url"].clone())).collect()
}

/// Speed samples from `events` until one of each series in `wanted` (`target@node`, or `target` for the server's own)
/// that started after `since` has come; earlier ones (start-up tests) are passed over.
pub async fn samples_of(
    events: &mut (impl futures_util::Stream<Item = eventsource_stream::Event> + Unpin),
    wanted: &[&str],
    since: chrono::DateTime<chrono::Utc>,
    within: Duration,
) -> BTreeMap<String, Value> {
    let mut seen = BTreeMap::new();
    let deadline = Instant::now() + within;
    while wanted.iter().any(|series| !seen.contains_key(*series)) {
        let event = next_event(events, "speed", deadline.saturating_duration_since(Instant::now())).await;
        let sample: Value = serde_json::from_str(&event.data).unwrap();
        let at: chrono::DateTime<chrono::Utc> = sample["at"].as_str().unwrap().parse().unwrap();
        if at > since {
            seen.insert(sample["target"].as_str().unwrap().to_owned(), sample);
        }
    }
    seen
}

pub async fn test_now(client: &Client, server: &TestServer, cookie: &str, body: Value) {
    let response = client.post(server.url("/api/speed/test-now")).header(header::COOKIE, cookie).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
}

pub fn measured(sample: &Value) -> bool {
    sample["error"].is_null() && sample["download_mbps"].as_f64().unwrap_or(0.0) > 0.0 && sample["upload_mbps"].as_f64().unwrap_or(0.0) > 0.0
}
