//! Runtime configuration: the TOML file's schema, its defaults, and validation.
//! Each capability's own section lives beside it (`speed::config`, `monitor::config`,
//! `store::config`); they share only the leaf error type in `error`.

pub mod cli;
pub mod error;
pub mod networks;
pub mod secret;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use serde::Deserialize;

pub use crate::server::config::error::{invalid, ConfigError};

pub use crate::server::speed::config::{SpeedConfig, TargetConfig, DEFAULT_TARGET_URL};
use crate::server::{
    alerts::{channel_config::NotifyConfig, config::AlertConfig, config::AlertsConfig, silence::MaintenanceConfig},
    auth::{access::AccessRuleConfig, config::AuthConfig},
    events::limits::LimitsConfig,
    monitor::config::{Check, Monitor, MonitorConfig},
    status_page::config::StatusPageConfig,
    store::config::HistoryConfig,
};

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Name of this instance, carried in every sample.
    pub node: String,
    /// Directory holding the built site (`pkg/` and the public assets).
    pub site_root: PathBuf,
    /// Directory of the history database, created on first run.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://user:password@host/name`) to keep
    /// everything in instead of the SQLite file in `data_dir`.
    pub database_url: Option<secret::Secret>,
    /// Bearer token for `POST /api/publish/{topic}`; publishing is off without one.
    pub publish_token: Option<secret::Secret>,
    /// Custom topics streams may subscribe to before anything is published on them.
    pub topics: Vec<String>,
    pub speed: SpeedConfig,
    pub sse: SseConfig,
    pub ui: UiConfig,
    pub limits: LimitsConfig,
    pub history: HistoryConfig,
    /// Endpoint checks, one `[[monitor]]` table each.
    #[serde(rename = "monitor")]
    pub monitors: Vec<MonitorConfig>,
    pub alerts: AlertsConfig,
    /// Alert rules, one `[[alert]]` table each.
    #[serde(rename = "alert")]
    pub alert_rules: Vec<AlertConfig>,
    /// Notification channels, one `[[notify]]` table each.
    #[serde(rename = "notify")]
    pub channels: Vec<NotifyConfig>,
    /// Recurring windows in which alerts are recorded but not sent.
    pub maintenance: Vec<MaintenanceConfig>,
    /// Sign-in and sessions.
    pub auth: AuthConfig,
    /// Who may read or publish which series, one `[[access]]` table each.
    pub access: Vec<AccessRuleConfig>,
    /// Public status pages, one `[[status_page]]` table each.
    #[serde(rename = "status_page")]
    pub status_pages: Vec<StatusPageConfig>,
    pub agents: crate::server::agents::config::AgentsConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SseConfig {
    /// Seconds between heartbeat comments on an idle stream.
    pub heartbeat: f64,
    /// Reconnect delay the server asks browsers to use, in milliseconds.
    pub retry_ms: u64,
    /// Events kept in memory for clients that resume with `Last-Event-ID`.
    pub replay: usize,
    /// Seconds an event stays replayable.
    pub replay_age: f64,
    /// Events a subscriber may fall behind before it is disconnected.
    pub queue: usize,
    /// Open streams allowed in all.
    pub max_connections: usize,
    /// Open streams allowed from one client address.
    pub max_per_client: usize,
}

/// The most points a page carries per series: 3,600 speed results (a day at
/// one every 24 s, what the chart-redraw benchmark draws) are about 900 KB of page.
pub const MAX_UI_POINTS: usize = 3600;

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiConfig {
    /// Points the dashboard keeps per chart series.
    pub points: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            node: default_node_name(),
            site_root: std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target/site")),
            data_dir: PathBuf::from("data"),
            database_url: None,
            publish_token: None,
            topics: Vec::new(),
            speed: SpeedConfig::default(),
            sse: SseConfig::default(),
            ui: UiConfig::default(),
            limits: LimitsConfig::default(),
            history: HistoryConfig::default(),
            monitors: Vec::new(),
            alerts: AlertsConfig::default(),
            alert_rules: Vec::new(),
            channels: Vec::new(),
            maintenance: Vec::new(),
            auth: AuthConfig::default(),
            access: Vec::new(),
            status_pages: Vec::new(),
            agents: Default::default(),
        }
    }
}

