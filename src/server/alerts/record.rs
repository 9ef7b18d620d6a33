//! What the evaluator writes down besides notifications: incidents opened
//! and closed as transitions come, and notifications held back, with why.

use crate::server::{
    alerts::{
        config::Rule,
        evaluate::delivery_id,
        store::{Attempt, Decided},
        tracker::{Phase, Transition},
    },
    clock::now_ms,
    store::{Store, StoreError},
};

/// Opens, updates or closes the rule's incident for `subject`; when it
/// closes one, its start and end.
pub async fn incident(store: &Store, rule: &Rule, subject: &str, t: &Transition) -> Result<Option<(i64, i64)>, StoreError> {
    let decided = Decided { worst: t.worst, threshold: t.threshold, samples: &t.samples };
    let start = t.started_ms.unwrap_or(t.at_ms);
    match (t.kind, t.to) {
        ("firing", _) => store.open_incident(&rule.name, subject, start, t.at_ms, &decided).await?,
        ("flapping", _) => {
            // Opened if the rule was not firing when it began to flap; left as it is if it was.
            store.open_incident(&rule.name, subject, start, t.at_ms, &decided).await?;
            store.update_incident(&rule.name, subject, "flapping", t.worst, None).await?;
        }
        // Settling anywhere but firing ends the incident: a pending rule opens a new one when it fires.
        ("resolved", _) | ("settled", Phase::Ok | Phase::Pending) => {
            let started = store.update_incident(&rule.name, subject, "resolved", t.worst, Some(t.at_ms)).await?;
            return Ok(started.map(|started_ms| (started_ms, t.at_ms)));
        }
        ("settled", _) => {
            store.update_incident(&rule.name, subject, "firing", t.worst, None).await?;
        }
        _ => {}
    }
    Ok(None)
}

/// A held-back notification goes in the delivery log, one line per channel, and nowhere else.
pub async fn held(store: &Store, rule: &Rule, outcome: &str, reason: &str) {
    for channel in &rule.notify {
        let id = delivery_id();
        let attempt = Attempt { ids: &[], delivery_id: &id, channel, rule: &rule.name, at_ms: now_ms(), outcome, error: Some(reason), retry_at_ms: None };
        if let Err(error) = store.record_attempt(&attempt).await {
            tracing::error!(%error, rule = rule.name, "cannot record a held-back notification");
        }
    }
}
