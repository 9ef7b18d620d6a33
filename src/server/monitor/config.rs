//! `[[monitor]]` tables: endpoint checks, their defaults and validation.

use std::{collections::BTreeMap, time::Duration};

use reqwest::{Method, Url};
use serde::Deserialize;

use crate::server::{
    config::secret::Secret,
    monitor::{dns::DnsCheck, ping::PingCheck},
};

/// One `[[monitor]]` table as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorConfig {
    pub name: String,
    pub url: Option<String>,
    /// `host:port` for a TCP connect check instead of HTTP.
    pub tcp: Option<String>,
    /// A secret for a push monitor instead: the monitor is up while
    /// `/api/push/<secret>` is called at least once every interval plus `grace`.
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
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_interval")]
    pub interval: f64,
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    #[serde(default)]
    pub expect_status: Option<StatusSpec>,
    pub keyword: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Follow 3xx answers with a `Location` to the final one.
    #[serde(default = "default_follow_redirects")]
    pub follow_redirects: bool,
    /// Most redirects followed before the check is down.
    #[serde(default = "default_max_redirects")]
    pub max_redirects: u8,
}

fn default_follow_redirects() -> bool {
    true
}
fn default_max_redirects() -> u8 {
    10
}

fn default_method() -> String {
    "GET".to_owned()
}
fn default_interval() -> f64 {
    60.0
}
fn default_timeout() -> f64 {
    10.0
}

