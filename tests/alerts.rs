//! Alerts end to end: samples published through the real writer, rules that
//! fire and resolve, a webhook receiver on loopback that is up, down, or
//! stuck, a `kill -9` in the middle of a delivery, silences and escalation.
//! How rules judge (M of N, hysteresis, flapping, dependencies, confirmation)
//! is in `alert_rules.rs`.

mod common;

use std::time::Duration;

use common::{
    alerting::{config, deliveries, get, publish, wait_for_phase, TOKEN},
    fast_config, next_event, open_stream,
    receiver::{Mode, Receiver},
    spawn_netpulse, start, wait_until_up, Target,
};
use serde_json::{json, Value};

#[tokio::test]
async fn a_breach_fires_once_and_resolves_with_its_worst_value() {
    let hook = Receiver::start(Mode::Accept).await;
    let server = start(fast_config(&config(&hook, "")), Target::Refusing).await;
    let base = server.url("");
    let client = reqwest::Client::new();
    let mut stream = open_stream(&server.url("/api/events?topics=alert"), None).await;

    publish(&client, &base, 50.0).await;
    publish(&client, &base, 4.0).await;
    let fired = hook.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(fired.len(), 1, "one notification for the breach");
    let body = fired[0].json();
    assert_eq!(body["kind"], "firing");
    assert_eq!(body["message"], "orders 4 below 10 (test-node → sales)");
    assert_eq!(fired[0].header("x-netpulse-delivery"), body["id"].as_str(), "the delivery id is in a header too");
    assert_eq!(fired[0].header("x-api-key"), Some("k-123"));
    let event = next_event(&mut stream.events, "alert", Duration::from_secs(5)).await;
    let transition: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!((transition["kind"].as_str(), transition["value"].as_f64()), (Some("firing"), Some(4.0)));
    let state = wait_for_phase(&client, &base, "firing").await;
    assert_eq!(state["value"], 4.0);

    publish(&client, &base, 2.0).await;
    publish(&client, &base, 30.0).await;
    let both = hook.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(both.len(), 2, "the second sample in breach sends nothing");
    let resolved = both[1].json();
    assert_eq!(resolved["kind"], "resolved");
    assert!(resolved["message"].as_str().unwrap().starts_with("orders back to 30 after "), "{resolved}");
    assert!(resolved["message"].as_str().unwrap().ends_with(", worst 2 (test-node → sales)"), "{resolved}");
    assert_ne!(resolved["id"], body["id"]);

    let history = get(&client, format!("{base}/api/alerts/history")).await;
    let incidents = history["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!((incidents[0]["state"].as_str(), incidents[0]["worst"].as_f64()), (Some("resolved"), Some(2.0)));
    assert!(incidents[0]["ended_ms"].as_i64().unwrap() >= incidents[0]["started_ms"].as_i64().unwrap());
    // The attempt is recorded once the receiver has answered: wait for it.
    let mut outcomes = Vec::new();
    for _ in 0..100 {
        let deliveries = get(&client, format!("{base}/api/alerts/deliveries")).await;
        outcomes = deliveries["deliveries"].as_array().unwrap().iter().map(|d| d["outcome"].as_str().unwrap().to_owned()).collect();
        if outcomes.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(outcomes, ["sent", "sent"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_one_digest_when_it_returns() {
    let hook = Receiver::start(Mode::Refuse).await;
    let server = start(fast_config(&config(&hook, "")), Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    publish(&client, &base, 3.0).await;
    publish(&client, &base, 0.0).await;
    publish(&client, &base, 40.0).await;
    // Let it fail a few times, with backoff.
    for _ in 0..100 {
        if hook.refused().len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deliveries = get(&client, format!("{base}/api/alerts/deliveries")).await;
    let retry = &deliveries["deliveries"][0];
    assert_eq!(retry["outcome"], "retry");
    assert_eq!(retry["error"], "the receiver answered 503 Service Unavailable");

    hook.set_mode(Mode::Accept);
    let delivered = hook.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let kinds: Vec<Value> = hook.received().iter().map(|r| r.json()).collect();
    assert_eq!(kinds.len(), 1, "one digest, not a storm: {kinds:#?}");
    let digest = delivered[0].json();
    assert_eq!(digest["kind"], "digest");
    assert!(digest["title"].as_str().unwrap().starts_with("few orders: resolved after"), "{digest}");
    assert!(digest["message"].as_str().unwrap().contains("worst 0"), "{digest}");
    // Every earlier attempt with the same content carried the same id.
    let id = delivered[0].header("x-netpulse-delivery").unwrap();
    let same_content: Vec<_> = hook.refused().into_iter().filter(|r| r.json()["kind"] == "digest").collect();
    assert!(!same_content.is_empty() && same_content.iter().all(|r| r.header("x-netpulse-delivery") == Some(id)));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_delivery_resends_with_the_same_id_and_does_not_fire_again() {
    let hook = Receiver::start(Mode::Hang).await;
    let dir = tempfile::tempdir().unwrap();
    let port = common::closed_port().await;
    let base = format!("http://127.0.0.1:{port}");
    let path = dir.path().join("netpulse.toml");
    let text = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\nsite_root = {:?}\n{}\n{}",
        dir.path().join("data"),
        common::built_site(dir.path()),
        config(&hook, ""),
        common::OPEN_READ
    );
    std::fs::write(&path, text).unwrap();
    let client = reqwest::Client::new();
    let mut first = spawn_netpulse(&path);
    wait_until_up(&base).await;
    publish(&client, &base, 1.0).await;
    for _ in 0..100 {
        if !hook.refused().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hung = hook.refused();
    assert_eq!(hung.len(), 1, "the notification reached the stuck receiver");
    first.kill().unwrap(); // SIGKILL while the request is in flight.
    first.wait().unwrap();

    hook.set_mode(Mode::Accept);
    let mut second = spawn_netpulse(&path);
    wait_until_up(&base).await;
    let resent = hook.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(resent.len(), 1, "the stored notification is sent after the restart");
    assert_eq!(resent[0].header("x-netpulse-delivery"), hung[0].header("x-netpulse-delivery"), "with the same delivery id");
    // The incident is still open: another bad sample does not fire again.
    publish(&client, &base, 2.0).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(hook.received().len(), 1);
    let state = wait_for_phase(&client, &base, "firing").await;
    assert!(state["since_ms"].as_i64().is_some());
    second.kill().unwrap();
    second.wait().unwrap();
}

#[tokio::test]
async fn a_silenced_rule_records_its_transitions_but_sends_nothing() {
    let hook = Receiver::start(Mode::Accept).await;
    let server = start(fast_config(&config(&hook, "")), Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    let silences = format!("{base}/api/alerts/silences");
    let body = json!({ "rule": "few orders", "for": "1h", "reason": "stocktaking" });
    assert_eq!(client.post(&silences).json(&body).send().await.unwrap().status(), 401, "silencing needs the token");
    let unknown = client.post(&silences).bearer_auth(TOKEN).json(&json!({ "rule": "nope", "for": "1h" })).send().await.unwrap();
    assert_eq!(unknown.status(), 422);
    let nul = client.post(&silences).bearer_auth(TOKEN).json(&json!({ "for": "1h", "reason": "a\u{0}b" })).send().await.unwrap();
    assert_eq!(nul.status(), 400, "a NUL character is refused on either database");
    let forever = client.post(&silences).bearer_auth(TOKEN).json(&json!({ "for": "1000d" })).send().await.unwrap();
    assert_eq!(forever.status(), 400);
    let created = client.post(&silences).bearer_auth(TOKEN).json(&body).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let silence: Value = created.json().await.unwrap();
    assert_eq!(get(&client, silences.clone()).await["silences"][0]["reason"], "stocktaking");

    let mut stream = open_stream(&server.url("/api/events?topics=alert"), None).await;
    publish(&client, &base, 1.0).await;
    let event: Value = serde_json::from_str(&next_event(&mut stream.events, "alert", Duration::from_secs(5)).await.data).unwrap();
    assert_eq!((event["kind"].as_str(), event["not_sent"].as_str()), (Some("firing"), Some("silenced: stocktaking")), "recorded, with why it was not sent");
    let state = wait_for_phase(&client, &base, "firing").await;
    assert_eq!(state["not_sent"], "silenced: stocktaking");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(hook.received().is_empty(), "nothing is sent while silenced");
    assert_eq!(deliveries(&client, &base).await[0]["outcome"], "silenced");

    let end = format!("{silences}/{}", silence["id"]);
    assert_eq!(client.delete(&end).bearer_auth(TOKEN).send().await.unwrap().status(), 204);
    assert_eq!(client.delete(&end).bearer_auth(TOKEN).send().await.unwrap().status(), 404, "it has ended already");
    // Still in breach once the silence is over: now it is told, and so is its end.
    publish(&client, &base, 2.0).await;
    let sent = hook.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json()["kind"], "firing", "the end of the silence lets the standing breach through");
    publish(&client, &base, 40.0).await;
    let sent = hook.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(sent.iter().map(|r| r.json()["kind"].as_str().unwrap().to_owned()).collect::<Vec<_>>(), ["firing", "resolved"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_maintenance_window_silences_the_rules_it_names() {
    let hook = Receiver::start(Mode::Accept).await;
    // A window from an hour ago to an hour from now, in Tokyo's time.
    let tokyo = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap());
    let (from, to) = ((tokyo - chrono::Duration::hours(1)).format("%H:%M"), (tokyo + chrono::Duration::hours(1)).format("%H:%M"));
    let window = format!("[[maintenance]]\nname = \"backups\"\nrules = [\"few orders\"]\nfrom = \"{from}\"\nto = \"{to}\"\ntime_zone = \"Asia/Tokyo\"\n");
    let server = start(fast_config(&format!("{}\n{window}", config(&hook, ""))), Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    publish(&client, &base, 1.0).await;
    let state = wait_for_phase(&client, &base, "firing").await;
    assert_eq!(state["not_sent"], "silenced by the maintenance window \"backups\"");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(hook.received().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn a_rule_that_keeps_firing_escalates_and_its_end_reaches_both() {
    let hook = Receiver::start(Mode::Accept).await;
    let pager = format!("[[notify]]\nname = \"pager\"\nkind = \"webhook\"\nurl = \"{}\"\n", hook.url("/pager"));
    let text = format!("{}{pager}", config(&hook, "escalate_after = \"1s\"\nescalate_to = [\"pager\"]\n"));
    let server = start(fast_config(&text), Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    publish(&client, &base, 1.0).await;
    let escalated = hook.wait_for(2, Duration::from_secs(10)).await;
    let by_path =
        |received: &[common::receiver::Received]| received.iter().map(|r| (r.path.clone(), r.json()["title"].as_str().unwrap().to_owned())).collect::<Vec<_>>();
    let seen = by_path(&escalated);
    assert_eq!(seen[0], ("/hook".to_owned(), "Firing: few orders".to_owned()));
    assert_eq!(seen[1].0, "/pager", "{seen:?}");
    assert!(seen[1].1.starts_with("Escalated: few orders has fired for "), "{seen:?}");
    publish(&client, &base, 50.0).await;
    let all = hook.wait_for(4, Duration::from_secs(5)).await;
    let mut ends: Vec<String> = by_path(&all[2..]).into_iter().map(|(path, title)| format!("{path} {}", title.split(" after").next().unwrap())).collect();
    ends.sort();
    assert_eq!(ends, ["/hook Resolved: few orders", "/pager Resolved: few orders"]);
    server.shutdown().await;
}
