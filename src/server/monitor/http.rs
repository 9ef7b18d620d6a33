//! One HTTP(S) check: the request, redirects followed to the final answer,
//! HTTP/2 where the TLS server offers it, and the body judged by its rules.

use bytes::Bytes;
use http_body_util::Empty;
use hyper::{header, Method, Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use reqwest::Url;
use tokio::time::Instant;

use crate::server::monitor::{
    check::{ms_since, Timings},
    config::HttpSpec,
    connect, tls,
};

/// Headers that carry credentials, dropped when a redirect leaves the origin.
const CREDENTIALS: &[&str] = &["authorization", "cookie", "proxy-authorization"];

/// Runs the check to its final answer and judges it; timings are those of the final request.
pub async fn run(check: &HttpSpec, tls: &tokio_rustls::TlsConnector, timings: &mut Timings) -> Result<(), String> {
    let mut url = check.url.clone();
    let mut method = check.method.clone();
    let mut headers: Vec<(String, String)> = check.headers.to_vec();
    let mut hops = 0;
    let response = loop {
        let response = request(&url, &method, &headers, check.min_days_left, tls, timings).await?;
        let status = response.status();
        let location = response.headers().get(header::LOCATION).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let (true, Some(location)) = (status.is_redirection() && check.redirects > 0, location) else { break response };
        if hops == check.redirects {
            return Err(format!("more than {} redirects", check.redirects));
        }
        let next = url.join(&location).map_err(|_| format!("redirected to an invalid location {location:?}"))?;
        if !matches!(next.scheme(), "http" | "https") {
            return Err(format!("redirected to {next}, which is not http or https"));
        }
        // As browsers do: a 303, or a 301 or 302 after a POST, continues with GET.
        if status == StatusCode::SEE_OTHER || (matches!(status.as_u16(), 301 | 302) && method == Method::POST) {
            method = Method::GET;
        }
        // Credentials meant for one origin never follow a redirect to another, as in browsers and curl.
        if next.origin() != url.origin() {
            headers.retain(|(name, _)| !CREDENTIALS.iter().any(|c| name.eq_ignore_ascii_case(c)));
        }
        hops += 1;
        timings.redirects = hops;
        timings.final_url = Some(next.to_string());
        url = next;
    };
    let status = response.status().as_u16();
    if !check.expect.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status)) {
        return Err(format!("unexpected status {status}"));
    }
    check.body.judge(response.into_body()).await
}

/// One request to `url` on a new connection; the answer's head, with the body unread.
async fn request(
    url: &Url,
    method: &Method,
    headers: &[(String, String)],
    min_days_left: Option<f64>,
    tls: &tokio_rustls::TlsConnector,
    timings: &mut Timings,
) -> Result<hyper::Response<hyper::body::Incoming>, String> {
    // Each hop's figures are its own: a later hop that fails must not show an earlier one's.
    let (redirects, final_url) = (timings.redirects, timings.final_url.take());
    *timings = Timings { redirects, final_url, ..Timings::default() };
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let connected = connect::connect(&host, port).await?;
    timings.dns_ms = connected.dns_ms.map(crate::server::speed::stats::round3);
    timings.connect_ms = Some(crate::server::speed::stats::round3(connected.connect_ms));
    timings.tls_ms = None;
    if url.scheme() != "https" {
        let request = build(url, method, headers, false)?;
        return exchange(TokioIo::new(connected.stream), request, false, timings).await;
    }
    let stream = tls::handshake(connected.stream, &host, min_days_left, tls, timings).await?;
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let request = build(url, method, headers, h2)?;
    exchange(TokioIo::new(stream), request, h2, timings).await
}

/// A URL's path with its query, and its `host[:port]`: what an HTTP/1.1 request line and `Host` carry.
pub fn path_and_authority(url: &Url) -> (String, String) {
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    (path, authority)
}

/// HTTP/2 takes the authority from an absolute URI; HTTP/1.1 a path and a `Host` header.
fn build(url: &Url, method: &Method, headers: &[(String, String)], h2: bool) -> Result<Request<Empty<Bytes>>, String> {
    let (path, authority) = path_and_authority(url);
    // A configured Host (a virtual host checked by address) replaces the URL's, in HTTP/2 as the authority.
    let host = headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("host")).map_or(authority, |(_, value)| value.clone());
    let mut request =
        if h2 { Request::builder().uri(format!("{}://{host}{path}", url.scheme())) } else { Request::builder().uri(path).header(header::HOST, host) };
    request = request.method(method.clone());
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("user-agent")) {
        request = request.header(header::USER_AGENT, concat!("netpulse/", env!("CARGO_PKG_VERSION")));
    }
    for (name, value) in headers.iter().filter(|(name, _)| !name.eq_ignore_ascii_case("host")) {
        request = request.header(name.as_str(), value.as_str());
    }
    request.body(Empty::<Bytes>::new()).map_err(|err| format!("cannot build the request: {err}"))
}

async fn exchange<I>(io: I, request: Request<Empty<Bytes>>, h2: bool, timings: &mut Timings) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let sent;
    let response = if h2 {
        let (mut sender, connection) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await.map_err(|err| describe_hyper_error(&err))?;
        // Errors surface through the response future below.
        tokio::spawn(connection);
        sent = Instant::now();
        sender.send_request(request).await
    } else {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await.map_err(|err| describe_hyper_error(&err))?;
        tokio::spawn(connection);
        sent = Instant::now();
        sender.send_request(request).await
    }
    .map_err(|err| describe_hyper_error(&err))?;
    timings.ttfb_ms = Some(ms_since(sent));
    timings.status_code = Some(response.status().as_u16());
    timings.protocol = Some(if response.version() == hyper::Version::HTTP_2 { "HTTP/2" } else { "HTTP/1.1" });
    Ok(response)
}

pub fn describe_hyper_error(err: &hyper::Error) -> String {
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
