//! One speed test against one target: round trips for latency and jitter, then a
//! timed multi-stream download, then a timed multi-stream upload.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use futures_util::{Future, StreamExt};
use reqwest::{Client, Url};
use tokio::{task::JoinSet, time::Instant};

use crate::server::{config::SpeedConfig, payload, stats, target::{SpeedTarget, TargetKind}};

/// How a test is run; see `docs/MEASUREMENT.md` for why these defaults.
#[derive(Clone, Debug)]
pub struct MeasureOptions {
    pub streams: usize,
    pub duration: Duration,
    pub grace: Duration,
    pub pings: usize,
    pub timeout: Duration,
}

impl From<&SpeedConfig> for MeasureOptions {
    fn from(config: &SpeedConfig) -> Self {
        Self {
            streams: config.streams,
            duration: Duration::from_secs_f64(config.duration),
            grace: Duration::from_secs_f64(config.grace),
            pings: config.pings,
            timeout: Duration::from_secs_f64(config.timeout),
        }
    }
}

/// The figures of one test; `None` where a phase did not run or failed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measurement {
    pub download_mbps: Option<f64>,
    pub upload_mbps: Option<f64>,
    pub latency_ms: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub bytes_down: u64,
    pub bytes_up: u64,
    pub error: Option<String>,
}

/// A client for measuring: HTTP/1.1 only, so every stream is its own TCP
/// connection rather than one multiplexed HTTP/2 connection.
pub fn measurement_client(timeout: Duration) -> reqwest::Result<Client> {
    Client::builder()
        .http1_only()
        .connect_timeout(timeout)
        .pool_max_idle_per_host(64)
        .user_agent(concat!("netpulse/", env!("CARGO_PKG_VERSION")))
        .build()
}

pub async fn measure(client: &Client, target: &SpeedTarget, options: &MeasureOptions, block: &Bytes) -> Measurement {
    let mut result = Measurement::default();
    match ping(client, target.ping_url(), options).await {
        Ok(rtts) => {
            result.latency_ms = stats::median(&rtts).map(stats::round3);
            result.jitter_ms = stats::jitter(&rtts).map(stats::round3);
        }
        Err(reason) => {
            // Nothing answers: the transfers would only fail the same way, slower.
            result.error = Some(reason);
            return result;
        }
    }
    let mut errors = Vec::new();

    let download_url = target.download_url(download_request_bytes(target.kind));
    let down = run_phase(options, |counter, deadline| download_stream(client.clone(), download_url.clone(), counter, deadline, options.timeout)).await;
    result.download_mbps = down.mbps.map(stats::round3);
    result.bytes_down = down.bytes;
    errors.extend(down.error.map(|e| format!("download: {e}")));

    let upload_url = target.upload_url();
    let upload_bytes = upload_request_bytes(target.kind);
    let up = run_phase(options, |counter, deadline| upload_stream(client.clone(), upload_url.clone(), block.clone(), upload_bytes, counter, deadline, options.timeout)).await;
    result.upload_mbps = up.mbps.map(stats::round3);
    result.bytes_up = up.bytes;
    errors.extend(up.error.map(|e| format!("upload: {e}")));

    if !errors.is_empty() {
        result.error = Some(errors.join("; "));
    }
    result
}

fn download_request_bytes(kind: TargetKind) -> u64 {
    match kind {
        TargetKind::Netpulse | TargetKind::Librespeed => 100 << 20,
        TargetKind::Cloudflare => 25_000_000,
    }
}

fn upload_request_bytes(kind: TargetKind) -> u64 {
    match kind {
        TargetKind::Netpulse | TargetKind::Librespeed => 32 << 20,
        TargetKind::Cloudflare => 25_000_000,
    }
}

/// Round-trip times in ms on a warm connection; the first request only opens it.
async fn ping(client: &Client, url: Url, options: &MeasureOptions) -> Result<Vec<f64>, String> {
    let mut rtts = Vec::with_capacity(options.pings);
    for round in 0..=options.pings {
        let rtt = round_trip(client, &url, options.timeout).await?;
        if round > 0 {
            rtts.push(rtt.as_secs_f64() * 1000.0);
        }
    }
    Ok(rtts)
}

/// One request whose response has no body, timed to the end of the response.
pub async fn round_trip(client: &Client, url: &Url, timeout: Duration) -> Result<Duration, String> {
    let started = Instant::now();
    let exchange = async {
        let response = client.get(url.clone()).send().await?;
        let status = response.status();
        response.bytes().await?;
        Ok::<_, reqwest::Error>(status)
    };
    let status = bounded(timeout, exchange).await?;
    if !status.is_success() {
        return Err(format!("unexpected status {} from {url}", status.as_u16()));
    }
    Ok(started.elapsed())
}

struct PhaseResult {
    bytes: u64,
    mbps: Option<f64>,
    error: Option<String>,
}

