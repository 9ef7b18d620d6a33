//! The one writer: a single task that numbers every event, hands it to the hub
//! and appends it to the log, in that order. Producers send to it and await
//! an acknowledgement; a producer cancelled while waiting can no longer split
//! those steps. Events that queue while a commit runs go in the next one.
//!
//! Delivery does not wait for the commit, so a slow disk never delays live
//! streams. An event that went out live and was lost in a crash before its
//! commit cannot have its id issued again: a restarted writer starts at the
//! clock's id floor (`clock::id_floor`), beyond every id issued before.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::{
    model::StoreHealth,
    server::{
        clock::now_ms,
        events::{
            hub::{Hub, HubEvent},
            log::EventLog,
        },
    },
};

/// Most events one commit carries.
const MAX_BATCH: usize = 512;

/// Publishes waiting for the writer before senders wait too.
const QUEUE: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("netpulse is shutting down and takes no more events")]
    Closed,
}

struct Request {
    topic: String,
    key: String,
    data: String,
    done: oneshot::Sender<Arc<HubEvent>>,
}

/// A handle on the writer task; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    requests: mpsc::Sender<Request>,
    health: Arc<Mutex<StoreHealth>>,
}

impl Writer {
    /// Starts the writer; ids continue from `next_id`. It runs until every handle is dropped.
    pub fn spawn(hub: Arc<Hub>, log: Arc<dyn EventLog>, next_id: u64) -> Self {
        let (requests, received) = mpsc::channel(QUEUE);
        let health = Arc::new(Mutex::new(StoreHealth::default()));
        tokio::spawn(run(received, hub, log, next_id, health.clone()));
        Self { requests, health }
    }

    /// Publishes `data` (JSON text) on `topic`, about `key` (the monitor, the
    /// target, or empty). Returns once the event is delivered and its commit ended.
    pub async fn publish(&self, topic: &str, key: &str, data: String) -> Result<Arc<HubEvent>, WriterError> {
        let (done, acknowledged) = oneshot::channel();
        let request = Request { topic: topic.to_owned(), key: key.to_owned(), data, done };
        self.requests.send(request).await.map_err(|_| WriterError::Closed)?;
        acknowledged.await.map_err(|_| WriterError::Closed)
    }

    /// Whether history is being written; the reason when not.
    pub fn health(&self) -> StoreHealth {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn run(mut received: mpsc::Receiver<Request>, hub: Arc<Hub>, log: Arc<dyn EventLog>, mut next_id: u64, health: Arc<Mutex<StoreHealth>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // The newest id that went out live but could not be logged, until a later write records the gap.
    let mut lost_through = None;
    while received.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let at_ms = now_ms();
        let events: Vec<Arc<HubEvent>> = batch
            .iter_mut()
            .map(|request| {
                let id = next_id;
                next_id += 1;
                Arc::new(HubEvent::new(id, std::mem::take(&mut request.topic), std::mem::take(&mut request.key), at_ms, std::mem::take(&mut request.data)))
            })
            .collect();
        hub.deliver(&events);
        let outcome = log.append(&events, lost_through).await;
        match &outcome {
            Ok(()) => lost_through = None,
            Err(_) => lost_through = events.last().map(|e| e.id).max(lost_through),
        }
        // If the log failed, the events went out live all the same: the banner says history is not being saved.
        record(&health, outcome.err().map(|err| err.0), events.len());
        for (request, event) in batch.drain(..).zip(events) {
            // A producer that gave up waiting is fine: its event is out.
            let _ = request.done.send(event);
        }
    }
}

fn record(health: &Mutex<StoreHealth>, error: Option<String>, events: usize) {
    let mut health = health.lock().unwrap_or_else(|p| p.into_inner());
    match error {
        None => health.ok = true,
        Some(error) => {
            if health.ok {
                tracing::error!(%error, "cannot write to the history database; events still stream live");
            }
            health.ok = false;
            health.failed_writes += events as u64;
            health.last_error = Some(error);
        }
    }
}

#[cfg(test)]
mod tests;
