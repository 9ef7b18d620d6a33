//! A whole server on PostgreSQL (a cluster of the test's own, started with
//! initdb and pg_ctl): history, accounts and resume kept across a restart,
//! nothing written to the data directory, and a database that cannot be
//! reached or named is a clear error that never shows the password.

mod common;

use std::time::Duration;

use common::{fast_config, next_event, open_stream, start, Target};
use netpulse::server::{
    auth::{access::Role, secrets},
    config::{secret::Secret, Config},
    serve,
    store::{test_cluster::TestCluster, Store},
};
use serde_json::{json, Value};
use sqlx::Connection;

const TOKEN: &str = "postgres-test-token-0123";
const WAIT: Duration = Duration::from_secs(10);

fn config_on(url: &str, data_dir: &std::path::Path) -> Config {
    let mut config = fast_config(&format!("publish_token = \"{TOKEN}\"\ntopics = [\"orders\"]\n[speed]\nenabled = false\n"));
    config.database_url = Some(Secret::new(url));
    config.data_dir = data_dir.to_owned();
    config
}

async fn publish(client: &reqwest::Client, base: &str, n: u64) {
    let response = client.post(format!("{base}/api/publish/orders")).bearer_auth(TOKEN).json(&json!({ "orders": n })).send().await.unwrap();
    assert_eq!(response.status(), 202, "publish {n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_postgres_keeps_history_accounts_and_resume_across_a_restart() {
    let Some(cluster) = TestCluster::shared() else { return };
    let url = cluster.new_database().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();

    let first = start(config_on(&url, dir.path()), Target::Refusing).await;
    let ready: Value = client.get(first.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!((ready["ready"].as_bool(), ready["database"].as_str()), (Some(true), Some("postgres")), "{ready}");
    let mut stream = open_stream(&first.url("/api/events?topics=orders"), None).await;
    for n in 1..=20 {
        publish(&client, &first.url(""), n).await;
    }
    let mut ids = Vec::new();
    for _ in 1..=20 {
        ids.push(next_event(&mut stream.events, "orders", WAIT).await.id.parse::<u64>().unwrap());
    }
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids increase: {ids:?}");
    // An account made while the server runs, as `netpulse user add` would.
    Store::open_postgres(&url).await.unwrap().add_user("ada", &secrets::hash_password("correct horse battery"), Role::Admin, 0).await.unwrap();
    drop(stream);
    first.shutdown().await;
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "nothing is written beside the database");

    // A new server on the same database, on another port.
    let second = start(config_on(&url, dir.path()), Target::Refusing).await;
    let history: Value = client.get(second.url("/api/history?series=topic:orders")).send().await.unwrap().json().await.unwrap();
    let values: Vec<i64> = history["points"].as_array().unwrap().iter().map(|p| p["orders"]["mean"].as_f64().unwrap() as i64).collect();
    assert_eq!(values, (1..=20).collect::<Vec<_>>(), "every sample is in the history: {history}");
    let mut resumed = open_stream(&second.url("/api/events?topics=orders"), Some(&ids[9].to_string())).await;
    for expected in &ids[10..] {
        let event = next_event(&mut resumed.events, "orders", WAIT).await;
        assert_eq!(event.id, expected.to_string(), "the missed events, in order, from the database");
    }
    publish(&client, &second.url(""), 21).await;
    let live: u64 = next_event(&mut resumed.events, "orders", WAIT).await.id.parse().unwrap();
    assert!(live > ids[19], "then live, numbered after the first server's last ({live} > {})", ids[19]);
    let login = client.post(second.url("/api/auth/login")).json(&json!({ "name": "ada", "password": "correct horse battery" })).send().await.unwrap();
    assert_eq!(login.status(), 204, "the account made beside the first server signs in on the second");
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_database_refuses_to_start_and_says_why() {
    let Some(cluster) = TestCluster::shared() else { return };
    let url = cluster.new_database().await.unwrap();
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = start(config_on(&url, first_dir.path()), Target::Refusing).await;
    // Answering means it holds the database.
    assert_eq!(reqwest::get(first.url("/readyz")).await.unwrap().status(), 200);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let started = std::time::Instant::now();
    let second = tokio::time::timeout(Duration::from_secs(30), serve(listener, config_on(&url, second_dir.path()), std::future::pending())).await;
    let error = second.expect("gives up after its wait").expect_err("one server per database").to_string();
    assert!(error.contains("another netpulse server is using this PostgreSQL database"), "{error}");
    assert!(started.elapsed() >= Duration::from_secs(9), "it waited for the other to stop, as a restart needs");
    assert_eq!(reqwest::get(first.url("/readyz")).await.unwrap().status(), 200, "the first server is untouched");
    first.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_lock_session_is_killed_stops_rather_than_run_twice() {
    let Some(cluster) = TestCluster::shared() else { return };
    let url = cluster.new_database().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve(listener, config_on(&url, dir.path()), std::future::pending()));
    assert_eq!(reqwest::get(format!("{base}/readyz")).await.unwrap().status(), 200);
    // As a database failover or an admin's pg_terminate_backend would.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, [true], "one session holds the server's lock");
    let stopped = tokio::time::timeout(Duration::from_secs(30), server).await.expect("stops within 30 s").unwrap();
    let error = stopped.expect_err("a server without its lock stops").to_string();
    assert!(error.contains("lost this server's lock"), "{error}");
    assert!(reqwest::get(format!("{base}/readyz")).await.is_err(), "and no longer answers");
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_is_a_clear_error_without_the_password() {
    let port = common::closed_port().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_on(&format!("postgres://netpulse:hunter2-secret@127.0.0.1:{port}/netpulse"), dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), serve(listener, config, std::future::pending())).await.expect("gives up, not hangs");
    let error = outcome.expect_err("no database, no server").to_string();
    assert!(error.contains("database"), "{error}");
    assert!(!error.contains("hunter2"), "the password stays out of the error: {error}");
}

#[test]
fn database_url_must_name_postgresql_and_the_error_names_the_key() {
    for (raw, says) in [("mysql://db/netpulse", "postgres://"), ("not a url", "not a URL"), ("postgres:///netpulse", "host")] {
        let config = Config { database_url: Some(Secret::new(raw)), ..Config::default() };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("database_url") && error.contains(says), "{raw}: {error}");
    }
    let mut config = Config { database_url: Some(Secret::new("postgres://netpulse:pw@db.internal:5432/netpulse")), ..Config::default() };
    config.validate().unwrap();
    let socket = Config { database_url: Some(Secret::new("postgres:///netpulse?host=/run/postgresql")), ..Config::default() };
    socket.validate().expect("a Unix socket's directory stands for the host");
    config.history.max_size_mb = 100;
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("history.max_size_mb") && !error.contains("pw@"), "the SQLite cap is refused on PostgreSQL: {error}");
    config.history.max_size_mb = 0;
    assert!(!format!("{config:?}").contains("pw@"), "Debug never shows the URL's password");
}
