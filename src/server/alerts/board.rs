//! The current state of every rule for every subject it has seen, as
//! `GET /api/alerts` and the dashboard show it.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::Mutex,
};

use crate::{
    model::alert::{AlertState, Incident, IncidentSpan},
    server::{
        alerts::{config::Rule, tracker::Phase},
        clock::now_ms,
    },
};

/// Finished incidents kept for the charts.
pub const KEPT_SPANS: usize = 200;

pub struct Board {
    rules: Vec<AlertState>,
    states: Mutex<BTreeMap<(String, String), AlertState>>,
    /// The latest finished incidents, oldest first.
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
        if in_breach(&state.phase) && phase == Phase::Ok {
            if let Some(started_ms) = state.since_ms {
                self.keep_span(IncidentSpan(template.series.clone(), template.field.clone(), started_ms, now_ms()));
            }
        }
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
        states.range((rule.to_owned(), String::new())..).take_while(|((name, _), _)| name == rule).any(|(_, s)| s.phase == "firing" || s.phase == "flapping")
    }

    fn keep_span(&self, span: IncidentSpan) {
        let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        spans.push_back(span);
        while spans.len() > KEPT_SPANS {
            spans.pop_front();
        }
    }

    /// Takes the finished ones of stored incidents, newest first, as a restart finds them.
    pub fn remember(&self, incidents: &[Incident]) {
        for incident in incidents.iter().rev() {
            let (Some(template), Some(ended_ms)) = (self.rules.iter().find(|r| r.rule == incident.rule), incident.ended_ms) else { continue };
            self.keep_span(IncidentSpan(template.series.clone(), template.field.clone(), incident.started_ms, ended_ms));
        }
    }

    /// The latest finished incidents, oldest first.
    pub fn spans(&self) -> Vec<IncidentSpan> {
        self.spans.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }

    pub fn has_rule(&self, name: &str) -> bool {
        self.rules.iter().any(|r| r.rule == name)
    }
}
