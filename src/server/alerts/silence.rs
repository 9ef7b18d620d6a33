//! Silences: recurring maintenance windows from the config (days and times
//! in a named time zone) and ad-hoc silences set through the API, stored
//! with their expiry. A silenced transition is recorded, not sent.

use chrono::{Datelike, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::{
    model::alert::Silence,
    server::store::{Store, StoreError},
};

/// One `[[maintenance]]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    pub name: String,
    /// Rules it silences; every rule when empty.
    #[serde(default)]
    pub rules: Vec<String>,
    /// `mon` … `sun`; every day when empty. A window past midnight belongs to the day it starts.
    #[serde(default)]
    pub days: Vec<String>,
    /// `HH:MM`, in `time_zone`.
    pub from: String,
    pub to: String,
    /// An IANA name such as `Europe/Berlin` [default: UTC].
    #[serde(default = "utc")]
    pub time_zone: String,
}

fn utc() -> String {
    "UTC".to_owned()
}

#[derive(Clone, Debug)]
pub struct Window {
    pub name: String,
    pub rules: Vec<String>,
    days: Vec<Weekday>,
    from: NaiveTime,
    to: NaiveTime,
    zone: Tz,
}

type Invalid = (&'static str, String);

impl MaintenanceConfig {
    pub fn validate(&self, rules: &[String]) -> Result<Window, Invalid> {
        let name = &self.name;
        let time = |key: &'static str, text: &str| {
            NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| (key, format!("window {name:?}: {text:?} is not a time of day such as \"02:30\"")))
        };
        let (from, to) = (time("maintenance.from", &self.from)?, time("maintenance.to", &self.to)?);
        if from == to {
            return Err(("maintenance.to", format!("window {name:?}: from and to are the same time")));
        }
        let zone: Tz =
            self.time_zone.parse().map_err(|_| ("maintenance.time_zone", format!("window {name:?}: {:?} is not an IANA time zone", self.time_zone)))?;
        let days = self
            .days
            .iter()
            .map(|day| day.parse::<Weekday>().map_err(|_| ("maintenance.days", format!("window {name:?}: {day:?} is not a day (mon … sun)"))))
            .collect::<Result<_, _>>()?;
        if let Some(unknown) = self.rules.iter().find(|rule| !rules.contains(rule)) {
            return Err(("maintenance.rules", format!("window {name:?}: no [[alert]] rule is named {unknown:?}")));
        }
        Ok(Window { name: name.clone(), rules: self.rules.clone(), days, from, to, zone })
    }
}

impl Window {
    /// Whether the window covers `rule` at `at_ms`.
    pub fn covers(&self, rule: &str, at_ms: i64) -> bool {
        if !self.rules.is_empty() && !self.rules.iter().any(|r| r == rule) {
            return false;
        }
        let Some(local) = self.zone.timestamp_millis_opt(at_ms).single() else { return false };
        let time = local.time();
        let day_ok = |day: Weekday| self.days.is_empty() || self.days.contains(&day);
        if self.from < self.to {
            day_ok(local.weekday()) && time >= self.from && time < self.to
        } else {
            // Past midnight: the evening part is today's window, the morning part yesterday's.
            (time >= self.from && day_ok(local.weekday())) || (time < self.to && day_ok(local.weekday().pred()))
        }
    }
}

type SilenceRow = (i64, Option<String>, Option<String>, i64, i64, String);

fn silence((id, rule, subject, starts_ms, ends_ms, reason): SilenceRow) -> Silence {
    Silence { id, rule, subject, starts_ms, ends_ms, reason }
}

impl Store {
    pub async fn create_silence(&self, rule: Option<&str>, subject: Option<&str>, starts_ms: i64, ends_ms: i64, reason: &str) -> Result<Silence, StoreError> {
        let row: SilenceRow = sqlx::query_as(
            "INSERT INTO alert_silence (rule, subject, starts_ms, ends_ms, reason, created_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, rule, subject, starts_ms, ends_ms, reason",
        )
        .bind(rule)
        .bind(subject)
        .bind(starts_ms)
        .bind(ends_ms)
        .bind(reason)
        .bind(crate::server::clock::now_ms())
        .fetch_one(self.pool())
        .await?;
        Ok(silence(row))
    }

    /// Silences that have not ended by `now_ms`, soonest end first.
    pub async fn silences(&self, now_ms: i64) -> Result<Vec<Silence>, StoreError> {
        let rows: Vec<SilenceRow> =
            sqlx::query_as("SELECT id, rule, subject, starts_ms, ends_ms, reason FROM alert_silence WHERE ends_ms > $1 ORDER BY ends_ms, id")
                .bind(now_ms)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(silence).collect())
    }

    /// Ends a silence now; whether one was still running.
    pub async fn end_silence(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let ended =
            sqlx::query("UPDATE alert_silence SET ends_ms = $1 WHERE id = $2 AND ends_ms > $3").bind(now_ms).bind(id).bind(now_ms).execute(self.pool()).await?;
        Ok(ended.rows_affected() > 0)
    }

    /// The reason a silence covers `rule` and `subject` at `at_ms`, if one does.
    pub async fn silenced_by(&self, rule: &str, subject: &str, at_ms: i64) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT reason FROM alert_silence WHERE starts_ms <= $1 AND ends_ms > $1 AND (rule IS NULL OR rule = $2) AND (subject IS NULL OR subject = $3) \
             ORDER BY id LIMIT 1",
        )
        .bind(at_ms)
        .bind(rule)
        .bind(subject)
        .fetch_optional(self.pool())
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(days: &[&str], from: &str, to: &str, zone: &str) -> Window {
        let config = MaintenanceConfig {
            name: "w".into(),
            rules: vec![],
            days: days.iter().map(|d| d.to_string()).collect(),
            from: from.into(),
            to: to.into(),
            time_zone: zone.into(),
        };
        config.validate(&[]).unwrap()
    }

    fn at(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn windows_follow_their_zone_days_and_midnight() {
        // 02:00-04:00 in Berlin is 01:00-03:00 UTC in winter.
        let nightly = window(&[], "02:00", "04:00", "Europe/Berlin");
        assert!(nightly.covers("r", at("2026-12-01T01:30:00Z")));
        assert!(!nightly.covers("r", at("2026-12-01T03:30:00Z")));
        // Saturday 23:00 to Sunday 01:00, as Saturday's window.
        let weekend = window(&["sat"], "23:00", "01:00", "UTC");
        assert!(weekend.covers("r", at("2026-12-05T23:30:00Z")), "Saturday evening");
        assert!(weekend.covers("r", at("2026-12-06T00:30:00Z")), "the small hours of Sunday");
        assert!(!weekend.covers("r", at("2026-12-06T23:30:00Z")), "not Sunday evening");
    }

    #[test]
    fn bad_windows_name_their_key() {
        let bad = |from: &str, zone: &str, day: &str| {
            MaintenanceConfig { name: "w".into(), rules: vec![], days: vec![day.into()], from: from.into(), to: "04:00".into(), time_zone: zone.into() }
                .validate(&[])
                .unwrap_err()
                .0
        };
        assert_eq!(bad("2am", "UTC", "mon"), "maintenance.from");
        assert_eq!(bad("02:00", "Mars/Olympus", "mon"), "maintenance.time_zone");
        assert_eq!(bad("02:00", "UTC", "funday"), "maintenance.days");
    }
}
