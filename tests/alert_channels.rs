//! Notification channels against real receivers on loopback: each chat
//! service's documented request shape, and the `notify-test` and `alerts
//! backtest` commands. Email is in `alert_email.rs`.

mod common;

use std::{process::Command, time::Duration};

use common::{
    alerting::test_channel,
    fast_config,
    receiver::{Mode, Receiver},
    start, Target,
};
use serde_json::{json, Value};

const TOKEN: &str = "channels-test-token-012";

fn channels(hook: &Receiver, closed: u16) -> String {
    let base = hook.url("");
    format!(
        "[[notify]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"{base}/services/T0/B0/x\"\n\
         [[notify]]\nname = \"discord\"\nkind = \"discord\"\nurl = \"{base}/api/webhooks/1/t\"\n\
         [[notify]]\nname = \"telegram\"\nkind = \"telegram\"\nurl = \"{base}/\"\ntoken = \"123:bot-secret\"\nchat_id = \"-42\"\n\
         [[notify]]\nname = \"gotify\"\nkind = \"gotify\"\nurl = \"{base}/\"\ntoken = \"app-token\"\npriority = 8\n\
         [[notify]]\nname = \"ntfy\"\nkind = \"ntfy\"\nurl = \"{base}/netpulse-alerts\"\ntoken = \"tk_ntfy\"\npriority = 4\n\
         [[notify]]\nname = \"sms\"\nkind = \"webhook\"\nurl = \"{base}/2010-04-01/Accounts/AC1/Messages.json\"\ncontent_type = \"application/x-www-form-urlencoded\"\n\
         body = \"To=%2B15551234567&Body={{{{ (title ~ ': ' ~ message) | urlencode }}}}\"\n\
         [[notify]]\nname = \"down\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{closed}/hook\"\ntimeout = 2\n"
    )
}

