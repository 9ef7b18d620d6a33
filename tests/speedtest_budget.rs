//! The `/speedtest` byte budget over real sockets: a client address past its
//! hourly budget gets a 429, uploads count as they arrive, local networks are
//! exempt, and behind a trusted proxy each forwarded client has its own budget.

mod common;

use std::net::IpAddr;

use common::{fast_config, start, Target};
use serde_json::Value;

fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(address.parse::<IpAddr>().unwrap()).build().unwrap()
}

async fn download(client: &reqwest::Client, url: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = client.get(url);
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

/// How many body bytes arrived before the body ended, or was cut off.
async fn received(response: reqwest::Response) -> usize {
    let mut response = response;
    let mut total = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        total += chunk.len();
    }
    total
}

#[tokio::test]
async fn an_address_past_its_budget_is_cut_off_then_gets_a_429() {
    let server = start(fast_config("[speed]\ninterval = 3600\nserve_budget_mb = 10\nserve_budget_exempt = []\n"), Target::Refusing).await;
    let client = client_from("127.0.0.2");
    let url = server.url("/speedtest/garbage?ckSize=4");
    assert_eq!(received(download(&client, &url, None).await).await, 4 << 20);
    assert_eq!(received(download(&client, &url, None).await).await, 4 << 20, "8.4 MB of 10");
    // The third starts, and is cut off where the 10 MB run out.
    let cut = download(&client, &url, None).await;
    assert_eq!(cut.status(), 200);
    let got = received(cut).await;
    assert!(got > 1 << 20 && got < 2 << 20, "cut off near the 1.6 MB left, after {got} bytes");
    let refused = download(&client, &url, None).await;
    assert_eq!(refused.status(), 429, "then refused at once");
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    // 256 KiB short at 10 MB an hour: about 95 s.
    assert!((30..=300).contains(&wait), "Retry-After {wait}");
    assert!(refused.headers()["cache-control"].to_str().unwrap().contains("no-store"));
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("speed-test budget"), "{body}");
    let whole = download(&client_from("127.0.0.3"), &server.url("/speedtest/__down?bytes=11000000"), None).await;
    assert_eq!(whole.status(), 400, "one request may not ask for more than the whole budget");
    assert!(whole.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("10 MB"));
    let pings = client.get(server.url("/speedtest/empty")).send().await.unwrap();
    assert_eq!(pings.status(), 200, "pings move no bytes and are never refused");
    server.shutdown().await;
}

#[tokio::test]
async fn uploads_count_against_the_same_budget() {
    let server = start(fast_config("[speed]\ninterval = 3600\nserve_budget_mb = 10\nserve_budget_exempt = []\n"), Target::Refusing).await;
    let client = client_from("127.0.0.4");
    let upload = client.post(server.url("/speedtest/empty")).body(vec![0u8; 8 << 20]).send().await.unwrap();
    assert_eq!(upload.status(), 200);
    // The next upload passes the budget part way; netpulse answers 429 and stops reading,
    // so the client sees the 429 or, if it was still sending, a closed connection.
    let after = received(download(&client, &server.url("/speedtest/garbage?ckSize=2"), None).await).await;
    assert!(after < 2 << 20, "the 8 MiB uploaded count: only {after} bytes of 2 MiB fit in what is left");
    // The budget is used up now: an upload is answered 429 and not read on, so the
    // client sees the 429 or, if it was still sending, a closed connection.
    match client.post(server.url("/speedtest/empty")).body(vec![0u8; 8 << 20]).send().await {
        Ok(response) => assert_eq!(response.status(), 429),
        Err(error) => assert!(error.is_request() || error.is_body() || error.is_connect(), "{error:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn local_clients_are_exempt_and_forwarded_clients_are_counted_apart() {
    // The default exemptions: loopback and private networks are never counted.
    let server = start(fast_config("[speed]\ninterval = 3600\nserve_budget_mb = 5\n"), Target::Refusing).await;
    let url = server.url("/speedtest/garbage?ckSize=4");
    let local = reqwest::Client::new();
    for _ in 0..3 {
        assert_eq!(download(&local, &url, None).await.status(), 200, "loopback is exempt");
    }
    // 127.0.0.1 is a trusted proxy by default: what it forwards is the client.
    assert_eq!(received(download(&local, &url, Some("198.51.100.7")).await).await, 4 << 20);
    assert!(received(download(&local, &url, Some("198.51.100.7")).await).await < 4 << 20, "a forwarded public client has a budget");
    assert_eq!(download(&local, &url, Some("198.51.100.7")).await.status(), 429);
    assert_eq!(received(download(&local, &url, Some("198.51.100.8")).await).await, 4 << 20, "and each has its own");
    let ip: Value = local.get(server.url("/speedtest/getIP")).header("x-forwarded-for", "198.51.100.7").send().await.unwrap().json().await.unwrap();
    assert_eq!(ip["processedString"], "198.51.100.7");
    // From an address that is no proxy the header is the client's own word, and ignored.
    let direct = client_from("127.0.0.5");
    for _ in 0..2 {
        assert_eq!(download(&direct, &url, Some("198.51.100.8")).await.status(), 200, "counted as 127.0.0.5, which is exempt");
    }
    let ip: Value = direct.get(server.url("/speedtest/getIP")).header("x-forwarded-for", "198.51.100.7").send().await.unwrap().json().await.unwrap();
    assert_eq!(ip["processedString"], "127.0.0.5");
    server.shutdown().await;
}

#[test]
fn a_bad_budget_or_exemption_names_its_key() {
    let error = |toml: &str| netpulse::server::config::Config::from_toml(toml).unwrap().validate().unwrap_err().to_string();
    assert!(error("[speed]\nserve_budget_mb = 5000000\n").starts_with("invalid speed.serve_budget_mb:"));
    assert!(error("[speed]\nserve_budget_exempt = [\"lan\"]\n").starts_with("invalid speed.serve_budget_exempt:"));
}
