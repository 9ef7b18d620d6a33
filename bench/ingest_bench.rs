//! Agent ingest benchmarks against a real netpulse process (`target/release/netpulse`):
//!
//! - `throughput`: many enrolled nodes send numbered check results in batches
//!   of a given size, each node one batch at a time as an agent does; prints
//!   the results stored a second; then the same rows written by Debian's
//!   `sqlite3` shell (same tables, pragmas and transaction size, one INSERT
//!   statement a row), the peer: SQLite alone, with no HTTP, JSON or fan-out;
//! - `latency`: real `netpulse agent` processes check a TCP listener on
//!   loopback every second; the time from each result's end on the agent to
//!   its event on the central server's SSE stream.
//!
//! Prints one JSON object per measurement.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use clap::{Parser, ValueEnum};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use netpulse::server::{
    auth::{access::Role, secrets},
    store::Store,
};
use reqwest::header;
use serde_json::{json, Value};
use tokio::net::TcpListener;

mod ingest_peer;

const PASSWORD: &str = "ingest bench password";

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Throughput,
    Latency,
}

#[derive(Parser)]
struct Args {
    #[arg(value_enum)]
    mode: Mode,
    /// Enrolled nodes sending at once.
    #[arg(long, default_value_t = 50)]
    agents: usize,
    /// Results per batch (throughput).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Results to send in all (throughput).
    #[arg(long, default_value_t = 200_000)]
    results: usize,
    /// Monitors each agent checks every second (latency).
    #[arg(long, default_value_t = 20)]
    monitors: usize,
    /// Seconds of results to time (latency).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The netpulse binary.
    #[arg(long, default_value = "target/release/netpulse")]
    netpulse: String,
    /// Pin the server to this CPU (`taskset -c`), away from the load.
    #[arg(long)]
    server_cpu: Option<usize>,
}

struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_server(args: &Args, extra: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site/pkg");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("netpulse.js"), "").unwrap();
    std::fs::write(site.join("netpulse.wasm"), "").unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data, 0).await.unwrap();
    store.add_user("ada", &secrets::hash_password(PASSWORD), Role::Admin, 0).await.unwrap();
    drop(store);
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let config = dir.path().join("netpulse.toml");
    let text = format!("listen = \"127.0.0.1:{port}\"\ndata_dir = {data:?}\nsite_root = {:?}\n[speed]\nenabled = false\n{extra}", dir.path().join("site"));
    std::fs::write(&config, text).unwrap();
    let mut command = match args.server_cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(&args.netpulse);
            command
        }
        None => Command::new(&args.netpulse),
    };
    let mut child = command.arg("--config").arg(&config).env("RUST_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{base}/api/status")).await.is_ok() {
            return Server { child, base, dir };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("netpulse did not start");
}

async fn admin_cookie(client: &reqwest::Client, server: &Server) -> String {
    let response = client.post(format!("{}/api/auth/login", server.base)).json(&json!({ "name": "ada", "password": PASSWORD })).send().await.unwrap();
    assert_eq!(response.status(), 204);
    response.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}

