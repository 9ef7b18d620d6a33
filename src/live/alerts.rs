//! The alert states the dashboard shows: seeded from the snapshot, changed by
//! each event on the `alert` topic. Pure, so it is tested natively.

use crate::model::{
    alert::{AlertState, AlertTransition},
    Snapshot,
};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertBoard {
    states: Vec<AlertState>,
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
        Self { states: snapshot.alerts.clone() }
    }

    /// Whether the server has any rule at all.
    pub fn has_rules(&self) -> bool {
        !self.states.is_empty()
    }

    pub fn rules(&self) -> usize {
        let mut names: Vec<&str> = self.states.iter().map(|s| s.rule.as_str()).collect();
        names.dedup();
        names.len()
    }

    /// Takes a transition; a rule's first subject replaces its "no data yet" row.
    pub fn apply(&mut self, change: &AlertTransition) {
        let Some(template) = self.states.iter().find(|s| s.rule == change.rule).cloned() else { return };
        let state = match self.states.iter().position(|s| s.rule == change.rule && (s.subject == change.subject || s.subject.is_empty())) {
            Some(index) => &mut self.states[index],
            None => {
                self.states.push(template);
                self.states.last_mut().expect("just pushed")
            }
        };
        state.subject = change.subject.clone();
        state.phase = change.to.clone();
        state.since_ms = if change.to == "ok" { None } else { change.started_ms.or(Some(change.at_ms)) };
        state.value = Some(change.value).filter(|v| v.is_finite());
        if change.threshold.is_some() {
            state.threshold = change.threshold;
        }
        if matches!(change.kind.as_str(), "firing" | "resolved" | "flapping" | "settled") {
            state.not_sent = change.not_sent.clone();
        }
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

/// How long something lasted, as "45 s", "38 min", "2 h 5 min" or "3 d".
pub fn span(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 if secs % 3600 < 60 => format!("{} h", secs / 3600),
        3600..=86_399 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d", secs / 86_400),
    }
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

    fn change(rule: &str, subject: &str, kind: &str, to: &str, at_ms: i64) -> AlertTransition {
        AlertTransition {
            rule: rule.into(),
            subject: subject.into(),
            kind: kind.into(),
            from: "ok".into(),
            to: to.into(),
            at_ms,
            value: 41.8,
            threshold: Some(100.0),
            started_ms: Some(at_ms - 60_000),
            worst: None,
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
    fn labels_and_spans_are_short() {
        assert_eq!(subject_label("https://speed.cloudflare.com/"), "speed.cloudflare.com");
        assert_eq!(subject_label("http://nas:3000/speedtest"), "nas:3000");
        assert_eq!(subject_label("gateway"), "gateway");
        assert_eq!([span(45_000), span(2_280_000), span(7_500_000), span(7_200_000), span(259_200_000)], ["45 s", "38 min", "2 h 5 min", "2 h", "3 d"]);
    }
}
