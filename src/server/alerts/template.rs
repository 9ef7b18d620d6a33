//! Notification texts: one template engine (minijinja), default templates
//! that read well in a phone notification, and the values they can use.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// What a template sees. Numbers come already formatted for reading.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct MessageContext {
    pub rule: String,
    /// `firing`, `resolved`, `flapping`, `settled`, `pending`, `cleared` or `test`.
    pub kind: String,
    /// What the rule watched: a speed target's host, a monitor, a topic.
    pub subject: String,
    pub node: String,
    pub field: String,
    /// "download", "response time"...
    pub label: String,
    /// "Mbit/s", "ms", or empty.
    pub unit: String,
    pub value: String,
    pub threshold: String,
    /// "below", "above"...
    pub comparison: String,
    /// The pending duration, as "10 min"; empty when the rule fires at once.
    pub pending_for: String,
    /// How long a resolved breach lasted, as "38 min".
    pub lasted: String,
    pub worst: String,
}

pub const DEFAULT_MESSAGE: &str = "{{ label }} {{ value }}{% if unit %} {{ unit }}{% endif %} {{ comparison }} {{ threshold }}\
{% if pending_for %} for {{ pending_for }}{% endif %} ({{ node }} → {{ subject }})";
pub const DEFAULT_RECOVERY: &str = "{{ label }} back to {{ value }}{% if unit %} {{ unit }}{% endif %} after {{ lasted }}\
{% if worst %}, worst {{ worst }}{% if unit %} {{ unit }}{% endif %}{% endif %} ({{ node }} → {{ subject }})";
const UP_MESSAGE: &str = "{{ subject }} is down{% if pending_for %} for {{ pending_for }}{% endif %} ({{ node }})";
const UP_RECOVERY: &str = "{{ subject }} is up again after {{ lasted }} ({{ node }})";
const FLAPPING: &str =
    "{{ rule }} is flapping: {{ label }} {{ value }}{% if unit %} {{ unit }}{% endif %}; quiet until it settles ({{ node }} → {{ subject }})";
const SETTLED: &str =
    "{{ rule }} settled{% if kind == 'settled' %}: {{ label }} {{ value }}{% if unit %} {{ unit }}{% endif %}{% endif %} ({{ node }} → {{ subject }})";

#[derive(Debug, thiserror::Error)]
#[error("the template does not render: {0}")]
pub struct TemplateError(String);

/// Instructions one render may run: far more than any notification needs.
const FUEL: u64 = 50_000;

fn environment() -> Environment<'static> {
    let mut environment = Environment::new();
    // A misspelt name is an error at start-up, not an empty gap in a notification.
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    // A bounded amount of work per render: a template with loops in loops
    // (through the preview API, or a config) ends with an error, not a stuck worker.
    environment.set_fuel(Some(FUEL));
    environment
}

/// Renders `template` (the configured one, or the default for `kind` and `field`).
pub fn render(template: Option<&str>, context: &MessageContext) -> Result<String, TemplateError> {
    let source = template.unwrap_or_else(|| default_for(&context.kind, &context.field));
    let text = environment().render_str(source, context).map_err(|err| TemplateError(describe(&err)))?;
    Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn default_for(kind: &str, field: &str) -> &'static str {
    match (kind, field) {
        ("resolved" | "cleared", "up") => UP_RECOVERY,
        ("resolved" | "cleared", _) => DEFAULT_RECOVERY,
        ("flapping", _) => FLAPPING,
        ("settled", _) => SETTLED,
        (_, "up") => UP_MESSAGE,
        _ => DEFAULT_MESSAGE,
    }
}

fn describe(err: &minijinja::Error) -> String {
    let mut text = err.to_string();
    if let Some(line) = err.line() {
        text = format!("line {line}: {text}");
    }
    text.replace('\n', " ")
}

/// Checks that a configured template compiles and uses only known names,
/// for every kind of notification it may render.
pub fn check(template: &str) -> Result<(), String> {
    for kind in ["firing", "resolved", "flapping", "settled"] {
        render(Some(template), &MessageContext { kind: kind.into(), ..sample() }).map_err(|err| err.to_string())?;
    }
    Ok(())
}

