//! `[[alert]]` rules and the `[alerts]` section as written, and their
//! validation into [`Rule`]s: every series, field and channel a rule names
//! must exist, and a bad value names its key.

use std::time::Duration;

use checks::{check_dependencies, parse_flapping};
use serde::Deserialize;
use series::parse_series;

use crate::server::{
    alerts::{
        channel_config::Channel,
        condition::{parse_duration, Aggregation, Condition},
        quorum,
        silence::Window,
        tracker::Judgement,
    },
    config::{invalid, Config, ConfigError},
};

/// One `[[alert]]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    pub name: String,
    /// `speed`, `speed:<target URL>`, `probe`, `probe:<monitor>` or `topic:<name>`.
    pub series: String,
    pub field: String,
    /// `< 100`, `>= 99.5`, or a share of the baseline: `< 80%`.
    pub condition: String,
    /// When a firing rule has recovered; the opposite of `condition` by default.
    pub recover: Option<String>,
    /// `last`, `M of N`, or a statistic over a window: `median 10m`.
    #[serde(default = "default_aggregate")]
    pub aggregate: String,
    /// How long the condition must hold before the rule fires.
    #[serde(default = "default_for", rename = "for")]
    pub pending_for: String,
    /// What a percentage condition is a share of: a number (a plan speed).
    pub baseline: Option<f64>,
    /// `K in WINDOW`: more than K changes within the window make the rule flap.
    pub flapping: Option<String>,
    /// The `[[notify]]` channels the rule sends to.
    #[serde(default)]
    pub notify: Vec<String>,
    /// Send again every this long while firing; off by default.
    pub repeat: Option<String>,
    /// Another rule (a gateway, the uplink): while it fires, this one's notifications are held back.
    pub depends_on: Option<String>,
    /// Speed rules: run a retest before firing, and fire only if it breaches too.
    #[serde(default)]
    pub confirm: bool,
    /// Fire for a monitor or target once at least this many vantage points (this server, agent nodes) breach.
    pub nodes_at_least: Option<u32>,
    /// After firing this long, notify `escalate_to` as well.
    pub escalate_after: Option<String>,
    #[serde(default)]
    pub escalate_to: Vec<String>,
    /// Templates of the notification texts (minijinja); defaults read well on a phone.
    pub message: Option<String>,
    pub recovery_message: Option<String>,
}

fn default_aggregate() -> String {
    "last".to_owned()
}
fn default_for() -> String {
    "0s".to_owned()
}

/// The `[alerts]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// How long an undelivered notification is retried before it is given up.
    pub expire: String,
    /// The wait after a first failed delivery; it doubles with each failure...
    pub retry_first: String,
    /// ...up to this.
    pub retry_most: String,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self { expire: "24h".to_owned(), retry_first: "10s".to_owned(), retry_most: "10m".to_owned() }
    }
}

impl AlertsConfig {
    pub fn expiry(&self) -> Result<Duration, (&'static str, String)> {
        let expiry = parse_duration(&self.expire).map_err(|reason| ("alerts.expire", reason))?;
        if expiry < Duration::from_secs(60) || expiry > Duration::from_secs(30 * 86_400) {
            return Err(("alerts.expire", format!("must be 1 minute to 30 days, got {:?}", self.expire)));
        }
        Ok(expiry)
    }

    /// The waits between delivery attempts, first and longest.
    pub fn retry(&self) -> Result<(Duration, Duration), (&'static str, String)> {
        let first = parse_duration(&self.retry_first).map_err(|reason| ("alerts.retry_first", reason))?;
        let most = parse_duration(&self.retry_most).map_err(|reason| ("alerts.retry_most", reason))?;
        if first < Duration::from_millis(100) || first > Duration::from_secs(3600) {
            return Err(("alerts.retry_first", format!("must be 100ms to 1h, got {:?}", self.retry_first)));
        }
        if most < first || most > Duration::from_secs(6 * 3600) {
            return Err(("alerts.retry_most", format!("must be at least alerts.retry_first and at most 6h, got {:?}", self.retry_most)));
        }
        Ok((first, most))
    }
}

