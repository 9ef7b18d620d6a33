//! Endpoint checks against real, deliberately misbehaving servers on loopback.
//! Every check ends with a clear result within its timeout.

mod common;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use common::{fast_config, next_event, open_stream, start, Target};
use netpulse::server::{
    monitor::check,
    monitor::config::{Monitor, MonitorConfig},
};
use serde_json::Value;
use tokio::{io::AsyncWriteExt, net::TcpListener};

#[derive(Clone, Copy)]
enum Behaviour {
    Answer(u16, &'static str),
    /// Headers and part of the body, then nothing.
    StallMidBody,
    /// Accepts, then resets the connection.
    Reset,
    /// Accepts and reads, never answers.
    Silent,
}

async fn misbehaving_server(behaviour: Behaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                match behaviour {
                    Behaviour::Answer(status, body) => {
                        common::read_request_head(&mut stream).await;
                        let reply = format!("HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                        let _ = stream.write_all(reply.as_bytes()).await;
                    }
                    Behaviour::StallMidBody => {
                        common::read_request_head(&mut stream).await;
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial").await;
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    Behaviour::Reset => {
                        common::read_request_head(&mut stream).await;
                        // A zero linger makes close send RST at once; it does not block.
                        #[allow(deprecated)]
                        let _ = stream.set_linger(Some(Duration::ZERO));
                        drop(stream);
                    }
                    Behaviour::Silent => {
                        common::read_request_head(&mut stream).await;
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                }
            });
        }
    });
    addr
}

fn monitor(table: &str) -> Monitor {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        monitor: MonitorConfig,
    }
    toml::from_str::<Wrapper>(&format!("[monitor]\nname = \"m\"\ntimeout = 0.5\n{table}")).unwrap().monitor.validate().unwrap()
}

async fn check(table: &str) -> (netpulse::model::ProbeResult, Duration) {
    let started = Instant::now();
    let result = check::check(&monitor(table), &check::tls_connector()).await;
    (result, started.elapsed())
}

#[tokio::test]
async fn a_healthy_endpoint_is_up_with_a_timing_breakdown() {
    let addr = misbehaving_server(Behaviour::Answer(200, "all ok here")).await;
    let (result, _) = check(&format!("url = \"http://localhost:{}/health?x=1\"\nkeyword = \"ok\"", addr.port())).await;
    assert!(result.up, "{result:?}");
    assert_eq!(result.status_code, Some(200));
    assert_eq!(result.error, None);
    for (name, value) in [("dns", result.dns_ms), ("connect", result.connect_ms), ("ttfb", result.ttfb_ms), ("response", result.response_ms)] {
        assert!(value.is_some_and(|ms| ms >= 0.0), "{name}_ms: {result:?}");
    }
    assert_eq!(result.tls_ms, None, "no TLS over plain HTTP");
    assert!(result.response_ms.unwrap() >= result.ttfb_ms.unwrap());
}

#[tokio::test]
async fn a_503_is_down_with_its_status() {
    let addr = misbehaving_server(Behaviour::Answer(503, "maintenance")).await;
    let (result, _) = check(&format!("url = \"http://{addr}/\"")).await;
    assert!(!result.up);
    assert_eq!(result.status_code, Some(503));
    assert_eq!(result.error.as_deref(), Some("unexpected status 503"));
}

#[tokio::test]
async fn expected_statuses_and_keywords_are_configurable() {
    let addr = misbehaving_server(Behaviour::Answer(404, "gone")).await;
    let (result, _) = check(&format!("url = \"http://{addr}/\"\nexpect_status = [\"400-404\"]")).await;
    assert!(result.up, "{result:?}");
    let (result, _) = check(&format!("url = \"http://{addr}/\"\nexpect_status = 404\nkeyword = \"welcome\"")).await;
    assert!(!result.up);
    assert!(result.error.unwrap().contains("keyword \"welcome\" missing"));
}

#[tokio::test]
async fn a_refused_connection_says_so() {
    let port = common::closed_port().await;
    let (result, elapsed) = check(&format!("url = \"http://127.0.0.1:{port}/\"")).await;
    assert!(!result.up);
    assert!(result.error.as_deref().unwrap().contains("connection refused"), "{result:?}");
    assert!(elapsed < Duration::from_millis(500));
}

#[tokio::test]
async fn a_server_that_never_answers_is_cut_off_at_the_timeout() {
    let addr = misbehaving_server(Behaviour::Silent).await;
    let (result, elapsed) = check(&format!("url = \"http://{addr}/\"")).await;
    assert!(!result.up);
    assert_eq!(result.error.as_deref(), Some("timed out after 500 ms"));
    assert!(result.connect_ms.is_some() && result.ttfb_ms.is_none(), "got as far as connecting: {result:?}");
    assert!(elapsed < Duration::from_millis(900), "{elapsed:?}");
}

