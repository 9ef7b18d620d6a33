//! One endpoint check, as the Flask status-monitor design describes it: an HTTP
//! request, a TCP connect, a TLS handshake, a DNS query or a run of pings, timed phase by phase,
//! that never fails.

use std::sync::Arc;

use chrono::Utc;
use tokio::time::Instant;

use crate::{
    model::ProbeResult,
    server::{
        monitor::{
            config::{Check, Monitor},
            connect, dns, http,
            ping::{self, PingStats},
            tls,
        },
        speed::stats::round3,
    },
};

/// What a check measured and learned on its way, kept when it fails midway.
#[derive(Default)]
pub struct Timings {
    pub dns_ms: Option<f64>,
    pub connect_ms: Option<f64>,
    pub tls_ms: Option<f64>,
    pub ttfb_ms: Option<f64>,
    pub status_code: Option<u16>,
    pub protocol: Option<&'static str>,
    pub final_url: Option<String>,
    pub redirects: u8,
    pub cert_days_left: Option<f64>,
    pub answer: Option<String>,
    pub ping: Option<PingStats>,
}

pub fn ms_since(start: Instant) -> f64 {
    round3(start.elapsed().as_secs_f64() * 1000.0)
}

/// Runs one check, cut off at the monitor's timeout. Never fails: a target
/// that is down, wrong or slow gives `up: false` and a reason.
pub async fn check(monitor: &Monitor, tls: &tokio_rustls::TlsConnector) -> ProbeResult {
    let started = Instant::now();
    let mut timings = Timings::default();
    let outcome = match tokio::time::timeout(monitor.timeout, run(monitor, tls, &mut timings)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("timed out after {} ms", monitor.timeout.as_millis())),
    };
    let up = outcome.is_ok();
    ProbeResult {
        monitor: monitor.name.clone(),
        url: monitor.label(),
        at: Utc::now(),
        up,
        status_code: timings.status_code,
        // A ping's response time is its average round trip, not the time the whole run took.
        response_ms: up.then(|| timings.ping.map_or_else(|| ms_since(started), |p| p.avg_ms)),
        dns_ms: timings.dns_ms,
        connect_ms: timings.connect_ms,
        tls_ms: timings.tls_ms,
        ttfb_ms: timings.ttfb_ms,
        protocol: timings.protocol.map(str::to_owned),
        final_url: timings.final_url,
        redirects: timings.redirects,
        cert_days_left: timings.cert_days_left,
        answer: timings.answer,
        loss_pct: timings.ping.map(|p| p.loss_pct),
        rtt_min_ms: timings.ping.filter(|p| p.loss_pct < 100.0).map(|p| p.min_ms),
        rtt_max_ms: timings.ping.filter(|p| p.loss_pct < 100.0).map(|p| p.max_ms),
        rtt_mdev_ms: timings.ping.filter(|p| p.loss_pct < 100.0).map(|p| p.mdev_ms),
        error: outcome.err(),
        // The server's own check; an agent's names its node when the server takes it in.
        node: None,
    }
}

async fn run(monitor: &Monitor, tls: &tokio_rustls::TlsConnector, timings: &mut Timings) -> Result<(), String> {
    match &monitor.check {
        Check::Tcp { host, port } => {
            let connected = connect::connect(host, *port).await?;
            timings.dns_ms = connected.dns_ms.map(round3);
            timings.connect_ms = Some(round3(connected.connect_ms));
            Ok(())
        }
        Check::Http(spec) => http::run(spec, tls, timings).await,
        Check::Tls(check) => tls::run(check, tls, timings).await,
        Check::Dns(dns) => dns::run(dns, monitor.timeout, timings).await,
        Check::Ping(ping) => ping::run(ping, monitor.timeout, timings).await,
        // Push monitors are run by `push::run_push_monitor`, never checked.
        Check::Push { .. } => Err("a push monitor is not checked; it is called".to_owned()),
    }
}

/// The TLS setup every HTTPS check shares: Mozilla's roots, via webpki-roots.
pub fn tls_connector() -> tokio_rustls::TlsConnector {
    tls_connector_with(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() })
}

/// Checks that trust `roots` (a private CA, say), offering HTTP/2 and HTTP/1.1.
pub fn tls_connector_with(roots: rustls::RootCertStore) -> tokio_rustls::TlsConnector {
    tls_connector_offering(roots, &[b"h2", b"http/1.1"])
}

/// A connector that trusts `roots` and offers `protocols` by ALPN, most preferred first.
pub fn tls_connector_offering(roots: rustls::RootCertStore, protocols: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = protocols.iter().map(|protocol| protocol.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}
