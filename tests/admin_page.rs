//! The admin page over a real netpulse: who may open it, and each of its forms
//! (users, tokens, sessions, agent nodes) doing what the API does, with the audit log shown.

mod common;

use common::{secured_config, start, Target, TestServer};
use netpulse::server::{
    auth::{access::Role, secrets},
    store::Store,
};
use reqwest::{header, redirect::Policy, Client, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

async fn sign_in(client: &Client, server: &TestServer, name: &str) -> String {
    let response = client.post(server.url("/api/auth/login")).json(&json!({ "name": name, "password": PASSWORD })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{name} signs in");
    response.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}

async fn post(client: &Client, server: &TestServer, cookie: &str, form: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
    let response = client.post(server.url("/admin")).header(header::COOKIE, cookie).form(form).send().await.unwrap();
    let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
    (response.status(), location, response.text().await.unwrap())
}

/// Who a request with these credentials is, as `/api/auth/session` answers.
async fn caller_of(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_admin_manages_users_tokens_and_sessions_from_the_page() {
    let mut config = secured_config("");
    config.speed.enabled = false;
    let dir = tempfile::tempdir().unwrap();
    config.data_dir = dir.path().to_owned();
    let store = Store::open(dir.path(), 0).await.unwrap();
    for (name, role) in [("vera", Role::Viewer), ("ada", Role::Admin)] {
        store.add_user(name, &secrets::hash_password(PASSWORD), role, 0).await.unwrap();
    }
    let server = start(config, Target::Refusing).await;
    let client = Client::builder().redirect(Policy::none()).build().unwrap();
    let admin = sign_in(&client, &server, "ada").await;
    let viewer = sign_in(&client, &server, "vera").await;

    let visitor = client.get(server.url("/admin")).send().await.unwrap();
    assert_eq!((visitor.status(), visitor.headers()[header::LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login?next=/admin"));
    assert_eq!(client.get(server.url("/admin")).header(header::COOKIE, &viewer).send().await.unwrap().status(), 403);
    let (status, _, _) = post(&client, &server, &viewer, &[("action", "add-user"), ("name", "mallory"), ("password", PASSWORD), ("role", "admin")]).await;
    assert_eq!(status, 403, "a viewer cannot use the forms");
    let page = client.get(server.url("/admin")).header(header::COOKIE, &admin).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("data-user=\"vera\"") && html.contains("data-user=\"ada\""), "{html}");
    assert!(!html.contains("/pkg/netpulse.wasm"), "the page ships no WASM");

    // Users: add, change a role, and the last admin kept.
    let (status, location, _) = post(&client, &server, &admin, &[("action", "add-user"), ("name", "ed"), ("password", PASSWORD), ("role", "editor")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin?done=add-user")));
    let ed = sign_in(&client, &server, "ed").await;
    let (_, me) = caller_of(client.get(server.url("/api/auth/session")).header(header::COOKIE, &ed)).await;
    assert_eq!(me["role"], "editor");
    let (status, _, body) = post(&client, &server, &admin, &[("action", "add-user"), ("name", "ed"), ("password", PASSWORD), ("role", "viewer")]).await;
    assert_eq!(status, 409);
    assert!(body.contains("there is already a user called"), "the page says why");
    let (status, _, _) = post(&client, &server, &admin, &[("action", "set-role"), ("name", "ed"), ("role", "viewer")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = caller_of(client.get(server.url("/api/auth/session")).header(header::COOKIE, &ed)).await;
    assert_eq!(status, 401, "a role change ends the user's sessions");
    let (status, _, body) = post(&client, &server, &admin, &[("action", "set-role"), ("name", "ada"), ("role", "viewer")]).await;
    assert_eq!(status, 400);
    assert!(body.contains("this is the last admin"), "{body}");

    // Tokens: made and shown once, used, revoked.
    let (status, _, body) = post(&client, &server, &admin, &[("action", "add-token"), ("name", "grafana"), ("scopes", "read:*"), ("expires_days", "30")]).await;
    assert_eq!(status, 200);
    let token = body.split("<code>").find(|part| part.starts_with("np_")).unwrap().split('<').next().unwrap().to_owned();
    let (_, me) = caller_of(client.get(server.url("/api/auth/session")).bearer_auth(&token)).await;
    assert_eq!(me["caller"], "token:grafana");
    let again = client.get(server.url("/admin")).header(header::COOKIE, &admin).send().await.unwrap().text().await.unwrap();
    assert!(again.contains("data-token=\"grafana\"") && !again.contains(&token), "listed, and the secret never again");
    let (status, _, body) = post(&client, &server, &admin, &[("action", "add-token"), ("name", "bad"), ("scopes", "write:*")]).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = post(&client, &server, &admin, &[("action", "revoke-token"), ("name", "grafana")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(caller_of(client.get(server.url("/api/auth/session")).bearer_auth(&token)).await.0, 401);

    // Sessions: an admin ends the viewer's.
    let sessions: Value = client.get(server.url("/api/sessions")).header(header::COOKIE, &admin).send().await.unwrap().json().await.unwrap();
    let vera = sessions.as_array().unwrap().iter().find(|s| s["user"] == "vera").unwrap()["id"].to_string();
    let (status, _, _) = post(&client, &server, &admin, &[("action", "end-session"), ("id", &vera)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(caller_of(client.get(server.url("/api/auth/session")).header(header::COOKIE, &viewer)).await.0, 401);

    let (status, _, _) = post(&client, &server, &admin, &[("action", "launch"), ("name", "x")]).await;
    assert_eq!(status, 400, "an unknown action");
    let (status, _, _) = post(&client, &server, &admin, &[("action", "remove-user"), ("name", "ed")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let last = client.get(server.url("/admin?done=remove-user")).header(header::COOKIE, &admin).send().await.unwrap().text().await.unwrap();
    assert!(last.contains("User removed") && !last.contains("data-user=\"ed\""));
    for action in ["user-added", "role-changed", "token-added", "token-revoked", "session-ended", "user-removed"] {
        assert!(last.contains(&format!("<td data-label=\"What\">{action}</td>")), "the audit log shows {action}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_admin_makes_a_join_token_sees_the_node_and_revokes_it_from_the_page() {
    let mut config = secured_config("");
    config.speed.enabled = false;
    let dir = tempfile::tempdir().unwrap();
    config.data_dir = dir.path().to_owned();
    let store = Store::open(dir.path(), 0).await.unwrap();
    store.add_user("ada", &secrets::hash_password(PASSWORD), Role::Admin, 0).await.unwrap();
    let server = start(config, Target::Refusing).await;
    let client = Client::builder().redirect(Policy::none()).build().unwrap();
    let admin = sign_in(&client, &server, "ada").await;
    let page = client.get(server.url("/admin")).header(header::COOKIE, &admin).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("No agent nodes yet"), "{page}");

    for (hours, why) in [("soon", "hours must be a number, got \"soon\""), ("1000", "hours: must be above 0 and at most 720, got 1000")] {
        let (status, _, body) = post(&client, &server, &admin, &[("action", "add-join-token"), ("hours", hours)]).await;
        assert_eq!(status, 400, "{hours}");
        assert!(body.contains(why), "the page says why: {body}");
    }

    // Made and shown once, with the command for the new node, at the address the browser used.
    let origin = format!("http://{}", server.addr);
    let made = client
        .post(server.url("/admin"))
        .header(header::COOKIE, &admin)
        .header(header::ORIGIN, &origin)
        .form(&[("action", "add-join-token"), ("hours", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 200);
    let body = made.text().await.unwrap();
    let forged = client
        .post(server.url("/admin"))
        .header(header::COOKIE, &admin)
        .header(header::ORIGIN, "http://elsewhere.example")
        .form(&[("action", "add-join-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "a form posted from another site is refused");
    let command = body.split("NETPULSE_JOIN_TOKEN=").nth(1).expect("the command is shown").split(" --name NAME").next().unwrap().to_owned();
    let (token, address) = command.split_once(" netpulse agent join ").unwrap();
    assert_eq!(address, origin);
    assert!(token.starts_with("npj_"), "{command}");
    let again = client.get(server.url("/admin")).header(header::COOKIE, &admin).send().await.unwrap().text().await.unwrap();
    assert!(!again.contains(token), "the token is shown only once");

    let (status, joined) = common::agents::join(&client, &server, token, "tokyo").await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    let (status, _) = common::agents::join(&client, &server, token, "osaka").await;
    assert_eq!(status, 401, "a join token works once");
    let credential = joined["credential"].as_str().unwrap().to_owned();
    let page = client.get(server.url("/admin")).header(header::COOKIE, &admin).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("data-node=\"tokyo\" data-state=\"never reported\""), "{page}");
    assert!(page.contains("Revoke tokyo"), "{page}");

    let (status, location, _) = post(&client, &server, &admin, &[("action", "revoke-node"), ("name", "tokyo")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin?done=revoke-node")));
    let page = client.get(server.url("/admin?done=revoke-node")).header(header::COOKIE, &admin).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Node revoked"), "{page}");
    assert!(page.contains("data-node=\"tokyo\" data-state=\"revoked\"") && !page.contains("Revoke tokyo"), "{page}");
    assert!(page.contains("agent-revoked"), "the audit log says so");
    let refused = client
        .post(server.url("/api/agent/results"))
        .bearer_auth(&credential)
        .json(&json!({ "protocol": 1, "sent_ms": 0, "backlog": 0, "results": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "the revoked node's credential is refused");
    let (status, _, body) = post(&client, &server, &admin, &[("action", "revoke-node"), ("name", "nowhere")]).await;
    assert_eq!(status, 404);
    assert!(body.contains("no enrolled node is named"), "{body}");
}
