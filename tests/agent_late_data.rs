//! Results that arrive after their rollups were built, as from an agent back
//! from an outage: the buckets they touch are rebuilt, so minute, ten-minute
//! and hourly history equal a recomputation from everything sent.

mod common;

use std::time::Duration;

use common::{
    agents::{admin_cookie, check, config_on, Agent},
    closed_port, databases, start, Target,
};
use netpulse::server::store::{
    history::HistoryRequest,
    maintenance::{Retention, HOUR, MINUTE, TEN_MINUTES},
    Store,
};
use reqwest::{Client, StatusCode};
use serde_json::Value;

const DAY: Duration = Duration::from_secs(86_400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_results_rebuild_the_rollups_they_fall_in() {
    for database in databases().await {
        late_results_rebuild_on(database.as_deref()).await;
    }
}

/// On the SQLite file, or in the PostgreSQL database `database_url`.
async fn late_results_rebuild_on(database_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let config =
        config_on(dir.path(), database_url, &format!("[[monitor]]\nname = \"web\"\ntcp = \"127.0.0.1:{}\"\ninterval = 60\n", closed_port().await)).await;
    let store_config = config.clone();
    let server = start(config, Target::Refusing).await;
    let client = Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut agent = Agent::enrol(&client, &server, &cookie, "tokyo").await;
    let hour_ms = HOUR * 1000;
    // Two whole hours, ending an hour ago: one result every 20 s, the even ones first.
    let start_ms = (agent.now_ms() - 3 * hour_ms).div_euclid(hour_ms) * hour_ms;
    let sent: Vec<(u64, i64, f64)> = (1..=360u64).map(|seq| (seq, start_ms + (seq as i64 - 1) * 20_000, (seq % 37) as f64 + 0.25)).collect();
    let part = |odd: u64| -> Vec<Value> { sent.iter().filter(|(seq, _, _)| seq % 2 == odd).map(|(seq, at, v)| check(*seq, *at, *v)).collect() };
    let (status, answer) = agent.send(&client, &server, part(0)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // The rollups are built past them, as a server running all along would have.
    let store = Store::open_configured(&store_config).await.unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    for _ in 0..100 {
        if store.roll_up(now_ms).await.unwrap() {
            break;
        }
    }
    assert!(store.rolled_up_until(HOUR).await.unwrap().unwrap() * 1000 >= start_ms + 2 * hour_ms);

    // The odd ones arrive late, into buckets already built.
    let (status, answer) = agent.send(&client, &server, part(1)).await;
    assert_eq!((status, answer["acknowledged"].as_u64()), (StatusCode::OK, Some(360)), "{answer}");
    for _ in 0..100 {
        if store.roll_up(chrono::Utc::now().timestamp_millis()).await.unwrap() {
            break;
        }
    }

    let retention = Retention { raw: 365 * DAY, minute: 365 * DAY, hour: 365 * DAY, event_log: 365 * DAY };
    for (step, source) in [(MINUTE, "1m"), (TEN_MINUTES, "10m"), (HOUR, "1h")] {
        let request = HistoryRequest { series: "probe:web@tokyo".into(), from_ms: start_ms, to_ms: start_ms + 2 * hour_ms, step_s: Some(step) };
        let history = store.history(&request, retention, now_ms).await.unwrap();
        assert_eq!(history.source, source, "{}", store.backend().name());
        assert_eq!(history.points.len() as i64, 2 * HOUR / step);
        for point in &history.points {
            let values: Vec<f64> = sent.iter().filter(|(_, at, _)| *at >= point.t && *at < point.t + step * 1000).map(|(_, _, v)| *v).collect();
            let stats = point.values["response_ms"];
            assert_eq!(stats.n as usize, values.len(), "{} {source} bucket at {}: the late half is in", store.backend().name(), point.t);
            assert_eq!(stats.min, values.iter().copied().fold(f64::MAX, f64::min));
            assert_eq!(stats.max, values.iter().copied().fold(f64::MIN, f64::max));
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            assert!((stats.mean - mean).abs() < 0.001, "{source} bucket at {}: {} vs {mean}", point.t, stats.mean);
        }
    }
    server.shutdown().await;
}
