//! The dashboard's event log: the newest events of every subscribed topic,
//! newest first, each with a one-line summary.

use std::collections::VecDeque;

use crate::{
    format::{self, escape},
    live::alerts::AlertChange,
    live::nodes::node_summary,
    model::{node::NodeReport, ProbeResult, SpeedSample, TopicEvent, ALERT_TOPIC, LOG_LENGTH, NODE_TOPIC, PROBE_TOPIC, SPEED_TOPIC},
};

/// Longest summary, in characters; longer ones end in an ellipsis.
const SUMMARY_CHARS: usize = 120;

#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    pub id: u64,
    pub topic: String,
    pub at_ms: i64,
    pub summary: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventLog {
    entries: VecDeque<LogEntry>,
}

impl EventLog {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a TopicEvent>) -> Self {
        let mut log = Self::default();
        for event in events {
            log.push(event);
        }
        log
    }

    /// Adds an event unless it is not newer than the newest shown.
    pub fn push(&mut self, event: &TopicEvent) {
        self.push_summarised(event, || summarise(&event.topic, &event.data));
    }

    /// As `push`, with a summary from a caller that has already parsed the event.
    pub fn push_summarised(&mut self, event: &TopicEvent, summary: impl FnOnce() -> String) {
        if self.entries.front().is_some_and(|newest| newest.id >= event.id) {
            return;
        }
        self.entries.push_front(LogEntry { id: event.id, topic: event.topic.clone(), at_ms: event.at_ms, summary: shorten(summary()) });
        self.entries.truncate(LOG_LENGTH);
    }

    /// Newest first.
    pub fn entries(&self) -> &VecDeque<LogEntry> {
        &self.entries
    }

    /// The entries as list items, newest first, times on the viewer's clock.
    /// One escaped string rather than a view per entry: each list of views
    /// adds its own update code to the WASM bundle.
    pub fn entries_html(&self, zone: Option<i32>) -> String {
        if self.entries.is_empty() {
            return "<li class=\"event-empty\">No events yet.</li>".to_owned();
        }
        self.entries
            .iter()
            .map(|entry| {
                let at = chrono::DateTime::from_timestamp_millis(entry.at_ms).unwrap_or_default();
                format!(
                    "<li class=\"event\" data-testid=\"event\" data-id=\"{}\" data-topic=\"{topic}\"><time datetime=\"{}\">{}</time>\
                     <span class=\"event-topic\">{topic}</span><span class=\"event-summary\">{}</span></li>",
                    entry.id,
                    at.to_rfc3339(),
                    format::wall_clock(at, zone),
                    escape(&entry.summary),
                    topic = escape(&entry.topic),
                )
            })
            .collect()
    }
}

/// One line a person can read at a glance.
pub fn summarise(topic: &str, data: &str) -> String {
    let text = match topic {
        SPEED_TOPIC => serde_json::from_str::<SpeedSample>(data).map_or_else(|_| data.to_owned(), |s| speed_summary(&s)),
        PROBE_TOPIC => serde_json::from_str::<ProbeResult>(data).map_or_else(|_| data.to_owned(), |p| probe_summary(&p)),
        ALERT_TOPIC => serde_json::from_str::<AlertChange>(data).map_or_else(|_| data.to_owned(), |change| change.summary()),
        NODE_TOPIC => serde_json::from_str::<NodeReport>(data).map_or_else(|_| data.to_owned(), |node| node_summary(&node)),
        // Custom topics: their JSON as it came, which is already compact.
        _ => data.to_owned(),
    };
    shorten(text)
}

/// A test's line; an agent node's (its target ends `@<node>`) starts with the node's name.
pub fn speed_summary(s: &SpeedSample) -> String {
    let from_node = s.target.strip_suffix(s.node.as_str()).is_some_and(|rest| rest.ends_with('@'));
    let node = if from_node { format!("{}: ", s.node) } else { String::new() };
    match &s.error {
        Some(error) => format!("{node}speed test failed: {error}"),
        None => format!(
            "{node}↓ {} Mbit/s, ↑ {} Mbit/s, latency {} ms",
            format::metric(s.download_mbps),
            format::metric(s.upload_mbps),
            format::metric(s.latency_ms)
        ),
    }
}