/// What a rule watches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Watched {
    /// Speed results, of one target or of each.
    Speed { target: Option<String> },
    /// Monitor checks, of one monitor or of each.
    Probe { monitor: Option<String> },
    /// A custom topic.
    Topic { topic: String },
    /// Agent nodes' state, of one node or of each: `online` is 0 once a node stops reporting.
    Node { node: Option<String> },
}

/// The speed fields a rule may watch; `failed` is 1 for a test that failed.
pub const SPEED_FIELDS: &[&str] = &["download_mbps", "upload_mbps", "latency_ms", "jitter_ms", "latency_down_ms", "latency_up_ms", "failed"];
/// The monitor fields; `up` is 1 or 0.
pub const PROBE_FIELDS: &[&str] =
    &["up", "response_ms", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "status_code", "cert_days_left", "loss_pct", "rtt_min_ms", "rtt_max_ms", "rtt_mdev_ms"];

/// The `node` fields; `online` is 1 or 0.
pub const NODE_FIELDS: &[&str] = &["online", "clock_offset_ms", "backlog", "dropped"];

/// A validated rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub series: String,
    pub watched: Watched,
    pub field: String,
    pub judgement: Judgement,
    pub notify: Vec<String>,
    pub repeat: Option<Duration>,
    pub depends_on: Option<String>,
    /// After firing this long, these channels are told as well.
    pub escalation: Option<(Duration, Vec<String>)>,
    pub message: Option<String>,
    pub recovery_message: Option<String>,
    /// With `nodes_at_least`: the rule that judges how many vantage points breach this one.
    pub quorum: Option<Box<Rule>>,
}

impl Rule {
    /// The rule a subject's phase, value and threshold are of: the count rule across nodes, or this one.
    pub fn judged(&self) -> &Rule {
        self.quorum.as_deref().unwrap_or(self)
    }
}

/// What a rule's series may refer to, from the rest of the config.
pub struct Known<'a> {
    pub speed_targets: &'a [String],
    pub monitors: &'a [String],
    pub topics: &'a [String],
    pub channels: &'a [String],
}

type Invalid = (&'static str, String);

impl AlertConfig {
    pub fn validate(&self, known: &Known) -> Result<Rule, Invalid> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(("alert.name", format!("must be 1 to 64 characters, got {:?}", self.name)));
        }
        let at = |key: &'static str| move |reason: String| (key, format!("rule {name:?}: {reason}"));
        let watched = parse_series(&self.series, known).map_err(at("alert.series"))?;
        let fields = match &watched {
            Watched::Speed { .. } => Some(SPEED_FIELDS),
            Watched::Probe { .. } => Some(PROBE_FIELDS),
            Watched::Topic { .. } => None,
            Watched::Node { .. } => Some(NODE_FIELDS),
        };
        match fields {
            Some(fields) if !fields.contains(&self.field.as_str()) => {
                return Err(at("alert.field")(format!("{:?} is not a field of {:?}; use one of {}", self.field, self.series, fields.join(", "))));
            }
            None if self.field.is_empty() || self.field.len() > crate::topic_fields::MAX_FIELD_NAME => {
                return Err(at("alert.field")(format!("{:?} is not a field name", self.field)));
            }
            _ => {}
        }
        let condition = Condition::parse(&self.condition).map_err(at("alert.condition"))?;
        let recover = self.recover.as_deref().map(Condition::parse).transpose().map_err(at("alert.recover"))?.unwrap_or_else(|| condition.negated());
        let needs_baseline = condition.percent_of_baseline || recover.percent_of_baseline;
        match self.baseline {
            None if needs_baseline => return Err(at("alert.baseline")("a percentage condition needs a baseline, such as baseline = 500".to_owned())),
            Some(base) if !(base.is_finite() && base > 0.0) => return Err(at("alert.baseline")(format!("must be a number above 0, got {base}"))),
            _ => {}
        }
        let aggregation = Aggregation::parse(&self.aggregate).map_err(at("alert.aggregate"))?;
        let pending_for = parse_duration(&self.pending_for).map_err(at("alert.for"))?;
        let flapping = self.flapping.as_deref().map(parse_flapping).transpose().map_err(at("alert.flapping"))?;
        if self.confirm && !matches!(watched, Watched::Speed { .. }) {
            return Err(at("alert.confirm")("only speed rules can confirm with a retest".to_owned()));
        }
        let at_least = self.nodes_at_least.map(|k| quorum::check_at_least(k, &watched, self.confirm)).transpose().map_err(at("alert.nodes_at_least"))?;
        let repeat = self.repeat.as_deref().map(parse_duration).transpose().map_err(at("alert.repeat"))?;
        if repeat.is_some_and(|every| every < Duration::from_secs(60)) {
            return Err(at("alert.repeat")("must be at least 1m".to_owned()));
        }
        for (key, channel) in self.notify.iter().map(|c| ("alert.notify", c)).chain(self.escalate_to.iter().map(|c| ("alert.escalate_to", c))) {
            if !known.channels.contains(channel) {
                return Err(at(key)(format!("no [[notify]] channel is named {channel:?}")));
            }
        }
        let escalation = match (&self.escalate_after, self.escalate_to.is_empty()) {
            (None, true) => None,
            (Some(after), false) => Some((parse_duration(after).map_err(at("alert.escalate_after"))?, self.escalate_to.clone())),
            _ => return Err(at("alert.escalate_to")("escalate_after and escalate_to go together".to_owned())),
        };
        for (key, template) in [("alert.message", &self.message), ("alert.recovery_message", &self.recovery_message)] {
            if let Some(template) = template {
                crate::server::alerts::template::check(template).map_err(at(key))?;
            }
        }
        Ok(Rule {
            name: name.to_owned(),
            series: self.series.clone(),
            watched,
            field: self.field.clone(),
            judgement: Judgement { condition, recover, aggregation, pending_for, baseline: self.baseline, flapping, confirm: self.confirm },
            notify: self.notify.clone(),
            repeat,
            depends_on: self.depends_on.clone(),
            escalation,
            message: self.message.clone(),
            recovery_message: self.recovery_message.clone(),
            quorum: None,
        })
        .map(|rule| match at_least {
            Some(at_least) => Rule { quorum: Some(Box::new(quorum::count_rule(&rule, at_least))), ..rule },
            None => rule,
        })
    }
}

