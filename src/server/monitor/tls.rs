//! TLS handshakes, for `tls` monitors (a handshake alone) and HTTPS checks alike:
//! the chain and host name as rustls judges them, and the days the certificate
//! has left, reported even when it has already expired.

use rustls::{pki_types::ServerName, CertificateError};
use tokio::{net::TcpStream, time::Instant};

use crate::server::{
    monitor::{
        check::{ms_since, Timings},
        connect,
    },
    speed::stats::round3,
};

/// A `tls` monitor: connect to `host:port` and shake hands as `server_name`.
#[derive(Clone, Debug)]
pub struct TlsCheck {
    pub host: String,
    pub port: u16,
    /// The name the certificate must be valid for; the host unless configured.
    pub server_name: String,
    pub min_days_left: Option<f64>,
}

impl TlsCheck {
    /// `host` or `host:port` (443), with an optional server name to verify instead of the host.
    pub fn parse(address: &str, server_name: Option<&str>, min_days_left: Option<f64>) -> Result<Self, (&'static str, String)> {
        let (host, port) = match address.rsplit_once(':').filter(|(host, _)| !host.contains(':') || host.ends_with(']')) {
            Some((host, port)) => (host, port.parse::<u16>().ok().filter(|port| *port > 0)),
            None => (address, Some(443)),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let Some(port) = port.filter(|_| !host.is_empty() && !host.contains('/') && !host.contains(char::is_whitespace)) else {
            return Err(("monitor.tls", format!("{address:?} is not host or host:port")));
        };
        let (key, server_name) = match server_name {
            Some(name) => ("monitor.server_name", name.to_owned()),
            None => ("monitor.tls", host.to_owned()),
        };
        if ServerName::try_from(server_name.as_str()).is_err() {
            return Err((key, format!("{server_name:?} is not a host name or IP address")));
        }
        check_min_days(min_days_left)?;
        Ok(Self { host: host.to_owned(), port, server_name, min_days_left })
    }

    pub fn label(&self) -> String {
        if self.host.contains(':') {
            format!("tls://[{}]:{}", self.host, self.port)
        } else {
            format!("tls://{}:{}", self.host, self.port)
        }
    }
}

/// `min_days_left` is a number of days from 0 to 3650.
pub fn check_min_days(min_days_left: Option<f64>) -> Result<(), (&'static str, String)> {
    match min_days_left {
        Some(days) if !(0.0..=3650.0).contains(&days) => Err(("monitor.min_days_left", format!("must be 0 to 3650 days, got {days}"))),
        _ => Ok(()),
    }
}

/// Connects and shakes hands; up when the chain and name are valid and at least `min_days_left` remain.
pub async fn run(check: &TlsCheck, tls: &tokio_rustls::TlsConnector, timings: &mut Timings) -> Result<(), String> {
    let connected = connect::connect(&check.host, check.port).await?;
    timings.dns_ms = connected.dns_ms.map(round3);
    timings.connect_ms = Some(round3(connected.connect_ms));
    handshake(connected.stream, &check.server_name, check.min_days_left, tls, timings).await.map(drop)
}

/// The handshake on `stream`, timed, with the certificate's days left recorded in `timings`.
pub async fn handshake(
    stream: TcpStream,
    server_name: &str,
    min_days_left: Option<f64>,
    tls: &tokio_rustls::TlsConnector,
    timings: &mut Timings,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let started = Instant::now();
    let name = ServerName::try_from(server_name.to_owned()).map_err(|_| format!("TLS failure: {server_name:?} is not a valid server name"))?;
    let stream = match tls.connect(name, stream).await {
        Ok(stream) => stream,
        Err(err) => {
            timings.cert_days_left = expired_days(&err);
            return Err(format!("TLS failure: {err}"));
        }
    };
    timings.tls_ms = Some(ms_since(started));
    let leaf = stream.get_ref().1.peer_certificates().and_then(|chain| chain.first());
    timings.cert_days_left = leaf.and_then(|leaf| days_left(leaf, chrono::Utc::now()));
    if let (Some(least), Some(days)) = (min_days_left, timings.cert_days_left) {
        if days < least {
            return Err(format!("the certificate expires in {days} days, under min_days_left = {least}"));
        }
    }
    Ok(stream)
}

/// Days from `now` until the certificate's `notAfter`, to the hundredth; negative once it has passed.
pub fn days_left(der: &[u8], now: chrono::DateTime<chrono::Utc>) -> Option<f64> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(days_between(now.timestamp(), certificate.validity().not_after.timestamp()))
}

fn days_between(now: i64, expires: i64) -> f64 {
    ((expires - now) as f64 / 86_400.0 * 100.0).round() / 100.0
}

/// How long ago an expired certificate expired, as negative days, from the handshake's error.
fn expired_days(err: &std::io::Error) -> Option<f64> {
    let inner = err.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::InvalidCertificate(CertificateError::ExpiredContext { time, not_after }) => {
            Some(days_between(time.as_secs() as i64, not_after.as_secs() as i64))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_port_443_and_name_the_key_when_wrong() {
        let check = TlsCheck::parse("example.org", None, None).unwrap();
        assert_eq!((check.port, check.server_name.as_str(), check.label().as_str()), (443, "example.org", "tls://example.org:443"));
        let by_address = TlsCheck::parse("[::1]:8443", Some("mail.lan"), Some(14.0)).unwrap();
        assert_eq!((by_address.host.as_str(), by_address.port, by_address.label().as_str()), ("::1", 8443, "tls://[::1]:8443"));
        assert_eq!(by_address.server_name, "mail.lan");
        assert_eq!(TlsCheck::parse("::1", None, None).unwrap().host, "::1", "a bare IPv6 address takes the default port");
        assert_eq!(TlsCheck::parse("h:0", None, None).unwrap_err().0, "monitor.tls");
        assert_eq!(TlsCheck::parse("https://h/", None, None).unwrap_err().0, "monitor.tls");
        assert_eq!(TlsCheck::parse("h", Some("not a name"), None).unwrap_err().0, "monitor.server_name");
        assert_eq!(TlsCheck::parse("exa$mple", None, None).unwrap_err().0, "monitor.tls", "a bad host is the address's fault");
        assert_eq!(TlsCheck::parse("h", None, Some(-1.0)).unwrap_err().0, "monitor.min_days_left");
    }

    #[test]
    fn days_are_rounded_to_the_hundredth_and_negative_once_past() {
        assert_eq!(days_between(0, 86_400 * 3 / 2), 1.5);
        assert_eq!(days_between(86_400, 0), -1.0);
        assert_eq!(days_between(0, 1), 0.0);
    }
}
