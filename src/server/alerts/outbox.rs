//! The dispatcher: sends what the outbox holds, retries with backoff until
//! delivered or expired, and folds the notifications that queued for one
//! rule and channel while it was unreachable into one digest.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::TimeZone;
use futures_util::future::join_all;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::server::{
    alerts::{
        channel_config::Channel,
        compose,
        send::{send, Outgoing, SendError},
        store::{Attempt, Queued},
    },
    clock::now_ms,
    store::Store,
};

/// Most notifications read from the outbox at a time.
const BATCH: i64 = 500;
/// The longest the dispatcher sleeps without looking at the outbox.
const IDLE: Duration = Duration::from_secs(5);

/// How long after the n-th failed attempt the next one comes.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub first: Duration,
    pub most: Duration,
}

impl Backoff {
    pub fn after(&self, attempts: i64) -> Duration {
        let factor = 2u32.saturating_pow(u32::try_from(attempts.clamp(0, 30)).unwrap_or(30));
        self.first.saturating_mul(factor).min(self.most)
    }
}

pub struct Dispatcher {
    pub store: Arc<Store>,
    pub channels: Arc<HashMap<String, Channel>>,
    pub http: reqwest::Client,
    pub wake: Arc<Notify>,
    pub backoff: Backoff,
}

/// A time as a notification shows it: the server's zone, minutes.
fn clock(ms: i64) -> String {
    chrono::Local.timestamp_millis_opt(ms).single().map(|t| t.format("%H:%M").to_string()).unwrap_or_default()
}

impl Dispatcher {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            match self.store.due_notifications(now_ms(), BATCH).await {
                Ok(due) if !due.is_empty() => self.deliver(due).await,
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "cannot read the notification outbox"),
            }
            let next = self.store.next_due_ms().await.ok().flatten();
            let wait = next.map_or(IDLE, |at| Duration::from_millis(u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0)).min(IDLE));
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Groups what is due by channel, rule and subject, oldest first, and sends each group at once.
    async fn deliver(&self, due: Vec<Queued>) {
        let mut groups: Vec<Vec<Queued>> = Vec::new();
        for row in due {
            match groups.iter_mut().find(|g| g[0].channel == row.channel && g[0].rule == row.rule && g[0].subject == row.subject) {
                Some(group) => group.push(row),
                None => groups.push(vec![row]),
            }
        }
        join_all(groups.into_iter().map(|group| self.deliver_group(group))).await;
    }

    async fn deliver_group(&self, group: Vec<Queued>) {
        let now = now_ms();
        let (expired, live): (Vec<Queued>, Vec<Queued>) = group.into_iter().partition(|row| row.expires_ms <= now);
        for row in &expired {
            let error = format!("gave up after {} attempts: {}", row.attempts, "the notification expired undelivered");
            self.record(&[row.id], &row.delivery_id, row, "expired", Some(&error), None).await;
        }
        let Some(first) = live.first() else { return };
        let ids: Vec<i64> = live.iter().map(|row| row.id).collect();
        let Some(channel) = self.channels.get(&first.channel) else {
            let error = format!("no [[notify]] channel is named {:?} any more", first.channel);
            self.record(&ids, &first.delivery_id, first, "failed", Some(&error), None).await;
            return;
        };
        let note = outgoing(&live);
        let outcome = send(channel, &note, &self.http).await;
        match outcome {
            Ok(()) => self.record(&ids, &note.delivery_id, first, "sent", None, None).await,
            Err(SendError::Permanent(error)) => {
                tracing::warn!(channel = first.channel, rule = first.rule, %error, "notification refused");
                self.record(&ids, &note.delivery_id, first, "failed", Some(&error), None).await;
            }
            Err(SendError::Retry(error)) => {
                let retry_at = now_ms().saturating_add(i64::try_from(self.backoff.after(first.attempts).as_millis()).unwrap_or(i64::MAX));
                tracing::info!(channel = first.channel, rule = first.rule, %error, "notification not delivered; will retry");
                self.record(&ids, &note.delivery_id, first, "retry", Some(&error), Some(retry_at)).await;
            }
        }
    }

    async fn record(&self, ids: &[i64], delivery_id: &str, row: &Queued, outcome: &str, error: Option<&str>, retry_at_ms: Option<i64>) {
        let attempt = Attempt { ids, delivery_id, channel: &row.channel, rule: &row.rule, at_ms: now_ms(), outcome, error, retry_at_ms };
        if let Err(error) = self.store.record_attempt(&attempt).await {
            tracing::error!(%error, "cannot record a delivery attempt; it may be sent again");
        }
    }
}

/// The notification a group sends: the row itself, or a digest of them all.
/// A digest's id is made from its rows', so a resend after a crash carries the same one.
fn outgoing(rows: &[Queued]) -> Outgoing {
    let first = &rows[0];
    let last = &rows[rows.len() - 1];
    let facts = serde_json::to_value(&last.facts).unwrap_or_default();
    if rows.len() == 1 {
        return Outgoing {
            delivery_id: first.delivery_id.clone(),
            rule: first.rule.clone(),
            subject: first.subject.clone(),
            kind: first.facts.kind.clone(),
            title: first.title.clone(),
            message: first.message.clone(),
            facts,
        };
    }
    let all: Vec<_> = rows.iter().map(|row| row.facts.clone()).collect();
    let (title, message) = compose::digest(&first.rule, &first.subject, &all, clock).unwrap_or_else(|| (first.title.clone(), first.message.clone()));
    Outgoing {
        delivery_id: format!("{}-digest-{}", first.delivery_id, rows.len()),
        rule: first.rule.clone(),
        subject: first.subject.clone(),
        kind: "digest".into(),
        title,
        message,
        facts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let backoff = Backoff { first: Duration::from_secs(10), most: Duration::from_secs(600) };
        let waits: Vec<u64> = (0..8).map(|n| backoff.after(n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(backoff.after(1_000).as_secs(), 600);
    }
}