/// Runs `streams` copies of one transfer until the deadline and reports the
/// rate over the time after the grace period.
async fn run_phase<F, Fut>(options: &MeasureOptions, start_stream: F) -> PhaseResult
where
    F: Fn(Arc<AtomicU64>, Instant) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + options.duration;
    let mut streams = JoinSet::new();
    for _ in 0..options.streams {
        streams.spawn(start_stream(counter.clone(), deadline));
    }
    let mut first_error = None;
    wait_until(&mut streams, started + options.grace, &mut first_error).await;
    let (counted_from, bytes_at_grace) = (Instant::now(), counter.load(Ordering::Relaxed));
    wait_until(&mut streams, deadline, &mut first_error).await;
    let (counted_to, bytes_total) = (Instant::now(), counter.load(Ordering::Relaxed));
    streams.abort_all();

    let counted = bytes_total - bytes_at_grace;
    let mbps = if counted > 0 { stats::mbps(counted, counted_to - counted_from) } else { None };
    let error = match (mbps, first_error) {
        (None, Some(error)) => Some(error),
        (None, None) => Some("no data was transferred after the warm-up".to_owned()),
        // Some streams failed but data flowed: the figure stands, the error is noted.
        (Some(_), error) => error,
    };
    PhaseResult { bytes: bytes_total, mbps, error }
}

/// Waits for `until`, collecting the first stream error; returns early once every stream has ended.
async fn wait_until(streams: &mut JoinSet<Result<(), String>>, until: Instant, first_error: &mut Option<String>) {
    let timer = tokio::time::sleep_until(until);
    tokio::pin!(timer);
    while !streams.is_empty() {
        tokio::select! {
            _ = &mut timer => return,
            Some(joined) = streams.join_next() => {
                if let Ok(Err(error)) = joined {
                    first_error.get_or_insert(error);
                }
            }
        }
    }
}

async fn download_stream(client: Client, url: Url, counter: Arc<AtomicU64>, deadline: Instant, timeout: Duration) -> Result<(), String> {
    while Instant::now() < deadline {
        let Some(sent) = before(deadline, bounded(timeout, client.get(url.clone()).send())).await else { return Ok(()) };
        let mut response = sent?;
        if !response.status().is_success() {
            return Err(format!("unexpected status {} from {url}", response.status().as_u16()));
        }
        loop {
            match before(deadline, response.chunk()).await {
                None => return Ok(()),
                Some(Ok(Some(chunk))) => {
                    counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
                Some(Ok(None)) => break,
                Some(Err(err)) => return Err(describe_request_error(&err, timeout)),
            }
        }
    }
    Ok(())
}

async fn upload_stream(client: Client, url: Url, block: Bytes, request_bytes: u64, counter: Arc<AtomicU64>, deadline: Instant, timeout: Duration) -> Result<(), String> {
    while Instant::now() < deadline {
        let counter = counter.clone();
        // Counted as hyper takes each piece for the socket.
        let pieces = futures_util::stream::iter(payload::slices(&block, request_bytes, 64 * 1024)).map(move |piece| {
            counter.fetch_add(piece.len() as u64, Ordering::Relaxed);
            Ok::<_, std::io::Error>(piece)
        });
        let request = client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, request_bytes)
            .body(reqwest::Body::wrap_stream(pieces))
            .send();
        let Some(sent) = before(deadline, request).await else { return Ok(()) };
        let response = sent.map_err(|err| describe_request_error(&err, timeout))?;
        if !response.status().is_success() {
            return Err(format!("unexpected status {} from {url}", response.status().as_u16()));
        }
    }
    Ok(())
}

/// `None` when the deadline came first.
async fn before<T>(deadline: Instant, work: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(deadline, work).await.ok()
}

async fn bounded<T>(timeout: Duration, work: impl Future<Output = reqwest::Result<T>>) -> Result<T, String> {
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result.map_err(|err| describe_request_error(&err, timeout)),
        Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
    }
}

/// A one-line reason a person can act on: refused, DNS, TLS, timeout or reset.
pub fn describe_request_error(err: &reqwest::Error, timeout: Duration) -> String {
    let host = err.url().and_then(|u| u.host_str().map(|h| match u.port() {
        Some(port) => format!("{h}:{port}"),
        None => h.to_owned(),
    }));
    let at = host.map(|h| format!(" ({h})")).unwrap_or_default();
    if err.is_timeout() {
        return format!("timed out after {} ms{at}", timeout.as_millis());
    }
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return format!("connection refused{at}"),
                std::io::ErrorKind::ConnectionReset => return format!("connection reset{at}"),
                std::io::ErrorKind::TimedOut => return format!("timed out after {} ms{at}", timeout.as_millis()),
                _ => {}
            }
        }
        chain.push(current.to_string());
        source = current.source();
    }
    let text = chain.join(": ").to_lowercase();
    if text.contains("dns error") || text.contains("failed to lookup") {
        format!("DNS lookup failed{at}")
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        format!("TLS failure{at}: {}", chain.last().map(String::as_str).unwrap_or("handshake failed"))
    } else {
        format!("{}{at}", chain.last().map(String::as_str).unwrap_or("request failed"))
    }
}
