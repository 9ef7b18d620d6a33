//! The values an event offers to rules: which kind of series it belongs to,
//! what it is about (the subject), and its fields by name. Pure.

use serde_json::Value;

use crate::{
    model::{ALERT_TOPIC, LIVE_TOPIC, NODE_TOPIC, PROBE_TOPIC, SPEED_TOPIC},
    server::alerts::config::Watched,
};

#[derive(Debug, PartialEq)]
pub enum Source<'a> {
    Speed,
    Probe,
    Topic(&'a str),
    Node,
}

impl Source<'_> {
    /// Whether a rule watching `watched` judges this source's `subject`.
    pub fn is_watched_by(&self, watched: &Watched, subject: &str) -> bool {
        match (watched, self) {
            (Watched::Speed { target }, Source::Speed) => target.as_deref().is_none_or(|t| t == subject),
            (Watched::Probe { monitor }, Source::Probe) => monitor.as_deref().is_none_or(|m| m == subject),
            (Watched::Topic { topic }, Source::Topic(t)) => topic == t,
            (Watched::Node { node }, Source::Node) => node.as_deref().is_none_or(|n| n == subject),
            _ => false,
        }
    }
}

/// One event's fields, or `None` for events no rule can watch.
#[derive(Debug, PartialEq)]
pub struct Values<'a> {
    pub source: Source<'a>,
    /// The speed target, the monitor, or the topic's name.
    pub subject: String,
    pub fields: Vec<(String, f64)>,
}

pub fn values<'a>(topic: &'a str, data: &str) -> Option<Values<'a>> {
    if matches!(topic, LIVE_TOPIC | ALERT_TOPIC) {
        return None;
    }
    if !matches!(topic, SPEED_TOPIC | PROBE_TOPIC | NODE_TOPIC) {
        let fields = crate::topic_fields::numeric_fields(data);
        return Some(Values { source: Source::Topic(topic), subject: topic.to_owned(), fields });
    }
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(data) else { return None };
    let number = |name: &str| object.get(name).and_then(Value::as_f64);
    let mut fields = Vec::new();
    if topic == NODE_TOPIC {
        let subject = object.get("node").and_then(Value::as_str)?.to_owned();
        let online = object.get("online").and_then(Value::as_bool)?;
        fields.push(("online".to_owned(), f64::from(u8::from(online))));
        fields.extend(["clock_offset_ms", "backlog", "dropped"].into_iter().filter_map(|name| Some((name.to_owned(), number(name)?))));
        return Some(Values { source: Source::Node, subject, fields });
    }
    if topic == SPEED_TOPIC {
        let subject = object.get("target").and_then(Value::as_str)?.to_owned();
        for name in ["download_mbps", "upload_mbps", "latency_ms", "jitter_ms", "latency_down_ms", "latency_up_ms"] {
            if let Some(value) = number(name) {
                fields.push((name.to_owned(), value));
            }
        }
        let failed = object.get("error").is_some_and(|error| !error.is_null());
        fields.push(("failed".to_owned(), f64::from(u8::from(failed))));
        return Some(Values { source: Source::Speed, subject, fields });
    }
    let subject = object.get("monitor").and_then(Value::as_str)?.to_owned();
    if let Some(up) = object.get("up").and_then(Value::as_bool) {
        fields.push(("up".to_owned(), f64::from(u8::from(up))));
    }
    for name in
        ["response_ms", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "status_code", "cert_days_left", "loss_pct", "rtt_min_ms", "rtt_max_ms", "rtt_mdev_ms"]
    {
        if let Some(value) = number(name) {
            fields.push((name.to_owned(), value));
        }
    }
    Some(Values { source: Source::Probe, subject, fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_topic_offers_its_fields() {
        let speed = values("speed", r#"{"target":"http://t","download_mbps":41.8,"upload_mbps":null,"error":null}"#).unwrap();
        assert_eq!((speed.source, speed.subject.as_str()), (Source::Speed, "http://t"));
        assert_eq!(speed.fields, [("download_mbps".to_owned(), 41.8), ("failed".to_owned(), 0.0)]);
        let failed = values("speed", r#"{"target":"http://t","error":"timed out"}"#).unwrap();
        assert_eq!(failed.fields, [("failed".to_owned(), 1.0)]);
        let probe = values("probe", r#"{"monitor":"gw","up":false,"status_code":503,"response_ms":null}"#).unwrap();
        assert_eq!(probe.fields, [("up".to_owned(), 0.0), ("status_code".to_owned(), 503.0)]);
        assert_eq!(values("sales", r#"{"orders":3}"#).unwrap().fields, [("orders".to_owned(), 3.0)]);
        assert!(values("alert", "{}").is_none() && values("live", "{}").is_none());
        let node = values("node", r#"{"node":"tokyo","online":false,"clock_offset_ms":-250,"backlog":12,"dropped":0,"version":"0.2.0"}"#).unwrap();
        assert_eq!((node.source, node.subject.as_str()), (Source::Node, "tokyo"));
        let fields = [("online", 0.0), ("clock_offset_ms", -250.0), ("backlog", 12.0), ("dropped", 0.0)].map(|(n, v)| (n.to_owned(), v));
        assert_eq!(node.fields, fields);
    }
}