#[tokio::test]
async fn each_chat_service_gets_its_documented_request() {
    let hook = Receiver::start(Mode::Accept).await;
    let closed = common::closed_port().await;
    let config = fast_config(&format!("publish_token = \"{TOKEN}\"\n[speed]\nenabled = false\n{}", channels(&hook, closed)));
    let server = start(config, Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());

    for name in ["slack", "discord", "telegram", "gotify", "ntfy"] {
        let (status, body) = test_channel(&client, &base, name, Some(TOKEN)).await;
        assert_eq!((status, &body["delivered"]), (200, &json!(true)), "{name}: {body}");
    }
    let got = hook.received();
    assert_eq!(got.len(), 5);
    let text = "netpulse test notification\nIf you can read this, netpulse on test-node can reach you here.";
    assert_eq!((got[0].path.as_str(), got[0].json()), ("/services/T0/B0/x", json!({ "text": text })), "Slack's incoming webhook");
    assert_eq!(got[1].json(), json!({ "content": text }), "Discord's webhook");
    assert_eq!(got[2].path, "/bot123:bot-secret/sendMessage", "Telegram's Bot API");
    assert_eq!(got[2].json(), json!({ "chat_id": "-42", "text": text }));
    assert_eq!((got[3].path.as_str(), got[3].header("x-gotify-key")), ("/message", Some("app-token")), "Gotify's message API");
    assert_eq!(got[3].json()["priority"], 8);
    let ntfy = &got[4];
    assert_eq!((ntfy.path.as_str(), ntfy.header("title"), ntfy.header("priority")), ("/netpulse-alerts", Some("netpulse test notification"), Some("4")));
    assert_eq!(ntfy.header("authorization"), Some("Bearer tk_ntfy"));
    assert!(String::from_utf8_lossy(&ntfy.body).starts_with("If you can read this"), "ntfy's body is the message");
    assert!(got.iter().all(|r| r.method == "POST" && r.header("x-netpulse-delivery").is_some_and(|id| id.len() == 32)));

    let (status, sms) = test_channel(&client, &base, "sms", Some(TOKEN)).await;
    assert_eq!((status, &sms["delivered"]), (200, &json!(true)), "{sms}");
    let form = &hook.received()[5];
    assert_eq!(form.header("content-type"), Some("application/x-www-form-urlencoded"), "a body template sends its own shape");
    assert!(String::from_utf8_lossy(&form.body).starts_with("To=%2B15551234567&Body=netpulse%20test%20notification%3A%20If%20you%20can"), "{:?}", form.body);

    let (status, down) = test_channel(&client, &base, "down", Some(TOKEN)).await;
    assert_eq!((status, &down["delivered"]), (200, &json!(false)));
    let error = down["error"].as_str().unwrap();
    assert!(error.contains("onnect"), "the exact error: {error}");
    assert_eq!(test_channel(&client, &base, "slack", None).await.0, 401, "test messages need the token");

    let preview = |body: Value, token: Option<&'static str>| {
        let mut request = client.post(format!("{base}/api/alerts/preview")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(preview(json!({ "template": "{{ label }} is {{ value }}" }), None).await.0, 401);
    let (status, shown) = preview(json!({ "template": "{{ label }} is {{ value }}", "values": { "value": "12.5" } }), Some(TOKEN)).await;
    assert_eq!((status, shown["text"].as_str()), (200, Some("download is 12.5")));
    let (status, default) = preview(json!({ "kind": "resolved" }), Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(default["text"].as_str().unwrap().starts_with("download back to 41.8 Mbit/s after 38 min"), "{default}");
    let (status, typo) = preview(json!({ "template": "{{ valeu }}" }), Some(TOKEN)).await;
    assert_eq!(status, 422, "{typo}");
    assert!(typo["error"].as_str().unwrap().contains("undefined"), "{typo}");
    let endless = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
    assert_eq!(preview(json!({ "template": endless }), Some(TOKEN)).await.0, 422, "a runaway template is cut off");
    assert_eq!(preview(json!({ "values": { "nope": "1" } }), Some(TOKEN)).await.0, 400);
    assert_eq!(test_channel(&client, &base, "pager", Some(TOKEN)).await.0, 404);
    server.shutdown().await;
}

fn netpulse(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_netpulse")).args(args).output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_reports_delivery_or_the_exact_error() {
    let hook = Receiver::start(Mode::Accept).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("netpulse.toml");
    std::fs::write(&path, channels(&hook, common::closed_port().await)).unwrap();
    let config = path.to_str().unwrap();
    let (code, out, _) = tokio::task::spawn_blocking({
        let config = config.to_owned();
        move || netpulse(&["notify-test", "slack", "--config", &config])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("delivered to slack"), "{out}");
    assert_eq!(hook.received().len(), 1);
    let (code, out, _) = netpulse(&["notify-test", "down", "--config", config]);
    assert_eq!(code, 1);
    assert!(out.starts_with("not delivered to down: ") && out.contains("onnect"), "{out}");
    let (code, _, err) = netpulse(&["notify-test", "pager", "--config", config]);
    assert_eq!(code, 2);
    assert!(err.contains("no [[notify]] channel is named \"pager\""), "{err}");
    assert!(!err.contains("bot-secret") && !out.contains("bot-secret"), "the Telegram token never shows");
}

#[test]
fn bad_alert_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[[alert]]\nname = \"r\"\nseries = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 100\"\nnotify = [\"nowhere\"]\n", "invalid alert.notify:"),
        ("[[alert]]\nname = \"r\"\nseries = \"speed\"\nfield = \"download\"\ncondition = \"< 100\"\n", "invalid alert.field:"),
        ("[[notify]]\nname = \"n\"\nkind = \"email\"\nsmtp_host = \"h\"\nfrom = \"a@b.c\"\n", "invalid notify.to:"),
        ("[alerts]\nexpire = \"forever\"\n", "invalid alerts.expire:"),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let (code, _, err) = netpulse(&["--config", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{text}");
        assert!(err.starts_with(&format!("netpulse: {expected}")) && err.trim().lines().count() == 1, "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_replays_stored_history_through_a_rule() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "[[alert]]\nname = \"few orders\"\nseries = \"topic:sales\"\nfield = \"orders\"\ncondition = \"< 10\"\naggregate = \"2 of 2\"\n";
    let mut config = fast_config(&format!("publish_token = \"{TOKEN}\"\ntopics = [\"sales\"]\n[speed]\nenabled = false\n"));
    config.data_dir = dir.path().join("data");
    let server = start(config, Target::Refusing).await;
    let client = reqwest::Client::new();
    // Two dips: one of a single sample (the rule ignores it), one of three.
    for orders in [50, 5, 50, 50, 4, 3, 2, 60, 70] {
        let response = client.post(server.url("/api/publish/sales")).bearer_auth(TOKEN).json(&json!({ "orders": orders })).send().await.unwrap();
        assert_eq!(response.status(), 202);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.shutdown().await;
    let path = dir.path().join("netpulse.toml");
    std::fs::write(&path, format!("data_dir = {:?}\ntopics = [\"sales\"]\n{rule}", dir.path().join("data"))).unwrap();
    let config = path.to_str().unwrap().to_owned();
    let (code, out, err) = tokio::task::spawn_blocking(move || netpulse(&["alerts", "backtest", "few orders", "--config", &config, "--json"])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["samples"], 9);
    let incidents = result["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{result}");
    assert_eq!((incidents[0]["worst"].as_f64(), incidents[0]["subject"].as_str()), (Some(2.0), Some("sales")));
    assert!(incidents[0]["ended_ms"].is_i64());
    let (code, _, err) = netpulse(&["alerts", "backtest", "nope", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no [[alert]] rule is named \"nope\""), "{err}");
}
