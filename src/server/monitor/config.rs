//! `[[monitor]]` tables: endpoint checks, their defaults and validation.

use std::{collections::BTreeMap, time::Duration};

use serde::Deserialize;

use crate::server::{
    config::secret::Secret,
    monitor::{body::JsonAssertionConfig, dns::DnsCheck, ping::PingCheck, tls::TlsCheck},
};

mod url;

pub use url::{parse_status_spec, HttpSpec, StatusItem, StatusSpec};

/// One `[[monitor]]` table as written; serialised only for agent nodes, which run the same checks.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    pub name: String,
    pub url: Option<String>,
    /// `host:port` for a TCP connect check instead of HTTP.
    pub tcp: Option<String>,
    /// A secret for a push monitor instead: the monitor is up while
    /// `/api/push/<secret>` is called at least once every interval plus `grace`.
    /// Never sent to agents: a push monitor is the server's alone.
    #[serde(skip_serializing)]
    pub push: Option<Secret>,
    /// Seconds a push may be late; 60 by default.
    pub grace: Option<f64>,
    /// A domain name for a DNS check instead, of `record` type (A by default),
    /// asked of `resolver` (`ip` or `ip:port`; the system's by default); the
    /// answer must include `expect` when it is set.
    pub dns: Option<String>,
    pub record: Option<String>,
    pub resolver: Option<String>,
    pub expect: Option<String>,
    /// A host to ping instead: `count` echo requests (3), `ping_interval` seconds apart (1).
    pub ping: Option<String>,
    pub count: Option<u16>,
    pub ping_interval: Option<f64>,
    /// A host (or `host:port`, 443 by default) for a TLS handshake instead; its
    /// certificate must be valid for `server_name` (the host by default).
    pub tls: Option<String>,
    pub server_name: Option<String>,
    /// Down when the certificate has fewer days left than this (tls and https monitors).
    pub min_days_left: Option<f64>,
    /// GET by default.
    pub method: Option<String>,
    #[serde(default = "default_interval")]
    pub interval: f64,
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    #[serde(default)]
    pub expect_status: Option<StatusSpec>,
    pub keyword: Option<String>,
    /// Down when the body contains this.
    pub keyword_absent: Option<String>,
    /// Assertions on a JSON body, each a JSONPath with `equals`, `above` or `below`.
    #[serde(default)]
    pub json: Vec<JsonAssertionConfig>,
    /// Request headers; their values are kept out of `Debug`, since they may be credentials.
    #[serde(default, serialize_with = "crate::server::config::secret::expose_to_agent")]
    pub headers: BTreeMap<String, Secret>,
    /// Follow 3xx answers with a `Location` to the final one (true by default).
    pub follow_redirects: Option<bool>,
    /// Most redirects followed before the check is down (10 by default).
    pub max_redirects: Option<u8>,
}

fn default_interval() -> f64 {
    60.0
}
fn default_timeout() -> f64 {
    10.0
}

/// What a check does, validated.
#[derive(Clone, Debug)]
pub struct Monitor {
    pub name: String,
    pub check: Check,
    pub interval: Duration,
    pub timeout: Duration,
}

#[derive(Clone, Debug)]
pub enum Check {
    Http(HttpSpec),
    Tcp {
        host: String,
        port: u16,
    },
    Tls(TlsCheck),
    Dns(DnsCheck),
    Ping(PingCheck),
    /// Called, not checked.
    Push {
        secret: Secret,
        grace: Duration,
    },
}

impl Monitor {
    /// The URL results carry.
    pub fn label(&self) -> String {
        match &self.check {
            Check::Http(http) => http.url.to_string(),
            Check::Tls(tls) => tls.label(),
            Check::Tcp { host, port } => format!("tcp://{host}:{port}"),
            Check::Dns(dns) => dns.label(),
            Check::Ping(ping) => ping.label(),
            // Never the secret: results, pages and logs show this label.
            Check::Push { .. } => "push".to_owned(),
        }
    }
}

