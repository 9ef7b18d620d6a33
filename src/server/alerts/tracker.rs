//! One rule's state for one thing it watches (a speed target, a monitor, a
//! topic): ok → pending → firing → resolved, with a pending duration,
//! hysteresis through a separate recovery condition, and flapping. Pure:
//! samples go in, transitions come out.

use std::{collections::VecDeque, time::Duration};

use serde::Serialize;

use crate::server::alerts::condition::{judge, Aggregation, Comparison, Condition, Sample};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Ok,
    Pending,
    Firing,
    /// Changed state too often; quiet until it settles.
    Flapping,
}

/// How a rule judges, as its config says.
#[derive(Clone, Debug)]
pub struct Judgement {
    pub condition: Condition,
    /// When a firing rule counts as recovered; the opposite of `condition` unless the config says otherwise.
    pub recover: Condition,
    pub aggregation: Aggregation,
    /// How long the condition must hold before the rule fires.
    pub pending_for: Duration,
    pub baseline: Option<f64>,
    /// More than this many changes between firing and ok within the window make the rule flap.
    pub flapping: Option<(usize, Duration)>,
    /// Ask for one more sample (a speed retest) before firing, and fire only if it breaches too.
    pub confirm: bool,
}

/// A change of state, with what decided it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    pub from: Phase,
    pub to: Phase,
    /// `resolved` when a firing rule recovers, `cleared` when a pending one does,
    /// `settled` when flapping ends, `confirming` when a retest is wanted; otherwise the phase entered.
    pub kind: &'static str,
    pub at_ms: i64,
    /// The aggregated value that decided.
    pub value: f64,
    pub threshold: Option<f64>,
    /// When the breach began (pending or firing), for incidents and recovery messages.
    pub started_ms: Option<i64>,
    /// The worst aggregated value since the breach began.
    pub worst: Option<f64>,
    /// The samples the aggregation judged.
    pub samples: Vec<Sample>,
}

#[derive(Debug)]
pub struct Tracker {
    phase: Phase,
    /// The phase underneath, while flapping.
    underlying: Phase,
    started_ms: Option<i64>,
    worst: Option<f64>,
    samples: VecDeque<Sample>,
    changes: VecDeque<i64>,
    last_value: Option<f64>,
    /// Waiting for the sample that confirms a breach.
    confirming: bool,
}

impl Default for Tracker {
    fn default() -> Self {
        Self {
            phase: Phase::Ok,
            underlying: Phase::Ok,
            started_ms: None,
            worst: None,
            samples: VecDeque::new(),
            changes: VecDeque::new(),
            last_value: None,
            confirming: false,
        }
    }
}