/// The alert sections of the config, validated.
impl Config {
    /// The notification channels, validated; names must be unique.
    pub fn checked_channels(&self) -> Result<Vec<Channel>, ConfigError> {
        let mut channels: Vec<Channel> = Vec::with_capacity(self.channels.len());
        for table in &self.channels {
            let channel = table.validate().map_err(|(key, reason)| invalid(key, reason))?;
            if channels.iter().any(|c| c.name == channel.name) {
                return Err(invalid("notify.name", format!("{:?} is used by two channels", channel.name)));
            }
            channels.push(channel);
        }
        Ok(channels)
    }

    /// The alert rules, validated against the targets, monitors, topics and
    /// channels they name; names must be unique.
    pub fn checked_rules(&self) -> Result<Vec<Rule>, ConfigError> {
        let channels: Vec<String> = self.checked_channels()?.into_iter().map(|c| c.name).collect();
        let speed_targets: Vec<String> = self.speed.targets().iter().map(|t| t.target.label()).collect();
        let monitors: Vec<String> = self.monitors.iter().map(|m| m.name.clone()).collect();
        let known = Known { speed_targets: &speed_targets, monitors: &monitors, topics: &self.topics, channels: &channels };
        let mut rules: Vec<Rule> = Vec::with_capacity(self.alert_rules.len());
        for table in &self.alert_rules {
            let rule = table.validate(&known).map_err(|(key, reason)| invalid(key, reason))?;
            if rules.iter().any(|r| r.name == rule.name) {
                return Err(invalid("alert.name", format!("{:?} is used by two rules", rule.name)));
            }
            rules.push(rule);
        }
        for rule in &rules {
            check_dependencies(rule, &rules)?;
        }
        Ok(rules)
    }

    /// The maintenance windows, validated against the rules they name.
    pub fn checked_windows(&self) -> Result<Vec<Window>, ConfigError> {
        let rules: Vec<String> = self.alert_rules.iter().map(|r| r.name.trim().to_owned()).collect();
        self.maintenance.iter().map(|table| table.validate(&rules).map_err(|(key, reason)| invalid(key, reason))).collect()
    }
}

mod checks;
mod series;
#[cfg(test)]
mod tests;
