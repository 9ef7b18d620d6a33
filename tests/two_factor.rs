//! Two-factor sign-in over a real netpulse: setting it up through the API,
//! signing in with a code by the API and by the forms, a code that works only
//! once, turning it off, and an admin's reset, each in the audit log.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{secured_config, start, Target, TestServer};
use netpulse::server::{
    auth::{access::Role, secrets},
    store::Store,
};
use reqwest::{header, redirect::Policy, Client, StatusCode};
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, TOTP};

const PASSWORD: &str = "correct horse battery";

/// The code an authenticator app shows `offset` steps from now.
fn code(secret: &str, offset: i64) -> String {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, "test".to_owned()).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    totp.generate((now + offset * 30) as u64)
}

/// Waits for a fresh 30 s step when less than 20 s of this one are left, so that
/// codes made at the start of a test keep their step to its end.
async fn early_in_a_step() {
    let into_step = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() % 30;
    if into_step > 10 {
        tokio::time::sleep(Duration::from_secs(31 - into_step)).await;
    }
}

async fn server_with_users() -> (TestServer, tempfile::TempDir) {
    let mut config = secured_config("");
    config.speed.enabled = false;
    let dir = tempfile::tempdir().unwrap();
    config.data_dir = dir.path().to_owned();
    let store = Store::open(dir.path(), 0).await.unwrap();
    for (name, role) in [("tess", Role::Viewer), ("otto", Role::Editor), ("ada", Role::Admin)] {
        store.add_user(name, &secrets::hash_password(PASSWORD), role, 0).await.unwrap();
    }
    (start(config, Target::Refusing).await, dir)
}

async fn login(client: &Client, server: &TestServer, name: &str, code: Option<&str>) -> (StatusCode, Option<String>, Value) {
    let mut body = json!({ "name": name, "password": PASSWORD });
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    let response = client.post(server.url("/api/auth/login")).json(&body).send().await.unwrap();
    let status = response.status();
    let cookie = response.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    (status, cookie, response.json().await.unwrap_or(Value::Null))
}

/// Turns two-factor sign-in on for `name` with the code of the step before now;
/// returns the secret and that code.
async fn enrol(client: &Client, server: &TestServer, name: &str) -> (String, String) {
    let (_, cookie, _) = login(client, server, name, None).await;
    let cookie = cookie.unwrap();
    let made: Value = client.post(server.url("/api/auth/totp")).header(header::COOKIE, &cookie).send().await.unwrap().json().await.unwrap();
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(made["url"].as_str().unwrap().starts_with("otpauth://totp/netpulse%20test-node:"), "{made}");
    let confirm = |code: String| client.post(server.url("/api/auth/totp/confirm")).header(header::COOKIE, &cookie).json(&json!({ "code": code })).send();
    assert_eq!(confirm("000000".into()).await.unwrap().status(), 400, "a wrong code does not turn it on");
    let used = code(&secret, -1);
    assert_eq!(confirm(used.clone()).await.unwrap().status(), 204);
    let again = client.post(server.url("/api/auth/totp")).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_eq!(again.status(), 409, "a session cannot swap an active second factor for another app's");
    (secret, used)
}

