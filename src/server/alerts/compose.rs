//! Turning a rule's transition into the text people read: the title, the
//! message from the rule's template, the facts digests are built from, and a
//! digest of several notifications that queued while a channel was down.

use crate::format;
use crate::server::alerts::{
    condition::Comparison,
    config::Rule,
    store::Facts,
    template::{self, MessageContext, TemplateError},
    tracker::Transition,
};

/// What a notification is about, shown short: a speed target's host, else the subject itself.
pub fn subject_label(subject: &str) -> String {
    reqwest::Url::parse(subject).ok().and_then(|url| url.host_str().map(str::to_owned)).unwrap_or_else(|| subject.to_owned())
}

pub fn facts(rule: &Rule, transition: &Transition, kind: &str, node: &str) -> Facts {
    let (label, unit) = template::label_and_unit(&rule.field);
    Facts {
        kind: kind.to_owned(),
        label,
        unit: unit.to_owned(),
        node: node.to_owned(),
        at_ms: transition.at_ms,
        value: transition.value,
        worst: transition.worst,
        started_ms: transition.started_ms,
        threshold: transition.threshold,
        lower_is_worse: matches!(rule.judgement.condition.comparison, Comparison::Below | Comparison::AtMost),
    }
}

/// The title and message of a notification of `kind` (`firing`, `resolved`, `reminder`…).
pub fn text(rule: &Rule, subject: &str, facts: &Facts) -> Result<(String, String), TemplateError> {
    let lasted = facts.started_ms.map(|start| facts.at_ms.saturating_sub(start)).unwrap_or(0);
    let template_kind = if matches!(facts.kind.as_str(), "reminder" | "escalated") { "firing" } else { facts.kind.as_str() };
    let context = MessageContext {
        rule: rule.name.clone(),
        kind: template_kind.to_owned(),
        subject: subject_label(subject),
        node: facts.node.clone(),
        field: rule.field.clone(),
        label: facts.label.clone(),
        unit: facts.unit.clone(),
        value: template::number(facts.value),
        threshold: facts.threshold.map(template::number).unwrap_or_default(),
        comparison: rule.judgement.condition.comparison.words().to_owned(),
        pending_for: if rule.judgement.pending_for.is_zero() { String::new() } else { format::duration(rule.judgement.pending_for.as_millis() as i64) },
        lasted: format::duration(lasted),
        worst: facts.worst.map(template::number).unwrap_or_default(),
    };
    let configured = match template_kind {
        "resolved" | "settled" => rule.recovery_message.as_deref(),
        _ => rule.message.as_deref(),
    };
    let message = template::render(configured, &context)?;
    let title = match facts.kind.as_str() {
        "resolved" => format!("Resolved: {} after {}", rule.name, format::duration(lasted)),
        "flapping" => format!("Flapping: {}", rule.name),
        "settled" => format!("Settled: {}", rule.name),
        "reminder" => format!("Still firing: {} for {}", rule.name, format::duration(lasted)),
        "escalated" => format!("Escalated: {} has fired for {}", rule.name, format::duration(lasted)),
        "test" => format!("Test: {}", rule.name),
        _ => format!("Firing: {}", rule.name),
    };
    Ok((title, message))
}

/// One message for several that queued for the same rule and channel: from
/// the first breach to the last state, with the worst value. `clock` formats
/// a time for the reader (the server's zone).
pub fn digest(rule: &str, subject: &str, all: &[Facts], clock: impl Fn(i64) -> String) -> Option<(String, String)> {
    let (first, last) = (all.first()?, all.last()?);
    let start = all.iter().filter_map(|f| f.started_ms).min().unwrap_or(first.at_ms);
    let worst =
        all.iter()
            .flat_map(|f| [f.worst, Some(f.value)])
            .flatten()
            .filter(|v| v.is_finite())
            .reduce(|a, b| if first.lower_is_worse { a.min(b) } else { a.max(b) });
    let ended = matches!(last.kind.as_str(), "resolved" | "settled");
    let span = if ended { format!("{}–{}", clock(start), clock(last.at_ms)) } else { format!("since {}", clock(start)) };
    let unit = if first.unit.is_empty() { String::new() } else { format!(" {}", first.unit) };
    let worst = worst.map(|w| format!(", worst {}{unit}", template::number(w))).unwrap_or_default();
    let state = if ended { format!("resolved after {}", format::duration(last.at_ms.saturating_sub(start))) } else { "still firing".to_owned() };
    let title = format!("{rule}: {state} ({} notifications in one)", all.len());
    let message = format!("{} {span}{worst} ({} → {})", first.label, first.node, subject_label(subject));
    Some((title, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: &str, at_min: i64, value: f64, worst: Option<f64>) -> Facts {
        Facts {
            kind: kind.into(),
            label: "download".into(),
            unit: "Mbit/s".into(),
            node: "nas".into(),
            at_ms: at_min * 60_000,
            value,
            worst,
            started_ms: Some(3 * 60_000),
            threshold: Some(100.0),
            lower_is_worse: true,
        }
    }

    #[test]
    fn a_digest_spans_the_outage_with_its_worst_value() {
        let clock = |ms: i64| format!("12:{:02}", ms / 60_000);
        let (title, message) =
            digest("slow download", "https://speed.cloudflare.com", &[facts("firing", 3, 20.0, Some(20.0)), facts("resolved", 41, 300.0, Some(0.0))], clock)
                .unwrap();
        assert_eq!(message, "download 12:03–12:41, worst 0 Mbit/s (nas → speed.cloudflare.com)");
        assert_eq!(title, "slow download: resolved after 38 min (2 notifications in one)");
        let (_, open) = digest("slow download", "x", &[facts("firing", 3, 20.0, Some(20.0)), facts("reminder", 63, 10.0, Some(10.0))], clock).unwrap();
        assert_eq!(open, "download since 12:03, worst 10 Mbit/s (nas → x)");
    }
}
