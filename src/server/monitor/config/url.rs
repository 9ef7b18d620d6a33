//! A `url` monitor's keys validated: method, accepted statuses, headers,
//! redirects, body rules and the certificate's least days left.

use reqwest::{Method, Url};
use serde::Deserialize;

use super::MonitorConfig;
use crate::server::monitor::{
    body::{BodyRules, JsonAssertion},
    tls::check_min_days,
};

/// What an HTTP(S) check asks, validated. Its `Debug` leaves header values out: they may be credentials.
#[derive(Clone)]
pub struct HttpSpec {
    pub url: Url,
    pub method: Method,
    pub expect: Vec<(u16, u16)>,
    pub body: BodyRules,
    pub headers: Vec<(String, String)>,
    /// Redirects to follow at most; 0 judges the first answer.
    pub redirects: u8,
    pub min_days_left: Option<f64>,
}

/// `"200-299"`, or a list of codes and ranges such as `[200, "300-302"]`.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum StatusSpec {
    One(StatusItem),
    Many(Vec<StatusItem>),
}

#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum StatusItem {
    Code(u16),
    Text(String),
}

impl std::fmt::Debug for HttpSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSpec")
            .field("url", &self.url.as_str())
            .field("method", &self.method)
            .field("expect", &self.expect)
            .field("body", &self.body)
            .field("headers", &self.headers.iter().map(|(name, _)| format!("{name}: [redacted]")).collect::<Vec<_>>())
            .field("redirects", &self.redirects)
            .field("min_days_left", &self.min_days_left)
            .finish()
    }
}

impl HttpSpec {
    /// The check a url monitor describes, or the key at fault and why.
    pub fn parse(config: &MonitorConfig) -> Result<Self, (&'static str, String)> {
        let raw = config.url.as_deref().unwrap_or_default();
        let url = Url::parse(raw).map_err(|err| ("monitor.url", format!("{raw:?} is not a URL: {err}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(("monitor.url", format!("{raw:?} must be an http or https URL with a host")));
        }
        let method_text = config.method.as_deref().unwrap_or("GET");
        let method = Method::from_bytes(method_text.to_ascii_uppercase().as_bytes())
            .map_err(|_| ("monitor.method", format!("{method_text:?} is not an HTTP method")))?;
        let expect = parse_status_spec(config.expect_status.as_ref()).map_err(|reason| ("monitor.expect_status", reason))?;
        for (name, value) in &config.headers {
            let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok() && reqwest::header::HeaderValue::from_str(value.expose()).is_ok();
            if !valid {
                return Err(("monitor.headers", format!("header {name:?} is not a valid HTTP header")));
            }
        }
        for (key, keyword) in [("monitor.keyword", &config.keyword), ("monitor.keyword_absent", &config.keyword_absent)] {
            if keyword.as_deref() == Some("") {
                return Err((key, "must not be empty".to_owned()));
            }
        }
        let json = config.json.iter().map(JsonAssertion::parse).collect::<Result<Vec<_>, _>>().map_err(|reason| ("monitor.json", reason))?;
        let max_redirects = config.max_redirects.unwrap_or(10);
        if !(1..=20).contains(&max_redirects) {
            return Err(("monitor.max_redirects", format!("must be 1 to 20, got {max_redirects}")));
        }
        if config.min_days_left.is_some() && url.scheme() != "https" {
            return Err(("monitor.min_days_left", format!("{raw:?} is plain HTTP, which has no certificate")));
        }
        check_min_days(config.min_days_left)?;
        Ok(Self {
            url,
            method,
            expect,
            body: BodyRules { keyword: config.keyword.clone(), keyword_absent: config.keyword_absent.clone(), json },
            headers: config.headers.iter().map(|(k, v)| (k.clone(), v.expose().to_owned())).collect(),
            redirects: if config.follow_redirects.unwrap_or(true) { max_redirects } else { 0 },
            min_days_left: config.min_days_left,
        })
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
