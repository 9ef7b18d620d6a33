//! Speed tests against real local servers: a netpulse target, a target whose
//! rate is held steady, and the `netpulse measure` command.

mod common;

use std::{convert::Infallible, process::Command, time::Duration};

use axum::{body::Body, extract::Request, routing::get, Router};
use bytes::Bytes;
use common::{closed_port, fast_config, start, Target};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use netpulse::server::{
    speed::measure::{MeasureOptions, Measurer, Phase, Progress},
    speed::payload,
    speed::target::{SpeedTarget, TargetKind},
};
use tokio::{net::TcpListener, sync::watch, time::Instant};

fn options(duration: f64, budget_mb: Option<f64>, early_stop: bool) -> MeasureOptions {
    MeasureOptions {
        streams: 2,
        duration: Duration::from_secs_f64(duration),
        grace: Duration::from_millis(500),
        pings: 3,
        timeout: Duration::from_secs(2),
        budget: budget_mb.map(|mb| (mb * 1e6) as u64),
        early_stop,
    }
}

async fn netpulse_target() -> (common::TestServer, SpeedTarget) {
    let server = start(fast_config("[speed]\nenabled = false\n"), Target::Itself).await;
    let target = SpeedTarget::parse(&server.url("/speedtest"), TargetKind::Netpulse).unwrap();
    (server, target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measures_both_directions_and_latency_under_load() {
    let (server, target) = netpulse_target().await;
    let measurer = Measurer::new(Duration::from_secs(2), payload::random_block()).unwrap();
    let (progress, watcher) = watch::channel(Default::default());
    let result = measurer.measure(&target, &options(1.5, None, false), &progress).await;
    assert_eq!(result.error, None);
    assert!(result.download_mbps.unwrap() > 10.0 && result.upload_mbps.unwrap() > 10.0, "{result:?}");
    assert!(result.latency_ms.unwrap() > 0.0 && result.jitter_ms.is_some());
    assert!(result.latency_down_ms.unwrap() > 0.0 && result.latency_up_ms.unwrap() > 0.0, "loaded latency: {result:?}");
    assert!(result.bytes_down > 1_000_000 && result.bytes_up > 1_000_000);
    assert!(watcher.borrow().bytes > 0, "progress was reported");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloudflare_kind_measures_against_netpulses_own_down_and_up() {
    let server = start(fast_config("[speed]\nenabled = false\n"), Target::Itself).await;
    // The kind the default public target uses, here against `__down?bytes=` and `__up` on loopback.
    let target = SpeedTarget::parse(&server.url("/speedtest"), TargetKind::Cloudflare).unwrap();
    assert!(target.download_url(1000).as_str().ends_with("/speedtest/__down?bytes=1000"), "{}", target.download_url(1000));
    let measurer = Measurer::new(Duration::from_secs(2), payload::random_block()).unwrap();
    let (progress, _watcher) = watch::channel(Default::default());
    let result = measurer.measure(&target, &options(1.5, None, false), &progress).await;
    assert_eq!(result.error, None);
    assert!(result.download_mbps.unwrap() > 10.0 && result.upload_mbps.unwrap() > 10.0, "{result:?}");
    assert!(result.latency_ms.unwrap() > 0.0, "{result:?}");
    assert!(result.bytes_down > 1_000_000 && result.bytes_up > 1_000_000, "{result:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_budget_caps_what_a_test_moves() {
    let (server, target) = netpulse_target().await;
    let measurer = Measurer::new(Duration::from_secs(2), payload::random_block()).unwrap();
    let (progress, _) = watch::channel(Default::default());
    let started = Instant::now();
    let result = measurer.measure(&target, &options(20.0, Some(40.0), false), &progress).await;
    assert_eq!(result.error, None);
    let moved = result.bytes_down + result.bytes_up;
    // Each stream may finish the piece it was on: at most a MiB over in all.
    assert!(moved <= 40_000_000 + (1 << 20), "moved {moved} bytes against a 40 MB budget: {result:?}");
    assert!(result.bytes_down >= 19_000_000 && result.bytes_up >= 19_000_000, "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(15), "stopped by the budget, not the 20 s cap");
    server.shutdown().await;
}

/// Serves `/speedtest/garbage` at a steady 64 KiB per 10 ms (about 52 Mbit/s)
/// and answers `/speedtest/empty` at once.
async fn steady_target() -> (SpeedTarget, tokio::task::JoinHandle<()>) {
    let block = payload::random_block();
    let app = Router::new()
        .route(
            "/speedtest/empty",
            get(|| async { "" }).post(|request: Request| async move {
                let _ = request.into_body().collect().await;
                ""
            }),
        )
        .route(
            "/speedtest/garbage",
            get(move || {
                let piece = block.slice(0..64 * 1024);
                async move {
                    let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(Duration::from_millis(10)));
                    Body::from_stream(ticks.take(3000).map(move |_| Ok::<Bytes, Infallible>(piece.clone())))
                }
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/speedtest", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (SpeedTarget::parse(&url, TargetKind::Netpulse).unwrap(), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_rate_stops_the_download_early_and_reads_true() {
    let (target, server) = steady_target().await;
    let measurer = Measurer::new(Duration::from_secs(2), payload::random_block()).unwrap();
    let (progress, mut watcher) = watch::channel(Progress::default());
    let phases = tokio::spawn(async move {
        let mut download_ended = None;
        let started = Instant::now();
        while watcher.changed().await.is_ok() {
            if watcher.borrow().phase == Phase::Upload && download_ended.is_none() {
                download_ended = Some(started.elapsed());
            }
        }
        download_ended
    });
    let result = measurer.measure(&target, &options(10.0, None, true), &progress).await;
    drop(progress);
    let download_took = phases.await.unwrap().expect("the upload phase began");
    // Two streams, each held to 64 KiB per 10 ms.
    let expected = 2.0 * 64.0 * 1024.0 * 8.0 * 100.0 / 1e6;
    let download = result.download_mbps.unwrap();
    assert!((download - expected).abs() / expected < 0.1, "{download} Mbit/s against a steady {expected:.1}");
    assert!(download_took < Duration::from_secs(7), "stopped once stable, after {download_took:?} of a 10 s cap");
    server.abort();
}

fn netpulse_measure(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_netpulse")).arg("measure").args(args).output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_measure_command_prints_json_and_exits_by_outcome() {
    let (server, _) = netpulse_target().await;
    let url = server.url("/speedtest");
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || netpulse_measure(&["--target", &url, "--json", "--duration", "2", "--streams", "2"])).await.unwrap();
    assert_eq!(code, 0, "stderr: {stderr}");
    let sample: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert!(sample["download_mbps"].as_f64().unwrap() > 0.0 && sample["upload_mbps"].as_f64().unwrap() > 0.0, "{sample}");
    assert!(sample["latency_down_ms"].as_f64().is_some());
    assert_eq!(sample["error"], serde_json::Value::Null);

    let url = server.url("/speedtest");
    let (code, stdout, _) = tokio::task::spawn_blocking(move || netpulse_measure(&["--target", &url, "--duration", "2"])).await.unwrap();
    assert_eq!(code, 0);
    assert!(stdout.contains("download") && stdout.contains("Mbit/s"), "{stdout}");
    server.shutdown().await;

    let refused = format!("http://127.0.0.1:{}/speedtest", closed_port().await);
    let (code, stdout, stderr) = netpulse_measure(&["--target", &refused, "--json"]);
    assert_eq!(code, 1, "a target that is down: {stderr}");
    assert!(stderr.contains("connection refused"), "{stderr}");
    let sample: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(sample["download_mbps"], serde_json::Value::Null);

    for bad in [vec!["--target", "ftp://127.0.0.1/x"], vec!["--target", "http://127.0.0.1:1/", "--kind", "ookla"], vec!["--json"]] {
        let (code, _, stderr) = netpulse_measure(&bad);
        assert_eq!(code, 2, "{bad:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    }
}
