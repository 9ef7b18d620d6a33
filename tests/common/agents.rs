//! An agent's side of the protocol, spoken over real HTTP to a real server:
//! an admin's join token, joining, and batches of numbered check results.

use chrono::{DateTime, Utc};
use netpulse::server::{
    auth::{access::Role, secrets},
    config::Config,
    store::Store,
};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};

use super::{closed_port, secured_config, TestServer};

pub const PASSWORD: &str = "correct horse battery";

/// A server config with one TCP monitor, `web`, and an admin, `ada`, in `dir` (made unless there).
pub async fn config_with_admin(dir: &std::path::Path) -> Config {
    let down = closed_port().await;
    config_with_monitor(dir, &format!("127.0.0.1:{down}"), 60).await
}

/// As [`config_with_admin`], with `web` checking `tcp` every `interval` seconds.
pub async fn config_with_monitor(dir: &std::path::Path, tcp: &str, interval: u32) -> Config {
    config_with(dir, &format!("[[monitor]]\nname = \"web\"\ntcp = \"{tcp}\"\ninterval = {interval}\n")).await
}

/// A server config of `toml` with an admin, `ada`, in `dir` (made unless there).
pub async fn config_with(dir: &std::path::Path, toml: &str) -> Config {
    config_on(dir, None, toml).await
}

/// As [`config_with`], in the PostgreSQL database `database_url` when given.
pub async fn config_on(dir: &std::path::Path, database_url: Option<&str>, toml: &str) -> Config {
    let mut config = secured_config(toml);
    config.speed.enabled = false;
    config.data_dir = dir.to_owned();
    config.database_url = database_url.map(netpulse::server::config::secret::Secret::new);
    let store = Store::open_configured(&config).await.unwrap();
    if store.user_count().await.unwrap() == 0 {
        store.add_user("ada", &secrets::hash_password(PASSWORD), Role::Admin, 0).await.unwrap();
    }
    config
}

/// Ada's session cookie.
pub async fn admin_cookie(client: &Client, server: &TestServer) -> String {
    let response = client.post(server.url("/api/auth/login")).json(&json!({ "name": "ada", "password": PASSWORD })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    response.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}

pub async fn join_token(client: &Client, server: &TestServer, cookie: &str) -> String {
    let response = client.post(server.url("/api/agents/join-tokens")).header(header::COOKIE, cookie).json(&json!({})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

pub async fn join(client: &Client, server: &TestServer, token: &str, name: &str) -> (StatusCode, Value) {
    let body = json!({ "protocol": 1, "token": token, "name": name, "version": "0.2.0-test" });
    let response = client.post(server.url("/api/agent/join")).json(&body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

/// A check result of monitor `web`, stamped `at_ms` by the agent's clock.
pub fn check(seq: u64, at_ms: i64, response_ms: f64) -> Value {
    let at = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap().to_rfc3339();
    json!({ "seq": seq, "kind": "probe", "data": { "monitor": "web", "url": "tcp://198.18.0.1:80", "at": at, "up": true, "status_code": null, "response_ms": response_ms, "error": null } })
}

/// A failed check of monitor `web` ("connection refused"), stamped `at_ms` by the agent's clock.
pub fn down(seq: u64, at_ms: i64) -> Value {
    let mut result = check(seq, at_ms, 3.0);
    result["data"]["up"] = Value::Bool(false);
    result["data"]["error"] = Value::String("connection refused".into());
    result
}

/// An enrolled node: its credential, and its clock as `offset` ms behind the server's.
pub struct Agent {
    pub credential: String,
    pub behind_ms: i64,
    previous: Option<Value>,
}

impl Agent {
    pub async fn enrol(client: &Client, server: &TestServer, cookie: &str, name: &str) -> Self {
        let token = join_token(client, server, cookie).await;
        let (status, joined) = join(client, server, &token, name).await;
        assert_eq!(status, StatusCode::CREATED, "{joined}");
        Self { credential: joined["credential"].as_str().unwrap().to_owned(), behind_ms: 0, previous: None }
    }

    pub fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis() - self.behind_ms
    }

    /// Sends `results`, with the previous exchange's stamps as a real agent does.
    pub async fn send(&mut self, client: &Client, server: &TestServer, results: Vec<Value>) -> (StatusCode, Value) {
        let sent_ms = self.now_ms();
        let body = json!({ "protocol": 1, "sent_ms": sent_ms, "previous": self.previous, "backlog": 0, "results": results });
        let response = client.post(server.url("/api/agent/results")).bearer_auth(&self.credential).json(&body).send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        if let (Some(received), Some(answered)) = (answer["received_ms"].as_i64(), answer["sent_ms"].as_i64()) {
            self.previous =
                Some(json!({ "agent_sent_ms": sent_ms, "server_received_ms": received, "server_sent_ms": answered, "agent_received_ms": self.now_ms() }));
        }
        (status, answer)
    }
}

/// The raw samples of `series`' field `field` since `from_ms`, as (time, value).
pub async fn raw_points(client: &Client, server: &TestServer, cookie: &str, series: &str, field: &str, from_ms: i64) -> Vec<(i64, f64)> {
    let url = server.url(&format!("/api/history?series={series}&from={from_ms}"));
    let response = client.get(url).header(header::COOKIE, cookie).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["source"], "raw", "{body}");
    body["points"].as_array().unwrap().iter().map(|p| (p["t"].as_i64().unwrap(), p[field]["mean"].as_f64().unwrap())).collect()
}
