//! One speed test against one target: round trips for latency and jitter, then
//! a multi-stream download and upload, each timing round trips under load.
//! The method and its defaults are explained in `docs/MEASUREMENT.md`.

mod phase;
pub mod rate;
mod request_error;
mod streams;
mod upload;

use std::time::Duration;

use bytes::Bytes;
use reqwest::{Client, Url};
use tokio::{sync::watch, time::Instant};

use crate::server::{
    config::SpeedConfig,
    speed::stats,
    speed::target::{SpeedTarget, TargetKind},
};
use phase::PhaseRun;
pub use request_error::{bounded, describe_request_error};

/// How a test is run.
#[derive(Clone, Debug)]
pub struct MeasureOptions {
    pub streams: usize,
    /// The cap on each direction, warm-up included.
    pub duration: Duration,
    pub grace: Duration,
    pub pings: usize,
    pub timeout: Duration,
    /// Bytes one test may move, both directions together; `None` for no cap.
    pub budget: Option<u64>,
    /// Stop a direction once its rate is stable instead of running to `duration`.
    pub early_stop: bool,
}

impl From<&SpeedConfig> for MeasureOptions {
    fn from(config: &SpeedConfig) -> Self {
        Self {
            streams: config.streams,
            duration: Duration::from_secs_f64(config.duration),
            grace: Duration::from_secs_f64(config.grace),
            pings: config.pings,
            timeout: Duration::from_secs_f64(config.timeout),
            budget: (config.budget_mb > 0.0).then_some((config.budget_mb * 1e6) as u64),
            early_stop: config.early_stop,
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
    pub latency_down_ms: Option<f64>,
    pub latency_up_ms: Option<f64>,
    pub bytes_down: u64,
    pub bytes_up: u64,
    pub error: Option<String>,
}

/// Where a running test is, for a progress display.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Phase {
    #[default]
    Latency,
    Download,
    Upload,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    /// The rate counted so far in this phase.
    pub mbps: Option<f64>,
    pub bytes: u64,
}

/// A client for measuring: HTTP/1.1 only, so every stream is its own TCP
/// connection rather than one multiplexed HTTP/2 connection.
pub fn measurement_client(timeout: Duration, idle_per_host: usize) -> reqwest::Result<Client> {
    Client::builder()
        .http1_only()
        // Direct, like the uploads: a test through an HTTP proxy would measure the proxy.
        .no_proxy()
        .connect_timeout(timeout)
        .pool_max_idle_per_host(idle_per_host)
        .user_agent(concat!("netpulse/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Runs speed tests; holds the connections and the upload block between tests.
#[derive(Clone)]
pub struct Measurer {
    transfer: Client,
    /// Round trips get their own connection, so they never queue behind a transfer's requests.
    ping: Client,
    block: Bytes,
    /// Uploads make their own connections, to count what the peer acknowledged.
    upload_tls: tokio_rustls::TlsConnector,
}

impl Measurer {
    pub fn new(timeout: Duration, block: Bytes) -> reqwest::Result<Self> {
        Ok(Self { transfer: measurement_client(timeout, 64)?, ping: measurement_client(timeout, 1)?, block, upload_tls: upload::tls_connector() })
    }

    /// One test. Never fails: a target that is down gives an `error` and no figures.
    pub async fn measure(&self, target: &SpeedTarget, options: &MeasureOptions, progress: &watch::Sender<Progress>) -> Measurement {
        let mut result = Measurement::default();
        progress.send_replace(Progress::default());
        match ping(&self.ping, target.ping_url(), options).await {
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
        let budget = options.budget.unwrap_or(u64::MAX);
        let mut errors = Vec::new();

        let download_bytes = request_bytes(download_request_max(target.kind), budget / 2, options.streams);
        // The download may use half the budget; the upload gets what is left.
        let down = self
            .phase(Phase::Download, target, options, budget / 2, progress)
            .run(|meter, stop| streams::download(self.transfer.clone(), target.clone(), download_bytes, meter, stop, options.timeout))
            .await;
        result.download_mbps = down.mbps.map(stats::round3);
        result.latency_down_ms = down.loaded_latency_ms.map(stats::round3);
        result.bytes_down = down.bytes;
        errors.extend(down.error.map(|e| format!("download: {e}")));

        let upload_url = target.upload_url();
        let upload_bytes = request_bytes(upload_request_max(target.kind), budget.saturating_sub(down.bytes), options.streams);
        let up = self
            .phase(Phase::Upload, target, options, budget.saturating_sub(down.bytes), progress)
            .run(|meter, stop| upload::upload(self.upload_tls.clone(), upload_url.clone(), self.block.clone(), upload_bytes, meter, stop, options.timeout))
            .await;
        result.upload_mbps = up.mbps.map(stats::round3);
        result.latency_up_ms = up.loaded_latency_ms.map(stats::round3);
        result.bytes_up = up.bytes;
        errors.extend(up.error.map(|e| format!("upload: {e}")));

        if !errors.is_empty() {
            result.error = Some(errors.join("; "));
        }
        result
    }

    fn phase<'a>(
        &'a self,
        phase: Phase,
        target: &SpeedTarget,
        options: &'a MeasureOptions,
        budget: u64,
        progress: &'a watch::Sender<Progress>,
    ) -> PhaseRun<'a> {
        PhaseRun { phase, options, budget, ping_client: &self.ping, ping_url: target.ping_url(), progress }
    }
}

/// Bytes one request asks for: each stream's share of the phase's budget, up to
/// what the target serves in one request. Every new request costs a round trip
/// with the pipe empty (9% of a 1.1 s request at 100 ms RTT), so a netpulse
/// target is asked for a stream's whole share at once.
fn request_bytes(most: u64, phase_budget: u64, streams: usize) -> u64 {
    (phase_budget / streams.max(1) as u64).clamp(1 << 20, most)
}

/// The largest download one request may ask for of each kind of target.
fn download_request_max(kind: TargetKind) -> u64 {
    match kind {
        TargetKind::Netpulse => crate::server::speed::routes::MAX_CHUNKS << 20,
        TargetKind::Librespeed => 100 << 20,
        TargetKind::Cloudflare => 25_000_000,
    }
}

/// The largest upload body of each kind: LibreSpeed's PHP back end is kept to its own client's sizes.
fn upload_request_max(kind: TargetKind) -> u64 {
    match kind {
        TargetKind::Netpulse => 1 << 30,
        TargetKind::Librespeed => 32 << 20,
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
        return Err(format!("unexpected status {} from {}", status.as_u16(), crate::server::speed::target::shown(url)));
    }
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_is_a_stream_s_share_of_the_budget_within_what_the_target_serves() {
        let netpulse = download_request_max(TargetKind::Netpulse);
        assert_eq!(request_bytes(netpulse, 500_000_000, 4), 125_000_000, "the default budget's download half over four streams");
        assert_eq!(request_bytes(netpulse, u64::MAX / 2, 4), 1 << 30, "no budget: a netpulse target's largest request");
        assert_eq!(request_bytes(download_request_max(TargetKind::Cloudflare), 500_000_000, 4), 25_000_000);
        assert_eq!(request_bytes(upload_request_max(TargetKind::Librespeed), 500_000_000, 4), 32 << 20);
        assert_eq!(request_bytes(netpulse, 1_000, 4), 1 << 20, "never below 1 MiB; the budget itself still caps what is sent");
        assert_eq!(request_bytes(netpulse, 8 << 20, 0), 8 << 20, "no division by zero streams");
    }
}
