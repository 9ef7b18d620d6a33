//! What becomes of each result in an agent's batch, decided before anything
//! is written: new, a retry, refused for its content (done, so the agent
//! drops it), or refused until a gap fills; and a new one's data as the
//! server's topics carry it, timed by the server's clock and named by node.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::{
    model::{ProbeResult, SpeedSample, PROBE_TOPIC, SPEED_TOPIC},
    server::agents::{
        clock_offset::{place, Placed},
        protocol::{AgentResult, Refused, MOST_SEQUENCE_NUMBER},
        sequence::{Received, Sequence, MOST_AHEAD},
    },
};

/// Times before this (2001-09-09) are a broken clock, not a late result.
const EARLIEST_PLAUSIBLE_MS: i64 = 1_000_000_000_000;

/// A result to publish.
#[derive(Debug, PartialEq)]
pub struct Accepted {
    pub seq: u64,
    pub topic: &'static str,
    pub key: String,
    pub data: String,
    /// On the server's clock.
    pub at_ms: i64,
}

/// A batch, sorted out.
#[derive(Debug, Default)]
pub struct Sorted {
    pub accepted: Vec<Accepted>,
    /// Refused for their content: recorded as done, so a retry is a duplicate.
    pub refused_done: Vec<u64>,
    pub refused: Vec<Refused>,
    pub duplicates: usize,
    pub clamped: Vec<u64>,
}

/// A result's data may be this large as the server stores it.
const MOST_RESULT_BYTES: usize = 64 * 1024;

/// Who sent a batch, and what this server runs: a node reports only on those.
pub struct Sender<'a> {
    pub node: &'a str,
    pub monitors: &'a [String],
    pub speed_targets: &'a [String],
    /// Results measured before this are refused: raw history is kept from up to an hour
    /// after it, so a late result's rollup buckets can still be rebuilt from every sample.
    pub earliest_ms: i64,
}

/// Sorts a batch from `sender`, taking each new number in `sequence`.
/// `offset_ms` is the server's clock minus the agent's.
pub fn sort_batch(sender: &Sender, results: Vec<AgentResult>, sequence: &mut Sequence, offset_ms: i64, now_ms: i64) -> Sorted {
    let mut sorted = Sorted::default();
    let mut in_batch = HashSet::with_capacity(results.len());
    for result in results {
        let seq = result.seq;
        let refuse = |reason: String, retry: bool| Refused { seq, reason, retry };
        if seq == 0 || seq > MOST_SEQUENCE_NUMBER {
            sorted.refused.push(refuse(format!("sequence numbers are 1 to {MOST_SEQUENCE_NUMBER}"), false));
            continue;
        }
        if !in_batch.insert(seq) {
            sorted.refused.push(refuse("this number is in the batch twice; only the first was read".to_owned(), false));
            continue;
        }
        match sequence.receive(seq) {
            Received::Duplicate => sorted.duplicates += 1,
            Received::TooFarAhead => sorted
                .refused
                .push(refuse(format!("more than {MOST_AHEAD} numbers past {}, the first one missing: send that first", sequence.acknowledged() + 1), true)),
            Received::New => match prepare(sender, &result.kind, result.data, offset_ms, now_ms) {
                Ok((topic, key, data, placed)) => {
                    let at_ms = match placed {
                        Placed::At(at_ms) => at_ms,
                        Placed::ClampedToNow(at_ms) => {
                            sorted.clamped.push(seq);
                            at_ms
                        }
                    };
                    sorted.accepted.push(Accepted { seq, topic, key, data, at_ms });
                }
                Err(reason) => {
                    sorted.refused_done.push(seq);
                    sorted.refused.push(refuse(reason, false));
                }
            },
        }
    }
    sorted
}

