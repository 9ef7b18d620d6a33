//! The evaluator: a task fed every event the writer delivers. It runs each
//! rule's tracker per subject, publishes transitions on the `alert` topic,
//! keeps incidents, and stores notifications in the outbox for the dispatcher.

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::{
    model::{
        alert::{AlertTransition, SPAN_DAYS_MS},
        ALERT_TOPIC,
    },
    server::{
        alerts::{
            board::{phase_name, Board},
            compose,
            condition::Sample,
            config::{Rule, Watched},
            quorum::{group_of, Vantages},
            record, reminders,
            silence::Window,
            store::NewNotification,
            tracker::{Phase, Tracker, Transition},
            values::values,
        },
        clock::now_ms,
        events::{hub::HubEvent, writer::Writer},
        store::Store,
    },
};

/// How often firing rules are checked for a due reminder or escalation.
const REMINDER_TICK: Duration = Duration::from_secs(1);
/// A transition measured longer ago than this is recorded and not sent.
const LATE_AFTER_MS: i64 = 5 * 60_000;

pub struct Evaluator {
    pub rules: Arc<Vec<Rule>>,
    pub node: String,
    pub store: Arc<Store>,
    pub writer: Writer,
    pub board: Arc<Board>,
    /// Woken when a notification is stored.
    pub outbox: Arc<Notify>,
    pub expiry: Duration,
    /// Maintenance windows from the config.
    pub windows: Arc<Vec<Window>>,
    /// Asks the speed sampler to test a target again, for rules that confirm.
    pub retest: Option<mpsc::UnboundedSender<String>>,
}

/// What became of a transition's notification.
enum Notified {
    /// The transition does not notify.
    No,
    /// Stored in the outbox.
    Sent,
    /// Not sent, for this reason.
    HeldBack(String),
}

#[derive(Default)]
pub(super) struct Entry {
    pub(super) tracker: Tracker,
    pub(super) last_notified_ms: i64,
    /// Whether the current breach was notified: only then is its end.
    pub(super) announced: bool,
    /// Whether the current breach went to the escalation channels too.
    pub(super) escalated: bool,
}

/// An agent catching up after an outage sends results measured long ago: their
/// transitions are history, recorded but not news, and the next fresh sample tells.
fn measured_long_ago(at_ms: i64) -> Option<(&'static str, String)> {
    let age_ms = now_ms() - at_ms;
    (age_ms > LATE_AFTER_MS).then(|| ("suppressed", format!("measured {} min ago (a late result from an agent): recorded, not sent", age_ms / 60_000)))
}

