//! The server-rendered alerts page: what it lists after a real incident, and
//! its form posts, which ask the same token check as the JSON API and answer
//! a bad form with the page, a 4xx and the reason.

mod common;

use std::time::Duration;

use common::{
    fast_config,
    receiver::{Mode, Receiver},
    start, Target,
};
use serde_json::{json, Value};

const TOKEN: &str = "alerts-page-token-0123";

fn config(receiver: &Receiver, token_line: &str) -> String {
    format!(
        "{token_line}\ntopics = [\"sales\"]\n[speed]\nenabled = false\n[[notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n\
         [[alert]]\nname = \"few orders\"\nseries = \"topic:sales\"\nfield = \"orders\"\ncondition = \"< 10\"\nnotify = [\"hook\"]\n",
        receiver.url("/hook")
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn publish(client: &reqwest::Client, base: &str, orders: f64) {
    let response = client.post(format!("{base}/api/publish/sales")).bearer_auth(TOKEN).json(&json!({ "orders": orders })).send().await.unwrap();
    assert_eq!(response.status(), 202);
}

async fn post_form(client: &reqwest::Client, url: String, form: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let response = client.post(url).form(form).send().await.unwrap();
    let status = response.status().as_u16();
    let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    (status, location, response.text().await.unwrap())
}

async fn page(client: &reqwest::Client, url: String) -> (u16, String) {
    let response = client.get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_page_lists_a_real_incident_and_its_forms_silence_and_test() {
    let hook = Receiver::start(Mode::Accept).await;
    let server = start(fast_config(&config(&hook, &format!("publish_token = \"{TOKEN}\""))), Target::Refusing).await;
    let base = server.url("");
    let client = client();
    publish(&client, &base, 3.0).await;
    // Waited for: a resolution queued behind its firing would go out with it, as one digest.
    assert_eq!(hook.wait_for(1, Duration::from_secs(5)).await.len(), 1, "fired");
    publish(&client, &base, 40.0).await;
    assert_eq!(hook.wait_for(2, Duration::from_secs(5)).await.len(), 2, "fired and resolved");
    // The delivery log is written just after the receiver answers.
    let mut html = String::new();
    for _ in 0..100 {
        html = page(&client, format!("{base}/alerts")).await.1;
        if html.matches("data-outcome=\"sent\"").count() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(html.matches("data-outcome=\"sent\"").count(), 2, "both deliveries are logged: {html}");
    assert!(html.contains("<tr data-rule=\"few orders\" data-state=\"resolved\">"), "{html}");
    assert!(html.contains("3.00 (threshold 10.0)"), "the worst value and the threshold: {html}");
    assert!(!html.contains("/pkg/netpulse.wasm") && !html.contains("hydrate"), "the page ships no WASM");

    let silences = format!("{base}/alerts/silences");
    let (status, _, body) = post_form(&client, silences.clone(), &[("rule", "few orders"), ("for", "1h"), ("token", "wrong")]).await;
    assert_eq!(status, 401);
    assert!(body.contains("the bearer token is unknown, revoked or expired"), "{body}");
    let (status, _, body) = post_form(&client, silences.clone(), &[("rule", "few orders"), ("for", "1h"), ("token", "")]).await;
    assert_eq!((status, body.contains("sign in, or send a bearer token, to silence alerts")), (401, true));
    let (status, _, body) = post_form(&client, silences.clone(), &[("rule", "no such rule"), ("for", "1h"), ("token", TOKEN)]).await;
    assert_eq!((status, body.contains("no [[alert]] rule is named")), (422, true));
    let (status, _, body) = post_form(&client, silences.clone(), &[("rule", ""), ("for", "forever"), ("token", TOKEN)]).await;
    assert_eq!((status, body.contains("for: ")), (400, true), "{body}");
    let (status, _, _) = post_form(&client, silences.clone(), &[("rule", "few orders"), ("token", TOKEN)]).await;
    assert_eq!(status, 400, "a form without its duration");

    let (status, location, _) =
        post_form(&client, silences, &[("rule", "few orders"), ("subject", ""), ("for", "1h"), ("reason", "router swap"), ("token", TOKEN)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/alerts?done=silenced")));
    let (_, html) = page(&client, format!("{base}/alerts?done=silenced")).await;
    assert!(html.contains("Silence set."), "{html}");
    assert!(html.contains("few orders, until "), "{html}");
    let listed: Value = client.get(format!("{base}/api/alerts/silences")).send().await.unwrap().json().await.unwrap();
    let silence = &listed["silences"][0];
    assert_eq!((silence["rule"].as_str(), silence["subject"].as_str(), silence["reason"].as_str()), (Some("few orders"), None, Some("router swap")));
    let id = silence["id"].to_string();

    let end = format!("{base}/alerts/silences/end");
    assert_eq!(post_form(&client, end.clone(), &[("id", "x"), ("token", TOKEN)]).await.0, 400);
    assert_eq!(post_form(&client, end.clone(), &[("id", "999999"), ("token", TOKEN)]).await.0, 404);
    let (status, location, _) = post_form(&client, end, &[("id", &id), ("token", TOKEN)]).await;
    assert_eq!((status, location.as_deref()), (303, Some("/alerts?done=ended")));
    let listed: Value = client.get(format!("{base}/api/alerts/silences")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["silences"], json!([]));
    // Both are in the audit log, with who did them.
    let store = netpulse::server::store::Store::open(server.data_dir.as_ref().unwrap().path(), 0).await.unwrap();
    let audit: Vec<(String, String, String)> = store.audit_log(20).await.unwrap().into_iter().map(|entry| (entry.actor, entry.action, entry.detail)).collect();
    let set = format!("silence {id} of rule few orders for 1h: router swap");
    assert!(audit.contains(&("token:publish_token".to_owned(), "silence-set".to_owned(), set)), "{audit:?}");
    assert!(audit.contains(&("token:publish_token".to_owned(), "silence-ended".to_owned(), format!("silence {id}"))), "{audit:?}");

    let test = format!("{base}/alerts/test");
    let (status, _, body) = post_form(&client, test.clone(), &[("channel", "nope"), ("token", TOKEN)]).await;
    assert_eq!((status, body.contains("no [[notify]] channel is named")), (404, true));
    let (status, _, body) = post_form(&client, test.clone(), &[("channel", "hook"), ("token", TOKEN)]).await;
    assert_eq!(status, 200);
    assert!(body.contains("Test message delivered on hook"), "{body}");
    let received = hook.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(received[2].json()["kind"], "test");
    assert!(body.contains(received[2].header("x-netpulse-delivery").unwrap()), "the page names the delivery id the receiver got");

    hook.set_mode(Mode::Refuse);
    let (status, _, body) = post_form(&client, test, &[("channel", "hook"), ("token", TOKEN)]).await;
    assert_eq!(status, 200);
    assert!(body.contains("The test message on hook failed: ") && body.contains("503"), "the exact error: {body}");

    assert_eq!(page(&client, format!("{base}/alerts?to=soon")).await.0, 400);
    let (status, body) = page(&client, format!("{base}/alerts?page=2")).await;
    assert_eq!((status, body.contains("unknown parameter")), (400, true));
    let (status, body) = page(&client, format!("{base}/alerts?done=%3Cb%3Ehi")).await;
    assert_eq!(status, 400, "only the page's own confirmations");
    assert!(!body.contains("<b>hi") && body.contains("&lt;b&gt;hi"), "what the address says is escaped: {body}");
    assert_eq!(page(&client, format!("{base}/alerts?to=5000&before=0")).await.0, 400);
    let response = client.post(format!("{base}/alerts/test")).header("content-type", "text/plain").body("channel=hook").send().await.unwrap();
    assert_eq!(response.status(), 415, "a body that is not a form");
    server.shutdown().await;
}

#[tokio::test]
async fn a_visitor_needs_a_token_to_act() {
    let hook = Receiver::start(Mode::Accept).await;
    let server = start(fast_config(&config(&hook, "")), Target::Refusing).await;
    let client = client();
    let (status, html) = page(&client, server.url("/alerts")).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"token-needed\"") && html.contains("href=\"/login?next=/alerts\""), "{html}");
    assert_eq!(html.matches("name=\"token\"").count(), 3, "every form asks for a token: {html}");
    let (status, _, body) = post_form(&client, server.url("/alerts/test"), &[("channel", "hook"), ("token", "anything")]).await;
    assert_eq!((status, body.contains("the bearer token is unknown")), (401, true));
    assert!(hook.received().is_empty(), "nothing was sent");
    server.shutdown().await;
}