async fn join_token(client: &reqwest::Client, server: &Server, cookie: &str) -> String {
    let response = client.post(format!("{}/api/agents/join-tokens", server.base)).header(header::COOKIE, cookie).json(&json!({})).send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

/// Enrols `name` over the API; its credential.
async fn enrol(client: &reqwest::Client, server: &Server, cookie: &str, name: &str) -> String {
    let token = join_token(client, server, cookie).await;
    let body = json!({ "protocol": 1, "token": token, "name": name, "version": "bench" });
    let response = client.post(format!("{}/api/agent/join", server.base)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()["credential"].as_str().unwrap().to_owned()
}

/// One check result as an agent's outbox holds it.
fn result_json(seq: usize, monitor: usize, at_ms: i64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(at_ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let response_ms = (seq * 37 % 900) as f64 / 10.0;
    format!(
        r#"{{"seq":{seq},"kind":"probe","data":{{"monitor":"m{monitor}","url":"tcp://198.18.0.1:80","at":"{at}","up":true,"status_code":null,"response_ms":{response_ms},"error":null}}}}"#
    )
}

async fn throughput(args: &Args) {
    // The ten monitors the results name (a node reports only on the server's), checked hourly here.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let monitors: String = (0..10).map(|m| format!("[[monitor]]\nname = \"m{m}\"\ntcp = \"{closed}\"\ninterval = 3600\n")).collect();
    let server = start_server(args, &monitors).await;
    let client = reqwest::Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let per_agent = args.results / args.agents;
    let started_ms = chrono::Utc::now().timestamp_millis();
    // Each node's batches, serialised before the clock starts: the load should cost the server, not this process.
    let mut nodes = Vec::new();
    for agent in 0..args.agents {
        let credential = enrol(&client, &server, &cookie, &format!("n{agent}")).await;
        let results: Vec<String> = (1..=per_agent).map(|seq| result_json(seq, seq % 10, started_ms + seq as i64)).collect();
        let batches: Vec<String> = results.chunks(args.batch).map(|chunk| chunk.join(",")).collect();
        nodes.push((credential, batches));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (credential, batches) in nodes {
        let (client, url) = (client.clone(), format!("{}/api/agent/results", server.base));
        tasks.push(tokio::spawn(async move {
            let mut stored = 0;
            for batch in batches {
                let sent_ms = chrono::Utc::now().timestamp_millis();
                let body = format!(r#"{{"protocol":1,"sent_ms":{sent_ms},"backlog":0,"results":[{batch}]}}"#);
                let response = client.post(&url).bearer_auth(&credential).header(header::CONTENT_TYPE, "application/json").body(body).send().await.unwrap();
                assert_eq!(response.status(), 200);
                stored += response.json::<Value>().await.unwrap()["stored"].as_u64().unwrap();
            }
            stored
        }));
    }
    let mut stored = 0;
    for task in tasks {
        stored += task.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    let sent = per_agent * args.agents;
    assert_eq!(stored as usize, sent, "every result is stored once");
    let database = server.dir.path().join("data/netpulse.db");
    // One `up` sample a result, and every node's acknowledgement at its last number.
    let counted = ingest_peer::sqlite_count(
        &database,
        "SELECT count(*) FROM sample JOIN field ON field.id = sample.field_id WHERE field.series LIKE 'probe:m%@n%' AND field.name = 'up'",
    );
    assert_eq!(counted, sent, "history holds each result once");
    let acknowledged = ingest_peer::sqlite_count(&database, &format!("SELECT count(*) FROM agent_node WHERE acknowledged = {per_agent}"));
    assert_eq!(acknowledged, args.agents, "every node is acknowledged through its last number");
    println!(
        "{}",
        json!({ "bench": "ingest_throughput", "agents": args.agents, "batch": args.batch, "results": sent, "seconds": seconds, "results_per_second": sent as f64 / seconds })
    );
    drop(server);
    ingest_peer::sqlite_shell(args.batch, args.agents, sent, result_json);
}

async fn latency(args: &Args) {
    // Something for the agents' TCP checks to connect to.
    let target = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_address = target.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            if let Ok((socket, _)) = target.accept().await {
                drop(socket);
            }
        }
    });
    let monitors: String =
        (0..args.monitors).map(|m| format!("[[monitor]]\nname = \"m{m}\"\ntcp = \"{target_address}\"\ninterval = 1\n")).collect::<Vec<_>>().join("");
    let server = start_server(args, &monitors).await;
    let client = reqwest::Client::new();
    let cookie = admin_cookie(&client, &server).await;
    let mut agents = Vec::new();
    for agent in 0..args.agents {
        let token = join_token(&client, &server, &cookie).await;
        let dir = server.dir.path().join(format!("agent-{agent}"));
        let joined = Command::new(&args.netpulse)
            .args(["agent", "join", &server.base, &token, "--name", &format!("a{agent}")])
            .arg("--data-dir")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(joined.status.success(), "{}", String::from_utf8_lossy(&joined.stderr));
        let child = Command::new(&args.netpulse)
            .args(["agent", "run", "--data-dir"])
            .arg(&dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        agents.push(KillOnDrop(child));
    }
    let stream = client.get(format!("{}/api/events?topics=probe", server.base)).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut events = stream.bytes_stream().eventsource();
    let mut histogram = Histogram::<u64>::new(3).unwrap();
    // Skip the first 10 s: agents fetching their config and the first exchanges' clock estimates.
    let warm = Instant::now() + Duration::from_secs(10);
    let deadline = warm + Duration::from_secs(args.seconds);
    while Instant::now() < deadline {
        let Ok(Some(Ok(event))) = tokio::time::timeout(Duration::from_secs(5), events.next()).await else { panic!("the stream stalled") };
        let arrived_ms = chrono::Utc::now().timestamp_micros() as f64 / 1000.0;
        let Ok(data) = serde_json::from_str::<Value>(&event.data) else { continue };
        if data["node"].is_null() || Instant::now() < warm {
            continue;
        }
        let at = chrono::DateTime::parse_from_rfc3339(data["at"].as_str().unwrap()).unwrap().timestamp_millis() as f64;
        let done_ms = at + data["response_ms"].as_f64().unwrap_or(0.0);
        histogram.record(((arrived_ms - done_ms).max(0.0) * 1000.0) as u64).unwrap();
    }
    drop(agents);
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        json!({ "bench": "ingest_latency", "agents": args.agents, "monitors_per_agent": args.monitors, "results": histogram.len(), "p50_ms": ms(0.5), "p99_ms": ms(0.99), "max_ms": histogram.max() as f64 / 1000.0 })
    );
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    match args.mode {
        Mode::Throughput => throughput(&args).await,
        Mode::Latency => latency(&args).await,
    }
}