impl Tracker {
    /// A tracker that resumes a breach a restart interrupted: firing since `started_ms`.
    pub fn firing_since(started_ms: i64, worst: Option<f64>) -> Self {
        Self { phase: Phase::Firing, underlying: Phase::Firing, started_ms: Some(started_ms), worst, last_value: worst, ..Self::default() }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn since_ms(&self) -> Option<i64> {
        self.started_ms
    }

    pub fn last_value(&self) -> Option<f64> {
        self.last_value
    }

    /// Judges a new sample; returns the transition it caused, if any.
    pub fn observe(&mut self, rule: &Judgement, sample: Sample) -> Option<Transition> {
        self.remember(rule, sample);
        let samples = self.samples.make_contiguous().to_vec();
        let breach = judge(&rule.aggregation, &samples, &rule.condition, rule.baseline);
        if let Some((value, _)) = breach {
            self.last_value = Some(value);
        }
        let now = sample.at_ms;
        let threshold = rule.condition.threshold(rule.baseline);
        let transition = |from: Phase, to: Phase, kind: &'static str, value: f64, tracker: &Self| Transition {
            from,
            to,
            kind,
            at_ms: now,
            value,
            threshold,
            started_ms: tracker.started_ms,
            worst: tracker.worst,
            samples: samples.clone(),
        };
        let before = self.underlying;
        let next = match (before, breach) {
            (_, None) => return None,
            (Phase::Ok, Some((value, true))) => {
                self.started_ms = Some(now);
                self.worst = Some(value);
                if rule.pending_for.is_zero() {
                    Some((Phase::Firing, "firing", value))
                } else {
                    Some((Phase::Pending, "pending", value))
                }
            }
            (Phase::Pending, Some((value, true))) => {
                self.worst = Some(worse(rule.condition.comparison, self.worst, value));
                let held = now.saturating_sub(self.started_ms.unwrap_or(now));
                (held >= i64::try_from(rule.pending_for.as_millis()).unwrap_or(i64::MAX)).then_some((Phase::Firing, "firing", value))
            }
            (Phase::Pending, Some((value, false))) => Some((Phase::Ok, "cleared", value)),
            (Phase::Firing, Some((value, _))) => {
                self.worst = Some(worse(rule.condition.comparison, self.worst, value));
                let recovered = judge(&rule.aggregation, &samples, &rule.recover, rule.baseline).is_some_and(|(_, holds)| holds);
                recovered.then_some((Phase::Ok, "resolved", value))
            }
            (Phase::Ok, Some((_, false))) | (Phase::Flapping, _) => None,
        };
        // A rule that confirms asks for one more sample first: `confirming` is the request.
        let next = match next {
            Some((Phase::Firing, "firing", value)) if rule.confirm && !self.confirming => {
                self.confirming = true;
                Some((Phase::Pending, "confirming", value))
            }
            other => other,
        };
        if matches!(next, Some((Phase::Ok | Phase::Firing, _, _))) {
            self.confirming = false;
        }
        let Some((to, kind, value)) = next else {
            // A sample that changes state is a change, so a rule settles only on one that does not.
            if !self.settle(rule, now) {
                return None;
            }
            self.phase = self.underlying;
            return Some(transition(Phase::Flapping, self.underlying, "settled", self.last_value.unwrap_or(f64::NAN), self));
        };
        self.underlying = to;
        let out = if matches!(kind, "firing" | "resolved") && self.flaps(rule, now) {
            if self.phase == Phase::Flapping {
                None
            } else {
                let from = self.phase;
                self.phase = Phase::Flapping;
                Some(transition(from, Phase::Flapping, "flapping", value, self))
            }
        } else if self.phase == Phase::Flapping {
            None
        } else {
            let from = self.phase;
            self.phase = to;
            Some(transition(from, to, kind, value, self))
        };
        if to == Phase::Ok {
            self.started_ms = None;
            self.worst = None;
        }
        out
    }

    fn remember(&mut self, rule: &Judgement, sample: Sample) {
        self.samples.push_back(sample);
        while self.samples.len() > rule.aggregation.keeps() {
            self.samples.pop_front();
        }
        if let Aggregation::Over { window, .. } = rule.aggregation {
            let since = sample.at_ms - i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
            while self.samples.front().is_some_and(|s| s.at_ms <= since) {
                self.samples.pop_front();
            }
        }
    }

    /// Records a change between firing and ok; whether the rule now flaps.
    fn flaps(&mut self, rule: &Judgement, now: i64) -> bool {
        let Some((most, window)) = rule.flapping else { return false };
        self.changes.push_back(now);
        let since = now - i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        while self.changes.front().is_some_and(|&at| at <= since) {
            self.changes.pop_front();
        }
        self.changes.len() > most
    }

    /// Whether a flapping rule has gone a whole window without a change.
    fn settle(&mut self, rule: &Judgement, now: i64) -> bool {
        let Some((_, window)) = rule.flapping else { return false };
        let quiet_since = self.changes.back().copied().unwrap_or(i64::MIN);
        let settled = self.phase == Phase::Flapping && now.saturating_sub(quiet_since) >= i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        if settled {
            self.changes.clear();
        }
        settled
    }
}

/// The worse of two values for a condition: lower is worse for `<` rules.
fn worse(comparison: Comparison, held: Option<f64>, value: f64) -> f64 {
    let Some(held) = held else { return value };
    match comparison {
        Comparison::Below | Comparison::AtMost => held.min(value),
        _ => held.max(value),
    }
}

#[cfg(test)]
mod tests;
