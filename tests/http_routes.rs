//! The plain HTTP routes over real sockets: `/speedtest/*`, `/api/snapshot` and the server-rendered page.

mod common;

use std::{collections::HashSet, time::Duration};

use common::{fast_config, next_event, open_stream, start, Target};
use serde_json::Value;

async fn idle_server() -> common::TestServer {
    start(fast_config("[speed]\ninterval = 3600"), Target::Refusing).await
}

#[tokio::test]
async fn garbage_streams_incompressible_megabytes_uncached() {
    let server = idle_server().await;
    let response = reqwest::get(server.url("/speedtest/garbage?ckSize=3&r=0.123")).await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert!(headers["cache-control"].to_str().unwrap().contains("no-store"));
    assert_eq!(headers["content-encoding"], "identity");
    assert_eq!(headers["content-length"], (3u64 << 20).to_string().as_str());
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), 3 << 20);
    let distinct: HashSet<&[u8]> = body.chunks(4096).take(64).collect();
    assert_eq!(distinct.len(), 64, "no repeated 4 KiB blocks within the first 256 KiB");

    let default = reqwest::get(server.url("/speedtest/garbage.php")).await.unwrap().bytes().await.unwrap();
    assert_eq!(default.len(), 4 << 20, "LibreSpeed's default is 4 chunks");
    server.shutdown().await;
}

#[tokio::test]
async fn oversize_or_malformed_sizes_get_a_json_400() {
    let server = idle_server().await;
    for path in ["/speedtest/garbage?ckSize=1025", "/speedtest/garbage?ckSize=many", "/speedtest/__down?bytes=-5", "/speedtest/__down?bytes=99999999999"] {
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("must"), "{path}: {body}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn down_returns_exactly_the_requested_bytes() {
    let server = idle_server().await;
    let body = reqwest::get(server.url("/speedtest/__down?bytes=12345")).await.unwrap().bytes().await.unwrap();
    assert_eq!(body.len(), 12345);
    server.shutdown().await;
}

#[tokio::test]
async fn empty_swallows_large_uploads_and_answers_empty() {
    let server = idle_server().await;
    let client = reqwest::Client::new();
    for path in ["/speedtest/empty", "/speedtest/empty.php", "/speedtest/__up"] {
        let response = client.post(server.url(path)).body(vec![7u8; 8 << 20]).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let ping = client.get(server.url("/speedtest/empty?cors=true")).send().await.unwrap();
    assert_eq!(ping.status(), 200);
    assert_eq!(ping.headers()["access-control-allow-origin"], "*");
    server.shutdown().await;
}

#[tokio::test]
async fn get_ip_reports_the_caller_like_librespeed() {
    let server = idle_server().await;
    let body: Value = reqwest::get(server.url("/speedtest/getIP")).await.unwrap().json().await.unwrap();
    assert_eq!(body["processedString"], "127.0.0.1");
    server.shutdown().await;
}

#[tokio::test]
async fn page_is_server_rendered_with_the_latest_sample() {
    let server = start(fast_config("[speed]\ninterval = 3600"), Target::Itself).await;
    let mut stream = open_stream(&server.url("/api/events"), None).await;
    let event = next_event(&mut stream.events, "speed", Duration::from_secs(30)).await;
    let sample: Value = serde_json::from_str(&event.data).unwrap();

    let snapshot: Value = reqwest::get(server.url("/api/snapshot")).await.unwrap().json().await.unwrap();
    assert_eq!(snapshot["last_event_id"].as_u64().unwrap().to_string(), event.id);
    assert_eq!(snapshot["speed"].as_array().unwrap().last().unwrap(), &sample);

    let page = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let download = sample["download_mbps"].as_f64().unwrap();
    assert!(html.contains(&format!("data-value=\"{download}\"")), "download card rendered on the server");
    assert!(html.contains("/pkg/netpulse.js") || html.contains("/pkg/netpulse"), "hydration scripts are linked");
    assert!(html.contains("test-node"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_page_renders_the_asked_range_and_unknown_paths_get_a_404() {
    let server = idle_server().await;
    let page = reqwest::get(server.url("/?range=7d")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"aria-current="page" data-range="7d""#), "the range from the query is the current one");
    assert_eq!(html.matches(r#"aria-current="page""#).count(), 1);
    assert!(html.contains(r#"rel="manifest" href="/manifest.webmanifest""#), "the head is written by the server");
    let missing = reqwest::get(server.url("/no-such-page")).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found."));
    server.shutdown().await;
}
