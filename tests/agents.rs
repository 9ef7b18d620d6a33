//! Agent nodes against a real server and SQLite: enrolment with single-use
//! tokens, revocation, results stored exactly once whatever the order and
//! the retries, clocks minutes off corrected, and bad batches refused item by
//! item with the rest kept.

mod common;

use common::{
    agents::{admin_cookie, check, config_with_admin, join, join_token, raw_points, Agent},
    start, Target,
};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};

async fn nodes(client: &Client, server: &common::TestServer, cookie: &str) -> Vec<Value> {
    let response = client.get(server.url("/api/agents")).header(header::COOKIE, cookie).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_token_works_once_and_a_revoked_node_gets_401() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config_with_admin(dir.path()).await, Target::Refusing).await;
    let client = Client::new();
    let refused = client.post(server.url("/api/agents/join-tokens")).json(&json!({})).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "a visitor makes no tokens");
    let cookie = admin_cookie(&client, &server).await;
    let token = join_token(&client, &server, &cookie).await;
    assert!(token.starts_with("npj_"));

    let old = json!({ "protocol": 2, "token": token, "name": "tokyo" });
    let answer = client.post(server.url("/api/agent/join")).json(&old).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let message = answer.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_owned();
    assert!(message.contains("protocol 1") && message.contains("protocol 2"), "{message}");
    assert_eq!(join(&client, &server, &token, "bad name").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(join(&client, &server, &token, "test-node").await.0, StatusCode::CONFLICT, "the server's own name");

    let (status, joined) = join(&client, &server, &token, "tokyo").await;
    assert_eq!(status, StatusCode::CREATED, "the refusals above left the token unused");
    let credential = joined["credential"].as_str().unwrap().to_owned();
    assert!(credential.starts_with("npn_"));
    assert_eq!(join(&client, &server, &token, "osaka").await.0, StatusCode::UNAUTHORIZED, "a token works once");
    let second = join_token(&client, &server, &cookie).await;
    assert_eq!(join(&client, &server, &second, "tokyo").await.0, StatusCode::CONFLICT, "one tokyo at a time");

    let heartbeat = json!({ "protocol": 1, "sent_ms": chrono::Utc::now().timestamp_millis(), "results": [] });
    let sent = client.post(server.url("/api/agent/results")).bearer_auth(&credential).json(&heartbeat).send().await.unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    let listed = nodes(&client, &server, &cookie).await;
    assert_eq!((listed[0]["name"].as_str(), listed[0]["online"].as_bool(), listed[0]["version"].as_str()), (Some("tokyo"), Some(true), Some("0.2.0-test")));

    // Neither secret is in the database files, only their digests.
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        for secret in [&token, &credential] {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "a secret in the database");
        }
    }

    let revoked = client.delete(server.url("/api/agents/tokyo")).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = client.post(server.url("/api/agent/results")).bearer_auth(&credential).json(&heartbeat).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    assert!(after.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("revoked"));
    assert!(!nodes(&client, &server, &cookie).await[0]["online"].as_bool().unwrap());
    // The node topic's last word on it says offline, so open dashboards stop showing it online.
    let last_word = {
        use eventsource_stream::Eventsource;
        use futures_util::StreamExt;
        let response = client.get(server.url("/api/events?topics=node")).header(header::COOKIE, &cookie).send().await.unwrap();
        let mut events = response.bytes_stream().eventsource();
        let next = async {
            loop {
                match events.next().await {
                    Some(Ok(event)) if event.event == "node" => return serde_json::from_str::<Value>(&event.data).unwrap(),
                    Some(Ok(_)) => {}
                    other => panic!("the stream ended: {other:?}"),
                }
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), next).await.expect("a node event within 5 s")
    };
    assert_eq!((last_word["node"].as_str(), last_word["online"].as_bool()), (Some("tokyo"), Some(false)), "{last_word}");
    let again = client.delete(server.url("/api/agents/tokyo")).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    // A new token brings the name back with a new credential; the old one stays refused.
    let (status, rejoined) = join(&client, &server, &second, "tokyo").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(rejoined["credential"], joined["credential"]);
    let old_credential = client.post(server.url("/api/agent/results")).bearer_auth(&credential).json(&heartbeat).send().await.unwrap();
    assert_eq!(old_credential.status(), StatusCode::UNAUTHORIZED);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_sent_out_of_order_and_again_are_stored_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config_with_admin(dir.path()).await, Target::Refusing).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut agent = Agent::enrol(&client, &server, &cookie, "tokyo").await;
    let start_ms = agent.now_ms() - 3_600_000;
    let results: Vec<Value> = (1..=60).map(|seq| check(seq, start_ms + seq as i64 * 60_000 - 60_000, seq as f64)).collect();

    // The second half first: stored, but the acknowledgement waits for the gap.
    let (status, answer) = agent.send(&client, &server, results[30..].to_vec()).await;
    assert_eq!((status, answer["stored"].as_u64(), answer["acknowledged"].as_u64()), (StatusCode::OK, Some(30), Some(0)));
    let (_, answer) = agent.send(&client, &server, results[..30].to_vec()).await;
    assert_eq!((answer["stored"].as_u64(), answer["acknowledged"].as_u64()), (Some(30), Some(60)));
    // A retry of everything, as after a lost answer: nothing is stored twice.
    let (status, answer) = agent.send(&client, &server, results.clone()).await;
    assert_eq!((status, answer["stored"].as_u64(), answer["duplicates"].as_u64()), (StatusCode::OK, Some(0), Some(60)));

    // From well before the first: the clock correction may move it a few ms earlier on a loaded machine.
    let points = raw_points(&client, &server, &cookie, "probe:web@tokyo", "response_ms", start_ms - 30_000).await;
    let expected: Vec<(i64, f64)> = (1..=60).map(|seq| (start_ms + seq * 60_000 - 60_000, seq as f64)).collect();
    assert_eq!(points.len(), 60, "each result once");
    for ((t, v), (want_t, want_v)) in points.iter().zip(&expected) {
        assert_eq!(*v, *want_v);
        assert!((t - want_t).abs() < 1_000, "stored at its own time, not at arrival: {t} vs {want_t}");
    }
    // The server's own monitor keeps its own series, and the snapshot shows the node's check apart.
    let own: Value = client.get(server.url("/api/history?series=probe:web")).header(header::COOKIE, &cookie).send().await.unwrap().json().await.unwrap();
    assert!(own["points"].as_array().unwrap().len() < 5, "the server's own checks, every 60 s: {own}");
    let snapshot: Value = client.get(server.url("/api/snapshot")).header(header::COOKIE, &cookie).send().await.unwrap().json().await.unwrap();
    let monitors: Vec<&str> = snapshot["probes"].as_array().unwrap().iter().filter_map(|p| p["monitor"].as_str()).collect();
    assert!(monitors.contains(&"web@tokyo"), "{monitors:?}");
    let latest = snapshot["probes"].as_array().unwrap().iter().find(|p| p["monitor"] == "web@tokyo").unwrap();
    assert_eq!((latest["response_ms"].as_f64(), latest["node"].as_str()), (Some(60.0), Some("tokyo")), "the newest, not the last to arrive");

    // After a restart the server still knows what it stored.
    server.shutdown().await;
    let server = start(config_with_admin(dir.path()).await, Target::Refusing).await;
    let (_, answer) = agent.send(&client, &server, results[50..].to_vec()).await;
    assert_eq!((answer["stored"].as_u64(), answer["duplicates"].as_u64(), answer["acknowledged"].as_u64()), (Some(0), Some(10), Some(60)));
    let more = vec![check(61, agent.now_ms(), 61.0)];
    assert_eq!(agent.send(&client, &server, more).await.1["acknowledged"], 61);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_minutes_off_is_measured_and_its_samples_stored_at_the_right_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config_with_admin(dir.path()).await, Target::Refusing).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut agent = Agent::enrol(&client, &server, &cookie, "slow-clock").await;
    agent.behind_ms = 7 * 60_000;
    let mut seq = 0;
    let mut sent_at = Vec::new();
    for _ in 0..4 {
        seq += 1;
        let measured = agent.now_ms();
        sent_at.push(measured + agent.behind_ms);
        let (status, answer) = agent.send(&client, &server, vec![check(seq, measured, seq as f64)]).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let offset = answer["offset_ms"].as_i64().unwrap();
        assert!((offset - agent.behind_ms).abs() < 1_000, "offset {offset} ms for a clock 420000 ms behind");
    }
    let points = raw_points(&client, &server, &cookie, "probe:web@slow-clock", "response_ms", sent_at[0] - 600_000).await;
    assert_eq!(points.len(), 4);
    for ((t, _), true_ms) in points.iter().zip(&sent_at) {
        assert!((t - true_ms).abs() < 1_000, "stored {t}, measured at {true_ms} on the server's clock");
    }
    let listed = nodes(&client, &server, &cookie).await;
    assert_eq!(listed[0]["clock_skewed"], true);
    assert!((listed[0]["clock_offset_ms"].as_i64().unwrap() - 420_000).abs() < 1_000);

    // A sample an hour ahead even after correction is clamped to now, and flagged.
    let (status, answer) = agent.send(&client, &server, vec![check(5, agent.now_ms() + 3_600_000, 5.0)]).await;
    assert_eq!((status, answer["clamped"].clone()), (StatusCode::OK, json!([5])));
    let points = raw_points(&client, &server, &cookie, "probe:web@slow-clock", "response_ms", sent_at[0] - 600_000).await;
    let (at, value) = points.last().copied().unwrap();
    assert_eq!(value, 5.0);
    assert!((at - chrono::Utc::now().timestamp_millis()).abs() < 10_000, "stored at the server's now, not an hour ahead");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_batch_says_which_item_and_why_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config_with_admin(dir.path()).await, Target::Refusing).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut agent = Agent::enrol(&client, &server, &cookie, "tokyo").await;
    let now = agent.now_ms();
    let broken = json!({ "seq": 2, "kind": "probe", "data": { "monitor": "web", "at": "yesterday" } });
    let batch = vec![check(1, now, 1.0), broken, check(3, now, 3.0), check(3, now, 3.5), json!({ "seq": 4, "kind": "ping", "data": {} })];
    let (status, answer) = agent.send(&client, &server, batch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!((answer["stored"].as_u64(), answer["acknowledged"].as_u64()), (Some(2), Some(4)));
    let refused: Vec<(u64, String)> =
        answer["refused"].as_array().unwrap().iter().map(|r| (r["seq"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_owned())).collect();
    assert_eq!(refused.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(refused[0].1.contains("not a check result"), "{}", refused[0].1);
    assert!(refused[1].1.contains("twice"));
    assert!(refused[2].1.contains("\"ping\""));
    assert!(answer["error"].as_str().unwrap().starts_with("3 of the batch's results were refused"));
    assert_eq!(raw_points(&client, &server, &cookie, "probe:web@tokyo", "response_ms", now - 60_000).await.len(), 2);

    let post = |body: String, credential: Option<String>| {
        let mut request = client.post(server.url("/api/agent/results")).header(header::CONTENT_TYPE, "application/json").body(body);
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        request.send()
    };
    let cred = || Some(agent.credential.clone());
    for (body, credential, want) in [
        ("{\"protocol\":1,\"sent_ms\":1,\"results\":[]}".to_owned(), None, StatusCode::UNAUTHORIZED),
        ("{\"protocol\":1,\"sent_ms\":1,\"results\":[]}".to_owned(), Some("npn_not-a-credential".to_owned()), StatusCode::UNAUTHORIZED),
        ("{\"protocol\":1,\"results\":".to_owned(), cred(), StatusCode::BAD_REQUEST),
        ("{\"protocol\":1,\"sent_ms\":1,\"results\":[{\"seq\":-1}]}".to_owned(), cred(), StatusCode::BAD_REQUEST),
        (json!({"protocol": 9, "sent_ms": 1, "results": []}).to_string(), cred(), StatusCode::BAD_REQUEST),
        (json!({"protocol": 1, "sent_ms": 1, "results": vec![check(9, now, 1.0); 5001]}).to_string(), cred(), StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let response = post(body.clone(), credential).await.unwrap();
        assert_eq!(response.status(), want, "{}", &body[..body.len().min(80)]);
        let error: Value = response.json().await.unwrap();
        assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "a JSON message: {error}");
        if body.contains("\"seq\":-1") {
            assert!(error["error"].as_str().unwrap().contains("results[0].seq"), "the item is named: {error}");
        }
    }
    // Nothing of the refused batches was taken: number 5 is still the next.
    let (_, answer) = agent.send(&client, &server, vec![check(5, now, 5.0)]).await;
    assert_eq!(answer["acknowledged"], 5);
    server.shutdown().await;
}

/// The probe events after id `after` (with none: each monitor's latest) that `/api/events?topics=probe&nodes=…` sends until it is quiet for a second: their monitors.
async fn monitors_streamed(client: &Client, server: &common::TestServer, cookie: &str, (after, nodes): (&str, &str), then: Option<&mut Agent>) -> Vec<String> {
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let url = server.url(&format!("/api/events?topics=probe&lastEventId={after}&nodes={nodes}"));
    let response = client.get(url).header(header::COOKIE, cookie).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = response.bytes_stream().eventsource();
    if let Some(agent) = then {
        // Live as well as replayed: sent once the stream is open.
        let now = agent.now_ms();
        agent.send(client, server, vec![check(100, now, 7.0)]).await;
    }
    let mut monitors = Vec::new();
    for _ in 0..200 {
        match tokio::time::timeout(std::time::Duration::from_secs(1), events.next()).await {
            Ok(Some(Ok(event))) if event.event == "probe" => {
                monitors.push(serde_json::from_str::<Value>(&event.data).unwrap()["monitor"].as_str().unwrap().to_owned());
            }
            Ok(Some(Ok(_))) => {}
            _ => break,
        }
    }
    monitors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_filtered_by_node_carries_only_what_those_nodes_measured() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config_with_admin(dir.path()).await, Target::Refusing).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut tokyo = Agent::enrol(&client, &server, &cookie, "tokyo").await;
    let mut berlin = Agent::enrol(&client, &server, &cookie, "berlin").await;
    let snapshot: Value = client.get(server.url("/api/snapshot")).header(header::COOKIE, &cookie).send().await.unwrap().json().await.unwrap();
    let (here, after) = (snapshot["node"].as_str().unwrap().to_owned(), snapshot["last_event_id"].as_u64().unwrap().to_string());
    for agent in [&mut tokyo, &mut berlin] {
        let now = agent.now_ms();
        let (status, _) = agent.send(&client, &server, (1..=3).map(|seq| check(seq, now - 10_000 + seq as i64, seq as f64)).collect()).await;
        assert_eq!(status, StatusCode::OK);
    }

    assert_eq!(monitors_streamed(&client, &server, &cookie, (&after, "tokyo"), None).await, vec!["web@tokyo"; 3]);
    let both = monitors_streamed(&client, &server, &cookie, (&after, "tokyo,berlin"), Some(&mut berlin)).await;
    assert_eq!((both.iter().filter(|m| *m == "web@tokyo").count(), both.iter().filter(|m| *m == "web@berlin").count()), (3, 4), "{both:?}");
    let own = monitors_streamed(&client, &server, &cookie, ("", &here), Some(&mut tokyo)).await;
    assert!(!own.is_empty() && own.iter().all(|m| m == "web"), "this server's own checks only: {own:?}");

    for bad in ["tok%20yo", "%20,%20"] {
        let response = client.get(server.url(&format!("/api/events?nodes={bad}"))).header(header::COOKIE, &cookie).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().starts_with("nodes: "), "{body}");
    }
    server.shutdown().await;
}
