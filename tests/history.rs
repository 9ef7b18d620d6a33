//! History on real SQLite files: durable ids across a `kill -9`, rollups and
//! retention, the history API and its CSV, concurrency, a database at its size
//! cap and a disk that really fills up.

mod common;

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use common::{fast_config, next_event, open_stream, spawn_netpulse, start, wait_until_up, Target};
use netpulse::server::store::{
    history::HistoryRequest,
    maintenance::{Retention, HOUR, MINUTE, TEN_MINUTES},
    test_cluster::each_backend,
    Backend,
};
use serde_json::{json, Value};

const TOKEN: &str = "history-test-token-0123";
const MINUTE_MS: i64 = 60_000;
const DAY: Duration = Duration::from_secs(86_400);

fn config_with_token(extra: &str) -> netpulse::server::config::Config {
    fast_config(&format!("publish_token = \"{TOKEN}\"\ntopics = [\"bulk\"]\n[speed]\nenabled = false\n{extra}"))
}

async fn publish(client: &reqwest::Client, base: &str, topic: &str, body: Value) -> reqwest::Response {
    client.post(format!("{base}/api/publish/{topic}")).bearer_auth(TOKEN).json(&body).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_api_answers_json_and_csv_that_agree() {
    let server = start(config_with_token(""), Target::Itself).await;
    let client = reqwest::Client::new();
    for n in 0..20 {
        let response = publish(&client, &server.url(""), "visitors", json!({"visitors": n, "load": n as f64 / 8.0, "note": "x"})).await;
        assert_eq!(response.status(), 202);
    }
    let json: Value = client.get(server.url("/api/history?series=topic:visitors")).send().await.unwrap().json().await.unwrap();
    assert_eq!(json["source"], "raw");
    assert_eq!(json["fields"], json!(["load", "visitors"]));
    let points = json["points"].as_array().unwrap();
    let visitors: Vec<f64> = points.iter().filter_map(|p| p["visitors"]["mean"].as_f64()).collect();
    assert_eq!(visitors, (0..20).map(f64::from).collect::<Vec<_>>(), "every event, in order");

    let csv = client.get(server.url("/api/history?series=topic:visitors&format=csv")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("time,field,n,min,mean,max,p95"));
    let mut from_csv = Vec::new();
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        let t = chrono::DateTime::parse_from_rfc3339(cols[0]).unwrap().timestamp_millis();
        from_csv.push((t, cols[1].to_owned(), cols[4].parse::<f64>().unwrap()));
    }
    let mut from_json = Vec::new();
    for point in points {
        for field in ["load", "visitors"] {
            if let Some(mean) = point[field]["mean"].as_f64() {
                from_json.push((point["t"].as_i64().unwrap(), field.to_owned(), mean));
            }
        }
    }
    from_csv.sort_by(|a, b| a.partial_cmp(b).unwrap());
    from_json.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(from_csv, from_json, "the CSV parses back to the JSON's points");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_history_requests_get_a_json_400() {
    let server = start(config_with_token(""), Target::Itself).await;
    let client = reqwest::Client::new();
    for query in [
        "",
        "series=nonsense",
        "series=probe:no-such-monitor",
        "series=speed&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "series=speed&from=yesterday",
        "series=speed&step=0",
        "series=speed&step=90",
        "series=speed&step=1&from=0&to=86400000",
        "series=speed&format=xml",
        "series=speed&colour=blue",
    ] {
        let response = client.get(server.url(&format!("/api/history?{query}"))).send().await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{query}: {body}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_and_readers_lose_nothing() {
    let server = start(config_with_token(""), Target::Itself).await;
    let base = server.url("");
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for writer in 0..4 {
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0..25 {
                let response = publish(&client, &base, "orders", json!({"writer": writer, "n": n})).await;
                assert_eq!(response.status(), 202);
            }
        }));
    }
    for _ in 0..2 {
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                let response = client.get(format!("{base}/api/history?series=topic:orders")).send().await.unwrap();
                assert_eq!(response.status(), 200);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let json: Value = client.get(server.url("/api/history?series=topic:orders")).send().await.unwrap().json().await.unwrap();
    let points = json["points"].as_array().unwrap();
    let mut seen: Vec<(i64, i64)> = points.iter().map(|p| (p["writer"]["mean"].as_f64().unwrap() as i64, p["n"]["mean"].as_f64().unwrap() as i64)).collect();
    seen.sort();
    let expected: Vec<(i64, i64)> = (0..4).flat_map(|w| (0..25).map(move |n| (w, n))).collect();
    assert_eq!(seen, expected, "all 100 events are in history exactly once");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_is_reported_while_events_still_stream() {
    let server = start(config_with_token("[history]\nmax_size_mb = 1\n"), Target::Itself).await;
    let client = reqwest::Client::new();
    let mut stream = open_stream(&server.url("/api/events?topics=bulk"), None).await.events;
    let filler = "x".repeat(60 * 1024);
    for n in 0..40 {
        assert_eq!(publish(&client, &server.url(""), "bulk", json!({"n": n, "filler": filler})).await.status(), 202, "publishing never fails");
    }
    let status: Value = client.get(server.url("/api/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["store"]["ok"], false, "{status}");
    assert!(status["store"]["failed_writes"].as_u64().unwrap() > 0);
    assert!(status["store"]["last_error"].as_str().unwrap().contains("full"), "{status}");
    // Every event still went out live, the ones the store refused included.
    for n in 0..40 {
        let event = next_event(&mut stream, "bulk", Duration::from_secs(5)).await;
        assert_eq!(serde_json::from_str::<Value>(&event.data).unwrap()["n"], n);
    }
    server.shutdown().await;
}

/// A small tmpfs of the test's own, so the disk under the database can really
/// fill up. Unmounted when dropped. (Remounting it read-only is refused while
/// SQLite holds files open for writing, so a full disk is the failure tested.)
struct ScratchDisk {
    dir: tempfile::TempDir,
}

impl ScratchDisk {
    /// `None` where mounting is not allowed (not root); CI runs as root.
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"]).arg(dir.path()).stderr(Stdio::null()).status();
        mounted.is_ok_and(|s| s.success()).then_some(Self { dir })
    }

    /// Writes a file until the disk has no room left.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0xA5u8; 64 * 1024];
        for _ in 0..1024 {
            if file.write_all(&chunk).is_err() {
                return path;
            }
        }
        panic!("a 16 MiB disk took 64 MiB");
    }
}

impl Drop for ScratchDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_while_events_still_stream_and_recovers() {
    let Some(disk) = ScratchDisk::mount() else {
        // A skip that passes would hide that the full-disk path went untested.
        assert!(std::env::var_os("NETPULSE_REQUIRE_MOUNT").is_none(), "mounting a tmpfs failed; this test needs root");
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let mut config = config_with_token("");
    config.data_dir = disk.dir.path().to_owned();
    // A window of one event, so that a resume from before the failed writes must read the log.
    config.sse.replay = 1;
    let server = start(config, Target::Itself).await;
    let client = reqwest::Client::new();
    let base = server.url("");
    let status = || async { client.get(server.url("/api/status")).send().await.unwrap().json::<Value>().await.unwrap() };
    let mut stream = open_stream(&server.url("/api/events?topics=bulk"), None).await.events;
    let first = publish(&client, &base, "bulk", json!({"n": 0})).await;
    assert_eq!(first.status(), 202);
    let first_id = first.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    assert_eq!(status().await["store"]["ok"], true);

    let filler = disk.fill();
    for n in 1..=3 {
        assert_eq!(publish(&client, &base, "bulk", json!({"n": n})).await.status(), 202, "publishing never fails");
    }
    let failing = status().await;
    assert_eq!(failing["store"]["ok"], false, "{failing}");
    assert_eq!(failing["store"]["failed_writes"], 3, "{failing}");
    assert!(!failing["store"]["last_error"].as_str().unwrap().is_empty(), "{failing}");
    let snapshot: Value = client.get(server.url("/api/snapshot")).send().await.unwrap().json().await.unwrap();
    assert_eq!(snapshot["store"], failing["store"], "the dashboard's banner reads the same state");
    for n in 0..=3 {
        let event = next_event(&mut stream, "bulk", Duration::from_secs(5)).await;
        assert_eq!(serde_json::from_str::<Value>(&event.data).unwrap()["n"], n, "live delivery goes on");
    }

    std::fs::remove_file(filler).unwrap();
    assert_eq!(publish(&client, &base, "bulk", json!({"n": 4})).await.status(), 202);
    assert_eq!(next_event(&mut stream, "bulk", Duration::from_secs(5)).await.data, r#"{"n":4}"#);
    let recovered = status().await;
    assert_eq!(recovered["store"]["ok"], true, "writes succeed again once there is room: {recovered}");
    let hour_ago = chrono::Utc::now().timestamp_millis() - 3_600_000;
    let history: Value = client.get(server.url(&format!("/api/history?series=topic:bulk&from={hour_ago}"))).send().await.unwrap().json().await.unwrap();
    let kept: Vec<i64> = history["points"].as_array().unwrap().iter().map(|p| p["n"]["mean"].as_f64().unwrap() as i64).collect();
    assert_eq!(kept, [0, 4], "what was written before and after is kept");
    // The events that never reached the disk cannot be replayed from it: a
    // client resuming from before them is reset, not silently given a gap.
    let mut resumed = open_stream(&server.url("/api/events?topics=bulk"), Some(&first_id.to_string())).await.events;
    next_event(&mut resumed, "reset", Duration::from_secs(5)).await;
    server.shutdown().await;
}

#[tokio::test]
async fn rollups_agree_with_raw_data_and_retention_drops_exactly_the_old() {
    let dir = tempfile::tempdir().unwrap();
    for store in each_backend(dir.path()).await {
        let backend = store.backend().name();
        // Three days of one sample every 30 s: values cycle 0..=99 so each bucket differs.
        let now = chrono::Utc::now().timestamp_millis().div_euclid(HOUR * 1000) * HOUR * 1000;
        let start = now - 3 * 24 * 60 * MINUTE_MS;
        let mut raw = Vec::new();
        for (i, at) in (start..now).step_by(30_000).enumerate() {
            let value = (i % 100) as f64 + 0.5;
            store.append(i as u64 + 1, "latency", at, &json!({"rtt": value}).to_string()).await.unwrap();
            raw.push((at, value));
        }
        while !store.roll_up(now + 10_000).await.unwrap() {}
        let retention = Retention { raw: 365 * DAY, minute: 365 * DAY, hour: 365 * DAY, event_log: 365 * DAY };
        let request = |from_ms, step_s| HistoryRequest { series: "topic:latency".into(), from_ms, to_ms: from_ms + 6 * HOUR * 1000, step_s: Some(step_s) };
        // Two hours: hourly buckets merged in SQL.
        for (step, source) in [(MINUTE, "1m"), (TEN_MINUTES, "10m"), (HOUR, "1h"), (2 * HOUR, "1h")] {
            // The first whole bucket of the step from `start` on.
            let from = (start + step * 1000 - 1).div_euclid(step * 1000) * step * 1000;
            let history = store.history(&request(from, step), retention, now).await.unwrap();
            assert_eq!(history.source, source, "{backend}");
            assert_eq!(history.points.len() as i64, 6 * HOUR / step);
            for point in &history.points {
                let values: Vec<f64> = raw.iter().filter(|(at, _)| *at >= point.t && *at < point.t + step * 1000).map(|(_, v)| *v).collect();
                let stats = point.values["rtt"];
                assert_eq!(stats.n as usize, values.len(), "{backend}");
                assert_eq!(stats.min, values.iter().copied().fold(f64::MAX, f64::min));
                assert_eq!(stats.max, values.iter().copied().fold(f64::MIN, f64::max));
                let mean = values.iter().sum::<f64>() / values.len() as f64;
                assert!((stats.mean - mean).abs() < 0.001, "{} vs {mean}", stats.mean);
            }
        }
        // Keep one day of raw samples: exactly those older go, rollups stay.
        let kept = Retention { raw: DAY, minute: 365 * DAY, hour: 365 * DAY, event_log: DAY };
        store.apply_retention(now, kept).await.unwrap();
        let raw_window = HistoryRequest { series: "topic:latency".into(), from_ms: start, to_ms: now, step_s: Some(30) };
        let remaining = store.history(&raw_window, kept, now).await.unwrap();
        // PostgreSQL drops a day's partition once all of it is past the cut.
        let cutoff = match store.backend() {
            Backend::Sqlite => now - 24 * 60 * MINUTE_MS,
            Backend::Postgres => (now - 24 * 60 * MINUTE_MS).div_euclid(24 * 60 * MINUTE_MS) * 24 * 60 * MINUTE_MS,
        };
        assert_eq!(remaining.points.len(), raw.iter().filter(|(at, _)| *at >= cutoff).count(), "{backend}: exactly the old raw samples go");
        assert!(remaining.points.iter().all(|p| p.t >= cutoff));
        let old_rollups = store.history(&request(start, HOUR), kept, now).await.unwrap();
        assert_eq!(old_rollups.points.len(), 6, "rollups outlive the raw rows they summarise");
    }
}

#[tokio::test]
async fn an_answer_past_the_built_rollups_is_completed_from_raw_samples() {
    let dir = tempfile::tempdir().unwrap();
    for store in each_backend(dir.path()).await {
        let backend = store.backend().name();
        // Three hours of one sample a minute, ending at the start of this minute.
        let now = chrono::Utc::now().timestamp_millis().div_euclid(MINUTE_MS) * MINUTE_MS;
        let start = (now - 3 * HOUR * 1000).div_euclid(TEN_MINUTES * 1000) * TEN_MINUTES * 1000;
        let mut raw = Vec::new();
        for (i, at) in (start..now).step_by(MINUTE_MS as usize).enumerate() {
            let value = (i % 7) as f64 * 10.0;
            store.append(i as u64 + 1, "load", at, &json!({"cpu": value}).to_string()).await.unwrap();
            raw.push((at, value));
        }
        // Rollups built only up to two hours ago, as after a long pause of maintenance.
        while !store.roll_up(start + HOUR * 1000 + 10_000).await.unwrap() {}
        let built_s = store.rolled_up_until(TEN_MINUTES).await.unwrap().unwrap();
        assert!(built_s * 1000 < now - HOUR * 1000, "the rollups stop well before now");
        let retention = Retention { raw: 365 * DAY, minute: 365 * DAY, hour: 365 * DAY, event_log: 365 * DAY };
        let request = HistoryRequest { series: "topic:load".into(), from_ms: start, to_ms: now, step_s: Some(TEN_MINUTES) };
        let history = store.history(&request, retention, now).await.unwrap();
        assert_eq!(history.source, "10m");
        let expected_buckets = (now - start).div_euclid(TEN_MINUTES * 1000) + i64::from((now - start) % (TEN_MINUTES * 1000) != 0);
        assert_eq!(history.points.len() as i64, expected_buckets, "no gap where the rollups end");
        for point in &history.points {
            let values: Vec<f64> = raw.iter().filter(|(at, _)| *at >= point.t && *at < point.t + TEN_MINUTES * 1000).map(|(_, v)| *v).collect();
            let stats = point.values["cpu"];
            assert_eq!(stats.n as usize, values.len(), "{backend}: bucket at {}", point.t);
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            assert!((stats.mean - mean).abs() < 0.001, "bucket at {}: {} vs {mean}", point.t, stats.mean);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_resumes_across_kill_9_with_every_event_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::closed_port().await;
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("netpulse.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\nsite_root = {:?}\npublish_token = \"{TOKEN}\"\n[speed]\nenabled = false\n{}",
            dir.path().join("data"),
            common::built_site(dir.path()),
            common::OPEN_READ,
        ),
    )
    .unwrap();
    let client = reqwest::Client::new();

    let mut first = spawn_netpulse(&config);
    wait_until_up(&base).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let body: Value = publish(&client, &base, "deploys", json!({"n": n})).await.json().await.unwrap();
        ids.push(body["id"].as_u64().unwrap());
    }
    first.kill().unwrap(); // SIGKILL: no shutdown, no flush.
    first.wait().unwrap();

    let mut second = spawn_netpulse(&config);
    wait_until_up(&base).await;
    for n in 5..8 {
        let body: Value = publish(&client, &base, "deploys", json!({"n": n})).await.json().await.unwrap();
        ids.push(body["id"].as_u64().unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids keep increasing across the restart: {ids:?}");

    // A client that saw only the first two events before the crash.
    let mut stream = open_stream(&format!("{base}/api/events?topics=deploys"), Some(&ids[1].to_string())).await.events;
    for (n, id) in ids.iter().enumerate().skip(2) {
        let event = next_event(&mut stream, "deploys", Duration::from_secs(5)).await;
        assert_eq!(event.id, id.to_string());
        assert_eq!(serde_json::from_str::<Value>(&event.data).unwrap()["n"], n);
    }
    second.kill().unwrap();
    second.wait().unwrap();
}
