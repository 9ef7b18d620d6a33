//! Alert benchmarks against a real netpulse process (`target/release/netpulse`):
//!
//! - `latency`: the time from publishing the deciding sample to the webhook
//!   request reaching a receiver on loopback, over many incidents;
//! - `cost`: the server's CPU with 1,000 rules over 200 series, against the
//!   same load with no rules, so the difference is the evaluator's.
//!
//! Prints one JSON object per measurement.

use std::{
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{body::Bytes, extract::State, routing::post, Router};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::{net::TcpListener, sync::Notify};

const TOKEN: &str = "alert-bench-token-0123";

/// When each webhook request arrived, and a wake-up for whoever waits for the next.
type Arrivals = (Arc<Mutex<Vec<Instant>>>, Arc<Notify>);

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Latency,
    Cost,
}

#[derive(Parser)]
struct Args {
    #[arg(value_enum)]
    mode: Mode,
    /// Incidents to time (latency).
    #[arg(long, default_value_t = 200)]
    incidents: usize,
    /// Seconds of load (cost).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Events a second (cost); each carries one sample of each of 10 fields.
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// The netpulse binary.
    #[arg(long, default_value = "target/release/netpulse")]
    netpulse: String,
}

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port()
}

async fn start_server(binary: &str, extra: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site/pkg");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("netpulse.js"), "").unwrap();
    std::fs::write(site.join("netpulse.wasm"), "").unwrap();
    let port = free_port().await;
    let config = dir.path().join("netpulse.toml");
    let topics: Vec<String> = (0..20).map(|t| format!("\"t{t}\"")).collect();
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\nsite_root = {:?}\npublish_token = \"{TOKEN}\"\ntopics = [{}]\n[speed]\nenabled = false\n{extra}",
            dir.path().join("data"),
            dir.path().join("site"),
            topics.join(", ")
        ),
    )
    .unwrap();
    let mut child = Command::new(binary).arg("--config").arg(&config).env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/api/status")).await.is_ok() {
            return Server { child, base, _dir: dir };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("netpulse did not start");
}

/// CPU seconds the process has used, from /proc (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

async fn latency(args: &Args) {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let arrived = Arc::new(Notify::new());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = listener.local_addr().unwrap();
    let app = Router::new()
        .route(
            "/hook",
            post(|State((arrivals, arrived)): State<Arrivals>, _body: Bytes| async move {
                arrivals.lock().unwrap().push(Instant::now());
                arrived.notify_one();
            }),
        )
        .with_state((arrivals.clone(), arrived.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let extra = format!(
        "[[notify]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://{hook}/hook\"\n\
         [[alert]]\nname = \"low\"\nseries = \"topic:t0\"\nfield = \"f0\"\ncondition = \"< 10\"\nnotify = [\"hook\"]\n"
    );
    let server = start_server(&args.netpulse, &extra).await;
    let client = reqwest::Client::new();
    let mut histogram = Histogram::<u64>::new(3).unwrap();
    for n in 0..args.incidents {
        // Alternately breach and recover: every sample decides a transition.
        let value = if n % 2 == 0 { 1 } else { 50 };
        let before = arrivals.lock().unwrap().len();
        let sent = Instant::now();
        let response = client.post(format!("{}/api/publish/t0", server.base)).bearer_auth(TOKEN).json(&json!({ "f0": value })).send().await.unwrap();
        assert_eq!(response.status(), 202);
        let wait = tokio::time::timeout(Duration::from_secs(10), async {
            while arrivals.lock().unwrap().len() <= before {
                arrived.notified().await;
            }
        });
        wait.await.expect("the webhook arrives within 10 s");
        let at = arrivals.lock().unwrap()[before];
        histogram.record(u64::try_from(at.duration_since(sent).as_micros()).unwrap()).unwrap();
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        json!({ "bench": "alert_latency", "notifications": histogram.len(), "p50_ms": ms(0.5), "p99_ms": ms(0.99), "max_ms": histogram.max() as f64 / 1000.0 })
    );
}

/// 1,000 rules: five on each of 200 series (20 topics × 10 fields), of varied aggregations.
fn thousand_rules() -> String {
    let aggregations = ["last", "3 of 5", "median 10m", "p95 5m", "mean 1m"];
    let mut text = String::new();
    for topic in 0..20 {
        for field in 0..10 {
            for (k, aggregate) in aggregations.iter().enumerate() {
                text.push_str(&format!(
                    "[[alert]]\nname = \"r{topic}-{field}-{k}\"\nseries = \"topic:t{topic}\"\nfield = \"f{field}\"\ncondition = \"< {}\"\naggregate = \"{aggregate}\"\n",
                    -1 - k as i64
                ));
            }
        }
    }
    text
}

async fn cost(args: &Args) {
    for (label, rules) in [("no rules", String::new()), ("1000 rules", thousand_rules())] {
        let server = start_server(&args.netpulse, &rules).await;
        let client = reqwest::Client::new();
        let pid = server.child.id();
        let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
        let total = args.rate * args.seconds;
        let cpu_before = cpu_seconds(pid);
        let started = Instant::now();
        let mut ticker = tokio::time::interval(interval);
        for n in 0..total {
            ticker.tick().await;
            let fields: serde_json::Map<String, serde_json::Value> = (0..10).map(|f| (format!("f{f}"), json!((n * 7 + f) % 100))).collect();
            let response = client.post(format!("{}/api/publish/t{}", server.base, n % 20)).bearer_auth(TOKEN).json(&fields).send().await.unwrap();
            assert_eq!(response.status(), 202);
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(pid) - cpu_before;
        println!(
            "{}",
            json!({ "bench": "alert_cost", "label": label, "events": total, "samples": total * 10, "seconds": elapsed, "cpu_seconds": cpu, "cpu_percent_of_one_core": 100.0 * cpu / elapsed })
        );
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    match args.mode {
        Mode::Latency => latency(&args).await,
        Mode::Cost => cost(&args).await,
    }
}