impl Default for SseConfig {
    fn default() -> Self {
        Self { heartbeat: 15.0, retry_ms: 3000, replay: 1000, replay_age: 3600.0, queue: 256, max_connections: 10_000, max_per_client: 256 }
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        Self { points: 500 }
    }
}

/// This machine's hostname, or `netpulse` when it has none.
pub fn default_node_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "netpulse".to_owned())
}

impl Config {
    /// Reads a TOML file; every key is optional.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Self::from_toml(&text).map_err(|err| ConfigError::Parse { path: path.to_owned(), message: describe_toml_error(&text, &err) })
    }

    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Checks that `site_root` holds a built bundle, without which the page
    /// would render but never come alive.
    pub fn check_site(&self) -> Result<(), ConfigError> {
        let pkg = self.site_root.join("pkg");
        let built =
            |extension: &str| std::fs::read_dir(&pkg).into_iter().flatten().flatten().any(|entry| entry.path().extension().is_some_and(|e| e == extension));
        if built("wasm") && built("js") {
            Ok(())
        } else {
            Err(invalid(
                "site_root",
                format!("{} has no built bundle in pkg/ (run `cargo leptos build --release`, or point site_root at the built site)", self.site_root.display()),
            ))
        }
    }

    /// Checks every value a user can set; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.speed.validate()?;
        crate::server::store::config::validate_database_url(self.database_url.as_ref())?;
        self.history.validate(self.database_url.is_some())?;
        self.limits.validate()?;
        if self.topics.len() > self.limits.custom_topics {
            return Err(invalid("topics", format!("declares {} topics, more than limits.custom_topics ({})", self.topics.len(), self.limits.custom_topics)));
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        if self.node.trim().is_empty() {
            return Err(invalid("node", "must not be empty"));
        }
        let sse = &self.sse;
        if !(sse.heartbeat >= 0.05 && sse.heartbeat <= 3600.0) {
            return Err(invalid("sse.heartbeat", format!("must be 0.05 to 3600 seconds, got {}", sse.heartbeat)));
        }
        if !(100..=3_600_000).contains(&sse.retry_ms) {
            return Err(invalid("sse.retry_ms", format!("must be 100 to 3600000, got {}", sse.retry_ms)));
        }
        if !(1..=1_000_000).contains(&sse.replay) {
            return Err(invalid("sse.replay", format!("must be 1 to 1000000, got {}", sse.replay)));
        }
        if !(sse.replay_age > 0.0 && sse.replay_age <= 30.0 * 86_400.0) {
            return Err(invalid("sse.replay_age", format!("must be above 0 and at most 2592000 seconds, got {}", sse.replay_age)));
        }
        if !(1..=65_536).contains(&sse.queue) {
            return Err(invalid("sse.queue", format!("must be 1 to 65536, got {}", sse.queue)));
        }
        if !(1..=1_000_000).contains(&sse.max_connections) {
            return Err(invalid("sse.max_connections", format!("must be 1 to 1000000, got {}", sse.max_connections)));
        }
        if !(1..=1_000_000).contains(&sse.max_per_client) {
            return Err(invalid("sse.max_per_client", format!("must be 1 to 1000000, got {}", sse.max_per_client)));
        }
        if let Some(token) = self.publish_token.as_ref().map(secret::Secret::expose) {
            if token.len() < 16 || token.chars().any(char::is_whitespace) {
                return Err(invalid("publish_token", "must be at least 16 characters with no spaces"));
            }
        }
        for topic in &self.topics {
            crate::server::events::topics::check_name(topic).map_err(|reason| invalid("topics", reason))?;
            if crate::model::RESERVED_TOPICS.contains(&topic.as_str()) {
                return Err(invalid("topics", format!("{topic:?} is a built-in or reserved topic")));
            }
        }
        if !(2..=MAX_UI_POINTS).contains(&self.ui.points) {
            return Err(invalid("ui.points", format!("must be 2 to {MAX_UI_POINTS}, got {}", self.ui.points)));
        }
        self.checked_monitors()?;
        self.alerts.expiry().map_err(|(key, reason)| invalid(key, reason))?;
        self.alerts.retry().map_err(|(key, reason)| invalid(key, reason))?;
        self.checked_rules()?;
        self.checked_windows()?;
        self.auth.validate()?;
        crate::server::auth::config::checked_access(&self.access)?;
        let monitor_names: Vec<String> = self.monitors.iter().map(|m| m.name.clone()).collect();
        crate::server::status_page::config::check(&self.status_pages, &monitor_names)?;
        self.agents.validate()?;
        Ok(())
    }

    /// The monitors, validated; names must be unique.
    pub fn checked_monitors(&self) -> Result<Vec<Monitor>, ConfigError> {
        let mut monitors: Vec<Monitor> = Vec::with_capacity(self.monitors.len());
        for table in &self.monitors {
            let monitor = table.validate().map_err(|(key, reason)| invalid(key, reason))?;
            if monitors.iter().any(|m| m.name == monitor.name) {
                return Err(invalid("monitor.name", format!("{:?} is used by two monitors", monitor.name)));
            }
            if let Check::Push { secret, .. } = &monitor.check {
                if monitors.iter().any(|m| matches!(&m.check, Check::Push { secret: other, .. } if other == secret)) {
                    // The secret is not quoted: it is a password.
                    return Err(invalid("monitor.push", format!("monitor {:?} has the push secret of another monitor", monitor.name)));
                }
            }
            monitors.push(monitor);
        }
        Ok(monitors)
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs_f64(self.sse.heartbeat)
    }
}

