//! Which numbers of an event become history: the series an event belongs to
//! and its numeric fields (pure, so unit-tested), and creating a field's row.

use serde_json::Value;

use crate::model::{NODE_TOPIC, PROBE_TOPIC, SPEED_TOPIC};

/// The speed fields kept as history, in the order charts list them.
pub const SPEED_FIELDS: &[&str] = &["download_mbps", "upload_mbps", "latency_ms", "jitter_ms", "latency_down_ms", "latency_up_ms"];

/// A check's numbers kept as history besides `up`: timings, a certificate's days
/// left and a ping's loss and round trips, where the monitor's kind has them.
pub const PROBE_FIELDS: &[&str] =
    &["response_ms", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "cert_days_left", "loss_pct", "rtt_min_ms", "rtt_max_ms", "rtt_mdev_ms"];

/// One series' numbers from one event.
#[derive(Debug, PartialEq)]
pub struct SeriesValues {
    pub series: String,
    pub values: Vec<(String, f64)>,
}

/// The series an event feeds, with their values; none for topics that are not
/// history (the on-demand `live` pings) or events with no numbers.
pub fn series_values(topic: &str, data: &str) -> Vec<SeriesValues> {
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(data) else { return Vec::new() };
    let number = |name: &str| object.get(name).and_then(Value::as_f64);
    match topic {
        SPEED_TOPIC => {
            let values: Vec<_> = SPEED_FIELDS.iter().filter_map(|name| Some((name.to_string(), number(name)?))).collect();
            let mut series = vec![SeriesValues { series: "speed".into(), values: values.clone() }];
            // Also per target, so several targets can be charted apart.
            if let Some(target) = object.get("target").and_then(Value::as_str) {
                series.push(SeriesValues { series: format!("speed:{target}"), values });
            }
            series
        }
        PROBE_TOPIC => {
            let Some(monitor) = object.get("monitor").and_then(Value::as_str) else { return Vec::new() };
            let mut values = Vec::new();
            if let Some(up) = object.get("up").and_then(Value::as_bool) {
                values.push(("up".to_owned(), if up { 1.0 } else { 0.0 }));
            }
            values.extend(PROBE_FIELDS.iter().filter_map(|name| Some((name.to_string(), number(name)?))));
            vec![SeriesValues { series: format!("probe:{monitor}"), values }]
        }
        NODE_TOPIC => {
            let Some(node) = object.get("node").and_then(Value::as_str) else { return Vec::new() };
            let mut values = Vec::new();
            if let Some(online) = object.get("online").and_then(Value::as_bool) {
                values.push(("online".to_owned(), if online { 1.0 } else { 0.0 }));
            }
            values.extend(["clock_offset_ms", "backlog", "dropped"].iter().filter_map(|name| Some((name.to_string(), number(name)?))));
            vec![SeriesValues { series: format!("node:{node}"), values }]
        }
        _ if crate::model::BUILTIN_TOPICS.contains(&topic) => Vec::new(),
        _ => vec![SeriesValues { series: format!("topic:{topic}"), values: crate::topic_fields::numeric_fields(data) }],
    }
    .into_iter()
    .filter(|series| !series.values.is_empty())
    .collect()
}

/// The series an agent's result feeds: as [`series_values`], but the
/// all-targets `speed` series is kept per node (`speed@tokyo`) so the server's
/// own chart stays its own; the others already name the node (`probe:web@tokyo`).
pub fn series_values_from_node(topic: &str, data: &str) -> Vec<SeriesValues> {
    #[derive(serde::Deserialize)]
    struct Named {
        node: Option<String>,
    }
    let node = serde_json::from_str::<Named>(data).ok().and_then(|named| named.node);
    let mut series = series_values(topic, data);
    if let Some(node) = node {
        series.iter_mut().filter(|s| s.series == "speed").for_each(|s| s.series = format!("speed@{node}"));
    }
    series
}

/// The id of `series`' field `name`, created if it is new.
pub async fn create_field(connection: &mut sqlx::AnyConnection, series: &str, name: &str) -> Result<i64, super::StoreError> {
    Ok(sqlx::query_scalar("INSERT INTO field (series, name) VALUES ($1, $2) ON CONFLICT (series, name) DO UPDATE SET name = excluded.name RETURNING id")
        .bind(series)
        .bind(name)
        .fetch_one(connection)
        .await?)
}

