//! sse-load: opens N SSE subscribers (spread over several loopback source
//! addresses) and one publisher at R events/s, then reports connections,
//! delivery, loss, latency percentiles and the server's RSS per connection.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use clap::Parser;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(name = "sse-load", about = "SSE fan-out load generator for netpulse, nchan and Flask-SSE")]
struct Args {
    /// Name of the system under test, for the report.
    #[arg(long)]
    label: String,
    #[arg(long)]
    subscribe_url: String,
    #[arg(long)]
    publish_url: String,
    /// Extra publish header, "Name: value"; repeatable.
    #[arg(long = "publish-header")]
    publish_headers: Vec<String>,
    /// A header every subscriber sends, "Name: value" (a bearer token, say).
    #[arg(long = "subscribe-header")]
    subscribe_header: Option<String>,
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Events per second during the measurement; 0 measures idle connections only.
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// Seconds of measurement.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Approximate event body size in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Source addresses 127.0.0.2 up to 127.0.0.(1+N).
    #[arg(long, default_value_t = 40)]
    sources: u8,
    /// Server processes whose RSS is summed; repeatable.
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,
    /// Seconds to wait for every subscriber to connect.
    #[arg(long, default_value_t = 60.0)]
    connect_timeout: f64,
    /// Raw subscribers: a plain socket and a GET, whose reads are only scanned
    /// for each event's numbers, so that the load core never bounds what is measured.
    #[arg(long)]
    raw: bool,
    /// Skip the warm-up events, for servers that send their response headers at once;
    /// the idle memory is then measured before any subscriber got an event.
    #[arg(long)]
    no_warmup: bool,
}

#[derive(Default)]
struct Shared {
    connected: AtomicUsize,
    failed: AtomicUsize,
    delivered: AtomicU64,
    /// Subscribers whose stream ended before the end of the run.
    ended_early: AtomicUsize,
    /// Events with a sequence number below this are warm-up and not counted.
    measure_from_seq: AtomicU64,
    stop: CancellationToken,
}

fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// CPU seconds (user and system) the server processes have used so far.
fn cpu_secs(pids: &[u32]) -> f64 {
    // Clock ticks are 100 a second on Linux.
    let ticks = |stat: String| -> Option<u64> {
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    };
    pids.iter().filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()).filter_map(ticks).sum::<u64>() as f64 / 100.0
}

fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .sum()
}

async fn subscriber(client: reqwest::Client, url: String, shared: Arc<Shared>, connect_gate: Arc<Semaphore>, connect_timeout: Duration) -> Histogram<u64> {
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds");
    let permit = tokio::select! {
        _ = shared.stop.cancelled() => return latencies,
        permit = connect_gate.acquire_owned() => permit.expect("gate open"),
    };
    let request = client.get(&url).header("Accept", "text/event-stream").send();
    let response = match tokio::time::timeout(connect_timeout, request).await {
        Ok(Ok(r)) if r.status().is_success() => r,
        _ => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            return latencies;
        }
    };
    shared.connected.fetch_add(1, Ordering::Relaxed);
    drop(permit);
    let mut events = response.bytes_stream().eventsource();
    loop {
        let event = tokio::select! {
            _ = shared.stop.cancelled() => return latencies,
            event = events.next() => event,
        };
        let Some(Ok(event)) = event else { break };
        let Ok(body) = serde_json::from_str::<Value>(&event.data) else { continue };
        let (Some(seq), Some(sent)) = (body["seq"].as_u64(), body["sent_us"].as_u64()) else { continue };
        if seq >= shared.measure_from_seq.load(Ordering::Relaxed) {
            let _ = latencies.record(now_us().saturating_sub(sent).max(1));
            shared.delivered.fetch_add(1, Ordering::Relaxed);
        }
    }
    shared.ended_early.fetch_add(1, Ordering::Relaxed);
    latencies
}