/// A result's topic, key and data as the server publishes it, and where its time goes.
fn prepare(sender: &Sender, kind: &str, data: serde_json::Value, offset_ms: i64, now_ms: i64) -> Result<(&'static str, String, String, Placed), String> {
    let node = sender.node;
    let prepared = match kind {
        "speed" => {
            let mut sample: SpeedSample = serde_json::from_value(data).map_err(|error| format!("not a speed sample: {error}"))?;
            check_name("target", &sample.target)?;
            if !sender.speed_targets.contains(&sample.target) {
                return Err(format!("target {:?} is not one of this server's speed targets", sample.target));
            }
            if sample.target.strip_prefix(crate::server::speed::target::NODE_PREFIX) == Some(node) {
                return Err(format!("target {:?} is this node itself, which no node measures", sample.target));
            }
            let placed = corrected(sample.at, offset_ms, now_ms)?;
            sample.at = to_time(placed);
            sample.node = node.to_owned();
            sample.target = format!("{}@{node}", sample.target);
            let mut value = serde_json::to_value(&sample).map_err(|error| error.to_string())?;
            flag_clamped(&mut value, placed);
            Ok((SPEED_TOPIC, sample.target, value.to_string(), placed))
        }
        "probe" => {
            let mut result: ProbeResult = serde_json::from_value(data).map_err(|error| format!("not a check result: {error}"))?;
            check_name("monitor", &result.monitor)?;
            if !sender.monitors.contains(&result.monitor) {
                return Err(format!("monitor {:?} is not one of this server's monitors", result.monitor));
            }
            let placed = corrected(result.at, offset_ms, now_ms)?;
            result.at = to_time(placed);
            result.monitor = format!("{}@{node}", result.monitor);
            result.node = Some(node.to_owned());
            let mut value = serde_json::to_value(&result).map_err(|error| error.to_string())?;
            flag_clamped(&mut value, placed);
            Ok((PROBE_TOPIC, result.monitor, value.to_string(), placed))
        }
        other => Err(format!("kind {other:?} is not speed or probe")),
    }?;
    let (Placed::At(at_ms) | Placed::ClampedToNow(at_ms)) = prepared.3;
    if at_ms < sender.earliest_ms {
        return Err("it is older than the raw history kept (history.raw_days, less an hour)".to_owned());
    }
    if prepared.2.len() > MOST_RESULT_BYTES {
        return Err(format!("its data is {} bytes; at most {MOST_RESULT_BYTES}", prepared.2.len()));
    }
    Ok(prepared)
}

fn check_name(field: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 256 || name.contains('@') || name.chars().any(char::is_control) {
        return Err(format!("{field} {name:?} must be 1 to 256 characters with no '@' or control characters"));
    }
    Ok(())
}

fn corrected(at: DateTime<Utc>, offset_ms: i64, now_ms: i64) -> Result<Placed, String> {
    let agent_ms = at.timestamp_millis();
    if agent_ms < EARLIEST_PLAUSIBLE_MS {
        return Err(format!("its time {} is before 2001: the agent's clock is not set", at.to_rfc3339()));
    }
    Ok(place(agent_ms, offset_ms, now_ms))
}

