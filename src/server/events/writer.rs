//! The one writer: a single task that numbers every event, hands it to the hub
//! and appends it to the log, in that order. Producers send to it and await
//! an acknowledgement; a producer cancelled while waiting can no longer split
//! those steps. Events that queue while a commit runs go in the next one.
//!
//! Delivery does not wait for the commit: a second task commits what was
//! delivered, so a slow disk delays live streams only once 64 batches wait. An event that went out live and was lost in a crash before its
//! commit cannot have its id issued again: a restarted writer starts at the
//! clock's id floor (`clock::id_floor`), beyond every id issued before.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::{
    model::StoreHealth,
    server::{
        clock::now_ms,
        events::{
            hub::{Hub, HubEvent, Origin},
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
    /// An agent's result: when it was measured (on the server's clock) and its sequence number.
    from_node: Option<(i64, Origin)>,
    done: oneshot::Sender<Written>,
}

/// An event as the writer answers it: delivered, and whether its commit succeeded.
type Written = (Arc<HubEvent>, bool);

/// An agent's result for [`Writer::publish_from_nodes`].
pub struct NodeEvent {
    pub topic: String,
    pub key: String,
    pub data: String,
    /// When it was measured, already on the server's clock.
    pub at_ms: i64,
    pub origin: Origin,
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
        let request = Request { topic: topic.to_owned(), key: key.to_owned(), data, from_node: None, done };
        self.requests.send(request).await.map_err(|_| WriterError::Closed)?;
        acknowledged.await.map(|(event, _)| event).map_err(|_| WriterError::Closed)
    }

    /// Publishes agents' results, each at the time it was measured, with
    /// its (node, sequence number) stored in the same commit. Answers each
    /// event and whether it was stored: the agent's acknowledgement may count
    /// only those. All are queued before any answer is awaited.
    pub async fn publish_from_nodes(&self, events: Vec<NodeEvent>) -> Result<Vec<Written>, WriterError> {
        let mut answers = Vec::with_capacity(events.len());
        for event in events {
            let (done, answer) = oneshot::channel();
            let request = Request { topic: event.topic, key: event.key, data: event.data, from_node: Some((event.at_ms, event.origin)), done };
            self.requests.send(request).await.map_err(|_| WriterError::Closed)?;
            answers.push(answer);
        }
        let mut written = Vec::with_capacity(answers.len());
        for answer in answers {
            written.push(answer.await.map_err(|_| WriterError::Closed)?);
        }
        Ok(written)
    }

    /// Whether history is being written; the reason when not.
    pub fn health(&self) -> StoreHealth {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Numbered, delivered batches on their way to the log, with who to answer.
type Delivered = (Vec<Arc<HubEvent>>, Vec<oneshot::Sender<Written>>);

/// Batches delivered but not yet committed, before delivery waits for the disk too.
const COMMITS_AHEAD: usize = 64;

async fn run(mut received: mpsc::Receiver<Request>, hub: Arc<Hub>, log: Arc<dyn EventLog>, mut next_id: u64, health: Arc<Mutex<StoreHealth>>) {
    let (to_commit, commits) = mpsc::channel(COMMITS_AHEAD);
    let committer = tokio::spawn(commit(commits, log, health));
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while received.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let at_ms = now_ms();
        let (events, answers): (Vec<Arc<HubEvent>>, Vec<_>) = batch
            .drain(..)
            .map(|request| {
                let id = next_id;
                next_id += 1;
                let event = match request.from_node {
                    None => HubEvent::new(id, request.topic, request.key, at_ms, request.data),
                    Some((measured_ms, origin)) => HubEvent::new(id, request.topic, request.key, measured_ms, request.data).with_origin(origin),
                };
                (Arc::new(event), request.done)
            })
            .unzip();
        hub.deliver(&events);
        if to_commit.send((events, answers)).await.is_err() {
            break;
        }
    }
    drop(to_commit);
    let _ = committer.await;
}

/// Appends delivered batches to the log in order, those that queued during a
/// commit together, and answers their producers once each commit is over.
async fn commit(mut commits: mpsc::Receiver<Delivered>, log: Arc<dyn EventLog>, health: Arc<Mutex<StoreHealth>>) {
    // The newest id that went out live but could not be logged, until a later write records the gap.
    let mut lost_through = None;
    let mut queued = Vec::new();
    while commits.recv_many(&mut queued, COMMITS_AHEAD).await > 0 {
        let (events, answers): (Vec<_>, Vec<_>) = queued.drain(..).fold((Vec::new(), Vec::new()), |(mut events, mut answers), (batch, done)| {
            events.extend(batch);
            answers.extend(done);
            (events, answers)
        });
        let outcome = log.append(&events, lost_through).await;
        match &outcome {
            Ok(()) => lost_through = None,
            Err(_) => lost_through = events.last().map(|e| e.id).max(lost_through),
        }
        let stored = outcome.is_ok();
        // If the log failed, the events went out live all the same: the banner says history is not being saved.
        record(&health, outcome.err().map(|err| err.0), events.len());
        for (answer, event) in answers.into_iter().zip(events) {
            // A producer that gave up waiting is fine: its event is out.
            let _ = answer.send((event, stored));
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