impl MonitorConfig {
    /// The monitor, or a reason that names the offending key.
    pub fn validate(&self) -> Result<Monitor, (&'static str, String)> {
        let named = |reason: String| format!("monitor {:?}: {reason}", self.name);
        let name_key = |(key, reason): (&'static str, String)| (key, named(reason));
        if self.name.trim().is_empty() {
            return Err(("monitor.name", "must not be empty".to_owned()));
        }
        // `web@tokyo` is monitor `web` from agent node `tokyo`.
        if self.name.contains('@') {
            return Err(("monitor.name", named("must not contain '@', which names an agent node's copy (web@tokyo)".to_owned())));
        }
        // A push may be expected weekly or monthly; a check runs at least daily.
        let longest = if self.push.is_some() { 31.0 * 86_400.0 } else { 86_400.0 };
        if !(self.interval >= 1.0 && self.interval <= longest) {
            return Err(("monitor.interval", named(format!("must be 1 to {longest} seconds, got {}", self.interval))));
        }
        if !(self.timeout > 0.0 && self.timeout <= 300.0) {
            return Err(("monitor.timeout", named(format!("must be above 0 and at most 300 seconds, got {}", self.timeout))));
        }
        let kinds = [self.url.is_some(), self.tcp.is_some(), self.dns.is_some(), self.ping.is_some(), self.push.is_some(), self.tls.is_some()];
        if kinds.iter().filter(|set| **set).count() != 1 {
            return Err(("monitor.url", named("set exactly one of url, tcp, tls, dns, ping and push".to_owned())));
        }
        // Each kind's own keys, refused on any other kind.
        let owned: [(&'static str, bool, bool, &str); 16] = [
            ("monitor.grace", self.grace.is_some(), self.push.is_some(), "push"),
            ("monitor.record", self.record.is_some(), self.dns.is_some(), "dns"),
            ("monitor.resolver", self.resolver.is_some(), self.dns.is_some(), "dns"),
            ("monitor.expect", self.expect.is_some(), self.dns.is_some(), "dns"),
            ("monitor.count", self.count.is_some(), self.ping.is_some(), "ping"),
            ("monitor.ping_interval", self.ping_interval.is_some(), self.ping.is_some(), "ping"),
            ("monitor.server_name", self.server_name.is_some(), self.tls.is_some(), "tls"),
            ("monitor.min_days_left", self.min_days_left.is_some(), self.tls.is_some() || self.url.is_some(), "tls and url"),
            ("monitor.method", self.method.is_some(), self.url.is_some(), "url"),
            ("monitor.expect_status", self.expect_status.is_some(), self.url.is_some(), "url"),
            ("monitor.keyword", self.keyword.is_some(), self.url.is_some(), "url"),
            ("monitor.keyword_absent", self.keyword_absent.is_some(), self.url.is_some(), "url"),
            ("monitor.json", !self.json.is_empty(), self.url.is_some(), "url"),
            ("monitor.headers", !self.headers.is_empty(), self.url.is_some(), "url"),
            ("monitor.follow_redirects", self.follow_redirects.is_some(), self.url.is_some(), "url"),
            ("monitor.max_redirects", self.max_redirects.is_some(), self.url.is_some(), "url"),
        ];
        if let Some((key, _, _, kind)) = owned.iter().find(|(_, set, allowed, _)| *set && !*allowed) {
            return Err((key, named(format!("is for {kind} monitors only"))));
        }
        let timeout = Duration::from_secs_f64(self.timeout);
        let interval = Duration::from_secs_f64(self.interval);
        let check = if let Some(host) = &self.ping {
            Check::Ping(PingCheck::parse(host, self.count, self.ping_interval, timeout).map_err(name_key)?)
        } else if let Some(domain) = &self.dns {
            Check::Dns(DnsCheck::parse(domain, self.record.as_deref(), self.resolver.as_deref(), self.expect.as_deref()).map_err(name_key)?)
        } else if let Some(address) = &self.tls {
            Check::Tls(TlsCheck::parse(address, self.server_name.as_deref(), self.min_days_left).map_err(name_key)?)
        } else if let Some(secret) = &self.push {
            let text = secret.expose();
            if text.len() < 16 || text.len() > 128 || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                // The secret is not quoted back: it is a password.
                return Err(("monitor.push", named("must be 16 to 128 letters, digits, - or _".to_owned())));
            }
            let grace = self.grace.unwrap_or(60.0);
            if !(0.0..=86_400.0).contains(&grace) {
                return Err(("monitor.grace", named(format!("must be 0 to 86400 seconds, got {grace}"))));
            }
            Check::Push { secret: secret.clone(), grace: Duration::from_secs_f64(grace) }
        } else if let Some(address) = &self.tcp {
            let (host, port) = address
                .rsplit_once(':')
                .and_then(|(host, port)| Some((host.trim_start_matches('[').trim_end_matches(']'), port.parse::<u16>().ok()?)))
                .filter(|(host, port)| !host.is_empty() && *port > 0)
                .ok_or_else(|| ("monitor.tcp", named(format!("{address:?} is not host:port"))))?;
            Check::Tcp { host: host.to_owned(), port }
        } else {
            Check::Http(HttpSpec::parse(self).map_err(name_key)?)
        };
        Ok(Monitor { name: self.name.clone(), check, interval, timeout })
    }
}

#[cfg(test)]
mod tests;
