//! The `[history]` section of the config: how long each kind of history row
//! is kept, and an optional cap on the database file.

use std::time::Duration;

use serde::Deserialize;

use crate::server::{
    config::{
        error::{invalid, ConfigError},
        secret::Secret,
    },
    store::maintenance::Retention,
};

const DAY: f64 = 86_400.0;

/// The largest database cap, in MB: SQLite's most pages (2^32 - 2) of 4,096 bytes.
pub const MAX_SIZE_MB: u64 = 17_592_186;

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// Days raw samples are kept.
    pub raw_days: f64,
    /// Days per-minute rollups are kept.
    pub minute_days: f64,
    /// Days per-hour rollups are kept.
    pub hour_days: f64,
    /// Days events stay in the log, so that a client away that long resumes
    /// with every event it missed. Each event costs about its JSON's size.
    pub event_log_days: f64,
    /// Megabytes the database file may grow to; 0 for no cap. Past it, writes
    /// fail visibly and events still stream live.
    pub max_size_mb: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self { raw_days: 30.0, minute_days: 90.0, hour_days: 5.0 * 365.0, event_log_days: 7.0, max_size_mb: 0 }
    }
}

/// `database_url` must name a PostgreSQL database; the message never repeats
/// the URL, which may hold a password.
pub fn validate_database_url(url: Option<&Secret>) -> Result<(), ConfigError> {
    let Some(url) = url else { return Ok(()) };
    match url::Url::parse(url.expose()) {
        Ok(parsed)
            if matches!(parsed.scheme(), "postgres" | "postgresql") && (parsed.host_str().is_some_and(|host| !host.is_empty()) || socket_dir(&parsed)) =>
        {
            Ok(())
        }
        Ok(parsed) => Err(invalid(
            "database_url",
            format!("must be a postgres:// URL with a host (or ?host=/run/postgresql for a socket), not a {}: URL", parsed.scheme()),
        )),
        Err(error) => Err(invalid("database_url", format!("is not a URL ({error}); write postgres://user:password@host:5432/database"))),
    }
}

/// `?host=/run/postgresql`: a Unix socket's directory instead of a host name.
fn socket_dir(url: &url::Url) -> bool {
    url.query_pairs().any(|(key, value)| key == "host" && value.starts_with('/'))
}

impl HistoryConfig {
    /// Checks the section; `on_postgres` when `database_url` is set, where the file cap means nothing.
    pub fn validate(&self, on_postgres: bool) -> Result<(), ConfigError> {
        if on_postgres && self.max_size_mb > 0 {
            return Err(invalid("history.max_size_mb", "caps the SQLite file only; with database_url set, leave it 0 and use PostgreSQL's own limits"));
        }
        for (key, days) in [
            ("history.raw_days", self.raw_days),
            ("history.minute_days", self.minute_days),
            ("history.hour_days", self.hour_days),
            ("history.event_log_days", self.event_log_days),
        ] {
            if !(days > 0.0 && days <= 100.0 * 365.0) {
                return Err(invalid(key, format!("must be above 0 and at most 36500 days, got {days}")));
            }
        }
        if self.minute_days < self.raw_days || self.hour_days < self.minute_days {
            return Err(invalid("history.minute_days", "rollups must be kept at least as long as what they summarise: raw_days <= minute_days <= hour_days"));
        }
        // SQLite counts the cap in pages; a larger number would overflow that count.
        if self.max_size_mb > MAX_SIZE_MB {
            return Err(invalid(
                "history.max_size_mb",
                format!("must be 0 (no cap) up to {MAX_SIZE_MB}, SQLite's largest database in 4 KiB pages; got {}", self.max_size_mb),
            ));
        }
        Ok(())
    }

    pub fn retention(&self) -> Retention {
        Retention {
            raw: Duration::from_secs_f64(self.raw_days * DAY),
            minute: Duration::from_secs_f64(self.minute_days * DAY),
            hour: Duration::from_secs_f64(self.hour_days * DAY),
            event_log: Duration::from_secs_f64(self.event_log_days * DAY),
        }
    }
}
