//! Access rules changed by an admin while netpulse runs, over a real server:
//! the API and the admin page add and remove them, every route and an open
//! stream follow at once, bad rules are refused with a reason, and the rules
//! survive a restart.

mod common;

use std::time::Duration;

use common::{closed_port, secured_config, start, Target, TestServer};
use futures_util::{Stream, StreamExt};
use netpulse::server::{
    auth::{access::Role, secrets},
    config::Config,
    store::Store,
};
use reqwest::{header, redirect::Policy, Client, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

async fn config_with_accounts(dir: &std::path::Path, database_url: Option<&str>) -> Config {
    let down = closed_port().await;
    let text = format!(
        "[[monitor]]\nname = \"public-web\"\ntcp = \"127.0.0.1:{down}\"\ninterval = 1\n\
         [[monitor]]\nname = \"internal-db\"\ntcp = \"127.0.0.1:{down}\"\ninterval = 1\n\
         [[access]]\nwho = \"role:editor\"\nseries = \"topic:*\"\nallow = \"publish\"\n"
    );
    let mut config = secured_config(&text);
    config.speed.enabled = false;
    config.data_dir = dir.to_owned();
    config.database_url = database_url.map(netpulse::server::config::secret::Secret::new);
    let store = Store::open_configured(&config).await.unwrap();
    for (name, role) in [("vera", Role::Viewer), ("ada", Role::Admin)] {
        store.add_user(name, &secrets::hash_password(PASSWORD), role, 0).await.unwrap();
    }
    config
}

async fn sign_in(client: &Client, server: &TestServer, name: &str) -> String {
    let response = client.post(server.url("/api/auth/login")).json(&json!({ "name": name, "password": PASSWORD })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{name} signs in");
    response.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}

async fn probes_in_snapshot(client: &Client, server: &TestServer, cookie: Option<&str>) -> (StatusCode, Vec<String>) {
    let mut request = client.get(server.url("/api/snapshot"));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let probes = body["probes"].as_array().map(|p| p.iter().map(|p| p["monitor"].as_str().unwrap().to_owned()).collect()).unwrap_or_default();
    (status, probes)
}

/// The monitors of the probe events that arrive within `within`.
async fn monitors_streamed(events: &mut (impl Stream<Item = eventsource_stream::Event> + Unpin), within: Duration) -> Vec<String> {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(within, async {
        while let Some(event) = events.next().await {
            if event.event == "probe" {
                let data: Value = serde_json::from_str(&event.data).unwrap();
                seen.push(data["monitor"].as_str().unwrap_or_default().to_owned());
            }
        }
    })
    .await;
    seen
}

async fn add_rule(client: &Client, server: &TestServer, cookie: &str, rule: Value) -> (StatusCode, Value) {
    let response = client.post(server.url("/api/access/rules")).header(header::COOKIE, cookie).json(&rule).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_added_at_runtime_applies_to_routes_and_open_streams_at_once_and_survives_a_restart() {
    for database in common::databases().await {
        rules_at_runtime_on(database.as_deref()).await;
    }
}

/// On the SQLite file, or in the PostgreSQL database `database_url`.
async fn rules_at_runtime_on(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_accounts(dir.path(), database_url).await;
    let server = start(config.clone(), Target::Refusing).await;
    let client = Client::builder().redirect(Policy::none()).build().unwrap();
    let (admin, viewer) = (sign_in(&client, &server, "ada").await, sign_in(&client, &server, "vera").await);

    let stream = client.get(server.url("/api/events?topics=probe")).header(header::COOKIE, &viewer).send().await.unwrap();
    let mut events = eventsource_stream::Eventsource::eventsource(stream.bytes_stream()).filter_map(|e| std::future::ready(e.ok())).boxed();
    let before = monitors_streamed(&mut events, Duration::from_millis(2500)).await;
    assert!(before.iter().any(|m| m == "internal-db"), "a viewer reads every monitor by default: {before:?}");

    // Bad rules and callers are refused with a reason.
    for (rule, want, says) in [
        (json!({ "who": "role:viewer", "series": "probe:internal-*", "allow": "write" }), 400, "allow: \"write\" is not read, publish or deny"),
        (json!({ "who": "everyone", "series": "speed", "allow": "read" }), 400, "is not anonymous, role:"),
        (json!({ "who": "anonymous", "series": "", "allow": "read" }), 400, "is not a series pattern"),
        (json!({ "who": "anonymous" }), 400, "missing field"),
    ] {
        let (status, body) = add_rule(&client, &server, &admin, rule.clone()).await;
        assert_eq!(status, want, "{rule}: {body}");
        assert!(body["error"].as_str().unwrap().contains(says), "{rule}: {body}");
    }
    let (status, _) = add_rule(&client, &server, &viewer, json!({ "who": "role:viewer", "series": "*", "allow": "read" })).await;
    assert_eq!(status, 403, "only an admin changes rules");
    let visitor = client.post(server.url("/api/access/rules")).json(&json!({ "who": "anonymous", "series": "*", "allow": "read" })).send().await.unwrap();
    assert_eq!(visitor.status(), 401);

    // The deny: the open stream stops carrying the series within moments, and every route agrees.
    let (status, added) = add_rule(&client, &server, &admin, json!({ "who": "role:viewer", "series": "probe:internal-*", "allow": "deny" })).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!((added["source"].as_str(), added["created_by"].as_str()), (Some("admin"), Some("user:ada")));
    let (status, body) = add_rule(&client, &server, &admin, json!({ "who": "role:viewer", "series": "probe:internal-*", "allow": "deny" })).await;
    assert_eq!(status, 409, "the same rule twice: {body}");
    // Events already on their way when the rule changed may still arrive.
    let _ = monitors_streamed(&mut events, Duration::from_millis(300)).await;
    let after = monitors_streamed(&mut events, Duration::from_millis(2500)).await;
    assert!(after.iter().any(|m| m == "public-web"), "the stream stays open: {after:?}");
    assert!(!after.iter().any(|m| m == "internal-db"), "and carries no denied series: {after:?}");
    let (_, probes) = probes_in_snapshot(&client, &server, Some(&viewer)).await;
    assert_eq!(probes, ["public-web"]);
    let history = client.get(server.url("/api/history?series=probe:internal-db&last=60")).header(header::COOKIE, &viewer).send().await.unwrap();
    assert_eq!(history.status(), 403);

    // Opening reads to visitors is a rule too, added from the admin page's form.
    assert_eq!(probes_in_snapshot(&client, &server, None).await, (StatusCode::OK, vec![]), "visitors read nothing by default");
    let home = client.get(server.url("/")).send().await.unwrap();
    assert_eq!((home.status(), home.headers()[header::LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    let form = [("action", "add-rule"), ("who", "anonymous"), ("series", "probe:public-*"), ("allow", "read")];
    let posted = client.post(server.url("/admin")).header(header::COOKIE, &admin).form(&form).send().await.unwrap();
    assert_eq!((posted.status(), posted.headers()[header::LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/admin?done=add-rule"));
    assert_eq!(probes_in_snapshot(&client, &server, None).await, (StatusCode::OK, vec!["public-web".to_owned()]));
    assert_eq!(client.get(server.url("/")).send().await.unwrap().status(), 200, "the dashboard opens to visitors now");
    let page = client.get(server.url("/admin?done=add-rule")).header(header::COOKIE, &admin).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("data-rule=\"anonymous read probe:public-*\"") && page.contains("data-rule=\"role:editor publish topic:*\""), "{page}");
    assert!(page.contains("Rule added"), "the page confirms it");

    let listed: Value = client.get(server.url("/api/access/rules")).header(header::COOKIE, &admin).send().await.unwrap().json().await.unwrap();
    let listed = listed.as_array().unwrap().clone();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!((listed[0]["source"].as_str(), listed[0]["id"].is_null()), (Some("config"), true), "the config's rule first, with no id");
    server.shutdown().await;

    // A restart keeps them.
    let server = start(config.clone(), Target::Refusing).await;
    let viewer = sign_in(&client, &server, "vera").await;
    let admin = sign_in(&client, &server, "ada").await;
    assert_eq!(probes_in_snapshot(&client, &server, Some(&viewer)).await.1, ["public-web"]);
    assert_eq!(probes_in_snapshot(&client, &server, None).await.1, ["public-web"]);

    // Removing: a config rule cannot be, a stored one is, and access comes back.
    let gone = |id: String| client.delete(server.url(&format!("/api/access/rules/{id}"))).header(header::COOKIE, &admin).send();
    assert_eq!(gone("x".to_owned()).await.unwrap().status(), 400);
    assert_eq!(gone("999".to_owned()).await.unwrap().status(), 404);
    assert_eq!(gone(added["id"].to_string()).await.unwrap().status(), 204);
    let mut probes = probes_in_snapshot(&client, &server, Some(&viewer)).await.1;
    probes.sort();
    assert_eq!(probes, ["internal-db", "public-web"]);

    // The last rule that let visitors read goes: their open stream ends, and its reconnect gets 401.
    let visitor = client.get(server.url("/api/events?topics=probe")).send().await.unwrap();
    assert_eq!(visitor.status(), 200);
    let mut visitor_events = eventsource_stream::Eventsource::eventsource(visitor.bytes_stream()).filter_map(|e| std::future::ready(e.ok())).boxed();
    assert_eq!(monitors_streamed(&mut visitor_events, Duration::from_millis(2500)).await.first().map(String::as_str), Some("public-web"));
    let anonymous = listed.iter().find(|rule| rule["who"] == "anonymous").unwrap();
    assert_eq!(gone(anonymous["id"].to_string()).await.unwrap().status(), 204);
    let ended = tokio::time::timeout(Duration::from_secs(1), async { while visitor_events.next().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the visitor's stream ends within a second");
    assert_eq!(client.get(server.url("/api/events")).send().await.unwrap().status(), 401);
    let audit: Value = client.get(server.url("/api/audit")).header(header::COOKIE, &admin).send().await.unwrap().json().await.unwrap();
    let actions: Vec<_> = audit.as_array().unwrap().iter().map(|e| (e["action"].as_str().unwrap(), e["detail"].as_str().unwrap())).collect();
    assert!(actions.contains(&("rule-removed", "role:viewer deny probe:internal-*")), "{actions:?}");
    assert!(actions.contains(&("rule-added", "anonymous read probe:public-*")), "{actions:?}");
    server.shutdown().await;
}
