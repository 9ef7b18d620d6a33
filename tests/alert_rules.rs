//! How alert rules judge real samples sent through the writer: M of N with
//! hysteresis, flapping, a rule held back by the one it depends on, and a
//! speed rule that confirms with a retest.

mod common;

use std::time::Duration;

use common::{
    alerting::{config, deliveries, publish, wait_for_phase, TOKEN},
    fast_config, open_stream,
    receiver::{Mode, Receiver},
    start, Target,
};
use serde_json::{json, Value};

#[tokio::test]
async fn m_of_n_ignores_one_bad_sample_and_hysteresis_holds_while_the_value_hovers() {
    let hook = Receiver::start(Mode::Accept).await;
    let server = start(fast_config(&config(&hook, "aggregate = \"2 of 3\"\nrecover = \">= 20\"\n")), Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    for orders in [50.0, 5.0, 50.0, 50.0] {
        publish(&client, &base, orders).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(hook.received().is_empty(), "one bad sample of three does not fire");
    for orders in [5.0, 5.0] {
        publish(&client, &base, orders).await;
    }
    assert_eq!(hook.wait_for(1, Duration::from_secs(5)).await.len(), 1, "two of three fire");
    // Above the threshold of 10, below the recovery level of 20: still firing.
    for orders in [15.0, 15.0, 15.0, 12.0] {
        publish(&client, &base, orders).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.received().len(), 1, "no flapping while the value hovers");
    wait_for_phase(&client, &base, "firing").await;
    for orders in [25.0, 25.0] {
        publish(&client, &base, orders).await;
    }
    let all = hook.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(all.iter().map(|r| r.json()["kind"].as_str().unwrap().to_owned()).collect::<Vec<_>>(), ["firing", "resolved"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_flapping_rule_notifies_once_stays_quiet_and_says_when_it_settles() {
    let hook = Receiver::start(Mode::Accept).await;
    let server = start(fast_config(&config(&hook, "flapping = \"3 in 2s\"\n")), Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    let kinds = |received: Vec<common::receiver::Received>| received.iter().map(|r| r.json()["kind"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    // Each notification is waited for, so that none goes out in another's digest.
    for (n, orders) in [5.0, 50.0, 5.0, 50.0].into_iter().enumerate() {
        publish(&client, &base, orders).await;
        hook.wait_for(n + 1, Duration::from_secs(5)).await;
    }
    assert_eq!(kinds(hook.received()), ["firing", "resolved", "firing", "flapping"], "the fourth change in 2 s is one too many");
    wait_for_phase(&client, &base, "flapping").await;
    for orders in [5.0, 50.0, 5.0, 50.0] {
        publish(&client, &base, orders).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hook.received().len(), 4, "quiet while it flaps");
    // A whole window without a change, then a sample that changes nothing: settled.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    publish(&client, &base, 50.0).await;
    assert_eq!(kinds(hook.wait_for(5, Duration::from_secs(5)).await), ["firing", "resolved", "firing", "flapping", "settled"]);
    wait_for_phase(&client, &base, "ok").await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_rule_is_held_back_while_the_rule_it_depends_on_fires() {
    let hook = Receiver::start(Mode::Accept).await;
    let parent = "[[alert]]\nname = \"uplink\"\nseries = \"topic:sales\"\nfield = \"link\"\ncondition = \"< 1\"\nnotify = [\"hook\"]\n";
    let text = config(&hook, "depends_on = \"uplink\"\n").replace("[[alert]]\nname = \"few orders\"", &format!("{parent}[[alert]]\nname = \"few orders\""));
    let server = start(fast_config(&text), Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    let send = |body: Value| {
        let (client, base) = (client.clone(), base.clone());
        async move { assert_eq!(client.post(format!("{base}/api/publish/sales")).bearer_auth(TOKEN).json(&body).send().await.unwrap().status(), 202) }
    };
    // The uplink fails, and with it the orders: one cause, one alert.
    send(json!({ "link": 0, "orders": 2 })).await;
    let sent = hook.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(hook.received().len(), 1, "{sent:?}");
    assert!(sent[0].json()["title"].as_str().unwrap().contains("uplink"));
    let held: Vec<Value> = deliveries(&client, &base).await.into_iter().filter(|d| d["rule"] == "few orders").collect();
    assert_eq!((held[0]["outcome"].as_str(), held[0]["error"].as_str()), (Some("suppressed"), Some("suppressed while \"uplink\" is firing")));
    // Both recover: the uplink's end is news, the unannounced child's is not.
    send(json!({ "link": 1, "orders": 50 })).await;
    let both = hook.wait_for(2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let titles = |received: &[common::receiver::Received]| received.iter().map(|r| r.json()["title"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(hook.received().len(), 2, "{:?}", titles(&both));
    assert!(titles(&both)[1].starts_with("Resolved: uplink"), "{:?}", titles(&both));
    // Now the orders drop on their own: the child's alert is news.
    send(json!({ "link": 1, "orders": 3 })).await;
    let all = hook.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(titles(&all)[2], "Firing: few orders");
    server.shutdown().await;
}

#[tokio::test]
async fn a_confirming_speed_rule_asks_for_a_retest_and_fires_only_after_it() {
    let hook = Receiver::start(Mode::Accept).await;
    // Any loopback speed is above zero: every test breaches this rule.
    let rule = format!(
        "[speed]\ninterval = 3600\n[[notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n\
         [[alert]]\nname = \"suspiciously fast\"\nseries = \"speed\"\nfield = \"download_mbps\"\ncondition = \"> 0\"\nconfirm = true\nnotify = [\"hook\"]\n",
        hook.url("/hook")
    );
    let server = start(fast_config(&rule), Target::Itself).await;
    let mut stream = open_stream(&server.url("/api/events?topics=alert,speed"), None).await;
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while !seen.iter().any(|kind: &String| kind == "alert:firing") {
            let event = futures_util::StreamExt::next(&mut stream.events).await.expect("stream stays open");
            let data: Value = serde_json::from_str(&event.data).unwrap();
            seen.push(match event.event.as_str() {
                "alert" => format!("alert:{}", data["kind"].as_str().unwrap()),
                other => other.to_owned(),
            });
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no firing within 30 s: {seen:?}"));
    // The start-up test breaches, the rule asks for a retest at once (the interval is an hour), and that one fires it.
    let from_confirming: Vec<&str> = seen.iter().map(String::as_str).skip_while(|kind| *kind != "alert:confirming").collect();
    assert_eq!(from_confirming, ["alert:confirming", "speed", "alert:firing"], "{seen:?}");
    let sent = hook.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(sent[0].json()["kind"], "firing");
    server.shutdown().await;
}
