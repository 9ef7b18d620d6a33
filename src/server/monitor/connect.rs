//! Connecting to a monitored host the way browsers do (happy eyeballs, RFC
//! 8305): the addresses are tried in turn, IPv6 and IPv4 interleaved, each
//! next one started after a short delay while the earlier ones still try, and
//! the first to connect wins. An address that never answers costs that delay,
//! not the whole timeout.

use std::{net::SocketAddr, time::Duration};

use futures_util::{stream::FuturesUnordered, StreamExt};
use tokio::{net::TcpStream, time::Instant};

/// How long an attempt runs alone before the next address is tried beside it.
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// What connecting found, for the check's timings.
pub struct Connected {
    pub stream: TcpStream,
    pub dns_ms: Option<f64>,
    pub connect_ms: f64,
}

/// Resolves `host` (unless it is an address) and connects to one of its addresses.
pub async fn connect(host: &str, port: u16) -> Result<Connected, String> {
    let started = Instant::now();
    let (addresses, dns_ms) = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => (vec![SocketAddr::new(ip, port)], None),
        Err(_) => {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await.map_err(|_| format!("DNS lookup failed for {host}"))?.collect();
            if found.is_empty() {
                return Err(format!("DNS lookup found no address for {host}"));
            }
            (found, Some(started.elapsed().as_secs_f64() * 1000.0))
        }
    };
    let connect_started = Instant::now();
    let stream = connect_any(&interleave(addresses)).await?;
    Ok(Connected { stream, dns_ms, connect_ms: connect_started.elapsed().as_secs_f64() * 1000.0 })
}

/// IPv6 and IPv4 in turn, each family in the resolver's order, the resolver's first family first.
pub fn interleave(addresses: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_is_v6 = addresses.first().is_some_and(SocketAddr::is_ipv6);
    let (mut first, mut second): (Vec<_>, Vec<_>) = addresses.into_iter().partition(|a| a.is_ipv6() == first_is_v6);
    let mut ordered = Vec::with_capacity(first.len() + second.len());
    first.reverse();
    second.reverse();
    while let Some(next) = first.pop() {
        ordered.push(next);
        if let Some(other) = second.pop() {
            ordered.push(other);
        }
    }
    ordered.extend(second.into_iter().rev());
    ordered
}

/// Races connection attempts to `addresses`, starting one every
/// [`ATTEMPT_DELAY`] (or at once when the previous one failed); the first
/// connection wins and the others are dropped.
pub async fn connect_any(addresses: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut pending = addresses.iter().copied();
    let mut attempts = FuturesUnordered::new();
    let mut last_error = "no address to connect to".to_owned();
    loop {
        if attempts.is_empty() {
            match pending.next() {
                Some(address) => attempts.push(attempt(address)),
                None => return Err(last_error),
            }
        }
        let delay = tokio::time::sleep(ATTEMPT_DELAY);
        tokio::select! {
            Some(outcome) = attempts.next() => match outcome {
                Ok(stream) => return Ok(stream),
                Err(error) => last_error = error,
            },
            _ = delay => {
                if let Some(address) = pending.next() {
                    attempts.push(attempt(address));
                }
            }
        }
    }
}

async fn attempt(address: SocketAddr) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(address).await.map_err(|err| describe_io_error(&err, &address.to_string()))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

pub fn describe_io_error(err: &std::io::Error, address: &str) -> String {
    match err.kind() {
        std::io::ErrorKind::ConnectionRefused => format!("connection refused ({address})"),
        std::io::ErrorKind::ConnectionReset => format!("connection reset ({address})"),
        std::io::ErrorKind::TimedOut => format!("connect timed out ({address})"),
        _ => format!("cannot connect to {address}: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn families_alternate_starting_with_the_resolvers_first() {
        let resolved = vec![address("[::1]:80"), address("[::2]:80"), address("10.0.0.1:80"), address("[::3]:80")];
        assert_eq!(interleave(resolved), [address("[::1]:80"), address("10.0.0.1:80"), address("[::2]:80"), address("[::3]:80")]);
        let v4_first = vec![address("10.0.0.1:80"), address("10.0.0.2:80"), address("[::1]:80")];
        assert_eq!(interleave(v4_first), [address("10.0.0.1:80"), address("[::1]:80"), address("10.0.0.2:80")]);
        assert!(interleave(Vec::new()).is_empty());
    }
}