/// The digits after `key` at `at` in `buffer`, if all of them are there.
fn number_after(buffer: &[u8], at: usize, key: &[u8]) -> Option<u64> {
    let digits = &buffer[at + key.len()..];
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// A subscriber that does the least a client can: it reads the socket and
/// finds each event's `"seq":` and `"sent_us":` numbers without parsing SSE.
async fn raw_subscriber(
    source: IpAddr,
    url: reqwest::Url,
    extra_header: Arc<str>,
    shared: Arc<Shared>,
    connect_gate: Arc<Semaphore>,
    connect_timeout: Duration,
) -> Histogram<u64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds");
    let permit = tokio::select! {
        _ = shared.stop.cancelled() => return latencies,
        permit = connect_gate.acquire_owned() => permit.expect("gate open"),
    };
    let connect = async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(std::net::SocketAddr::new(source, 0))?;
        let address = url.socket_addrs(|| None)?.into_iter().next().ok_or(std::io::ErrorKind::NotFound)?;
        let mut stream = socket.connect(address).await?;
        let path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let host = url.host_str().unwrap_or_default();
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n{extra_header}\r\n").as_bytes()).await?;
        Ok::<_, std::io::Error>(stream)
    };
    let Ok(Ok(mut stream)) = tokio::time::timeout(connect_timeout, connect).await else {
        shared.failed.fetch_add(1, Ordering::Relaxed);
        return latencies;
    };
    let mut permit = Some(permit);
    let mut buffer = vec![0u8; 16 * 1024];
    let mut filled = 0;
    let mut headers_seen = false;
    loop {
        let read = tokio::select! {
            _ = shared.stop.cancelled() => return latencies,
            read = stream.read(&mut buffer[filled..]) => read,
        };
        let Ok(n) = read else { break };
        if n == 0 {
            break;
        }
        filled += n;
        let now = now_us();
        let mut consumed = 0;
        if !headers_seen {
            let Some(end) = buffer[..filled].windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            headers_seen = true;
            consumed = end + 4;
            // A refusal (401, 429) is a failed subscriber, not a quiet one.
            if !buffer.starts_with(b"HTTP/1.1 200") {
                shared.failed.fetch_add(1, Ordering::Relaxed);
                return latencies;
            }
            shared.connected.fetch_add(1, Ordering::Relaxed);
            drop(permit.take());
        }
        // Each event ends with its blank line; a partial one waits for the next read.
        while let Some(end) = buffer[consumed..filled].windows(2).position(|w| w == b"\n\n") {
            let frame = &buffer[consumed..consumed + end];
            let find = |key: &[u8]| frame.windows(key.len()).position(|w| w == key).and_then(|at| number_after(frame, at, key));
            if let (Some(seq), Some(sent)) = (find(b"\"seq\":"), find(b"\"sent_us\":")) {
                if seq >= shared.measure_from_seq.load(Ordering::Relaxed) {
                    let _ = latencies.record(now.saturating_sub(sent).max(1));
                    shared.delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
            consumed += end + 2;
        }
        buffer.copy_within(consumed..filled, 0);
        filled -= consumed;
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
    }
    shared.ended_early.fetch_add(1, Ordering::Relaxed);
    latencies
}

struct Publisher {
    client: reqwest::Client,
    url: String,
    headers: reqwest::header::HeaderMap,
    pad: String,
}

impl Publisher {
    async fn send(&self, seq: u64) -> bool {
        let body = json!({"seq": seq, "sent_us": now_us(), "pad": self.pad}).to_string();
        let request = self.client.post(&self.url).headers(self.headers.clone()).header("Content-Type", "application/json").body(body);
        matches!(request.send().await, Ok(r) if r.status().is_success())
    }
}

/// Each subscriber is a socket; the soft limit is often far below the hard one.
fn raise_open_file_limit() {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let shared = Arc::new(Shared { measure_from_seq: AtomicU64::new(u64::MAX), ..Shared::default() });
    raise_open_file_limit();
    let mut headers = reqwest::header::HeaderMap::new();
    for line in &args.publish_headers {
        let (name, value) = line.split_once(':').expect("--publish-header takes 'Name: value'");
        headers.insert(reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).expect("header name"), value.trim().parse().expect("header value"));
    }
    let overhead = json!({"seq": 0u64, "sent_us": now_us(), "pad": ""}).to_string().len();
    // A saturated server must slow the publisher down, not stop the run.
    let publish_client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let publisher = Publisher { client: publish_client, url: args.publish_url.clone(), headers, pad: "x".repeat(args.size.saturating_sub(overhead)) };

    let rss_before = rss_kib(&args.server_pids);
    let mut subscribe_headers = reqwest::header::HeaderMap::new();
    let mut raw_header = String::new();
    if let Some((name, value)) = args.subscribe_header.as_deref().and_then(|line| line.split_once(':')) {
        subscribe_headers
            .insert(reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).expect("header name"), value.trim().parse().expect("header value"));
        raw_header = format!("{}: {}\r\n", name.trim(), value.trim());
    }
    let raw_header: Arc<str> = raw_header.into();
    let clients: Vec<reqwest::Client> = (0..args.sources.max(1))
        .map(|i| {
            let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i));
            reqwest::Client::builder().local_address(source).http1_only().default_headers(subscribe_headers.clone()).build().expect("client")
        })
        .collect();
    let gate = Arc::new(Semaphore::new(256));
    let connect_timeout = Duration::from_secs_f64(args.connect_timeout);
    let subscribe_url = reqwest::Url::parse(&args.subscribe_url).expect("--subscribe-url is a URL");
    let tasks: Vec<_> = (0..args.subscribers)
        .map(|i| {
            if args.raw {
                let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(args.sources.max(1))) as u8));
                tokio::spawn(raw_subscriber(source, subscribe_url.clone(), raw_header.clone(), shared.clone(), gate.clone(), connect_timeout))
            } else {
                let client = clients[i % clients.len()].clone();
                tokio::spawn(subscriber(client, args.subscribe_url.clone(), shared.clone(), gate.clone(), connect_timeout))
            }
        })
        .collect();

    // Some servers (gunicorn) hold response headers until the first event: warm-up events flush them.
    let connect_started = Instant::now();
    let mut warmup_seq = 0;
    while shared.connected.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed) < args.subscribers
        && connect_started.elapsed().as_secs_f64() < args.connect_timeout
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if !args.no_warmup {
            publisher.send(warmup_seq).await;
            warmup_seq += 1;
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connected = shared.connected.load(Ordering::Relaxed);
    let rss_connected = rss_kib(&args.server_pids);

    // Measurement: numbered events from a fresh range.
    let first_seq = 1_000_000;
    shared.measure_from_seq.store(first_seq, Ordering::Relaxed);
    let mut published = 0u64;
    let mut publish_failures = 0u64;
    let measure_started = Instant::now();
    let cpu_before = cpu_secs(&args.server_pids);
    if args.rate > 0.0 {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let total = (args.rate * args.duration).round() as u64;
        for n in 0..total {
            ticker.tick().await;
            if publisher.send(first_seq + n).await {
                published += 1;
            } else {
                publish_failures += 1;
            }
        }
    } else {
        tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    }
    let publish_secs = measure_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let server_cpu = cpu_secs(&args.server_pids) - cpu_before;
    let rss_end = rss_kib(&args.server_pids);
    let delivered = shared.delivered.load(Ordering::Relaxed);
    let ended_early = shared.ended_early.load(Ordering::Relaxed);
    shared.stop.cancel();
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds");
    // Subscribers still stuck connecting are abandoned after this.
    let collect_until = tokio::time::Instant::now() + Duration::from_secs(10);
    for task in tasks {
        let abort = task.abort_handle();
        match tokio::time::timeout_at(collect_until, task).await {
            Ok(Ok(histogram)) => latencies.add(histogram).expect("same bounds"),
            _ => abort.abort(),
        }
    }
    let expected = published * connected as u64;
    let per_connection = |rss: u64| if connected > 0 { ((rss.saturating_sub(rss_before)) as f64 / connected as f64 * 10.0).round() / 10.0 } else { 0.0 };
    let ms = |us: u64| (us as f64 / 10.0).round() / 100.0;
    let report = json!({
        "label": args.label,
        "subscribers": args.subscribers,
        "connected": connected,
        "failed": shared.failed.load(Ordering::Relaxed),
        "ended_early": ended_early,
        "connect_secs": (connect_secs * 10.0).round() / 10.0,
        "rate": args.rate,
        "published": published,
        "publish_failures": publish_failures,
        "publish_secs": (publish_secs * 100.0).round() / 100.0,
        "delivered": delivered,
        "lost": expected.saturating_sub(delivered),
        "latency_p50_ms": ms(latencies.value_at_quantile(0.50)),
        "latency_p99_ms": ms(latencies.value_at_quantile(0.99)),
        "latency_max_ms": ms(latencies.max()),
        "rss_before_kib": rss_before,
        // Server CPU for the measured events (and the 3 s after), per million deliveries.
        "server_cpu_secs": (server_cpu * 100.0).round() / 100.0,
        "server_cpu_secs_per_million": if delivered > 0 { (server_cpu / delivered as f64 * 1e6 * 100.0).round() / 100.0 } else { 0.0 },
        "rss_connected_kib": rss_connected,
        "rss_end_kib": rss_end,
        "rss_per_connection_kib": per_connection(rss_connected),
        // After the measured events: buffers grown by carrying them stay with each connection.
        "rss_per_connection_after_events_kib": per_connection(rss_end),
        "raw_clients": args.raw,
        "warmup_events": warmup_seq,
    });
    println!("{report}");
}