/// A value as stored: thousandths, as an integer.
pub fn to_milli(value: f64) -> i64 {
    (value * 1000.0).round() as i64
}

pub fn from_milli(milli: i64) -> f64 {
    milli as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_report_feeds_the_node_s_series() {
        let data = r#"{"node":"tokyo","online":true,"last_seen_ms":5,"clock_offset_ms":null,"clock_skewed":false,"backlog":3,"dropped":0,"version":"0.2.0"}"#;
        let series = series_values("node", data);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].series, "node:tokyo");
        assert_eq!(series[0].values, [("online".to_owned(), 1.0), ("backlog".to_owned(), 3.0), ("dropped".to_owned(), 0.0)]);
    }

    #[test]
    fn speed_results_feed_the_merged_and_the_per_target_series() {
        let data = r#"{"target":"http://h/speedtest","download_mbps":94.213,"upload_mbps":null,"latency_ms":11.4,"jitter_ms":0.6,"error":null}"#;
        let series = series_values("speed", data);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].series, "speed");
        assert_eq!(series[1].series, "speed:http://h/speedtest");
        let names: Vec<_> = series[0].values.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["download_mbps", "latency_ms", "jitter_ms"], "nulls are skipped");
    }

    #[test]
    fn an_agent_s_speed_results_keep_the_all_targets_series_per_node() {
        let data = r#"{"node":"tokyo","target":"http://h/speedtest@tokyo","download_mbps":94.2}"#;
        let names: Vec<_> = series_values_from_node("speed", data).into_iter().map(|s| s.series).collect();
        assert_eq!(names, ["speed@tokyo", "speed:http://h/speedtest@tokyo"]);
        let probe = series_values_from_node("probe", r#"{"node":"tokyo","monitor":"web@tokyo","up":true}"#);
        assert_eq!(probe[0].series, "probe:web@tokyo");
    }

    #[test]
    fn probes_record_up_their_timings_and_their_kind_s_own_figures() {
        let down = series_values("probe", r#"{"monitor":"web","up":false,"response_ms":null}"#);
        assert_eq!(down, vec![SeriesValues { series: "probe:web".into(), values: vec![("up".into(), 0.0)] }]);
        let up = series_values("probe", r#"{"monitor":"web","up":true,"response_ms":12.5,"status_code":200}"#);
        assert_eq!(up[0].values, vec![("up".into(), 1.0), ("response_ms".into(), 12.5)], "a status code is not a measure");
        let tls = series_values("probe", r#"{"monitor":"cert","up":true,"response_ms":30.1,"tls_ms":21.0,"cert_days_left":-2.5}"#);
        let names: Vec<_> = tls[0].values.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(names, [("up", 1.0), ("response_ms", 30.1), ("tls_ms", 21.0), ("cert_days_left", -2.5)]);
        let ping =
            series_values("probe", r#"{"monitor":"gw","up":true,"response_ms":1.2,"loss_pct":33.3,"rtt_min_ms":1.0,"rtt_max_ms":1.5,"rtt_mdev_ms":0.2}"#);
        assert_eq!(ping[0].values.len(), 6);
    }

    #[test]
    fn custom_topics_record_their_numeric_fields_only() {
        let series = series_values("sales", r#"{"sales":4200,"region":"eu","ok":true,"orders":87.5}"#);
        assert_eq!(series[0].series, "topic:sales");
        assert_eq!(series[0].values, vec![("orders".into(), 87.5), ("sales".into(), 4200.0)]);
        assert!(series_values("sales", r#"{"note":"no numbers"}"#).is_empty());
        assert!(series_values("live", r#"{"rtt_ms":3.0}"#).is_empty(), "live pings are not history");
        assert!(series_values("sales", "not json").is_empty());
    }

    #[test]
    fn milli_round_trips_three_decimals() {
        assert_eq!(to_milli(94.213), 94_213);
        assert_eq!(from_milli(to_milli(0.001)), 0.001);
        assert_eq!(to_milli(-1.5), -1_500);
    }
}
