//! The topic hub: the in-memory side of the event log. It keeps a replay
//! window, the latest event of each thing an event describes, and the newest
//! events pages render from, and fans events out. Ids come from the writer.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc};

use crate::server::events::sse_frame;

/// One event, encoded once as an SSE frame for all subscribers.
#[derive(Debug)]
pub struct HubEvent {
    pub id: u64,
    pub topic: String,
    /// What the event describes within its topic: the monitor of a check, the
    /// target of a speed test; empty for custom topics.
    pub key: String,
    /// The server's clock when the writer accepted the event, in Unix milliseconds.
    pub at_ms: i64,
    /// JSON text.
    pub data: String,
    pub frame: Bytes,
    /// The same event with its data in an envelope that carries `at_ms`.
    pub enveloped: Bytes,
    /// The agent result it stands for, stored with it so a retry is never stored twice.
    pub origin: Option<Origin>,
}

/// An agent's result: the node's id in the store and the result's sequence number there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub node_id: i64,
    pub seq: u64,
}

impl HubEvent {
    pub fn new(id: u64, topic: String, key: String, at_ms: i64, data: String) -> Self {
        let frame = sse_frame::event(&topic, Some(id), &data);
        let enveloped = sse_frame::event(&topic, Some(id), &crate::model::envelope(at_ms, &data));
        Self { id, topic, key, at_ms, data, frame, enveloped, origin: None }
    }

    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The frame a stream sends: enveloped or as published.
    pub fn frame_for(&self, enveloped: bool) -> Bytes {
        if enveloped {
            self.enveloped.clone()
        } else {
            self.frame.clone()
        }
    }
}

/// Where a new subscription starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartFrom {
    /// A fresh page: the latest event of each thing described, then live.
    Latest,
    /// A resuming client: every event after this id, then live.
    After(u64),
}

/// What a subscriber receives first, before the live feed.
#[derive(Debug)]
pub enum Backlog {
    Events(Vec<Arc<HubEvent>>),
    /// The window no longer reaches back to `after`: the events with ids in
    /// `after < id < before` come from the store's log, then `then`. If the
    /// log cannot replay them all, the client is reset to `newest`.
    FromLog {
        after: u64,
        before: u64,
        then: Vec<Arc<HubEvent>>,
        newest: u64,
    },
    /// The requested id cannot be resumed from; the client must reload. The
    /// live feed starts after `resume_from`, the newest id at subscription.
    Reset {
        resume_from: u64,
    },
}

pub struct Subscription {
    pub backlog: Backlog,
    pub live: broadcast::Receiver<Arc<HubEvent>>,
}

/// How much the hub remembers, and how far a subscriber may lag.
#[derive(Clone, Debug)]
pub struct HubLimits {
    /// Events kept in memory for resuming clients, at most this many...
    pub replay_events: usize,
    /// ...and none older than this.
    pub replay_age: Duration,
    /// Events a subscriber may fall behind before it is cut off.
    pub queue: usize,
    /// Topics whose newest events are kept for page snapshots, and how many.
    pub kept: Vec<(String, usize)>,
}

struct HubState {
    last_id: u64,
    window: VecDeque<Arc<HubEvent>>,
    latest: HashMap<(String, String), Arc<HubEvent>>,
    kept: HashMap<String, (usize, VecDeque<Arc<HubEvent>>)>,
}

pub struct Hub {
    state: Mutex<HubState>,
    live: broadcast::Sender<Arc<HubEvent>>,
    /// Consumers that must see every event, however far behind they are (the alert evaluator).
    taps: Mutex<Vec<mpsc::UnboundedSender<Arc<HubEvent>>>>,
    limits: HubLimits,
    published: AtomicU64,
}

