//! The alert states the dashboard shows: seeded from the snapshot, changed by
//! each event on the `alert` topic. Pure, so it is tested natively.

use crate::{
    chart::marks::AlertMarks,
    format::{self, escape, time_html},
    model::{
        alert::{is_speed_series, AlertState, IncidentSpan, KEPT_INCIDENT_SPANS},
        Snapshot,
    },
};

/// What the dashboard reads of an `alert` event (`AlertTransition` without
/// what it does not show, which keeps its parser out of the bundle).
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct AlertChange {
    pub rule: String,
    pub subject: String,
    pub kind: String,
    pub to: String,
    pub at_ms: i64,
    pub value: Option<f64>,
    pub started_ms: Option<i64>,
    pub not_sent: Option<String>,
}

impl AlertChange {
    /// The event log's line: "few orders firing on sales (3.00)".
    pub fn summary(&self) -> String {
        let held = self.not_sent.as_deref().map(|reason| format!("; not sent: {reason}")).unwrap_or_default();
        format!("{} {} on {} ({}){held}", self.rule, self.kind, subject_label(&self.subject), format::metric(self.value))
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertBoard {
    states: Vec<AlertState>,
    /// Finished incidents, for the charts.
    spans: Vec<IncidentSpan>,
    /// What the shown node's speed series end with: `""` for this server's, `@tokyo` for
    /// a node's; `None` when every node is drawn, whose lines no rule's marks belong to.
    node_suffix: Option<String>,
}

fn in_breach(phase: &str) -> bool {
    phase == "firing" || phase == "flapping"
}

/// Which phases come first: what needs attention now.
fn urgency(phase: &str) -> u8 {
    match phase {
        "firing" => 0,
        "flapping" => 1,
        "pending" => 2,
        _ => 3,
    }
}

impl AlertBoard {
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let node_suffix = match snapshot.speed_node.as_str() {
            crate::model::EVERY_NODE => None,
            node if node.is_empty() || node == snapshot.node => Some(String::new()),
            node => Some(format!("@{node}")),
        };
        Self { states: snapshot.alerts.clone(), spans: snapshot.incidents.clone(), node_suffix }
    }

    /// Whether the server has any rule at all.
    pub fn has_rules(&self) -> bool {
        !self.states.is_empty()
    }

    pub fn rules(&self) -> usize {
        let mut names: Vec<&str> = self.states.iter().map(|s| s.rule.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    }

    /// Takes a transition; a rule's first subject replaces its "no data yet" row.
    /// A breach that ends (resolved, or settled out of firing) is kept as a
    /// finished incident for the charts when its rule watches speed.
    pub fn apply(&mut self, change: &AlertChange) {
        let Some(template) = self.states.iter().find(|s| s.rule == change.rule).cloned() else { return };
        let index = match self.states.iter().position(|s| s.rule == change.rule && (s.subject == change.subject || s.subject.is_empty())) {
            Some(index) => index,
            None => {
                // Another subject's row, as this one's would be before its first change.
                self.states.push(AlertState { phase: "ok".into(), since_ms: None, value: None, not_sent: None, ..template });
                self.states.len() - 1
            }
        };
        let state = &mut self.states[index];
        let ends = in_breach(&state.phase) && (change.to == "ok" || (change.kind == "settled" && change.to == "pending"));
        if let (true, true, Some(started_ms)) = (ends, is_speed_series(&state.series), state.since_ms) {
            if self.spans.len() >= KEPT_INCIDENT_SPANS {
                self.spans.remove(0);
            }
            self.spans.push(IncidentSpan(state.series.clone(), state.field.clone(), started_ms, change.at_ms));
        }
        state.subject = change.subject.clone();
        state.phase = change.to.clone();
        state.since_ms = if change.to == "ok" { None } else { change.started_ms.or(Some(change.at_ms)) };
        state.value = change.value.filter(|v| v.is_finite());
        if matches!(change.kind.as_str(), "firing" | "resolved" | "flapping" | "settled") {
            state.not_sent = change.not_sent.clone();
        }
    }

    /// What a speed chart of the `lines` fields marks: the thresholds of the
    /// speed rules on them, and their incidents, finished or still going, and
    /// those of rules on `shade_too` (failed tests), which have no line to dash.
    pub fn speed_marks(&self, lines: &[&str], shade_too: &[&str]) -> AlertMarks {
        let Some(suffix) = &self.node_suffix else { return AlertMarks::default() };
        // This server's series have no `@<node>`; a node's end with it.
        let shown = |series: &str| is_speed_series(series) && if suffix.is_empty() { !series.contains('@') } else { series.ends_with(suffix.as_str()) };
        let line = |series: &str, field: &str| shown(series).then(|| lines.iter().position(|f| *f == field)).flatten();
        let shaded = |series: &str, field: &str| line(series, field).is_some() || (shown(series) && shade_too.contains(&field));
        let mut marks = AlertMarks::default();
        for state in &self.states {
            if let (Some(index), Some(threshold)) = (line(&state.series, &state.field), state.threshold.filter(|t| t.is_finite())) {
                if !marks.thresholds.contains(&(index, threshold)) {
                    marks.thresholds.push((index, threshold));
                }
            }
            if let (true, true, Some(since)) = (shaded(&state.series, &state.field), in_breach(&state.phase), state.since_ms) {
                marks.incidents.push((since as f64 / 1000.0, f64::INFINITY));
            }
        }
        let finished = self.spans.iter().filter(|IncidentSpan(series, field, ..)| shaded(series, field));
        marks.incidents.extend(finished.map(|IncidentSpan(_, _, from, to)| (*from as f64 / 1000.0, *to as f64 / 1000.0)));
        marks
    }

    /// The states that are not ok, most urgent first, then the longest-standing.
    pub fn active(&self) -> Vec<AlertState> {
        let mut active: Vec<AlertState> = self.states.iter().filter(|s| s.phase != "ok").cloned().collect();
        active.sort_by_key(|s| (urgency(&s.phase), s.since_ms.unwrap_or(i64::MAX)));
        active
    }
}

/// What an alert is about, short: a speed target's host, else the subject itself.
pub fn subject_label(subject: &str) -> &str {
    match subject.split_once("://") {
        Some((_, rest)) => rest.split(['/', '?']).next().unwrap_or(rest),
        None => subject,
    }
}

/// The active states as list items. Built as one string rather than one view
/// per part: each distinct view type adds its own code to the WASM bundle.
pub fn rows_html(active: &[AlertState], zone: Option<i32>) -> String {
    active
        .iter()
        .map(|state| {
            let since = state.since_ms.map(|ms| time_html(ms, "since ", zone)).unwrap_or_default();
            let note = state.not_sent.as_deref().map(|reason| format!("<span class=\"alert-note\">{}</span>", escape(reason))).unwrap_or_default();
            format!(
                "<li class=\"alert-row phase-{phase}\" data-testid=\"alert-row\" data-rule=\"{rule}\" data-phase=\"{phase}\">\
                 <span class=\"alert-phase\">{phase}</span><span class=\"alert-rule\">{rule}</span><span class=\"alert-subject\">{subject}</span>\
                 <span class=\"alert-value\">{field} {value} ({condition})</span>{since}{note}</li>",
                phase = escape(&state.phase),
                rule = escape(&state.rule),
                subject = escape(subject_label(&state.subject)),
                field = escape(&state.field),
                value = format::metric(state.value),
                condition = escape(&state.condition),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(rule: &str, subject: &str) -> AlertState {
        AlertState {
            rule: rule.into(),
            subject: subject.into(),
            series: "speed".into(),
            field: "download_mbps".into(),
            condition: "< 100".into(),
            phase: "ok".into(),
            since_ms: None,
            value: None,
            threshold: Some(100.0),
            not_sent: None,
        }
    }

    fn change(rule: &str, subject: &str, kind: &str, to: &str, at_ms: i64) -> AlertChange {
        AlertChange {
            rule: rule.into(),
            subject: subject.into(),
            kind: kind.into(),
            to: to.into(),
            at_ms,
            value: Some(41.8),
            started_ms: Some(at_ms - 60_000),
            not_sent: None,
        }
    }

    #[test]
    fn transitions_move_rules_in_and_out_of_the_active_list() {
        let snapshot = Snapshot { alerts: vec![state("slow", ""), state("down", "gw")], ..Snapshot::default() };
        let mut board = AlertBoard::from_snapshot(&snapshot);
        assert_eq!((board.rules(), board.active().len()), (2, 0));
        board.apply(&change("slow", "http://a", "pending", "pending", 1_000_000));
        board.apply(&change("down", "gw", "firing", "firing", 2_000_000));
        board.apply(&change("slow", "http://b", "firing", "firing", 3_000_000));
        let active: Vec<(String, String)> = board.active().into_iter().map(|s| (s.subject, s.phase)).collect();
        assert_eq!(active, [("gw".into(), "firing".into()), ("http://b".into(), "firing".into()), ("http://a".into(), "pending".into())]);
        board.apply(&change("down", "gw", "resolved", "ok", 4_000_000));
        assert_eq!(board.active().len(), 2);
        board.apply(&change("unknown", "x", "firing", "firing", 1));
        assert_eq!(board.active().len(), 2, "a rule the page does not know is ignored");
    }

    #[test]
    fn speed_charts_mark_thresholds_and_incidents_of_speed_rules_only() {
        let mut topic = state("few orders", "");
        topic.series = "topic:sales".into();
        topic.field = "orders".into();
        let mut upload = state("slow upload", "");
        upload.field = "upload_mbps".into();
        upload.threshold = Some(20.0);
        let past = IncidentSpan("speed".into(), "download_mbps".into(), 1_000_000, 2_000_000);
        let snapshot = Snapshot { alerts: vec![state("slow", ""), upload, topic], incidents: vec![past], ..Snapshot::default() };
        let mut board = AlertBoard::from_snapshot(&snapshot);
        let fields = ["download_mbps", "upload_mbps"];
        assert_eq!(board.speed_marks(&fields, &[]), AlertMarks { thresholds: vec![(0, 100.0), (1, 20.0)], incidents: vec![(1000.0, 2000.0)] });
        board.apply(&change("slow", "http://a", "firing", "firing", 5_000_000));
        board.apply(&change("few orders", "sales", "firing", "firing", 5_000_000));
        assert_eq!(board.speed_marks(&fields, &[]).incidents, [(4940.0, f64::INFINITY), (1000.0, 2000.0)], "a firing speed rule shades until now");
        board.apply(&change("slow", "http://a", "resolved", "ok", 7_000_000));
        assert_eq!(board.speed_marks(&fields, &[]).incidents, [(1000.0, 2000.0), (4940.0, 7000.0)], "then from its start to its end");
        assert_eq!(board.speed_marks(&["latency_ms"], &[]), AlertMarks::default(), "a latency chart has none of these");
        let mut tokyo = state("slow from tokyo", "");
        tokyo.series = "speed:http://a@tokyo".into();
        tokyo.threshold = Some(50.0);
        let mut snapshot = Snapshot { node: "n".into(), alerts: vec![state("slow", ""), tokyo], ..Snapshot::default() };
        assert_eq!(AlertBoard::from_snapshot(&snapshot).speed_marks(&fields, &[]).thresholds, [(0, 100.0)], "this server's rule, not tokyo's");
        snapshot.speed_node = "tokyo".into();
        assert_eq!(AlertBoard::from_snapshot(&snapshot).speed_marks(&fields, &[]).thresholds, [(0, 50.0)], "tokyo's, on tokyo's charts");
        snapshot.speed_node = "*".into();
        assert_eq!(AlertBoard::from_snapshot(&snapshot).speed_marks(&fields, &[]), AlertMarks::default(), "none on every node's lines");
        let mut failing = state("failing", "");
        failing.field = "failed".into();
        failing.threshold = Some(1.0);
        let mut board = AlertBoard::from_snapshot(&Snapshot { alerts: vec![failing], ..Snapshot::default() });
        board.apply(&change("failing", "http://a", "firing", "firing", 5_000_000));
        assert_eq!(
            board.speed_marks(&fields, &["failed"]),
            AlertMarks { thresholds: vec![], incidents: vec![(4940.0, f64::INFINITY)] },
            "failed tests shade, with no line"
        );
        // A second subject's first change starts from ok, not from the first subject's breach.
        board.apply(&change("failing", "http://b", "resolved", "ok", 6_000_000));
        assert_eq!(board.speed_marks(&fields, &["failed"]).incidents.len(), 1, "no span for a subject that never breached");
        // Flapping that settles into pending ends the incident too.
        board.apply(&change("failing", "http://a", "flapping", "flapping", 7_000_000));
        board.apply(&change("failing", "http://a", "settled", "pending", 9_000_000));
        assert_eq!(board.speed_marks(&fields, &["failed"]).incidents, [(6940.0, 9000.0)], "from the flapping breach's start");
    }

    #[test]
    fn rows_are_escaped_and_carry_their_phase() {
        let mut firing = state("a <b> & \"c\"", "https://nas.lan/speedtest");
        firing.phase = "firing".into();
        firing.since_ms = Some(0);
        firing.value = Some(41.83);
        let html = rows_html(&[firing], None);
        assert!(html.contains("data-rule=\"a &lt;b&gt; &amp; &quot;c&quot;\""), "{html}");
        assert!(html.contains("<span class=\"alert-subject\">nas.lan</span>"), "{html}");
        assert!(html.contains("download_mbps 41.8 (&lt; 100)"), "{html}");
        assert!(html.contains("<time datetime=\"1970-01-01T00:00:00+00:00\">since 1970-01-01 00:00:00 UTC</time>"), "{html}");
    }

    #[test]
    fn changes_read_as_one_line() {
        assert_eq!(change("few orders", "sales", "firing", "firing", 0).summary(), "few orders firing on sales (41.8)");
        let held = AlertChange { not_sent: Some("silenced".into()), value: None, ..change("slow", "https://nas.lan/", "resolved", "ok", 0) };
        assert_eq!(held.summary(), "slow resolved on nas.lan (—); not sent: silenced");
    }

    #[test]
    fn subject_labels_are_short() {
        assert_eq!(subject_label("https://speed.cloudflare.com/"), "speed.cloudflare.com");
        assert_eq!(subject_label("http://nas:3000/speedtest"), "nas:3000");
        assert_eq!(subject_label("gateway"), "gateway");
    }
}
