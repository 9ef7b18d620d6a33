//! One endpoint check, as the Flask status-monitor design describes it: an HTTP
//! request or a TCP connect, timed phase by phase, that never fails.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::{net::TcpStream, time::Instant};

use crate::{
    model::ProbeResult,
    server::{
        monitor::config::{Check, Monitor},
        speed::stats::round3,
    },
};

/// Most of a body read when looking for a keyword; the rest is drained uncounted.
const MAX_KEYWORD_BODY: usize = 1 << 20;

#[derive(Default)]
struct Timings {
    dns_ms: Option<f64>,
    connect_ms: Option<f64>,
    tls_ms: Option<f64>,
    ttfb_ms: Option<f64>,
    status_code: Option<u16>,
}

fn ms_since(start: Instant) -> f64 {
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
        response_ms: up.then(|| ms_since(started)),
        dns_ms: timings.dns_ms,
        connect_ms: timings.connect_ms,
        tls_ms: timings.tls_ms,
        ttfb_ms: timings.ttfb_ms,
        error: outcome.err(),
    }
}

async fn run(monitor: &Monitor, tls: &tokio_rustls::TlsConnector, timings: &mut Timings) -> Result<(), String> {
    match &monitor.check {
        Check::Tcp { host, port } => {
            connect(host, *port, timings).await?;
            Ok(())
        }
        Check::Http { url, method, expect, keyword, headers } => {
            let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
            let port = url.port_or_known_default().unwrap_or(80);
            let stream = connect(&host, port, timings).await?;
            let path = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            };
            let mut request = Request::builder().method(method.clone()).uri(path);
            let authority = match url.port() {
                Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                None => url.host_str().unwrap_or_default().to_owned(),
            };
            request = request.header(hyper::header::HOST, authority).header(hyper::header::USER_AGENT, concat!("netpulse/", env!("CARGO_PKG_VERSION")));
            for (name, value) in headers {
                request = request.header(name.as_str(), value.as_str());
            }
            let request = request.body(Empty::<Bytes>::new()).map_err(|err| format!("cannot build the request: {err}"))?;
            let response = if url.scheme() == "https" {
                let tls_started = Instant::now();
                let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|_| format!("TLS failure: {host:?} is not a valid server name"))?;
                let stream = tls.connect(name, stream).await.map_err(|err| format!("TLS failure: {err}"))?;
                timings.tls_ms = Some(ms_since(tls_started));
                exchange(TokioIo::new(stream), request, timings).await?
            } else {
                exchange(TokioIo::new(stream), request, timings).await?
            };
            let status = response.status().as_u16();
            let mut body = response.into_body();
            let mut seen = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|err| describe_hyper_error(&err))?;
                if let (Some(data), Some(_)) = (frame.data_ref(), keyword) {
                    let room = MAX_KEYWORD_BODY.saturating_sub(seen.len());
                    seen.extend_from_slice(&data[..data.len().min(room)]);
                }
            }
            if !expect.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status)) {
                return Err(format!("unexpected status {status}"));
            }
            if let Some(keyword) = keyword {
                if !String::from_utf8_lossy(&seen).contains(keyword.as_str()) {
                    return Err(format!("keyword {keyword:?} missing from the response body"));
                }
            }
            Ok(())
        }
    }
}

async fn connect(host: &str, port: u16, timings: &mut Timings) -> Result<TcpStream, String> {
    let dns_started = Instant::now();
    let addresses: Vec<_> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
        Err(_) => {
            let found = tokio::net::lookup_host((host, port)).await.map_err(|_| format!("DNS lookup failed for {host}"))?.collect::<Vec<_>>();
            timings.dns_ms = Some(ms_since(dns_started));
            found
        }
    };
    let connect_started = Instant::now();
    let mut last_error = format!("DNS lookup found no address for {host}");
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                timings.connect_ms = Some(ms_since(connect_started));
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(err) => last_error = describe_io_error(&err, &address.to_string()),
        }
    }
    Err(last_error)
}

async fn exchange<I>(io: I, request: Request<Empty<Bytes>>, timings: &mut Timings) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|err| describe_hyper_error(&err))?;
    tokio::spawn(async move {
        // Errors surface through the response future below.
        let _ = connection.await;
    });
    let sent = Instant::now();
    let response = sender.send_request(request).await.map_err(|err| describe_hyper_error(&err))?;
    timings.ttfb_ms = Some(ms_since(sent));
    timings.status_code = Some(response.status().as_u16());
    Ok(response)
}

fn describe_io_error(err: &std::io::Error, address: &str) -> String {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => format!("connection refused ({address})"),
        std::io::ErrorKind::ConnectionReset => format!("connection reset ({address})"),
        std::io::ErrorKind::TimedOut => format!("connect timed out ({address})"),
        _ => format!("cannot connect to {address}: {err}"),
    }
}

fn describe_hyper_error(err: &hyper::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionReset {
                return "connection reset by the server".to_owned();
            }
        }
        source = current.source();
    }
    if err.is_incomplete_message() {
        "the server closed the connection before a full response".to_owned()
    } else {
        format!("HTTP error: {err}")
    }
}

/// The TLS setup every HTTPS check shares: Mozilla's roots, via webpki-roots.
pub fn tls_connector() -> tokio_rustls::TlsConnector {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}
