//! One authorization matrix over a real netpulse: every read and write route
//! and the stream, for a visitor, a viewer, an editor, an admin, a scoped
//! token and a revoked token, on series each may and may not read.

mod common;

use std::time::Duration;

use common::{closed_port, next_event, secured_config, start, Target, TestServer};
use futures_util::StreamExt;
use netpulse::server::{
    auth::{access::Role, secrets},
    store::Store,
};
use reqwest::{header, Client, Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Visitor,
    Viewer,
    Editor,
    Admin,
    Token,
    Revoked,
}

const EVERYONE: [Who; 6] = [Who::Visitor, Who::Viewer, Who::Editor, Who::Admin, Who::Token, Who::Revoked];

struct Callers {
    cookies: Vec<(Who, String)>,
    token: String,
    revoked: String,
}

impl Callers {
    fn apply(&self, who: Who, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match who {
            Who::Visitor => request,
            Who::Token => request.bearer_auth(&self.token),
            Who::Revoked => request.bearer_auth(&self.revoked),
            _ => {
                let cookie = &self.cookies.iter().find(|(w, _)| *w == who).unwrap().1;
                request.header(header::COOKIE, cookie)
            }
        }
    }
}

async fn config_with_accounts() -> (netpulse::server::config::Config, tempfile::TempDir) {
    let down = closed_port().await;
    let text = format!(
        "topics = [\"sales\", \"payroll\"]\n[auth]\nlogin_attempts_per_minute = 4\n\
         [[monitor]]\nname = \"public-web\"\ntcp = \"127.0.0.1:{down}\"\ninterval = 1\n\
         [[monitor]]\nname = \"internal-db\"\ntcp = \"127.0.0.1:{down}\"\ninterval = 1\n\
         [[status_page]]\nname = \"ops\"\ntitle = \"Example status\"\nmonitors = [\"internal-db\"]\n\
         [[access]]\nwho = \"anonymous\"\nseries = \"probe:public-*\"\nallow = \"read\"\n\
         [[access]]\nwho = \"role:viewer\"\nseries = \"topic:payroll\"\nallow = \"deny\"\n"
    );
    let mut config = secured_config(&text);
    config.speed.enabled = false;
    let dir = tempfile::tempdir().unwrap();
    config.data_dir = dir.path().to_owned();
    // As `netpulse user add` does: straight into the database before the server starts.
    let store = Store::open(dir.path(), 0).await.unwrap();
    for (name, role) in [("vera", Role::Viewer), ("ed", Role::Editor), ("ada", Role::Admin)] {
        store.add_user(name, &secrets::hash_password(PASSWORD), role, 0).await.unwrap();
    }
    (config, dir)
}