impl Hub {
    /// `last_id` is the newest id issued before this hub started (0 if none).
    pub fn new(limits: HubLimits, last_id: u64) -> Self {
        let (live, _) = broadcast::channel(limits.queue.max(1));
        let kept = limits.kept.iter().map(|(topic, n)| (topic.clone(), (*n, VecDeque::new()))).collect();
        Self {
            state: Mutex::new(HubState { last_id, window: VecDeque::new(), latest: HashMap::new(), kept }),
            live,
            taps: Mutex::default(),
            limits,
            published: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        // Every mutation below is a push, pop or insert, so a panic elsewhere
        // cannot leave the state half-written.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn prune(&self, state: &mut HubState, now_ms: i64) {
        let max_age_ms = i64::try_from(self.limits.replay_age.as_millis()).unwrap_or(i64::MAX);
        while state.window.len() > self.limits.replay_events.max(1) || state.window.front().is_some_and(|e| now_ms.saturating_sub(e.at_ms) > max_age_ms) {
            state.window.pop_front();
        }
    }

    /// Delivers events the writer has numbered and logged, in id order.
    /// Sending under the lock keeps the live feed in id order, which resume depends on.
    pub fn deliver(&self, events: &[Arc<HubEvent>]) {
        let mut state = self.lock();
        for event in events {
            debug_assert!(event.id > state.last_id, "the writer issues increasing ids");
            self.remember(&mut state, event.clone(), true);
            // No receivers is normal: nobody is watching.
            let _ = self.live.send(event.clone());
        }
        let mut taps = self.taps.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        taps.retain(|tap| events.iter().all(|event| tap.send(event.clone()).is_ok()));
        self.published.fetch_add(events.len() as u64, Ordering::Relaxed);
    }

    /// A feed of every event delivered from now on, in id order, that never
    /// drops one: for consumers whose work is small and must be complete.
    pub fn tap(&self) -> mpsc::UnboundedReceiver<Arc<HubEvent>> {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.taps.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(sender);
        receiver
    }

    /// Takes back events from before a restart, oldest first, so that pages
    /// and resuming clients see them; nothing is sent live. Only events from
    /// `window_from` on enter the replay window, which must have no gaps.
    pub fn restore(&self, events: impl IntoIterator<Item = Arc<HubEvent>>, window_from: u64) {
        let mut state = self.lock();
        for event in events {
            let in_window = event.id >= window_from;
            self.remember(&mut state, event, in_window);
        }
    }

    fn remember(&self, state: &mut HubState, event: Arc<HubEvent>, in_window: bool) {
        state.last_id = state.last_id.max(event.id);
        let newer = |held: &Arc<HubEvent>| held.id < event.id;
        if in_window && state.window.back().is_none_or(&newer) {
            state.window.push_back(event.clone());
            self.prune(state, event.at_ms);
        }
        let key = (event.topic.clone(), event.key.clone());
        // An agent catching up sends old results after newer ones: those are not the latest.
        let latest = |held: &Arc<HubEvent>| newer(held) && (event.origin.is_none() || event.at_ms >= held.at_ms);
        if state.latest.get(&key).is_none_or(latest) {
            state.latest.insert(key, event.clone());
        }
        if let Some((capacity, kept)) = state.kept.get_mut(&event.topic) {
            if kept.back().is_none_or(newer) {
                if kept.len() >= *capacity {
                    kept.pop_front();
                }
                kept.push_back(event);
            }
        }
    }

    /// Subscribes to `topics` (all when empty). The backlog and the live feed
    /// are taken under one lock, so nothing falls between them or arrives twice.
    pub fn subscribe(&self, topics: &[String], start: StartFrom) -> Subscription {
        let wanted = |event: &HubEvent| topics.is_empty() || topics.contains(&event.topic);
        let mut state = self.lock();
        self.prune(&mut state, crate::server::clock::now_ms());
        let live = self.live.subscribe();
        let last_id = state.last_id;
        let backlog = match start {
            StartFrom::Latest => {
                let mut latest: Vec<_> = state.latest.values().filter(|e| wanted(e)).cloned().collect();
                latest.sort_by_key(|e| e.id);
                Backlog::Events(latest)
            }
            StartFrom::After(id) if id > last_id => Backlog::Reset { resume_from: last_id },
            StartFrom::After(id) => {
                let then: Vec<_> = state.window.iter().filter(|e| e.id > id && wanted(e)).cloned().collect();
                match state.window.front() {
                    // Ids are sparse across restarts, so only the log can say
                    // whether anything lies between `id` and the window.
                    Some(oldest) if oldest.id > id + 1 => Backlog::FromLog { after: id, before: oldest.id, then, newest: last_id },
                    None if id < last_id => Backlog::FromLog { after: id, before: last_id + 1, then, newest: last_id },
                    _ => Backlog::Events(then),
                }
            }
        };
        Subscription { backlog, live }
    }

    /// The kept events of one topic, oldest first, and the newest id overall.
    pub fn recent(&self, topic: &str) -> (Vec<Arc<HubEvent>>, u64) {
        let state = self.lock();
        let events = state.kept.get(topic).map(|(_, kept)| kept.iter().cloned().collect()).unwrap_or_default();
        (events, state.last_id)
    }

    /// The latest event about `key` on `topic`, however long ago it came.
    pub fn latest(&self, topic: &str, key: &str) -> Option<Arc<HubEvent>> {
        self.lock().latest.get(&(topic.to_owned(), key.to_owned())).cloned()
    }

    /// The newest `n` events of every topic in the replay window, oldest first.
    pub fn newest(&self, n: usize) -> Vec<Arc<HubEvent>> {
        let state = self.lock();
        state.window.iter().skip(state.window.len().saturating_sub(n)).cloned().collect()
    }

    /// Whether anything was published on `topic` and is still remembered.
    pub fn has_topic(&self, topic: &str) -> bool {
        self.lock().latest.keys().any(|(t, _)| t == topic)
    }

    /// Topics with a latest event that are not `builtin`: the custom topics in use.
    pub fn custom_topics(&self, builtin: &[&str]) -> Vec<String> {
        let mut topics: Vec<String> = self.lock().latest.keys().filter(|(t, _)| !builtin.contains(&t.as_str())).map(|(t, _)| t.clone()).collect();
        topics.sort();
        topics.dedup();
        topics
    }

    /// Forgets the latest events of topics the store has collected, so the map
    /// holds only what is still in use.
    pub fn forget_topics(&self, topics: &[String]) {
        let mut state = self.lock();
        state.latest.retain(|(topic, _), _| !topics.contains(topic));
    }

    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