fn to_time(placed: Placed) -> DateTime<Utc> {
    let (Placed::At(ms) | Placed::ClampedToNow(ms)) = placed;
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn flag_clamped(value: &mut serde_json::Value, placed: Placed) {
    if matches!(placed, Placed::ClampedToNow(_)) {
        value["clock_clamped"] = serde_json::Value::Bool(true);
    }
}

/// A batch's refusals in a line, for the 422's `error`.
pub fn summary(refused: &[Refused]) -> String {
    let first = refused.first().map_or_else(String::new, |r| format!(": number {} {}", r.seq, r.reason));
    format!("{} of the batch's results were refused{first}; the rest were stored", refused.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW_MS: i64 = 1_800_000_000_000;
    static NAMES: std::sync::LazyLock<(Vec<String>, Vec<String>)> = std::sync::LazyLock::new(|| (vec!["web".into()], vec!["http://t".into()]));

    fn tokyo() -> Sender<'static> {
        Sender { node: "tokyo", monitors: &NAMES.0, speed_targets: &NAMES.1, earliest_ms: EARLIEST_PLAUSIBLE_MS }
    }

    fn probe(seq: u64, at_ms: i64) -> AgentResult {
        let at = DateTime::from_timestamp_millis(at_ms).unwrap().to_rfc3339();
        AgentResult {
            seq,
            kind: "probe".into(),
            data: json!({"monitor": "web", "url": "http://h/", "at": at, "up": true, "status_code": 200, "response_ms": 12.5, "error": null}),
        }
    }

    #[test]
    fn new_results_are_renamed_by_node_and_moved_onto_the_server_s_clock() {
        let mut sequence = Sequence::default();
        // The agent's clock is three minutes behind.
        let sorted = sort_batch(&tokyo(), vec![probe(1, NOW_MS - 180_000 - 60_000)], &mut sequence, 180_000, NOW_MS);
        let accepted = &sorted.accepted[0];
        assert_eq!((accepted.topic, accepted.key.as_str(), accepted.at_ms), (PROBE_TOPIC, "web@tokyo", NOW_MS - 60_000));
        let data: serde_json::Value = serde_json::from_str(&accepted.data).unwrap();
        assert_eq!(data["node"], "tokyo");
        assert_eq!(DateTime::parse_from_rfc3339(data["at"].as_str().unwrap()).unwrap().timestamp_millis(), NOW_MS - 60_000);
        assert_eq!(sequence.acknowledged(), 1);
    }

    #[test]
    fn retries_bad_items_and_far_future_times_are_each_told_apart() {
        let mut sequence = Sequence::default();
        sort_batch(&tokyo(), vec![probe(1, NOW_MS)], &mut sequence, 0, NOW_MS);
        let bad_kind = AgentResult { seq: 3, kind: "ping".into(), data: json!({}) };
        let bad_data = AgentResult { seq: 4, kind: "speed".into(), data: json!({"target": "x"}) };
        let batch = vec![probe(1, NOW_MS), probe(2, NOW_MS + 3_600_000), bad_kind, bad_data, probe(2, NOW_MS), probe(0, NOW_MS), probe(5, 1_000)];
        let sorted = sort_batch(&tokyo(), batch, &mut sequence, 0, NOW_MS);
        assert_eq!(sorted.duplicates, 1);
        assert_eq!(sorted.clamped, [2]);
        assert_eq!(sorted.accepted[0].at_ms, NOW_MS, "a time an hour ahead is clamped to now");
        assert!(sorted.accepted[0].data.contains("\"clock_clamped\":true"));
        assert_eq!(sorted.refused_done, [3, 4, 5]);
        let reasons: Vec<(u64, bool)> = sorted.refused.iter().map(|r| (r.seq, r.retry)).collect();
        assert_eq!(reasons, [(3, false), (4, false), (2, false), (0, false), (5, false)]);
        assert!(sorted.refused[1].reason.starts_with("not a speed sample"), "{}", sorted.refused[1].reason);
        assert!(sorted.refused[4].reason.contains("before 2001"));
        assert_eq!(sequence.acknowledged(), 5, "refused content is done; the agent drops it");
    }

    #[test]
    fn a_name_with_the_node_separator_is_refused() {
        let mut result = probe(1, NOW_MS);
        result.data["monitor"] = json!("web@osaka");
        let sorted = sort_batch(&tokyo(), vec![result], &mut Sequence::default(), 0, NOW_MS);
        assert!(sorted.refused[0].reason.contains("no '@'"));
    }

    #[test]
    fn a_node_reports_only_on_this_server_s_monitors_and_within_a_size() {
        let mut unknown = probe(1, NOW_MS);
        unknown.data["monitor"] = json!("nas");
        let mut huge = probe(2, NOW_MS);
        huge.data["error"] = json!("x".repeat(70_000));
        let too_high = probe(u64::MAX, NOW_MS);
        let too_old = probe(3, NOW_MS - 3_600_000);
        let recent = Sender { earliest_ms: NOW_MS - 60_000, ..tokyo() };
        let sorted = sort_batch(&recent, vec![unknown, huge, too_high, too_old], &mut Sequence::default(), 0, NOW_MS);
        assert!(sorted.accepted.is_empty());
        let reasons: Vec<&str> = sorted.refused.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("not one of this server's monitors"), "{reasons:?}");
        assert!(reasons[1].contains("bytes; at most 65536"), "{reasons:?}");
        assert!(reasons[2].starts_with("sequence numbers are 1 to"), "{reasons:?}");
        assert!(reasons[3].contains("older than the raw history kept"), "{reasons:?}");
    }
}
