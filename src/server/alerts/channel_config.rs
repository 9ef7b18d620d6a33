//! `[[notify]]` tables: where notifications go (email, ntfy, a webhook, Slack,
//! Discord, Telegram, Gotify), validated into [`Channel`]s. Keys that do not
//! belong to a table's kind are refused rather than ignored.

use std::{collections::BTreeMap, time::Duration};

use reqwest::Url;
use serde::Deserialize;

use crate::server::config::secret::Secret;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub name: String,
    /// `email`, `ntfy`, `webhook`, `slack`, `discord`, `telegram` or `gotify`.
    pub kind: String,
    /// The endpoint: the webhook, the ntfy topic URL, the Gotify server; for
    /// Telegram, the Bot API's base URL (`https://api.telegram.org` by default).
    pub url: Option<String>,
    /// Extra request headers (webhook only); their values often carry a token.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Webhook only: a minijinja template of the request body, for receivers
    /// (an SMS gateway) that want their own shape; netpulse's JSON without one.
    pub body: Option<String>,
    /// Webhook only: the body's Content-Type when `body` is set [default: application/json].
    pub content_type: Option<String>,
    /// ntfy access token, Gotify application token, Telegram bot token.
    pub token: Option<Secret>,
    /// Telegram chat id.
    pub chat_id: Option<String>,
    /// ntfy (1–5) or Gotify (0–10) priority.
    pub priority: Option<u8>,
    /// Email: the SMTP server.
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls` or `plain`.
    pub security: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
    /// Email: a PEM file of the CA that signed the SMTP server's certificate (an internal mail server).
    pub ca_file: Option<std::path::PathBuf>,
    /// Seconds one delivery attempt may take.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
}

fn default_timeout() -> f64 {
    10.0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    StartTls,
    Tls,
    Plain,
}

#[derive(Clone)]
pub enum ChannelKind {
    Webhook { url: Url, headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>, body: Option<String>, content_type: String },
    Ntfy { url: Url, token: Option<Secret>, priority: Option<u8> },
    Slack { url: Url },
    Discord { url: Url },
    Telegram { api: Url, token: Secret, chat_id: String },
    Gotify { url: Url, token: Secret, priority: Option<u8> },
    Email { host: String, port: u16, security: Security, credentials: Option<(String, Secret)>, from: String, to: Vec<String>, ca: Option<Vec<u8>> },
}

#[derive(Clone, Debug)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
    pub timeout: Duration,
}

/// Only the host of a URL: a Slack or Discord webhook's path is its secret.
fn host_of(url: &Url) -> &str {
    url.host_str().unwrap_or("")
}

impl std::fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = self.url.as_deref().and_then(|u| Url::parse(u).ok()).map(|u| host_of(&u).to_owned());
        f.debug_struct("NotifyConfig").field("name", &self.name).field("kind", &self.kind).field("host", &host).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ChannelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Webhook { url, .. } => write!(f, "Webhook({})", host_of(url)),
            Self::Ntfy { url, .. } => write!(f, "Ntfy({})", host_of(url)),
            Self::Slack { url } => write!(f, "Slack({})", host_of(url)),
            Self::Discord { url } => write!(f, "Discord({})", host_of(url)),
            Self::Telegram { api, .. } => write!(f, "Telegram({})", host_of(api)),
            Self::Gotify { url, .. } => write!(f, "Gotify({})", host_of(url)),
            Self::Email { host, port, .. } => write!(f, "Email({host}:{port})"),
        }
    }
}

impl ChannelKind {
    /// The `kind` key it was configured with.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::Ntfy { .. } => "ntfy",
            Self::Slack { .. } => "slack",
            Self::Discord { .. } => "discord",
            Self::Telegram { .. } => "telegram",
            Self::Gotify { .. } => "gotify",
            Self::Email { .. } => "email",
        }
    }
}

type Invalid = (&'static str, String);

fn http_url(key: &'static str, name: &str, url: Option<&str>) -> Result<Url, Invalid> {
    let url = url.ok_or((key, format!("channel {name:?} needs a url")))?;
    // The URL is not quoted back: a Slack or Discord webhook's URL is its secret.
    let parsed = Url::parse(url).map_err(|err| (key, format!("channel {name:?}: the url is not a URL ({err})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err((key, format!("channel {name:?}: the url must be an http or https URL with a host")));
    }
    Ok(parsed)
}

impl NotifyConfig {
    pub fn validate(&self) -> Result<Channel, Invalid> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(("notify.name", format!("must be 1 to 64 characters, got {:?}", self.name)));
        }
        if !(self.timeout > 0.0 && self.timeout <= 300.0) {
            return Err(("notify.timeout", format!("channel {name:?}: must be above 0 and at most 300 seconds, got {}", self.timeout)));
        }
        let is_email = self.kind == "email";
        let email_keys = [
            ("notify.smtp_host", self.smtp_host.is_some()),
            ("notify.smtp_port", self.smtp_port.is_some()),
            ("notify.security", self.security.is_some()),
            ("notify.username", self.username.is_some()),
            ("notify.password", self.password.is_some()),
            ("notify.from", self.from.is_some()),
            ("notify.to", !self.to.is_empty()),
            ("notify.ca_file", self.ca_file.is_some()),
        ];
        let other_keys = [
            ("notify.url", self.url.is_some() && is_email),
            ("notify.headers", !self.headers.is_empty() && self.kind != "webhook"),
            ("notify.body", self.body.is_some() && self.kind != "webhook"),
            ("notify.content_type", self.content_type.is_some() && self.kind != "webhook"),
            ("notify.token", self.token.is_some() && !matches!(self.kind.as_str(), "ntfy" | "telegram" | "gotify")),
            ("notify.chat_id", self.chat_id.is_some() && self.kind != "telegram"),
            ("notify.priority", self.priority.is_some() && !matches!(self.kind.as_str(), "ntfy" | "gotify")),
        ];
        let misplaced = email_keys.iter().filter(|_| !is_email).chain(other_keys.iter()).find(|(_, set)| *set);
        if let Some((key, _)) = misplaced {
            return Err((key, format!("channel {name:?}: not a key of a {:?} channel", self.kind)));
        }
        let url = || http_url("notify.url", name, self.url.as_deref());
        let needs = |key: &'static str, what: &str| (key, format!("channel {name:?}: a {} channel needs {what}", self.kind));
        let kind = match self.kind.as_str() {
            "webhook" => {
                let mut headers = Vec::new();
                for (header, value) in &self.headers {
                    let header = reqwest::header::HeaderName::from_bytes(header.as_bytes())
                        .map_err(|_| ("notify.headers", format!("channel {name:?}: {header:?} is not a header name")))?;
                    let mut value = reqwest::header::HeaderValue::from_str(value.expose())
                        .map_err(|_| ("notify.headers", format!("channel {name:?}: the value of {header} is not a valid header value")))?;
                    // Headers often carry a token: `Debug` then shows `Sensitive`.
                    value.set_sensitive(true);
                    headers.push((header, value));
                }
                if let Some(body) = &self.body {
                    crate::server::alerts::template::check_body(body).map_err(|reason| ("notify.body", format!("channel {name:?}: {reason}")))?;
                }
                let content_type = self.content_type.clone().unwrap_or_else(|| "application/json".to_owned());
                if reqwest::header::HeaderValue::from_str(&content_type).is_err() {
                    return Err(("notify.content_type", format!("channel {name:?}: {content_type:?} is not a header value")));
                }
                ChannelKind::Webhook { url: url()?, headers, body: self.body.clone(), content_type }
            }
            "ntfy" => {
                if self.priority.is_some_and(|p| !(1..=5).contains(&p)) {
                    return Err(("notify.priority", format!("channel {name:?}: ntfy priorities are 1 to 5")));
                }
                ChannelKind::Ntfy { url: url()?, token: self.token.clone(), priority: self.priority }
            }
            "slack" => ChannelKind::Slack { url: url()? },
            "discord" => ChannelKind::Discord { url: url()? },
            "telegram" => {
                let api = match &self.url {
                    Some(_) => url()?,
                    None => Url::parse("https://api.telegram.org").expect("a valid URL"),
                };
                let token = self.token.clone().ok_or_else(|| needs("notify.token", "the bot's token"))?;
                let chat_id = self.chat_id.clone().filter(|id| !id.trim().is_empty()).ok_or_else(|| needs("notify.chat_id", "a chat_id"))?;
                ChannelKind::Telegram { api, token, chat_id }
            }
            "gotify" => {
                if self.priority.is_some_and(|p| p > 10) {
                    return Err(("notify.priority", format!("channel {name:?}: Gotify priorities are 0 to 10")));
                }
                let token = self.token.clone().ok_or_else(|| needs("notify.token", "an application token"))?;
                ChannelKind::Gotify { url: url()?, token, priority: self.priority }
            }
            "email" => self.email(name)?,
            other => {
                return Err(("notify.kind", format!("channel {name:?}: {other:?} is not a kind; use email, ntfy, webhook, slack, discord, telegram or gotify")))
            }
        };
        Ok(Channel { name: name.to_owned(), kind, timeout: Duration::from_secs_f64(self.timeout) })
    }

    fn email(&self, name: &str) -> Result<ChannelKind, Invalid> {
        let host = self.smtp_host.clone().filter(|h| !h.trim().is_empty()).ok_or(("notify.smtp_host", format!("channel {name:?} needs smtp_host")))?;
        let security = match self.security.as_deref().unwrap_or("starttls") {
            "starttls" => Security::StartTls,
            "tls" => Security::Tls,
            "plain" => Security::Plain,
            other => return Err(("notify.security", format!("channel {name:?}: {other:?} is not starttls, tls or plain"))),
        };
        let port = self.smtp_port.unwrap_or(match security {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::Plain => 25,
        });
        let credentials = match (&self.username, &self.password) {
            (Some(user), Some(password)) => Some((user.clone(), password.clone())),
            (None, None) => None,
            _ => return Err(("notify.password", format!("channel {name:?}: username and password go together"))),
        };
        let address = |key: &'static str, text: &str| {
            text.parse::<lettre::message::Mailbox>()
                .map(|_| text.to_owned())
                .map_err(|err| (key, format!("channel {name:?}: {text:?} is not an address: {err}")))
        };
        let from = address("notify.from", self.from.as_deref().ok_or(("notify.from", format!("channel {name:?} needs from")))?)?;
        if self.to.is_empty() {
            return Err(("notify.to", format!("channel {name:?} needs at least one address in to")));
        }
        let to = self.to.iter().map(|text| address("notify.to", text)).collect::<Result<_, _>>()?;
        let ca = match &self.ca_file {
            None => None,
            Some(_) if security == Security::Plain => return Err(("notify.ca_file", format!("channel {name:?}: plain SMTP has no TLS to check"))),
            Some(path) => {
                let pem = std::fs::read(path).map_err(|err| ("notify.ca_file", format!("channel {name:?}: cannot read {}: {err}", path.display())))?;
                lettre::transport::smtp::client::Certificate::from_pem(&pem)
                    .map_err(|err| ("notify.ca_file", format!("channel {name:?}: {} is not a PEM certificate: {err}", path.display())))?;
                Some(pem)
            }
        };
        Ok(ChannelKind::Email { host, port, security, credentials, from, to, ca })
    }
}

#[cfg(test)]
mod tests;