#[tokio::test]
async fn sign_in_asks_for_a_code_that_works_once() {
    let (server, dir) = server_with_users().await;
    let client = Client::builder().redirect(Policy::none()).build().unwrap();
    early_in_a_step().await;
    let (secret, used) = enrol(&client, &server, "tess").await;

    let (status, cookie, body) = login(&client, &server, "tess", None).await;
    assert_eq!((status, cookie), (StatusCode::UNAUTHORIZED, None), "the password alone no longer signs in");
    assert!(body["error"].as_str().unwrap().contains("one-time code"), "{body}");
    let (status, _, _) = login(&client, &server, "tess", Some(&used)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the code that confirmed the setup is used up");
    let (status, cookie, _) = login(&client, &server, "tess", Some(&code(&secret, 0))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let me: Value = client.get(server.url("/api/auth/session")).header(header::COOKIE, cookie.unwrap()).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["caller"], "user:tess");

    // The forms: the password, then a page asking for the code.
    let page = client.post(server.url("/login")).form(&[("name", "tess"), ("password", PASSWORD), ("next", "/alerts")]).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers().get(header::SET_COOKIE).is_none(), "no session before the code");
    let html = page.text().await.unwrap();
    assert!(html.contains("data-testid=\"code-form\""), "{html}");
    let pending = html.split("name=\"pending\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let send_code = |code: String| client.post(server.url("/login/code")).form(&[("pending", pending.as_str()), ("code", &code), ("next", "/alerts")]).send();
    let wrong = send_code("123456".into()).await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("wrong, expired or already used one-time code"));
    let signed_in = send_code(code(&secret, 1)).await.unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[header::LOCATION], "/alerts");
    assert!(signed_in.headers()[header::SET_COOKIE].to_str().unwrap().starts_with("netpulse_session="));
    let reused = send_code(code(&secret, 1)).await.unwrap();
    assert_eq!(reused.status(), 401);
    assert!(reused.text().await.unwrap().contains("this sign-in has expired"), "a finished sign-in cannot be used again");

    // An admin resets it for a user who lost their phone.
    let (_, admin, _) = login(&client, &server, "ada", None).await;
    let admin = admin.unwrap();
    let reset = client.delete(server.url("/api/users/tess/totp")).header(header::COOKIE, &admin).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    assert_eq!(client.delete(server.url("/api/users/tess/totp")).header(header::COOKIE, &admin).send().await.unwrap().status(), 404);
    assert_eq!(login(&client, &server, "tess", None).await.0, StatusCode::NO_CONTENT, "the password alone works again");

    let store = Store::open(dir.path(), 0).await.unwrap();
    let audit: Vec<(String, String, String)> = store.audit_log(50).await.unwrap().into_iter().map(|e| (e.actor, e.action, e.detail)).collect();
    let has = |actor: &str, action: &str, detail: &str| audit.iter().any(|(a, b, c)| a == actor && b == action && c == detail);
    assert!(has("user:tess", "totp-on", ""), "{audit:?}");
    assert!(has("user:tess", "login-failed", "wrong one-time code"), "{audit:?}");
    assert!(has("user:tess", "login", "with a one-time code"), "{audit:?}");
    assert!(has("user:ada", "totp-reset", "tess"), "{audit:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_current_code_turns_it_off_and_tokens_cannot_set_it_up() {
    let (server, _dir) = server_with_users().await;
    let client = Client::new();
    early_in_a_step().await;
    let (secret, _) = enrol(&client, &server, "otto").await;
    let signed_in_with = code(&secret, 0);
    let (_, cookie, _) = login(&client, &server, "otto", Some(&signed_in_with)).await;
    let cookie = cookie.unwrap();
    let off = |code: String| client.post(server.url("/api/auth/totp/off")).header(header::COOKIE, &cookie).json(&json!({ "code": code })).send();
    assert_eq!(off(signed_in_with.clone()).await.unwrap().status(), 401, "the code just used for sign-in cannot be used again");
    assert_eq!(off(code(&secret, 1)).await.unwrap().status(), 204);
    assert_eq!(login(&client, &server, "otto", None).await.0, StatusCode::NO_CONTENT);

    let visitor = client.post(server.url("/api/auth/totp")).send().await.unwrap();
    assert_eq!(visitor.status(), 401);
    let (_, admin, _) = login(&client, &server, "ada", None).await;
    let made: Value = client
        .post(server.url("/api/tokens"))
        .header(header::COOKIE, admin.unwrap())
        .json(&json!({ "name": "ci", "scopes": "admin" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = client.post(server.url("/api/auth/totp")).bearer_auth(made["token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(token.status(), 403, "a token has no password to add a factor to");
    server.shutdown().await;
}
