//! The event hub over HTTP: publishing, topic rooms, accounting, limits,
//! on-demand producers and slow subscribers.

mod common;

use std::time::{Duration, Instant};

use common::{fast_config, next_event, open_stream, start, Target, TestServer};
use futures_util::StreamExt;
use serde_json::{json, Value};

const TOKEN: &str = "test-token-0123456789";
const WAIT: Duration = Duration::from_secs(20);

async fn hub_server(extra: &str) -> TestServer {
    let toml = format!("publish_token = \"{TOKEN}\"\ntopics = [\"sales\", \"visitors\"]\n{extra}\n[speed]\ninterval = 3600\n");
    start(fast_config(&toml), Target::Refusing).await
}

async fn publish(server: &TestServer, topic: &str, body: impl Into<reqwest::Body>, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(server.url(&format!("/api/publish/{topic}"))).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn status(server: &TestServer) -> Value {
    reqwest::get(server.url("/api/status")).await.unwrap().json().await.unwrap()
}

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn publishing_is_authorised_validated_and_delivered_verbatim() {
    let server = hub_server("").await;
    let mut sales = open_stream(&server.url("/api/events?topics=sales"), None).await;

    let body = r#"{"sales": 4200, "orders": [1, 2]}"#;
    assert_eq!(error_of(publish(&server, "sales", body, None).await).await.0, 401);
    assert_eq!(error_of(publish(&server, "sales", body, Some("wrong-token-0000000")).await).await.0, 401);
    let (code, message) = error_of(publish(&server, "Sales!", body, Some(TOKEN)).await).await;
    assert!(code == 400 && message.contains("a-z"), "{code} {message}");
    let (code, message) = error_of(publish(&server, "speed", body, Some(TOKEN)).await).await;
    assert!(code == 400 && message.contains("reserved"), "{code} {message}");
    assert_eq!(error_of(publish(&server, "sales", "not json", Some(TOKEN)).await).await.0, 400);
    assert_eq!(error_of(publish(&server, "sales", "[1,2]", Some(TOKEN)).await).await.0, 400);
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    assert_eq!(error_of(publish(&server, "sales", big, Some(TOKEN)).await).await.0, 413);

    let accepted = publish(&server, "sales", body, Some(TOKEN)).await;
    assert_eq!(accepted.status(), 202);
    let receipt: Value = accepted.json().await.unwrap();
    let event = next_event(&mut sales.events, "sales", WAIT).await;
    assert_eq!(event.data, body, "delivered byte for byte");
    assert_eq!(event.id, receipt["id"].to_string());
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_token_never_publishes() {
    let server = start(fast_config("[speed]\ninterval = 3600"), Target::Refusing).await;
    let (code, message) = error_of(publish(&server, "sales", "{}", Some(TOKEN)).await).await;
    assert_eq!(code, 401, "no publish_token is set, so this is no token at all");
    assert!(message.contains("unknown, revoked or expired"), "{message}");
    let (code, message) = error_of(publish(&server, "sales", "{}", None).await).await;
    assert_eq!(code, 401);
    assert!(message.contains("sign in, or send a bearer token, to publish on topic:sales"), "{message}");
    server.shutdown().await;
}

#[tokio::test]
async fn rooms_only_receive_their_topics_and_are_counted() {
    let server = hub_server("").await;
    let mut sales = open_stream(&server.url("/api/events?topics=sales"), None).await;
    let mut visitors = open_stream(&server.url("/api/events?topics=visitors"), None).await;
    let mut everything = open_stream(&server.url("/api/events"), None).await;
    let counts = status(&server).await["connections"].clone();
    assert_eq!(counts["total"], 3);
    assert_eq!(counts["per_topic"], json!({"*": 1, "sales": 1, "visitors": 1}));

    publish(&server, "visitors", r#"{"visitors": 1}"#, Some(TOKEN)).await;
    publish(&server, "sales", r#"{"sales": 2}"#, Some(TOKEN)).await;
    assert_eq!(next_event(&mut sales.events, "sales", WAIT).await.data, r#"{"sales": 2}"#);
    assert_eq!(next_event(&mut visitors.events, "visitors", WAIT).await.data, r#"{"visitors": 1}"#);
    let first = tokio::time::timeout(WAIT, everything.events.next()).await.unwrap().unwrap();
    let first = if first.event == "speed" { tokio::time::timeout(WAIT, everything.events.next()).await.unwrap().unwrap() } else { first };
    assert_eq!(first.event, "visitors");
    assert_eq!(tokio::time::timeout(WAIT, everything.events.next()).await.unwrap().unwrap().event, "sales");
    // The sales room saw nothing but sales: its next event, if any, is not a visitor.
    assert!(tokio::time::timeout(Duration::from_millis(300), sales.events.next()).await.is_err());

    drop(sales);
    let deadline = Instant::now() + WAIT;
    while status(&server).await["connections"]["per_topic"].get("sales").is_some() {
        assert!(Instant::now() < deadline, "a closed stream leaves the count");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn too_many_streams_from_one_address_get_429_with_retry_after() {
    let server = hub_server("[sse]\nmax_per_client = 2").await;
    let _a = open_stream(&server.url("/api/events"), None).await;
    let _b = open_stream(&server.url("/api/events"), None).await;
    let refused = reqwest::get(server.url("/api/events")).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    assert!(refused.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("streams"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_live_producer_runs_only_while_someone_watches() {
    let server = start(fast_config("[speed]\ninterval = 3600"), Target::Itself).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(status(&server).await["connections"]["producers_running"], json!([]));

    let mut live = open_stream(&server.url("/api/events?topics=live"), None).await;
    let first = next_event(&mut live.events, "live", WAIT).await;
    let second = next_event(&mut live.events, "live", WAIT).await;
    let sample: Value = serde_json::from_str(&second.data).unwrap();
    assert!(sample["rtt_ms"].as_f64().unwrap() > 0.0, "{sample}");
    assert_eq!(sample["error"], Value::Null);
    assert!(second.id.parse::<u64>().unwrap() > first.id.parse::<u64>().unwrap());
    assert_eq!(status(&server).await["connections"]["producers_running"], json!(["live"]));

    drop(live);
    let deadline = Instant::now() + WAIT;
    while status(&server).await["connections"]["producers_running"] != json!([]) {
        assert!(Instant::now() < deadline, "the producer stops with its last watcher");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let published = status(&server).await["events_published"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(status(&server).await["events_published"].as_u64().unwrap(), published, "no pings while nobody watches");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_is_cut_off_without_slowing_the_others_and_resumes_exactly() {
    const EVENTS: usize = 1000;
    let server = hub_server("[sse]\nqueue = 64\nreplay = 5000").await;
    let url = server.url("/api/events?topics=sales");
    // The stalled client: opens the stream and reads nothing for now.
    let stalled = reqwest::get(&url).await.unwrap();
    let mut fast = open_stream(&url, None).await;

    let pad = "x".repeat(32 * 1024);
    let reader = tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        let mut ids = Vec::new();
        while ids.len() < EVENTS {
            let event = next_event(&mut fast.events, "sales", WAIT).await;
            let body: Value = serde_json::from_str(&event.data).unwrap();
            let sent = Duration::from_micros(body["sent_us"].as_u64().unwrap());
            worst = worst.max(since_epoch() - sent);
            ids.push(event.id.parse::<u64>().unwrap());
        }
        (ids, worst)
    });
    for n in 0..EVENTS {
        let body = json!({"n": n, "sent_us": since_epoch().as_micros() as u64, "pad": pad}).to_string();
        assert_eq!(publish(&server, "sales", body, Some(TOKEN)).await.status(), 202);
    }
    let (ids, worst) = tokio::time::timeout(WAIT, reader).await.unwrap().unwrap();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "the reading client got every event in order");
    assert!(worst < Duration::from_secs(2), "and on time: worst delay {worst:?}");

    // Now the stalled client reads: it finds its stream ended before the end.
    let mut stalled_events = stalled.bytes_stream().eventsource_compat();
    let mut received = Vec::new();
    let drained = tokio::time::timeout(WAIT, async {
        while let Some(event) = stalled_events.next().await {
            if event.event == "sales" {
                received.push(event.id.parse::<u64>().unwrap());
            }
        }
    })
    .await;
    assert!(drained.is_ok(), "the server closed the stalled stream");
    assert!(received.len() < EVENTS, "it was cut off, having got {} of {EVENTS}", received.len());
    assert!(status(&server).await["connections"]["dropped_for_lag"].as_u64().unwrap() >= 1);

    // Resuming from its last id yields exactly the rest.
    let last = received.last().copied().unwrap_or(ids[0] - 1);
    let mut resumed = open_stream(&url, Some(&last.to_string())).await;
    for expected in (last + 1)..=*ids.last().unwrap() {
        assert_eq!(next_event(&mut resumed.events, "sales", WAIT).await.id, expected.to_string());
    }
    server.shutdown().await;
}

fn since_epoch() -> Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap()
}

/// Parses an SSE body, ending quietly when the server closes it mid-event.
trait EventsourceCompat {
    fn eventsource_compat(self) -> futures_util::stream::BoxStream<'static, eventsource_stream::Event>;
}

impl<S> EventsourceCompat for S
where
    S: futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send + 'static,
{
    fn eventsource_compat(self) -> futures_util::stream::BoxStream<'static, eventsource_stream::Event> {
        use eventsource_stream::Eventsource;
        self.eventsource().take_while(|e| std::future::ready(e.is_ok())).map(|e| e.unwrap()).boxed()
    }
}

#[tokio::test]
async fn publishing_past_the_topic_and_field_limits_gets_a_422_naming_the_key() {
    let server = hub_server("[limits]\ncustom_topics = 2\nfields_per_topic = 3").await;
    // `sales` and `visitors` are declared: two topics, the limit.
    let (code, message) = error_of(publish(&server, "weather", r#"{"t": 1}"#, Some(TOKEN)).await).await;
    assert!(code == 422 && message.contains("limits.custom_topics"), "{code} {message}");
    let (code, message) = error_of(publish(&server, "sales", r#"{"a": 1, "b": 2, "c": 3, "d": 4}"#, Some(TOKEN)).await).await;
    assert!(code == 422 && message.contains("limits.fields_per_topic"), "{code} {message}");
    assert_eq!(publish(&server, "sales", r#"{"a": 1, "b": 2, "note": "text is not a field"}"#, Some(TOKEN)).await.status(), 202);
    assert_eq!(publish(&server, "sales", r#"{"c": 3}"#, Some(TOKEN)).await.status(), 202, "a third field fits");
    let (code, message) = error_of(publish(&server, "sales", r#"{"a": 5, "d": 4}"#, Some(TOKEN)).await).await;
    assert!(code == 422 && message.contains("1 of this event's are new"), "a fourth field over the topic's life is refused: {code} {message}");
    assert_eq!(publish(&server, "sales", r#"{"a": 6, "b": 7, "c": 8}"#, Some(TOKEN)).await.status(), 202, "known fields always pass");
    let long = format!("{{\"{}\": 1}}", "n".repeat(65));
    let (code, message) = error_of(publish(&server, "sales", long, Some(TOKEN)).await).await;
    assert!(code == 422 && message.contains("at most 64 bytes"), "a long name is refused, not skipped: {code} {message}");
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_publishes_cannot_overrun_the_topic_limit() {
    // Two topics are declared, so one place is left; ten new topics ask for it at once.
    let server = hub_server("[limits]\ncustom_topics = 3").await;
    let names: Vec<String> = (0..10).map(|n| format!("new-{n}")).collect();
    let attempts = names.iter().map(|name| publish(&server, name, r#"{"x": 1}"#, Some(TOKEN)));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 202).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 9, "{statuses:?}");
    server.shutdown().await;
}