/// What a webhook's `body` template sees.
#[derive(Clone, Debug, Serialize)]
pub struct BodyContext<'a> {
    pub id: &'a str,
    pub rule: &'a str,
    pub subject: &'a str,
    pub kind: &'a str,
    pub title: &'a str,
    pub message: &'a str,
}

/// Renders a webhook body; unlike a message, its whitespace is kept.
pub fn render_body(template: &str, context: &BodyContext) -> Result<String, TemplateError> {
    environment().render_str(template, context).map_err(|err| TemplateError(describe(&err)))
}

pub fn check_body(template: &str) -> Result<(), String> {
    let sample = BodyContext { id: "0", rule: "r", subject: "s", kind: "firing", title: "t", message: "m" };
    render_body(template, &sample).map(drop).map_err(|err| err.to_string())
}

/// A realistic context, for checking templates and for previews.
pub fn sample() -> MessageContext {
    MessageContext {
        rule: "slow download".into(),
        kind: "firing".into(),
        subject: "speed.cloudflare.com".into(),
        node: "nas".into(),
        field: "download_mbps".into(),
        label: "download".into(),
        unit: "Mbit/s".into(),
        value: "41.8".into(),
        threshold: "100".into(),
        comparison: "below".into(),
        pending_for: "10 min".into(),
        lasted: "38 min".into(),
        worst: "12.5".into(),
    }
}

/// A field's name and unit as a person reads them.
pub fn label_and_unit(field: &str) -> (String, &'static str) {
    let (label, unit) = match field {
        "download_mbps" => ("download", "Mbit/s"),
        "upload_mbps" => ("upload", "Mbit/s"),
        "latency_ms" => ("latency", "ms"),
        "jitter_ms" => ("jitter", "ms"),
        "latency_down_ms" => ("latency while downloading", "ms"),
        "latency_up_ms" => ("latency while uploading", "ms"),
        "failed" => ("failed tests", ""),
        "nodes_in_breach" => ("nodes breaching the rule", ""),
        "response_ms" => ("response time", "ms"),
        "dns_ms" => ("DNS lookup", "ms"),
        "connect_ms" => ("connect time", "ms"),
        "tls_ms" => ("TLS handshake", "ms"),
        "ttfb_ms" => ("time to first byte", "ms"),
        "status_code" => ("status", ""),
        "cert_days_left" => ("certificate", "days left"),
        "loss_pct" => ("packet loss", "%"),
        "rtt_min_ms" => ("fastest ping", "ms"),
        "rtt_max_ms" => ("slowest ping", "ms"),
        "rtt_mdev_ms" => ("ping deviation", "ms"),
        other => return (other.replace('_', " "), ""),
    };
    (label.to_owned(), unit)
}

/// A number as a notification shows it: three significant digits or so, no trailing zeros.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let decimals = if value.abs() >= 100.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_read_like_the_issue_asks() {
        assert_eq!(render(None, &sample()).unwrap(), "download 41.8 Mbit/s below 100 for 10 min (nas → speed.cloudflare.com)");
        let resolved = MessageContext { kind: "resolved".into(), value: "312".into(), ..sample() };
        assert_eq!(render(None, &resolved).unwrap(), "download back to 312 Mbit/s after 38 min, worst 12.5 Mbit/s (nas → speed.cloudflare.com)");
        let down = MessageContext { field: "up".into(), subject: "gateway".into(), pending_for: String::new(), ..sample() };
        assert_eq!(render(None, &down).unwrap(), "gateway is down (nas)");
    }

    #[test]
    fn a_bad_template_is_refused_with_its_reason() {
        assert!(check("{{ value }} at {{ node }}").is_ok());
        assert!(check("{{ valeu }}").unwrap_err().contains("undefined"), "a misspelt name");
        assert!(check("{% if value %}").is_err(), "an unclosed block");
        assert!(check("{% if kind == 'resolved' %}{{ typo }}{% endif %}").is_err(), "a name only one kind reaches");
        let endless = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
        assert!(check(endless).unwrap_err().contains("fuel"), "a runaway template stops");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!([number(41.83), number(100.0), number(0.5), number(941.6), number(12.0)], ["41.8", "100", "0.5", "942", "12"]);
    }
}
