//! The current state of every rule for every subject it has seen, as
//! `GET /api/alerts` and the dashboard show it.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Mutex,
};

use crate::{
    model::alert::{is_speed_series, AlertState, Incident, IncidentSpan, KEPT_INCIDENT_SPANS, SPAN_DAYS_MS},
    server::{
        alerts::{config::Rule, tracker::Phase},
        clock::now_ms,
    },
};

pub struct Board {
    rules: Vec<AlertState>,
    states: Mutex<BTreeMap<(String, String), AlertState>>,
    /// The latest finished incidents of speed rules, oldest first, for the charts.
    spans: Mutex<VecDeque<IncidentSpan>>,
}

fn in_breach(phase: &str) -> bool {
    phase == "firing" || phase == "flapping"
}

pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Ok => "ok",
        Phase::Pending => "pending",
        Phase::Firing => "firing",
        Phase::Flapping => "flapping",
    }
}

impl Board {
    pub fn new(rules: &[Rule]) -> Self {
        let rules = rules
            .iter()
            .map(Rule::judged)
            .map(|rule| AlertState {
                rule: rule.name.clone(),
                subject: String::new(),
                series: rule.series.clone(),
                field: rule.field.clone(),
                condition: rule.judgement.condition.to_string(),
                phase: "ok".into(),
                since_ms: None,
                value: None,
                threshold: rule.judgement.condition.threshold(rule.judgement.baseline),
                not_sent: None,
            })
            .collect();
        Self { rules, states: Mutex::default(), spans: Mutex::default() }
    }

    pub fn update(&self, rule: &str, subject: &str, phase: Phase, since_ms: Option<i64>, value: Option<f64>) {
        self.set(rule, subject, phase, since_ms, value, None);
    }

    /// As `update`, and when `not_sent` is given, why the latest notification was held back
    /// (`Some(None)`: it was sent), under one lock, so a reader never sees half of it.
    pub fn set(&self, rule: &str, subject: &str, phase: Phase, since_ms: Option<i64>, value: Option<f64>, not_sent: Option<Option<String>>) {
        let Some(template) = self.rules.iter().find(|r| r.rule == rule) else { return };
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let state = states.entry((rule.to_owned(), subject.to_owned())).or_insert_with(|| AlertState { subject: subject.to_owned(), ..template.clone() });
        state.phase = phase_name(phase).to_owned();
        state.since_ms = since_ms;
        if value.is_some() {
            state.value = value;
        }
        if let Some(not_sent) = not_sent {
            state.not_sent = not_sent;
        }
    }

    /// Every rule in config order, with each subject it has seen; a rule that
    /// has seen nothing yet is listed once with an empty subject.
    pub fn list(&self) -> Vec<AlertState> {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for rule in &self.rules {
            let seen: Vec<AlertState> =
                states.range((rule.rule.clone(), String::new())..).take_while(|((name, _), _)| *name == rule.rule).map(|(_, s)| s.clone()).collect();
            if seen.is_empty() {
                out.push(rule.clone());
            } else {
                out.extend(seen);
            }
        }
        out
    }

    /// Records why the latest notification of `rule` for `subject` was held back (None: it was sent).
    pub fn note_not_sent(&self, rule: &str, subject: &str, reason: Option<String>) {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = states.get_mut(&(rule.to_owned(), subject.to_owned())) {
            state.not_sent = reason;
        }
    }

    /// Whether `rule` is firing (or flapping) for any subject.
    pub fn is_firing(&self, rule: &str) -> bool {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states.range((rule.to_owned(), String::new())..).take_while(|((name, _), _)| name == rule).any(|(_, s)| in_breach(&s.phase))
    }

    /// Keeps a finished incident of a speed rule (the charts show no other).
    pub fn keep_finished(&self, rule: &str, started_ms: i64, ended_ms: i64) {
        let Some(template) = self.rules.iter().find(|r| r.rule == rule && is_speed_series(&r.series)) else { return };
        let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        spans.push_back(IncidentSpan(template.series.clone(), template.field.clone(), started_ms, ended_ms));
        while spans.len() > KEPT_INCIDENT_SPANS {
            spans.pop_front();
        }
    }

    /// Takes the finished ones of stored incidents, newest first, as a restart finds them.
    pub fn remember(&self, incidents: &[Incident]) {
        for incident in incidents.iter().rev() {
            if let Some(ended_ms) = incident.ended_ms {
                self.keep_finished(&incident.rule, incident.started_ms, ended_ms);
            }
        }
    }

    /// The kept incidents that ended in the last 30 days, oldest first.
    pub fn spans(&self) -> Vec<IncidentSpan> {
        let since = now_ms() - SPAN_DAYS_MS;
        self.spans.lock().unwrap_or_else(|p| p.into_inner()).iter().filter(|span| span.3 >= since).cloned().collect()
    }

    pub fn has_rule(&self, name: &str) -> bool {
        self.rules.iter().any(|r| r.rule == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::config::Config;

    #[test]
    fn the_charts_get_speed_incidents_of_the_last_30_days_only() {
        let config = Config::from_toml(
            "topics = [\"sales\"]\n[[alert]]\nname = \"slow\"\nseries = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 100\"\n\
             [[alert]]\nname = \"few\"\nseries = \"topic:sales\"\nfield = \"orders\"\ncondition = \"< 10\"\n",
        )
        .unwrap();
        let board = Board::new(&config.checked_rules().unwrap());
        let now = now_ms();
        board.keep_finished("slow", now - 60_000, now - 30_000);
        board.keep_finished("few", now - 60_000, now - 30_000);
        board.keep_finished("slow", now - 40 * 86_400_000, now - 31 * 86_400_000);
        board.keep_finished("gone", now - 60_000, now - 30_000);
        assert_eq!(board.spans(), [IncidentSpan("speed".into(), "download_mbps".into(), now - 60_000, now - 30_000)]);
        for n in 0..(KEPT_INCIDENT_SPANS as i64 + 5) {
            board.keep_finished("slow", now - 1000 + n, now);
        }
        assert_eq!(board.spans().len(), KEPT_INCIDENT_SPANS, "at most this many");
    }
}
