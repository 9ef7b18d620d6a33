//! What the alert tests share: a config with one webhook channel and one
//! rule on the `sales` topic, publishing a sample, and waiting for a phase.

use std::time::Duration;

use serde_json::{json, Value};

use super::receiver::Receiver;

pub const TOKEN: &str = "alerts-test-token-0123";

pub fn config(receiver: &Receiver, rule_extra: &str) -> String {
    format!(
        "publish_token = \"{TOKEN}\"\ntopics = [\"sales\"]\n[speed]\nenabled = false\n[alerts]\nretry_first = \"200ms\"\nretry_most = \"400ms\"\n\
         [[notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nheaders = {{ \"X-Api-Key\" = \"k-123\" }}\n\
         [[alert]]\nname = \"few orders\"\nseries = \"topic:sales\"\nfield = \"orders\"\ncondition = \"< 10\"\nnotify = [\"hook\"]\n{rule_extra}",
        receiver.url("/hook")
    )
}

pub async fn publish(client: &reqwest::Client, base: &str, orders: f64) {
    let response = client.post(format!("{base}/api/publish/sales")).bearer_auth(TOKEN).json(&json!({ "orders": orders })).send().await.unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
}

pub async fn get(client: &reqwest::Client, url: String) -> Value {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Polls `/api/alerts` until the rule's phase for `sales` is `phase`.
pub async fn wait_for_phase(client: &reqwest::Client, base: &str, phase: &str) -> Value {
    for _ in 0..100 {
        let states = get(client, format!("{base}/api/alerts")).await;
        if let Some(state) = states["alerts"].as_array().unwrap().iter().find(|s| s["subject"] == "sales" && s["phase"] == phase) {
            return state.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the rule never reached {phase}");
}

/// The delivery log, newest first.
pub async fn deliveries(client: &reqwest::Client, base: &str) -> Vec<Value> {
    get(client, format!("{base}/api/alerts/deliveries")).await["deliveries"].as_array().unwrap().clone()
}

/// Asks netpulse to send a test message on channel `name`: the status and the answer.
pub async fn test_channel(client: &reqwest::Client, base: &str, name: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = client.post(format!("{base}/api/notify/{name}/test"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}