/// `"200-299"`, or a list of codes and ranges such as `[200, "300-302"]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    One(StatusItem),
    Many(Vec<StatusItem>),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum StatusItem {
    Code(u16),
    Text(String),
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
    Http {
        url: Url,
        method: Method,
        expect: Vec<(u16, u16)>,
        keyword: Option<String>,
        headers: Vec<(String, String)>,
        /// Redirects to follow at most; 0 judges the first answer.
        redirects: u8,
    },
    Tcp {
        host: String,
        port: u16,
    },
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
            Check::Http { url, .. } => url.to_string(),
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
        if self.name.trim().is_empty() {
            return Err(("monitor.name", "must not be empty".to_owned()));
        }
        // A push may be expected weekly or monthly; a check runs at least daily.
        let longest = if self.push.is_some() { 31.0 * 86_400.0 } else { 86_400.0 };
        if !(self.interval >= 1.0 && self.interval <= longest) {
            return Err(("monitor.interval", named(format!("must be 1 to {longest} seconds, got {}", self.interval))));
        }
        if !(self.timeout > 0.0 && self.timeout <= 300.0) {
            return Err(("monitor.timeout", named(format!("must be above 0 and at most 300 seconds, got {}", self.timeout))));
        }
        if self.grace.is_some() && self.push.is_none() {
            return Err(("monitor.grace", named("is for push monitors only".to_owned())));
        }
        let dns_only = [("monitor.record", self.record.is_some()), ("monitor.resolver", self.resolver.is_some()), ("monitor.expect", self.expect.is_some())];
        if let (None, Some((key, _))) = (&self.dns, dns_only.iter().find(|(_, set)| *set)) {
            return Err((key, named("is for dns monitors only".to_owned())));
        }
        let ping_only = [("monitor.count", self.count.is_some()), ("monitor.ping_interval", self.ping_interval.is_some())];
        if let (None, Some((key, _))) = (&self.ping, ping_only.iter().find(|(_, set)| *set)) {
            return Err((key, named("is for ping monitors only".to_owned())));
        }
        let kinds = [self.url.is_some(), self.tcp.is_some(), self.dns.is_some(), self.ping.is_some(), self.push.is_some()];
        if kinds.iter().filter(|set| **set).count() != 1 {
            return Err(("monitor.url", named("set exactly one of url, tcp, dns, ping and push".to_owned())));
        }
        // Checked-only keys with no default: a dns, ping or push monitor that sets one is told so.
        let url_only = [
            ("monitor.keyword", self.keyword.is_some()),
            ("monitor.expect_status", self.expect_status.is_some()),
            ("monitor.headers", !self.headers.is_empty()),
        ];
        let url_only = url_only.iter().find(|(_, set)| *set).map(|(key, _)| *key);
        let timeout = Duration::from_secs_f64(self.timeout);
        let interval = Duration::from_secs_f64(self.interval);
        if let (Some(key), true) = (url_only, self.dns.is_some() || self.ping.is_some()) {
            return Err((key, named("is for url monitors only".to_owned())));
        }
        if let Some(host) = &self.ping {
            let check = PingCheck::parse(host, self.count, self.ping_interval, timeout).map_err(|(key, reason)| (key, named(reason)))?;
            return Ok(Monitor { name: self.name.clone(), check: Check::Ping(check), interval, timeout });
        }
        if let Some(name) = &self.dns {
            let check = DnsCheck::parse(name, self.record.as_deref(), self.resolver.as_deref(), self.expect.as_deref())
                .map_err(|(key, reason)| (key, named(reason)))?;
            return Ok(Monitor { name: self.name.clone(), check: Check::Dns(check), interval, timeout });
        }
        let check = match (&self.url, &self.tcp, &self.push) {
            (None, None, Some(secret)) => {
                if let Some(key) = url_only {
                    return Err((key, named("is for url monitors; a push monitor is called, not checked".to_owned())));
                }
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
            }
            (None, Some(address), None) => {
                let (host, port) = address
                    .rsplit_once(':')
                    .and_then(|(host, port)| Some((host.trim_start_matches('[').trim_end_matches(']'), port.parse::<u16>().ok()?)))
                    .filter(|(host, port)| !host.is_empty() && *port > 0)
                    .ok_or_else(|| ("monitor.tcp", named(format!("{address:?} is not host:port"))))?;
                Check::Tcp { host: host.to_owned(), port }
            }
            (Some(raw), None, None) => {
                let url = Url::parse(raw).map_err(|err| ("monitor.url", named(format!("{raw:?} is not a URL: {err}"))))?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(("monitor.url", named(format!("{raw:?} must be an http or https URL with a host"))));
                }
                let method = Method::from_bytes(self.method.to_ascii_uppercase().as_bytes())
                    .map_err(|_| ("monitor.method", named(format!("{:?} is not an HTTP method", self.method))))?;
                let expect = parse_status_spec(self.expect_status.as_ref()).map_err(|reason| ("monitor.expect_status", named(reason)))?;
                for (name, value) in &self.headers {
                    let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok() && reqwest::header::HeaderValue::from_str(value).is_ok();
                    if !valid {
                        return Err(("monitor.headers", named(format!("header {name:?} is not a valid HTTP header"))));
                    }
                }
                if self.keyword.as_deref() == Some("") {
                    return Err(("monitor.keyword", named("must not be empty".to_owned())));
                }
                if !(1..=20).contains(&self.max_redirects) {
                    return Err(("monitor.max_redirects", named(format!("must be 1 to 20, got {}", self.max_redirects))));
                }
                let headers = self.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let redirects = if self.follow_redirects { self.max_redirects } else { 0 };
                Check::Http { url, method, expect, keyword: self.keyword.clone(), headers, redirects }
            }
            // Exactly one kind is set (checked above): url, tcp or push.
            _ => return Err(("monitor.url", named("set exactly one of url, tcp, dns, ping and push".to_owned()))),
        };
        Ok(Monitor { name: self.name.clone(), check, interval, timeout })
    }
}

/// Inclusive ranges of accepted status codes; 200-299 when unset.
pub fn parse_status_spec(spec: Option<&StatusSpec>) -> Result<Vec<(u16, u16)>, String> {
    let items: Vec<&StatusItem> = match spec {
        None => return Ok(vec![(200, 299)]),
        Some(StatusSpec::One(item)) => vec![item],
        Some(StatusSpec::Many(items)) => items.iter().collect(),
    };
    if items.is_empty() {
        return Err("expect_status must list at least one code or range".to_owned());
    }
    items
        .into_iter()
        .map(|item| {
            let (lo, hi) = match item {
                StatusItem::Code(code) => (*code, *code),
                StatusItem::Text(text) => match text.split_once('-') {
                    Some((lo, hi)) => (lo.trim().parse().unwrap_or(0), hi.trim().parse().unwrap_or(0)),
                    None => {
                        let code = text.trim().parse().unwrap_or(0);
                        (code, code)
                    }
                },
            };
            if (100..=599).contains(&lo) && (100..=599).contains(&hi) && lo <= hi {
                Ok((lo, hi))
            } else {
                Err(format!("expect_status entries are codes or ranges within 100-599, such as 200 or \"200-299\"; got {item:?}"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
