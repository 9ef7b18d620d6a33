//! `/api/events` end to end: a real server, a real sampler, a real SSE client.

mod common;

use std::time::Duration;

use chrono::DateTime;
use common::{fast_config, next_event, open_stream, start, Target};
use futures_util::StreamExt;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn speed_event_carries_every_field_with_proper_headers() {
    let server = start(fast_config("[speed]\ninterval = 3600"), Target::Itself).await;
    let mut stream = open_stream(&server.url("/api/events"), None).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert_eq!(stream.headers["cache-control"], "no-cache");
    assert_eq!(stream.headers["x-accel-buffering"], "no");

    let event = next_event(&mut stream.events, "speed", WAIT).await;
    assert!(event.id.parse::<u64>().unwrap() >= 1, "numeric id, got {:?}", event.id);
    let sample: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(sample["node"], "test-node");
    assert_eq!(sample["target"], server.url("/speedtest"));
    DateTime::parse_from_rfc3339(sample["at"].as_str().unwrap()).expect("at is RFC 3339");
    assert!(sample["at"].as_str().unwrap().ends_with('Z') || sample["at"].as_str().unwrap().ends_with("+00:00"));
    assert_eq!(sample["error"], Value::Null, "{sample}");
    for key in ["download_mbps", "upload_mbps"] {
        assert!(sample[key].as_f64().unwrap() > 1.0, "{key} measured over loopback: {sample}");
    }
    for key in ["latency_ms", "jitter_ms"] {
        assert!(sample[key].as_f64().unwrap() >= 0.0, "{key}: {sample}");
    }
    assert!(sample["bytes_down"].as_u64().unwrap() > 0 && sample["bytes_up"].as_u64().unwrap() > 0);
    server.shutdown().await;
}

