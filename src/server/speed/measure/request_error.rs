//! Turning a failed HTTP exchange into one line a person can act on.

use std::{future::Future, time::Duration};

/// Waits at most `timeout` for `work`, describing any failure.
pub async fn bounded<T>(timeout: Duration, work: impl Future<Output = reqwest::Result<T>>) -> Result<T, String> {
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result.map_err(|err| describe_request_error(&err, timeout)),
        Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
    }
}

/// A one-line reason: refused, DNS, TLS, timeout or reset, with the host.
pub fn describe_request_error(err: &reqwest::Error, timeout: Duration) -> String {
    let host = err.url().and_then(|u| {
        u.host_str().map(|h| match u.port() {
            Some(port) => format!("{h}:{port}"),
            None => h.to_owned(),
        })
    });
    let at = host.map(|h| format!(" ({h})")).unwrap_or_default();
    if err.is_timeout() {
        return format!("timed out after {} ms{at}", timeout.as_millis());
    }
    describe_error(err, &at, timeout)
}

/// The same one-line reason for any error, `at` naming the host.
pub fn describe_error(err: &(dyn std::error::Error + 'static), at: &str, timeout: Duration) -> String {
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
