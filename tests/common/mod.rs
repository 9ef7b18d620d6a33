//! Starts a real netpulse on 127.0.0.1:0 and reads its SSE stream with a real client.

#![allow(dead_code)]

pub mod agents;
pub mod alerting;
pub mod mesh;
pub mod netns;
pub mod receiver;
pub mod tls;

use std::{net::SocketAddr, time::Duration};

use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};
use netpulse::server::{
    config::{Config, TargetConfig},
    serve,
    speed::target::TargetKind,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// The history database's directory, removed when the server is dropped.
    pub data_dir: Option<tempfile::TempDir>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task).await.expect("server stops within 10 s").unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Where the sampler points.
pub enum Target {
    /// The server's own `/speedtest`.
    Itself,
    /// A port on loopback that nothing listens on.
    Refusing,
    /// The config's own targets, as the test set them.
    Configured,
}

/// The access rule that lets visitors read everything: most tests read as a
/// visitor would on a dashboard opened to the LAN.
pub const OPEN_READ: &str = "\n[[access]]\nwho = \"anonymous\"\nseries = \"*\"\nallow = \"read\"\n";

/// A config for fast tests: short transfers, the given overrides in TOML,
/// and reads open to visitors.
pub fn fast_config(extra_toml: &str) -> Config {
    secured_config(&format!("{extra_toml}\n{OPEN_READ}"))
}

/// As [`fast_config`], with access as netpulse's default: visitors see nothing.
pub fn secured_config(extra_toml: &str) -> Config {
    let text = format!("node = \"test-node\"\n{extra_toml}\n",);
    let mut config = Config::from_toml(&text).expect("test config parses");
    config.speed.duration = 0.6;
    config.speed.grace = 0.1;
    config.speed.streams = 2;
    config.speed.pings = 3;
    config.speed.timeout = 2.0;
    config
}

/// The databases a test runs on: `None` for the SQLite file, then a fresh
/// PostgreSQL database's URL when the test cluster can run.
pub async fn databases() -> Vec<Option<String>> {
    let mut databases = vec![None];
    if let Some(cluster) = netpulse::server::store::test_cluster::TestCluster::shared() {
        databases.push(Some(cluster.new_database().await.expect("a test database")));
    }
    databases
}

pub async fn start(config: Config, target: Target) -> TestServer {
    start_on("127.0.0.1:0", config, target).await
}

/// As [`start`], listening on `address` (say, an address in a test's own network namespace).
pub async fn start_on(address: &str, mut config: Config, target: Target) -> TestServer {
    let listener = TcpListener::bind(address).await.unwrap();
    let addr = listener.local_addr().unwrap();
    config.listen = addr;
    let url = match target {
        Target::Itself => Some(format!("http://{addr}/speedtest")),
        Target::Refusing => Some(format!("http://127.0.0.1:{}/speedtest", closed_port().await)),
        Target::Configured => None,
    };
    if let Some(url) = url {
        config.speed.targets = vec![TargetConfig { url, kind: Some(TargetKind::Netpulse), interval: None }];
    }
    // Each server gets its own database unless the test chose a directory.
    let data_dir = (config.data_dir == std::path::Path::new("data")).then(|| tempfile::tempdir().unwrap());
    if let Some(dir) = &data_dir {
        config.data_dir = dir.path().to_owned();
    }
    config.validate().expect("test config is valid");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve(listener, config, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    TestServer { addr, stop: Some(stop), task: Some(task), data_dir }
}

/// A site root with the files the binary checks for at start-up, for tests
/// that run the binary but never load the page in a browser.
pub fn built_site(dir: &std::path::Path) -> std::path::PathBuf {
    let site = dir.join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/netpulse.js"), "export default function init() {}\n").unwrap();
    std::fs::write(site.join("pkg/netpulse.wasm"), b"\0asm\x01\0\0\0").unwrap();
    site
}

/// Reads an HTTP request's head (through the blank line) from `stream`; what
/// it got if the client stopped first.
pub async fn read_request_head(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    head
}

/// A loopback port that was just free and is now closed.
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

pub struct OpenStream<S> {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub events: S,
}

pub async fn open_stream(url: &str, last_event_id: Option<&str>) -> OpenStream<impl Stream<Item = Event> + Unpin> {
    let mut request = reqwest::Client::new().get(url);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.expect("stream request succeeds");
    let (status, headers) = (response.status(), response.headers().clone());
    let events = response.bytes_stream().eventsource().map(|event| event.expect("well-formed SSE")).boxed();
    OpenStream { status, headers, events }
}

/// The next event of type `name`, within `within`.
pub async fn next_event(stream: &mut (impl Stream<Item = Event> + Unpin), name: &str, within: Duration) -> Event {
    tokio::time::timeout(within, async {
        loop {
            let event = stream.next().await.expect("stream stays open");
            if event.event == name {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name:?} event within {within:?}"))
}

/// A netpulse process of its own, so that it can be killed with SIGKILL.
pub fn spawn_netpulse(config: &std::path::Path) -> std::process::Child {
    use std::process::{Command, Stdio};
    Command::new(env!("CARGO_BIN_EXE_netpulse")).arg("--config").arg(config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

/// Waits (at most 10 s) until the netpulse at `base` answers `/api/status`.
pub async fn wait_until_up(base: &str) {
    for _ in 0..100 {
        if reqwest::get(format!("{base}/api/status")).await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("netpulse did not come up at {base}");
}