#[tokio::test]
async fn refused_target_yields_an_event_with_the_reason_and_null_figures() {
    let server = start(fast_config("[speed]\ninterval = 3600"), Target::Refusing).await;
    let mut stream = open_stream(&server.url("/api/events?topics=speed"), None).await;
    let event = next_event(&mut stream.events, "speed", WAIT).await;
    let sample: Value = serde_json::from_str(&event.data).unwrap();
    let error = sample["error"].as_str().expect("error is set");
    assert!(error.contains("connection refused"), "{error}");
    for key in ["download_mbps", "upload_mbps", "latency_ms", "jitter_ms"] {
        assert_eq!(sample[key], Value::Null, "{key} must be null: {sample}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn heartbeats_arrive_on_an_idle_stream() {
    let server = start(fast_config("[speed]\ninterval = 3600\n[sse]\nheartbeat = 0.2"), Target::Refusing).await;
    let response = reqwest::get(server.url("/api/events")).await.unwrap();
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(chunk) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if seen.matches("\n: heartbeat\n").count() >= 2 {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "two heartbeat comments; got {seen:?}");
    assert!(seen.starts_with("retry: 3000\n"), "the stream opens with retry: {seen:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn resume_delivers_exactly_the_missed_events_and_unknown_ids_reset() {
    // A refused target fails fast, so events come every second.
    let server = start(fast_config("[speed]\ninterval = 1"), Target::Refusing).await;
    let url = server.url("/api/events?topics=speed");
    let mut first = open_stream(&url, None).await;
    let a: u64 = next_event(&mut first.events, "speed", WAIT).await.id.parse().unwrap();
    let b: u64 = next_event(&mut first.events, "speed", WAIT).await.id.parse().unwrap();
    let c: u64 = next_event(&mut first.events, "speed", WAIT).await.id.parse().unwrap();
    assert!(a < b && b < c, "ids increase: {a} {b} {c}");
    drop(first);

    let mut resumed = open_stream(&url, Some(&a.to_string())).await;
    assert_eq!(next_event(&mut resumed.events, "speed", WAIT).await.id, b.to_string());
    assert_eq!(next_event(&mut resumed.events, "speed", WAIT).await.id, c.to_string());
    let live: u64 = next_event(&mut resumed.events, "speed", WAIT).await.id.parse().unwrap();
    assert!(live > c, "then live events follow, {live} after {c}");

    // The query form works for a first connect, which cannot set headers.
    let mut by_query = open_stream(&format!("{url}&lastEventId={b}"), None).await;
    assert_eq!(next_event(&mut by_query.events, "speed", WAIT).await.id, c.to_string());

    let mut stale = open_stream(&url, Some("999999")).await;
    let reset = next_event(&mut stale.events, "reset", WAIT).await;
    assert!(reset.id.parse::<u64>().unwrap() >= c, "reset carries the id to continue from");
    server.shutdown().await;
}

#[tokio::test]
async fn a_fresh_connect_gets_the_latest_sample_first() {
    let server = start(fast_config("[speed]\ninterval = 3600"), Target::Refusing).await;
    let mut first = open_stream(&server.url("/api/events"), None).await;
    let published = next_event(&mut first.events, "speed", WAIT).await;
    let mut late = open_stream(&server.url("/api/events"), None).await;
    let replayed = next_event(&mut late.events, "speed", Duration::from_secs(2)).await;
    assert_eq!((replayed.id, replayed.data), (published.id, published.data));
    server.shutdown().await;
}

#[tokio::test]
async fn bad_parameters_get_a_json_400() {
    let server = start(fast_config("[speed]\ninterval = 3600"), Target::Refusing).await;
    let client = reqwest::Client::new();
    let unknown = client.get(server.url("/api/events?topics=speed,weather")).send().await.unwrap();
    assert_eq!(unknown.status(), 400);
    let body: Value = unknown.json().await.unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("weather") && message.contains("speed"), "{message}");

    let bad_id = client.get(server.url("/api/events")).header("Last-Event-ID", "yesterday").send().await.unwrap();
    assert_eq!(bad_id.status(), 400);
    assert!(bad_id.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("Last-Event-ID"));

    let missing = client.get(server.url("/api/nothing-here")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.json::<Value>().await.unwrap()["error"].is_string());
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let server = start(fast_config("[speed]\ninterval = 3600"), Target::Refusing).await;
    let mut stream = open_stream(&server.url("/api/events"), None).await;
    next_event(&mut stream.events, "speed", WAIT).await;
    // shutdown() asserts the server stops within 10 s despite the open stream.
    server.shutdown().await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async { while stream.events.next().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the client sees the stream end");
}

#[tokio::test]
async fn a_client_away_past_the_window_resumes_its_own_topic_from_the_log() {
    // A window of 5 events, flooded by another topic while the client sleeps.
    let server = start(
        fast_config("publish_token = \"t0ken-for-resume\"\ntopics = [\"sales\", \"chatter\"]\n[sse]\nreplay = 5\n[speed]\ninterval = 3600"),
        Target::Refusing,
    )
    .await;
    let client = reqwest::Client::new();
    let publish = |topic: &'static str, n: u32| {
        let request = client.post(server.url(&format!("/api/publish/{topic}"))).bearer_auth("t0ken-for-resume").body(format!("{{\"n\": {n}}}"));
        async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap()["id"].as_u64().unwrap() }
    };
    let seen = publish("sales", 0).await;
    let missed = [publish("sales", 1).await, publish("sales", 2).await];
    for n in 0..50 {
        publish("chatter", n).await;
    }
    let url = server.url("/api/events?topics=sales");
    let mut resumed = open_stream(&url, Some(&seen.to_string())).await;
    for id in missed {
        let event = tokio::time::timeout(WAIT, futures_util::StreamExt::next(&mut resumed.events)).await.unwrap().unwrap();
        assert_eq!((event.event.as_str(), event.id), ("sales", id.to_string()), "no reset: the log still has them");
    }
    let live = publish("sales", 3).await;
    assert_eq!(next_event(&mut resumed.events, "sales", WAIT).await.id, live.to_string());
    server.shutdown().await;
}

#[tokio::test]
async fn an_enveloped_stream_carries_the_servers_time_around_the_payload_as_sent() {
    let server = start(fast_config("publish_token = \"t0ken-for-envelope\"\ntopics = [\"sales\"]\n[speed]\ninterval = 3600"), Target::Refusing).await;
    let mut plain = open_stream(&server.url("/api/events?topics=sales"), None).await;
    let mut enveloped = open_stream(&server.url("/api/events?topics=sales&envelope=1"), None).await;
    let before = chrono::Utc::now().timestamp_millis();
    let body = "{\"sales\": 4200, \"note\": \"a\\nb\"}";
    let client = reqwest::Client::new();
    client.post(server.url("/api/publish/sales")).bearer_auth("t0ken-for-envelope").body(body).send().await.unwrap();
    let after = chrono::Utc::now().timestamp_millis();
    assert_eq!(next_event(&mut plain.events, "sales", WAIT).await.data, body, "without the parameter, the payload as sent");
    let event = next_event(&mut enveloped.events, "sales", WAIT).await;
    let (at_ms, payload) = netpulse::model::open_envelope(&event.data).expect("an envelope");
    assert_eq!(payload, body);
    assert!((before..=after).contains(&at_ms), "stamped by the server when it was published: {before} <= {at_ms} <= {after}");
    let bad = reqwest::get(server.url("/api/events?envelope=yes")).await.unwrap();
    assert_eq!(bad.status(), 400);
    server.shutdown().await;
}