#[tokio::test]
async fn a_body_that_stalls_midway_is_cut_off_at_the_timeout_when_a_keyword_needs_it() {
    let addr = misbehaving_server(Behaviour::StallMidBody).await;
    let (result, elapsed) = check(&format!("url = \"http://{addr}/\"\nkeyword = \"never sent\"")).await;
    assert!(!result.up);
    assert_eq!(result.error.as_deref(), Some("timed out after 500 ms"));
    assert_eq!(result.status_code, Some(200), "the head did arrive");
    assert!(elapsed < Duration::from_millis(900), "{elapsed:?}");
    // Without a keyword the status is the answer: the stalled body is never waited for.
    let (result, elapsed) = check(&format!("url = \"http://{addr}/\"")).await;
    assert!(result.up, "{result:?}");
    assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
}

#[tokio::test]
async fn a_reset_is_reported_as_such() {
    let addr = misbehaving_server(Behaviour::Reset).await;
    let (result, elapsed) = check(&format!("url = \"http://{addr}/\"")).await;
    assert!(!result.up);
    let error = result.error.unwrap();
    assert!(error.contains("reset") || error.contains("closed the connection"), "{error}");
    assert!(elapsed < Duration::from_millis(500));
}

#[tokio::test]
async fn tcp_checks_connect_or_say_why_not() {
    let open = misbehaving_server(Behaviour::Silent).await;
    let (result, _) = check(&format!("tcp = \"{open}\"")).await;
    assert!(result.up, "{result:?}");
    assert_eq!(result.url, format!("tcp://{open}"));
    assert!(result.connect_ms.is_some() && result.status_code.is_none());
    let (result, _) = check(&format!("tcp = \"127.0.0.1:{}\"", common::closed_port().await)).await;
    assert!(!result.up && result.error.unwrap().contains("connection refused"));
}

#[tokio::test]
async fn configured_monitors_publish_probe_events_on_the_stream() {
    let healthy = misbehaving_server(Behaviour::Answer(200, "ok")).await;
    let broken = misbehaving_server(Behaviour::Answer(500, "boom")).await;
    let toml = format!(
        "[speed]\ninterval = 3600\n[[monitor]]\nname = \"web\"\nurl = \"http://{healthy}/\"\ninterval = 1\n\
         [[monitor]]\nname = \"api\"\nurl = \"http://{broken}/v1\"\ninterval = 1\n"
    );
    let server = start(fast_config(&toml), Target::Refusing).await;
    let mut stream = open_stream(&server.url("/api/events?topics=probe"), None).await;
    let mut seen = std::collections::BTreeMap::new();
    while seen.len() < 2 {
        let event = next_event(&mut stream.events, "probe", Duration::from_secs(10)).await;
        let result: Value = serde_json::from_str(&event.data).unwrap();
        seen.insert(result["monitor"].as_str().unwrap().to_owned(), result);
    }
    assert_eq!(seen["web"]["up"], true);
    assert_eq!(seen["web"]["status_code"], 200);
    assert_eq!(seen["api"]["up"], false);
    assert_eq!(seen["api"]["error"], "unexpected status 500");
    assert_eq!(seen["api"]["url"], format!("http://{broken}/v1"));
    for key in ["at", "response_ms", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms"] {
        assert!(seen["web"].get(key).is_some(), "{key} present");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_monitor_checked_hourly_stays_on_the_page_beside_fast_ones_and_after_a_restart() {
    let healthy = misbehaving_server(Behaviour::Answer(200, "ok")).await;
    let mut toml = format!("[speed]\ninterval = 3600\n[[monitor]]\nname = \"hourly\"\ntcp = \"{healthy}\"\ninterval = 3600\n");
    for n in 0..3 {
        toml.push_str(&format!("[[monitor]]\nname = \"fast-{n}\"\ntcp = \"{healthy}\"\ninterval = 1\n"));
    }
    let data = tempfile::tempdir().unwrap();
    let mut config = fast_config(&toml);
    config.data_dir = data.path().to_owned();
    let server = start(config.clone(), Target::Refusing).await;
    let mut stream = open_stream(&server.url("/api/events?topics=probe"), None).await;
    // 30 checks of the fast monitors: more than the newest 16 the page used to search for the slow one.
    let mut fast = 0;
    while fast < 30 {
        let event = next_event(&mut stream.events, "probe", Duration::from_secs(10)).await;
        fast += usize::from(event.data.contains("\"fast-"));
    }
    let monitors = |snapshot: Value| snapshot["probes"].as_array().unwrap().iter().map(|p| p["monitor"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let snapshot: Value = reqwest::get(server.url("/api/snapshot")).await.unwrap().json().await.unwrap();
    assert_eq!(monitors(snapshot), ["hourly", "fast-0", "fast-1", "fast-2"], "in config order, the hourly one included");
    let page = reqwest::get(server.url("/")).await.unwrap().text().await.unwrap();
    assert!(page.contains("hourly"), "the page renders it too");
    server.shutdown().await;

    // Restarted: the hourly monitor is not due for an hour, and is still shown.
    let restarted = start(config, Target::Refusing).await;
    let snapshot: Value = reqwest::get(restarted.url("/api/snapshot")).await.unwrap().json().await.unwrap();
    assert!(monitors(snapshot).contains(&"hourly".to_owned()), "restored from the store at start-up");
    restarted.shutdown().await;
}