async fn sign_in(client: &Client, server: &TestServer, name: &str) -> String {
    let response = client.post(server.url("/api/auth/login")).json(&json!({ "name": name, "password": PASSWORD })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{name} signs in");
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

async fn make_token(client: &Client, server: &TestServer, admin: &str, name: &str, scopes: &str) -> String {
    let response = client.post(server.url("/api/tokens")).header(header::COOKIE, admin).json(&json!({ "name": name, "scopes": scopes })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

async fn callers(client: &Client, server: &TestServer) -> Callers {
    let mut cookies = Vec::new();
    for (who, name) in [(Who::Viewer, "vera"), (Who::Editor, "ed"), (Who::Admin, "ada")] {
        cookies.push((who, sign_in(client, server, name).await));
    }
    let admin = cookies[2].1.clone();
    let token = make_token(client, server, &admin, "reader", "read:probe:internal-* publish:topic:sales").await;
    let revoked = make_token(client, server, &admin, "old", "read:*").await;
    let gone = client.delete(server.url("/api/tokens/old")).header(header::COOKIE, &admin).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    Callers { cookies, token, revoked }
}

/// The expected status per caller, in `EVERYONE`'s order.
type Row = (Method, &'static str, Option<Value>, [u16; 6]);

fn matrix() -> Vec<Row> {
    let read = |path| (Method::GET, path, None, [200, 200, 200, 200, 200, 401]);
    vec![
        read("/api/snapshot"),
        read("/api/status"),
        read("/metrics"),
        (Method::GET, "/api/history?series=probe:public-web&last=60", None, [200, 200, 200, 200, 403, 401]),
        (Method::GET, "/api/history?series=probe:internal-db&last=60", None, [401, 200, 200, 200, 200, 401]),
        (Method::GET, "/api/history?series=topic:payroll&last=60", None, [401, 403, 200, 200, 403, 401]),
        (Method::GET, "/api/alerts", None, [401, 200, 200, 200, 403, 401]),
        (Method::GET, "/api/alerts/silences", None, [401, 200, 200, 200, 403, 401]),
        (Method::POST, "/api/publish/sales", Some(json!({ "orders": 1 })), [401, 403, 202, 202, 202, 401]),
        (Method::POST, "/api/publish/payroll", Some(json!({ "total": 9 })), [401, 403, 202, 202, 403, 401]),
        (Method::POST, "/api/alerts/silences", Some(json!({ "for": "1m" })), [401, 403, 201, 201, 403, 401]),
        (Method::GET, "/api/users", None, [401, 403, 403, 200, 403, 401]),
        (Method::GET, "/api/tokens", None, [401, 403, 403, 200, 403, 401]),
        (Method::GET, "/api/audit", None, [401, 403, 403, 200, 403, 401]),
        (Method::GET, "/api/access/rules", None, [401, 403, 403, 200, 403, 401]),
        (Method::POST, "/api/access/rules", Some(json!({ "who": "role:viewer", "series": "topic:nothing", "allow": "deny" })), [401, 403, 403, 201, 403, 401]),
        (Method::GET, "/api/sessions", None, [401, 200, 200, 200, 403, 401]),
        (Method::GET, "/api/auth/session", None, [200, 200, 200, 200, 200, 401]),
        // Starting two-factor setup: a signed-in user's own, never a token's.
        (Method::POST, "/api/auth/totp", None, [401, 200, 200, 200, 403, 401]),
        (Method::DELETE, "/api/users/vera/totp", None, [401, 403, 403, 404, 403, 401]),
        // An agent node's series follow the same rules: `probe:internal-*` covers `internal-db` from tokyo.
        (Method::GET, "/api/history?series=probe:internal-db@tokyo&last=60", None, [401, 200, 200, 200, 200, 401]),
        (Method::GET, "/api/agents", None, [401, 403, 403, 200, 403, 401]),
        (Method::POST, "/api/agents/join-tokens", Some(json!({})), [401, 403, 403, 201, 403, 401]),
        (Method::DELETE, "/api/agents/nobody", None, [401, 403, 403, 404, 403, 401]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_gives_each_caller_what_the_rules_say() {
    let (config, _dir) = config_with_accounts().await;
    let server = start(config, Target::Refusing).await;
    let client = Client::new();
    let callers = callers(&client, &server).await;
    let mut wrong = Vec::new();
    for (method, path, body, expected) in matrix() {
        for (who, want) in EVERYONE.iter().zip(expected) {
            let mut request = callers.apply(*who, client.request(method.clone(), server.url(path)));
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            if status != want {
                wrong.push(format!("{method} {path} as {who:?}: {status}, expected {want}"));
            } else if status >= 400 {
                let body: Value = response.json().await.unwrap();
                assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{method} {path}: a JSON reason");
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    server.shutdown().await;
}

/// The monitors and topics a snapshot holds.
async fn snapshot_of(client: &Client, server: &TestServer, callers: &Callers, who: Who) -> (Vec<String>, Vec<String>) {
    let snapshot: Value = callers.apply(who, client.get(server.url("/api/snapshot"))).send().await.unwrap().json().await.unwrap();
    let probes = snapshot["probes"].as_array().unwrap().iter().map(|p| p["monitor"].as_str().unwrap().to_owned()).collect();
    let topics = snapshot["topics"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect();
    (probes, topics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_snapshots_and_streams_hold_only_what_the_caller_may_read() {
    let (config, _dir) = config_with_accounts().await;
    let server = start(config, Target::Refusing).await;
    let client = Client::new();
    let callers = callers(&client, &server).await;
    // Both monitors have been checked at least once.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (probes, topics) = snapshot_of(&client, &server, &callers, Who::Visitor).await;
    assert_eq!((probes, topics), (vec!["public-web".to_owned()], Vec::<String>::new()));
    let (probes, topics) = snapshot_of(&client, &server, &callers, Who::Viewer).await;
    assert_eq!((probes.len(), topics), (2, vec!["sales".to_owned()]));
    let (probes, _) = snapshot_of(&client, &server, &callers, Who::Token).await;
    assert_eq!(probes, vec!["internal-db".to_owned()]);
    // The page itself: a section the visitor may not read is absent.
    let page = client.get(server.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("public-web") && !page.contains("internal-db"));
    let metrics = client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("public-web") && !metrics.contains("internal-db"));

    // A replay from the start gives a visitor the public monitor's checks and nothing else.
    let editor = callers.cookies[1].1.clone();
    let published = client.post(server.url("/api/publish/payroll")).header(header::COOKIE, &editor).json(&json!({ "total": 1 })).send().await.unwrap();
    assert_eq!(published.status(), 202);
    for (who, hidden) in [(Who::Visitor, "internal-db"), (Who::Viewer, "payroll")] {
        let response = callers.apply(who, client.get(server.url("/api/events"))).header("Last-Event-ID", "1").send().await.unwrap();
        assert_eq!(response.status(), 200);
        let mut events = eventsource_stream::Eventsource::eventsource(response.bytes_stream()).map(|e| e.unwrap()).boxed();
        let seen: Vec<_> = tokio_stream_take(&mut events, Duration::from_millis(2500)).await;
        assert!(!seen.is_empty(), "{who:?} gets events");
        assert!(seen.iter().all(|e| e.event != hidden && !e.data.contains(hidden)), "{who:?} never gets {hidden}: {seen:?}");
    }
    server.shutdown().await;
}

async fn tokio_stream_take(
    events: &mut (impl futures_util::Stream<Item = eventsource_stream::Event> + Unpin),
    within: Duration,
) -> Vec<eventsource_stream::Event> {
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(within, async {
        while let Some(event) = events.next().await {
            seen.push(event);
        }
    })
    .await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_token_or_signing_out_ends_its_streams_within_a_second() {
    let (config, _dir) = config_with_accounts().await;
    let server = start(config, Target::Refusing).await;
    let client = Client::new();
    let callers = callers(&client, &server).await;
    let admin = callers.cookies[2].1.clone();
    let token = make_token(&client, &server, &admin, "watcher", "read:*").await;
    let viewer = callers.cookies[0].1.clone();
    let by_token = client.get(server.url("/api/events?topics=probe")).bearer_auth(&token).send().await.unwrap();
    let by_session = client.get(server.url("/api/events?topics=probe")).header(header::COOKIE, &viewer).send().await.unwrap();
    let mut token_events = eventsource_stream::Eventsource::eventsource(by_token.bytes_stream()).filter_map(|e| std::future::ready(e.ok())).boxed();
    let mut session_events = eventsource_stream::Eventsource::eventsource(by_session.bytes_stream()).filter_map(|e| std::future::ready(e.ok())).boxed();
    next_event(&mut token_events, "probe", Duration::from_secs(5)).await;
    next_event(&mut session_events, "probe", Duration::from_secs(5)).await;

    let gone = client.delete(server.url("/api/tokens/watcher")).header(header::COOKIE, &admin).send().await.unwrap();
    assert_eq!(gone.status(), 204);
    let ended = tokio::time::timeout(Duration::from_secs(1), async { while token_events.next().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the revoked token's stream ends within a second");
    let again = client.get(server.url("/api/events")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(again.status(), 401, "and never falls back to a visitor's");

    // The viewer sees only their own session; an admin ends it from the sessions list.
    let own: Value = client.get(server.url("/api/sessions")).header(header::COOKIE, &viewer).send().await.unwrap().json().await.unwrap();
    let own = own.as_array().unwrap();
    assert!(own.len() == 1 && own[0]["user"] == "vera", "{own:?}");
    let all: Value = client.get(server.url("/api/sessions")).header(header::COOKIE, &admin).send().await.unwrap().json().await.unwrap();
    assert!(all.as_array().unwrap().len() >= 3, "every account's sessions: {all}");
    let theirs = client.delete(server.url(&format!("/api/sessions/{}", own[0]["id"]))).header(header::COOKIE, &callers.cookies[1].1).send().await.unwrap();
    assert_eq!(theirs.status(), 404, "an editor cannot end a viewer's session");
    let ended = client.delete(server.url(&format!("/api/sessions/{}", own[0]["id"]))).header(header::COOKIE, &admin).send().await.unwrap();
    assert_eq!(ended.status(), 204);
    let ended = tokio::time::timeout(Duration::from_secs(1), async { while session_events.next().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the session's stream ends within a second of an admin ending it");
    let out = client.post(server.url("/api/auth/logout")).header(header::COOKIE, &viewer).send().await.unwrap();
    assert_eq!(out.status(), 204, "signing out of an ended session is harmless");
    let again = client.get(server.url("/api/events")).header(header::COOKIE, &viewer).send().await.unwrap();
    assert_eq!(again.status(), 401);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_answers_alike_for_unknown_users_limits_attempts_and_refuses_cross_site_writes() {
    let (config, _dir) = config_with_accounts().await;
    let server = start(config, Target::Refusing).await;
    let client = Client::new();
    let attempt = |name: &'static str| client.post(server.url("/api/auth/login")).json(&json!({ "name": name, "password": "not the password" })).send();
    let unknown = attempt("nobody").await.unwrap();
    let wrong = attempt("vera").await.unwrap();
    assert_eq!((unknown.status(), wrong.status()), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(unknown.text().await.unwrap(), wrong.text().await.unwrap(), "the same answer for both");
    for _ in 0..3 {
        attempt("vera").await.unwrap();
    }
    let limited = attempt("vera").await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers()[header::RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap() >= 1);

    let editor = sign_in(&client, &server, "ed").await;
    let publish = |site: &'static str| {
        client.post(server.url("/api/publish/sales")).header(header::COOKIE, &editor).header("sec-fetch-site", site).json(&json!({ "orders": 2 })).send()
    };
    assert_eq!(publish("cross-site").await.unwrap().status(), 403);
    assert_eq!(publish("same-site").await.unwrap().status(), 403, "another port on the same host is another origin");
    assert_eq!(publish("same-origin").await.unwrap().status(), 202);

    let page = client.get(server.url("/login")).send().await.unwrap();
    let policy = page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(page.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let home = client.get(server.url("/")).send().await.unwrap();
    assert!(home.text().await.unwrap().contains("public-web"), "visitors who may read something get the dashboard");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_page_shows_visitors_its_monitors_live_and_nothing_else() {
    let (config, _dir) = config_with_accounts().await;
    let server = start(config, Target::Refusing).await;
    let client = Client::new();
    let stream = client.get(server.url("/status/ops/events")).send().await.unwrap();
    assert_eq!(stream.status(), 200, "no sign-in needed");
    let mut events = eventsource_stream::Eventsource::eventsource(stream.bytes_stream()).filter_map(|e| std::future::ready(e.ok())).boxed();
    let seen = tokio_stream_take(&mut events, Duration::from_millis(2500)).await;
    assert!(seen.iter().any(|e| e.event == "probe" && e.data.contains("internal-db")), "{seen:?}");
    assert!(seen.iter().all(|e| !e.data.contains("public-web")), "only the page's monitors: {seen:?}");
    for path in ["/status", "/status/ops"] {
        let page = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("Example status") && html.contains("data-monitor=\"internal-db\" data-state=\"down\""), "{html}");
        assert!(html.contains("1 of 1 down") && !html.contains("public-web"), "{html}");
        assert!(html.contains("<script src=\"/status.js\" defer>"), "kept live by its script");
    }
    let missing = client.get(server.url("/status/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("no status page is called"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_changes_are_checked_whole_and_always_leave_an_admin() {
    let (config, _dir) = config_with_accounts().await;
    let server = start(config, Target::Refusing).await;
    let client = Client::new();
    let admin = sign_in(&client, &server, "ada").await;
    let patch = |name: &str, body: Value| client.patch(server.url(&format!("/api/users/{name}"))).header(header::COOKIE, &admin).json(&body).send();
    let half = patch("vera", json!({ "role": "editor", "password": "short" })).await.unwrap();
    assert_eq!(half.status(), 400, "a bad password refuses the whole change");
    let viewer = sign_in(&client, &server, "vera").await;
    let me: Value = client.get(server.url("/api/auth/session")).header(header::COOKIE, &viewer).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["role"], "viewer", "the role was not changed either");
    assert_eq!(patch("ada", json!({ "role": "viewer" })).await.unwrap().status(), 400, "the last admin stays an admin");
    assert_eq!(client.delete(server.url("/api/users/ada")).header(header::COOKIE, &admin).send().await.unwrap().status(), 400);
    assert_eq!(patch("nobody", json!({ "role": "viewer" })).await.unwrap().status(), 404);
    assert_eq!(patch("vera", json!({ "role": "editor" })).await.unwrap().status(), 204);
    let again = client.get(server.url("/api/auth/session")).header(header::COOKIE, &viewer).send().await.unwrap();
    assert_eq!(again.status(), 401, "a changed account signs in again");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_merged_speed_history_needs_every_target_readable() {
    let mut config = secured_config("[[access]]\nwho = \"role:viewer\"\nseries = \"speed:http://127.0.0.1:*\"\nallow = \"deny\"\n");
    config.speed.enabled = false;
    let dir = tempfile::tempdir().unwrap();
    config.data_dir = dir.path().to_owned();
    let store = Store::open(dir.path(), 0).await.unwrap();
    store.add_user("vera", &secrets::hash_password(PASSWORD), Role::Viewer, 0).await.unwrap();
    drop(store);
    let server = start(config, Target::Refusing).await;
    let client = Client::new();
    let viewer = sign_in(&client, &server, "vera").await;
    let merged = client.get(server.url("/api/history?series=speed&last=60")).header(header::COOKIE, &viewer).send().await.unwrap();
    assert_eq!(merged.status(), 403, "a denied target's samples are in the merged series");
    server.shutdown().await;
}