pub fn probe_summary(p: &ProbeResult) -> String {
    if p.up {
        format!("{} up, {} in {} ms", p.monitor, p.status_code.map_or_else(|| "connected".to_owned(), |c| c.to_string()), format::metric(p.response_ms))
    } else {
        format!("{} down: {}", p.monitor, p.error.as_deref().unwrap_or("no reason given"))
    }
}

/// At most [`SUMMARY_CHARS`] characters, ending in an ellipsis when cut.
fn shorten(text: String) -> String {
    if text.chars().count() > SUMMARY_CHARS {
        text.chars().take(SUMMARY_CHARS - 1).chain(std::iter::once('…')).collect()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, topic: &str, data: &str) -> TopicEvent {
        TopicEvent { topic: topic.into(), id, at_ms: 0, data: data.into() }
    }

    #[test]
    fn entries_are_escaped_list_items_newest_first() {
        assert_eq!(EventLog::default().entries_html(None), "<li class=\"event-empty\">No events yet.</li>");
        let event = |id: u64, data: &str| TopicEvent { id, topic: "sales".into(), at_ms: 0, data: data.into() };
        let log = EventLog::from_events(&[event(1, r#"{"note": "<b>hi</b>"}"#), event(2, r#"{"orders": 3}"#)]);
        let html = log.entries_html(None);
        assert!(
            html.starts_with(
                "<li class=\"event\" data-testid=\"event\" data-id=\"2\" data-topic=\"sales\"><time datetime=\"1970-01-01T00:00:00+00:00\">00:00:00 UTC</time>"
            ),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;hi&lt;/b&gt;") && !html.contains("<b>"), "summaries are escaped: {html}");
        assert!(log.entries_html(Some(60)).contains(">01:00:00</time>"), "the viewer's clock");
    }

    #[test]
    fn newest_first_bounded_and_without_repeats() {
        let mut log = EventLog::default();
        for id in 1..=60 {
            log.push(&event(id, "sales", r#"{"n": 1}"#));
        }
        log.push(&event(42, "sales", "{}"));
        assert_eq!(log.entries().len(), LOG_LENGTH);
        assert_eq!(log.entries().front().map(|e| e.id), Some(60));
        assert_eq!(log.entries().back().map(|e| e.id), Some(11));
    }

    #[test]
    fn summaries_read_as_sentences() {
        let speed = serde_json::to_string(&SpeedSample { latency_ms: Some(9.5), ..SpeedSample::for_test(0, Some(94.5), Some(20.0)) }).unwrap();
        assert_eq!(summarise("speed", &speed), "↓ 94.5 Mbit/s, ↑ 20.0 Mbit/s, latency 9.50 ms");
        let failed = serde_json::to_string(&SpeedSample { error: Some("connection refused".into()), ..SpeedSample::for_test(0, None, None) }).unwrap();
        assert_eq!(summarise("speed", &failed), "speed test failed: connection refused");
        let from_node = SpeedSample { node: "tokyo".into(), target: "http://h/speedtest@tokyo".into(), ..SpeedSample::for_test(0, Some(94.5), Some(20.0)) };
        assert_eq!(speed_summary(&from_node), "tokyo: ↓ 94.5 Mbit/s, ↑ 20.0 Mbit/s, latency — ms");
        assert_eq!(summarise("sales", r#"{"orders":3,"region":"eu"}"#), r#"{"orders":3,"region":"eu"}"#);
        assert_eq!(summarise("sales", &format!(r#"{{"note": "{}"}}"#, "x".repeat(300))).chars().count(), 120);
    }
}