/// Folds toml's multi-line report into one line that names the line number.
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().replace('\n', " ");
    match err.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let line = text[..start].matches('\n').count() + 1;
            // Quoting the line's key names it even when toml's message does not; its
            // value is left out, since it may be a secret.
            let source = text.lines().nth(line - 1).unwrap_or("").trim();
            let key = source.split_once('=').map_or(source, |(key, _)| key.trim_end());
            format!("line {line} `{key}`: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_documented_defaults() {
        let config = Config::from_toml("").unwrap();
        config.validate().unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(config.speed.interval, 60);
        assert_eq!(config.sse.heartbeat, 15.0);
        assert_eq!(config.ui.points, 500);
    }

    #[test]
    fn unknown_key_is_reported_with_its_line() {
        let text = "node = \"a\"\n[speed]\nintervl = 5\n";
        let err = Config::from_toml(text).unwrap_err();
        let line = describe_toml_error(text, &err);
        assert!(line.starts_with("line 3 `intervl`:"), "{line}");
        assert!(line.contains("intervl"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn out_of_range_value_names_the_key() {
        let mut config = Config::from_toml("[speed]\ninterval = 0\n").unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("invalid speed.interval:"), "{err}");
        config.speed.interval = 10;
        config.speed.grace = config.speed.duration;
        assert!(config.validate().unwrap_err().to_string().contains("speed.grace"));
    }

    #[test]
    fn monitors_are_validated_with_unique_names() {
        let text = "[[monitor]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\n[[monitor]]\nname = \"a\"\ntcp = \"127.0.0.1:2\"\n";
        let err = Config::from_toml(text).unwrap().validate().unwrap_err().to_string();
        assert!(err.starts_with("invalid monitor.name:"), "{err}");
        let good = Config::from_toml("[[monitor]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\n").unwrap();
        assert_eq!(good.checked_monitors().unwrap().len(), 1);
        let at = Config::from_toml("[[monitor]]\nname = \"web@tokyo\"\ntcp = \"127.0.0.1:2\"\n").unwrap().validate().unwrap_err().to_string();
        assert!(at.starts_with("invalid monitor.name:") && at.contains("'@'"), "{at}");
    }

    #[test]
    fn publish_token_and_topics_are_checked() {
        let short = Config::from_toml("publish_token = \"abc\"\n").unwrap();
        assert!(short.validate().unwrap_err().to_string().starts_with("invalid publish_token:"));
        let reserved = Config::from_toml("topics = [\"speed\"]\n").unwrap();
        assert!(reserved.validate().unwrap_err().to_string().starts_with("invalid topics:"));
        let good = Config::from_toml("publish_token = \"0123456789abcdef\"\ntopics = [\"sales\", \"visitors\"]\n").unwrap();
        good.validate().unwrap();
    }
}
