//! The first run of the real binary: setup mode's one-time address, and the
//! `netpulse user add` and `token add` commands.

mod common;

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::Duration,
};

use reqwest::{header, redirect::Policy, Client};

fn netpulse_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child =
        Command::new(env!("CARGO_BIN_EXE_netpulse")).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_netpulse_logs_a_one_time_setup_address_and_only_it_creates_the_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::closed_port().await;
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("netpulse.toml");
    let text = format!(
        "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\nsite_root = {:?}\n[speed]\nenabled = false\n",
        dir.path().join("data"),
        common::built_site(dir.path())
    );
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_netpulse")).arg("--config").arg(&config).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let address = tokio::task::spawn_blocking(move || {
        BufReader::new(stderr)
            .lines()
            .take(50)
            .map_while(Result::ok)
            .find_map(|line| line.split_whitespace().find(|w| w.contains("/setup?key=")).map(str::to_owned))
    });
    let address = tokio::time::timeout(Duration::from_secs(10), address).await.expect("the address is logged at start").unwrap().expect("a setup address");
    let key = address.split("key=").nth(1).unwrap().to_owned();
    common::wait_until_up(&base).await;
    let client = Client::builder().redirect(Policy::none()).build().unwrap();

    let home = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!((home.status().as_u16(), home.headers()[header::LOCATION].to_str().unwrap()), (303, "/login"));
    let login = client.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("data-testid=\"awaiting-setup\""), "the sign-in page says where to look: {login}");
    assert_eq!(client.get(format!("{base}/api/snapshot")).send().await.unwrap().json::<serde_json::Value>().await.unwrap()["probes"], serde_json::json!([]));
    assert_eq!(client.get(format!("{base}/api/events")).send().await.unwrap().status(), 401, "a visitor follows no stream");

    let form = |key: &str| vec![("key", key.to_owned()), ("name", "ada".to_owned()), ("password", "correct horse battery".to_owned())];
    let wrong = client.post(format!("{base}/setup")).form(&form("not-the-key")).send().await.unwrap();
    assert_eq!(wrong.status(), 403);
    let short = client.post(format!("{base}/setup")).form(&[("key", key.as_str()), ("name", "ada"), ("password", "short")]).send().await.unwrap();
    assert_eq!(short.status(), 400, "the password rules hold in setup too");
    let made = client.post(format!("{base}/setup")).form(&form(&key)).send().await.unwrap();
    assert_eq!(made.status(), 303);
    let cookie = made.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let me: serde_json::Value = client.get(format!("{base}/api/auth/session")).header(header::COOKIE, &cookie).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["caller"].as_str(), me["role"].as_str(), me["setup_needed"].as_bool()), (Some("user:ada"), Some("admin"), Some(false)));
    assert_eq!(client.post(format!("{base}/setup")).form(&form(&key)).send().await.unwrap().status(), 404, "the address works once");
    let audit: serde_json::Value = client.get(format!("{base}/api/audit")).header(header::COOKIE, &cookie).send().await.unwrap().json().await.unwrap();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"setup") && actions.contains(&"setup-refused"), "{actions:?}");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_token_commands_write_accounts_a_server_then_honours() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap().to_owned();
    let (code, out, err) = netpulse_with_stdin(&["user", "add", "vera", "--role", "viewer", "--data-dir", &data_arg], "correct horse battery\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created viewer \"vera\""));
    let (code, _, err) = netpulse_with_stdin(&["user", "add", "vera", "--role", "viewer", "--data-dir", &data_arg], "correct horse battery\n");
    assert_eq!((code, err.contains("already a user")), (1, true));
    let (code, _, err) = netpulse_with_stdin(&["user", "add", "bob", "--role", "viewer", "--data-dir", &data_arg], "short\n");
    assert_eq!((code, err.lines().count(), err.contains("at least 10")), (2, 1, true));
    let (code, _, err) = netpulse_with_stdin(&["user", "add", "bob", "--role", "owner", "--data-dir", &data_arg], "");
    assert_eq!((code, err.contains("--role")), (2, true), "{err}");
    let (code, token, err) = netpulse_with_stdin(&["token", "add", "grafana", "--scopes", "read:speed", "--data-dir", &data_arg], "");
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("np_") && token.len() > 40);
    let (code, _, err) = netpulse_with_stdin(&["token", "add", "x", "--scopes", "write:*", "--data-dir", &data_arg], "");
    assert_eq!((code, err.contains("invalid --scopes")), (2, true));

    let mut config = common::secured_config("");
    config.speed.enabled = false;
    config.data_dir = data;
    let server = common::start(config, common::Target::Refusing).await;
    let client = Client::new();
    // No admin yet, but vera's account works: the sign-in form is there, with where setup is.
    let login = client.get(server.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("data-testid=\"login-form\"") && login.contains("no admin yet"), "{login}");
    let signed_in =
        client.post(server.url("/api/auth/login")).json(&serde_json::json!({ "name": "vera", "password": "correct horse battery" })).send().await.unwrap();
    assert_eq!(signed_in.status(), 204);
    let me: serde_json::Value = client.get(server.url("/api/auth/session")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["caller"], "token:grafana");
    assert_eq!(client.get(server.url("/api/history?series=speed&last=60")).bearer_auth(&token).send().await.unwrap().status(), 200);
    assert_eq!(client.get(server.url("/api/alerts")).bearer_auth(&token).send().await.unwrap().status(), 403);
    let stored = std::fs::read(server.data_dir.as_ref().map_or(dir.path().join("data/netpulse.db"), |d| d.path().join("netpulse.db"))).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&stored).contains(&token), "the database keeps no token in the clear");
    server.shutdown().await;
}
