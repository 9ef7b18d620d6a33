//! Push monitors on a real netpulse: a heartbeat keeps one up, silence past
//! its interval and grace marks it down, a push can report down with a
//! reason, a wrong secret is a 404, and the secret shows up nowhere else.

mod common;

use std::time::Duration;

use common::{fast_config, start, Target};
use serde_json::Value;

const SECRET: &str = "backup-job-0123456789";

/// The `backup` monitor's latest check, as the snapshot has it.
async fn latest(client: &reqwest::Client, base: &str) -> Option<Value> {
    let snapshot: Value = client.get(format!("{base}/api/snapshot")).send().await.unwrap().json().await.unwrap();
    snapshot["probes"].as_array().unwrap().iter().find(|p| p["monitor"] == "backup").cloned()
}

/// Waits (at most 5 s) for the monitor's latest check to be `up`.
async fn wait_for(client: &reqwest::Client, base: &str, up: bool) -> Value {
    for _ in 0..100 {
        if let Some(probe) = latest(client, base).await.filter(|p| p["up"] == up) {
            return probe;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the push monitor never became {}", if up { "up" } else { "down" });
}

#[tokio::test]
async fn a_heartbeat_keeps_it_up_and_silence_marks_it_down() {
    let server = start(
        fast_config(&format!("[speed]\nenabled = false\n[[monitor]]\nname = \"backup\"\npush = \"{SECRET}\"\ninterval = 1\ngrace = 0.5\n")),
        Target::Refusing,
    )
    .await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    let wrong = client.get(format!("{base}/api/push/backup-job-0123456788")).send().await.unwrap();
    assert_eq!(wrong.status(), 404);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "no push monitor has this address");

    let ack = client.post(format!("{base}/api/push/{SECRET}")).send().await.unwrap();
    assert_eq!(ack.status(), 200);
    assert_eq!(ack.json::<Value>().await.unwrap(), serde_json::json!({ "monitor": "backup", "up": true }));
    let up = wait_for(&client, &base, true).await;
    assert_eq!((up["url"].as_str(), &up["error"]), (Some("push"), &Value::Null));

    // Calls within the interval keep it up.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(client.get(format!("{base}/api/push/{SECRET}")).send().await.unwrap().status(), 200);
        assert_eq!(latest(&client, &base).await.unwrap()["up"], true);
    }
    // No call for the interval plus the grace: down, with why.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let down = wait_for(&client, &base, false).await;
    assert!(down["error"].as_str().unwrap().starts_with("no push received for"), "{down}");

    let reported = client.get(format!("{base}/api/push/{SECRET}?status=down&msg=disk%20full")).send().await.unwrap();
    assert_eq!(reported.json::<Value>().await.unwrap()["up"], false);
    assert_eq!(latest(&client, &base).await.unwrap()["error"], "disk full");
    assert_eq!(client.get(format!("{base}/api/push/{SECRET}?status=maybe")).send().await.unwrap().status(), 400);
    let long = "x".repeat(501);
    assert_eq!(client.get(format!("{base}/api/push/{SECRET}?status=down&msg={long}")).send().await.unwrap().status(), 400);
    let unknown = client.get(format!("{base}/api/push/{SECRET}?other=1")).send().await.unwrap();
    assert_eq!(unknown.status(), 400);
    assert!(unknown.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("other"), "a JSON reason naming the parameter");

    for path in ["/api/snapshot", "/api/status", "/metrics", "/", "/api/history?series=probe:backup&last=3600"] {
        let body = client.get(format!("{base}{path}")).send().await.unwrap().text().await.unwrap();
        assert!(!body.contains(SECRET), "{path} shows the push secret");
    }
    server.shutdown().await;
}
