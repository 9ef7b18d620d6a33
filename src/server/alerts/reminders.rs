//! What the evaluator sends while a rule stays firing: reminders for rules
//! that `repeat`, and the escalation to more channels after a time.

use std::collections::HashMap;

use crate::server::{
    alerts::{
        config::Rule,
        evaluate::{Entry, Evaluator},
        tracker::{Phase, Tracker, Transition},
    },
    clock::now_ms,
};

/// A rule's standing state as a transition, for reminders and late notices.
pub fn standing(rule: &Rule, tracker: &Tracker, at_ms: i64, kind: &'static str) -> Transition {
    Transition {
        from: Phase::Firing,
        to: Phase::Firing,
        kind,
        at_ms,
        value: tracker.last_value().unwrap_or(f64::NAN),
        threshold: rule.judgement.condition.threshold(rule.judgement.baseline),
        started_ms: tracker.since_ms(),
        worst: None,
        samples: Vec::new(),
    }
}

/// The channels a notification goes to: the rule's, and its escalation's when `escalated`.
pub fn channels(rule: &Rule, escalated: bool) -> Vec<String> {
    let mut channels = rule.notify.clone();
    if let Some((_, more)) = rule.escalation.as_ref().filter(|_| escalated) {
        channels.extend(more.iter().filter(|c| !rule.notify.contains(c)).cloned());
    }
    channels
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Evaluator {
    /// Reminds about rules still firing that ask to repeat, and escalates those
    /// that have fired for their escalation time.
    pub(super) async fn remind(&self, trackers: &mut HashMap<(usize, String), Entry>) {
        let now = now_ms();
        for ((index, subject), entry) in trackers.iter_mut() {
            let rule = self.rules[*index].judged();
            if entry.tracker.phase() != Phase::Firing || !entry.announced {
                continue;
            }
            let since = entry.tracker.since_ms().unwrap_or(now);
            let escalate = rule.escalation.as_ref().filter(|(after, _)| !entry.escalated && now.saturating_sub(since) >= millis(*after));
            let remind = rule.repeat.is_some_and(|every| now >= entry.last_notified_ms.saturating_add(millis(every)));
            if escalate.is_none() && !remind {
                continue;
            }
            if let Some((_, reason)) = self.held_back(rule, subject, now).await {
                self.board.note_not_sent(&rule.name, subject, Some(reason));
                continue;
            }
            if let Some((_, more)) = escalate {
                self.notify_on(rule, more, subject, &standing(rule, &entry.tracker, now, "escalated"), "escalated").await;
                entry.escalated = true;
            }
            if remind {
                let channels = channels(rule, entry.escalated);
                self.notify_on(rule, &channels, subject, &standing(rule, &entry.tracker, now, "reminder"), "reminder").await;
                entry.last_notified_ms = now;
            }
        }
    }
}