/// A random id a receiver can drop duplicates by.
pub fn delivery_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Evaluator {
    pub async fn run(self, mut events: mpsc::UnboundedReceiver<Arc<HubEvent>>, shutdown: CancellationToken) {
        let mut trackers = self.restore().await;
        let mut vantages = Vantages::new(now_ms());
        let mut tick = tokio::time::interval(REMINDER_TICK);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                event = events.recv() => match event {
                    Some(event) => self.observe(&event, &mut trackers, &mut vantages).await,
                    None => break,
                },
                _ = tick.tick() => self.remind(&mut trackers).await,
            }
        }
    }

    /// Open incidents are firing rules: a restart resumes them instead of firing again.
    async fn restore(&self) -> HashMap<(usize, String), Entry> {
        let mut trackers = HashMap::new();
        let now = now_ms();
        // More than the board keeps: open incidents and other series' are read too, and passed over.
        match self.store.incidents(now - SPAN_DAYS_MS, now, 1000).await {
            Ok(recent) => self.board.remember(&recent),
            Err(error) => tracing::warn!(%error, "cannot read recent incidents; the charts shade only new ones"),
        }
        let open = self.store.open_incidents().await.unwrap_or_else(|error| {
            tracing::error!(%error, "cannot read open incidents; firing rules may notify again");
            Vec::new()
        });
        for incident in open {
            let Some(index) = self.rules.iter().position(|r| r.name == incident.rule) else { continue };
            let tracker = Tracker::firing_since(incident.started_ms, incident.worst);
            self.board.update(&incident.rule, &incident.subject, Phase::Firing, Some(incident.started_ms), incident.worst);
            trackers.insert((index, incident.subject), Entry { tracker, last_notified_ms: now_ms(), announced: true, escalated: false });
        }
        trackers
    }

    async fn observe(&self, event: &HubEvent, trackers: &mut HashMap<(usize, String), Entry>, vantages: &mut Vantages) {
        let Some(offered) = values(&event.topic, &event.data) else { return };
        for (index, rule) in self.rules.iter().enumerate() {
            // A rule across nodes watches every node's copy of its monitor or target.
            let watched_as = if rule.quorum.is_some() { group_of(&offered.subject) } else { offered.subject.as_str() };
            if !offered.source.is_watched_by(&rule.watched, watched_as) {
                continue;
            }
            let Some(&(_, value)) = offered.fields.iter().find(|(name, _)| *name == rule.field) else { continue };
            let sample = Sample { at_ms: event.at_ms, value };
            let (rule, subject, sample) = match &rule.quorum {
                None => (rule, offered.subject.clone(), sample),
                Some(count_rule) => {
                    let at_least = count_rule.judgement.condition.number as usize;
                    let Some(breaching) = vantages.observe(index, &rule.judgement, at_least, &offered.subject, sample) else { continue };
                    (&**count_rule, watched_as.to_owned(), Sample { at_ms: event.at_ms, value: breaching as f64 })
                }
            };
            let entry = trackers.entry((index, subject.clone())).or_default();
            let transition = entry.tracker.observe(&rule.judgement, sample);
            let outcome = match &transition {
                Some(transition) => self.on_transition(rule, &subject, transition, (entry.announced, entry.escalated)).await,
                // Firing, and nobody was told (a silence or a parent held it back): tell them once it may go out.
                None if entry.tracker.phase() == Phase::Firing && !entry.announced => self.announce_late(rule, &subject, entry, event.at_ms).await,
                None => Notified::No,
            };
            // The board changes once the transition is handled, so whoever reads it sees the whole of it.
            let in_breach = entry.tracker.phase() != Phase::Ok;
            let not_sent = match outcome {
                Notified::No => {
                    entry.announced &= in_breach;
                    entry.escalated &= in_breach;
                    None
                }
                Notified::Sent => {
                    entry.last_notified_ms = event.at_ms;
                    entry.announced = in_breach;
                    entry.escalated &= in_breach;
                    Some(None)
                }
                Notified::HeldBack(reason) => {
                    entry.last_notified_ms = event.at_ms;
                    entry.announced &= in_breach;
                    entry.escalated &= in_breach;
                    Some(Some(reason))
                }
            };
            let tracker = &entry.tracker;
            self.board.set(&rule.name, &subject, tracker.phase(), tracker.since_ms(), tracker.last_value(), not_sent);
        }
    }

    /// The firing notification of a rule whose firing was held back, once nothing holds it.
    async fn announce_late(&self, rule: &Rule, subject: &str, entry: &Entry, at_ms: i64) -> Notified {
        if measured_long_ago(at_ms).is_some() || self.held_back(rule, subject, at_ms).await.is_some() {
            return Notified::No;
        }
        self.notify(rule, subject, &reminders::standing(rule, &entry.tracker, at_ms, "firing"), "firing").await;
        Notified::Sent
    }

    /// Why a notification for `rule` must not go out now, if it must not:
    /// a maintenance window, a silence, or the rule it depends on firing.
    pub(super) async fn held_back(&self, rule: &Rule, subject: &str, at_ms: i64) -> Option<(&'static str, String)> {
        if let Some(window) = self.windows.iter().find(|w| w.covers(&rule.name, at_ms)) {
            return Some(("silenced", format!("silenced by the maintenance window {:?}", window.name)));
        }
        match self.store.silenced_by(&rule.name, subject, at_ms).await {
            Ok(Some(reason)) => return Some(("silenced", format!("silenced: {reason}"))),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "cannot read silences; notifying"),
        }
        let parent = rule.depends_on.as_deref().filter(|parent| self.board.is_firing(parent))?;
        Some(("suppressed", format!("suppressed while {parent:?} is firing")))
    }

    /// Publishes, records and notifies one transition.
    /// The end of a breach nobody was told about is not news: it is recorded, not sent.
    async fn on_transition(&self, rule: &Rule, subject: &str, transition: &Transition, (announced, escalated): (bool, bool)) -> Notified {
        let ends = transition.kind == "resolved" || (transition.kind == "settled" && transition.to != Phase::Firing);
        let notifies = matches!(transition.kind, "firing" | "resolved" | "flapping" | "settled") && (announced || !ends);
        // The end of a breach someone was told about is sent however late it is measured.
        let late = measured_long_ago(transition.at_ms).filter(|_| !(ends && announced));
        let held = match (notifies, late) {
            (false, _) => None,
            (true, Some(late)) => Some(late),
            (true, None) => self.held_back(rule, subject, transition.at_ms).await,
        };
        let published = AlertTransition {
            rule: rule.name.clone(),
            subject: subject.to_owned(),
            kind: transition.kind.to_owned(),
            from: phase_name(transition.from).to_owned(),
            to: phase_name(transition.to).to_owned(),
            at_ms: transition.at_ms,
            value: transition.value,
            threshold: transition.threshold,
            started_ms: transition.started_ms,
            worst: transition.worst,
            not_sent: held.as_ref().map(|(_, reason)| reason.clone()),
        };
        // The next sample of the target decides; ask for it now rather than at the next interval.
        if transition.kind == "confirming" && matches!(rule.watched, Watched::Speed { .. }) {
            if let Some(retest) = &self.retest {
                let _ = retest.send(subject.to_owned());
            }
        }
        // Recorded first: whoever reacts to the event finds the incident as it now is.
        match record::incident(&self.store, rule, subject, transition).await {
            Ok(Some((started_ms, ended_ms))) => self.board.keep_finished(&rule.name, started_ms, ended_ms),
            Ok(None) => {}
            Err(error) => tracing::error!(%error, rule = rule.name, "cannot record the incident"),
        }
        let data = serde_json::to_string(&published).unwrap_or_default();
        if let Err(error) = self.writer.publish(ALERT_TOPIC, &format!("{}|{subject}", rule.name), data).await {
            tracing::warn!(%error, rule = rule.name, "cannot publish an alert transition");
        }
        if !notifies {
            return Notified::No;
        }
        match held {
            None => {
                // Whoever was escalated to hears how it ended too.
                let channels = reminders::channels(rule, escalated && ends);
                self.notify_on(rule, &channels, subject, transition, transition.kind).await;
                Notified::Sent
            }
            Some((outcome, reason)) => {
                record::held(&self.store, rule, outcome, &reason).await;
                Notified::HeldBack(reason)
            }
        }
    }

    /// Stores one notification per channel of the rule, then wakes the dispatcher.
    pub(super) async fn notify(&self, rule: &Rule, subject: &str, transition: &Transition, kind: &str) {
        self.notify_on(rule, &rule.notify, subject, transition, kind).await;
    }

    /// Stores one notification for each of `channels`, then wakes the dispatcher.
    pub(super) async fn notify_on(&self, rule: &Rule, channels: &[String], subject: &str, transition: &Transition, kind: &str) {
        let facts = compose::facts(rule, transition, kind, &self.node);
        let (title, message) = match compose::text(rule, subject, &facts) {
            Ok(text) => text,
            // A template that fails on these values must not cost the notification: the default text goes.
            Err(error) => {
                tracing::warn!(%error, rule = rule.name, "the rule's template does not render; sending the default text");
                let plain = Rule { message: None, recovery_message: None, ..rule.clone() };
                match compose::text(&plain, subject, &facts) {
                    Ok(text) => text,
                    Err(error) => {
                        tracing::error!(%error, rule = rule.name, "cannot render the notification");
                        return;
                    }
                }
            }
        };
        let created_ms = now_ms();
        for channel in channels {
            let notification = NewNotification {
                delivery_id: delivery_id(),
                channel: channel.clone(),
                rule: rule.name.clone(),
                subject: subject.to_owned(),
                title: title.clone(),
                message: message.clone(),
                facts: facts.clone(),
                created_ms,
                expires_ms: created_ms.saturating_add(i64::try_from(self.expiry.as_millis()).unwrap_or(i64::MAX)),
            };
            if let Err(error) = self.store.enqueue(&notification).await {
                tracing::error!(%error, rule = rule.name, channel, "cannot store a notification");
            }
        }
        self.outbox.notify_one();
    }
}
