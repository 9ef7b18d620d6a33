//! The topic hub: gives every event an id, keeps a replay window, and fans events out.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use tokio::sync::broadcast;

use crate::server::events::sse_frame;

/// One published event, encoded once as an SSE frame for all subscribers.
#[derive(Debug)]
pub struct HubEvent {
    pub id: u64,
    pub topic: String,
    /// JSON text.
    pub data: String,
    pub frame: Bytes,
    pub published: Instant,
}

/// Where a new subscription starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartFrom {
    /// A fresh page: the latest event of each topic, then live.
    Latest,
    /// A resuming client: every event after this id, then live.
    After(u64),
}

/// What a subscriber receives first, before the live feed.
#[derive(Debug)]
pub enum Backlog {
    Events(Vec<Arc<HubEvent>>),
    /// The requested id cannot be resumed from; the client must reload. The
    /// live feed starts after `resume_from`, the newest id at subscription.
    Reset { resume_from: u64 },
}

pub struct Subscription {
    pub backlog: Backlog,
    pub live: broadcast::Receiver<Arc<HubEvent>>,
}

/// How much the hub remembers, and how far a subscriber may lag.
#[derive(Clone, Debug)]
pub struct HubLimits {
    /// Events kept for resuming clients, at most this many...
    pub replay_events: usize,
    /// ...and none older than this.
    pub replay_age: Duration,
    /// Events a subscriber may fall behind before it is cut off.
    pub queue: usize,
    /// Topics whose newest events are kept for page snapshots, and how many.
    pub kept: Vec<(String, usize)>,
}

struct HubState {
    next_id: u64,
    window: VecDeque<Arc<HubEvent>>,
    latest: HashMap<String, Arc<HubEvent>>,
    kept: HashMap<String, (usize, VecDeque<Arc<HubEvent>>)>,
}

pub struct Hub {
    state: Mutex<HubState>,
    live: broadcast::Sender<Arc<HubEvent>>,
    limits: HubLimits,
    published: AtomicU64,
}

impl Hub {
    /// `first_id` is the id of the first event; see [`first_id_from_clock`].
    pub fn new(limits: HubLimits, first_id: u64) -> Self {
        let (live, _) = broadcast::channel(limits.queue.max(1));
        let kept = limits.kept.iter().map(|(topic, n)| (topic.clone(), (*n, VecDeque::new()))).collect();
        Self {
            state: Mutex::new(HubState { next_id: first_id.max(1), window: VecDeque::new(), latest: HashMap::new(), kept }),
            live,
            limits,
            published: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        // Every mutation below is a push, pop or insert, so a panic elsewhere
        // cannot leave the state half-written.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn prune(&self, state: &mut HubState, now: Instant) {
        while state.window.len() > self.limits.replay_events.max(1)
            || state.window.front().is_some_and(|e| now.duration_since(e.published) > self.limits.replay_age)
        {
            state.window.pop_front();
        }
    }

    /// Assigns the next id and delivers the event. Sending under the lock keeps
    /// the live feed in id order, which resume depends on.
    pub fn publish(&self, topic: &str, data: String) -> Arc<HubEvent> {
        let now = Instant::now();
        let mut state = self.lock();
        let id = state.next_id;
        let event = Arc::new(HubEvent { id, topic: topic.to_owned(), frame: sse_frame::event(topic, Some(id), &data), data, published: now });
        self.remember(&mut state, event.clone(), now);
        // No receivers is normal: nobody is watching.
        let _ = self.live.send(event.clone());
        self.published.fetch_add(1, Ordering::Relaxed);
        event
    }

    /// The id the next event will get.
    pub fn next_id(&self) -> u64 {
        self.lock().next_id
    }

    /// Takes back events from before a restart (oldest first, with their age),
    /// so that clients resume across it; the next id follows the newest.
    pub fn restore(&self, events: impl IntoIterator<Item = (u64, String, String, Duration)>) {
        let now = Instant::now();
        let mut state = self.lock();
        for (id, topic, data, age) in events {
            if id < state.next_id && state.window.back().is_some_and(|last| last.id >= id) {
                continue;
            }
            let published = now.checked_sub(age).unwrap_or(now);
            let event = Arc::new(HubEvent { id, frame: sse_frame::event(&topic, Some(id), &data), topic, data, published });
            self.remember(&mut state, event, now);
        }
    }

    fn remember(&self, state: &mut HubState, event: Arc<HubEvent>, now: Instant) {
        state.next_id = state.next_id.max(event.id + 1);
        state.window.push_back(event.clone());
        self.prune(state, now);
        state.latest.insert(event.topic.clone(), event.clone());
        if let Some((capacity, kept)) = state.kept.get_mut(&event.topic) {
            if kept.len() == *capacity {
                kept.pop_front();
            }
            kept.push_back(event);
        }
    }

    /// Subscribes to `topics` (all when empty). The backlog and the live feed
    /// are taken under one lock, so nothing falls between them or arrives twice.
    pub fn subscribe(&self, topics: &[String], start: StartFrom) -> Subscription {
        let wanted = |event: &HubEvent| topics.is_empty() || topics.iter().any(|t| *t == event.topic);
        let mut state = self.lock();
        self.prune(&mut state, Instant::now());
        let live = self.live.subscribe();
        let last_id = state.next_id - 1;
        let backlog = match start {
            StartFrom::Latest => {
                let mut latest: Vec<_> = state.latest.values().filter(|e| wanted(e)).cloned().collect();
                latest.sort_by_key(|e| e.id);
                Backlog::Events(latest)
            }
            StartFrom::After(id) if id > last_id => Backlog::Reset { resume_from: last_id },
            StartFrom::After(id) => {
                // Exact only if nothing after `id` has been pruned yet.
                let oldest_kept = state.window.front().map_or(state.next_id, |e| e.id);
                if id + 1 < oldest_kept {
                    Backlog::Reset { resume_from: last_id }
                } else {
                    Backlog::Events(state.window.iter().filter(|e| e.id > id && wanted(e)).cloned().collect())
                }
            }
        };
        Subscription { backlog, live }
    }

    /// The kept events of one topic, oldest first, and the newest id overall.
    pub fn recent(&self, topic: &str) -> (Vec<Arc<HubEvent>>, u64) {
        let state = self.lock();
        let events = state.kept.get(topic).map(|(_, kept)| kept.iter().cloned().collect()).unwrap_or_default();
        (events, state.next_id - 1)
    }

    /// The newest `n` events of every topic in the replay window, oldest first.
    pub fn newest(&self, n: usize) -> Vec<Arc<HubEvent>> {
        let state = self.lock();
        state.window.iter().skip(state.window.len().saturating_sub(n)).cloned().collect()
    }

    /// Whether anything was ever published on `topic` since start-up.
    pub fn has_topic(&self, topic: &str) -> bool {
        self.lock().latest.contains_key(topic)
    }

    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }
}

/// Ids that start from the clock, in microseconds, grow across restarts as
/// long as fewer than a million events a second are published on average. A
/// client that resumes with an id from before a restart is then always told to
/// reset, never silently given nothing.
pub fn first_id_from_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |since| since.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(replay: usize) -> Hub {
        Hub::new(HubLimits { replay_events: replay, replay_age: Duration::from_secs(3600), queue: 10, kept: vec![("speed".into(), 3)] }, 1)
    }

    fn ids(backlog: &Backlog) -> Vec<u64> {
        match backlog {
            Backlog::Events(events) => events.iter().map(|e| e.id).collect(),
            Backlog::Reset { .. } => panic!("unexpected reset"),
        }
    }

    #[test]
    fn restored_events_are_resumable_and_ids_continue_after_them() {
        let restarted = hub(10);
        restarted.restore([(500, "speed".to_owned(), "a".to_owned(), Duration::from_secs(5)), (501, "other".into(), "b".into(), Duration::from_secs(4))]);
        assert_eq!(restarted.next_id(), 502);
        assert_eq!(ids(&restarted.subscribe(&[], StartFrom::After(499)).backlog), [500, 501]);
        assert_eq!(restarted.recent("speed").0.len(), 1, "kept topics are restored too");
        assert_eq!(restarted.publish("speed", "c".into()).id, 502);
    }

    #[test]
    fn ids_increase_and_resume_returns_exactly_the_missed_events() {
        let hub = hub(10);
        for n in 0..5 {
            hub.publish(if n % 2 == 0 { "speed" } else { "other" }, format!("{n}"));
        }
        let sub = hub.subscribe(&["speed".into()], StartFrom::After(1));
        assert_eq!(ids(&sub.backlog), vec![3, 5]);
        let all = hub.subscribe(&[], StartFrom::After(2));
        assert_eq!(ids(&all.backlog), vec![3, 4, 5]);
        assert_eq!(ids(&hub.subscribe(&[], StartFrom::After(5)).backlog), Vec::<u64>::new());
        assert_eq!(hub.published(), 5);
    }

    #[test]
    fn fresh_subscription_gets_latest_per_topic() {
        let hub = hub(10);
        hub.publish("speed", "a".into());
        hub.publish("other", "b".into());
        hub.publish("speed", "c".into());
        assert_eq!(ids(&hub.subscribe(&[], StartFrom::Latest).backlog), vec![2, 3]);
        assert_eq!(ids(&hub.subscribe(&["speed".into()], StartFrom::Latest).backlog), vec![3]);
    }

    #[test]
    fn resume_outside_the_window_resets() {
        let hub = hub(3);
        for _ in 0..6 {
            hub.publish("speed", "x".into());
        }
        // Window holds 4..=6: resuming after 3 is still exact, after 2 is not.
        assert_eq!(ids(&hub.subscribe(&[], StartFrom::After(3)).backlog), vec![4, 5, 6]);
        assert!(matches!(hub.subscribe(&[], StartFrom::After(2)).backlog, Backlog::Reset { resume_from: 6 }));
        // An id this server never issued (say, from before a restart) resets too.
        assert!(matches!(hub.subscribe(&[], StartFrom::After(99)).backlog, Backlog::Reset { resume_from: 6 }));
    }

    #[test]
    fn events_older_than_the_replay_age_are_not_replayed() {
        let hub = Hub::new(HubLimits { replay_events: 100, replay_age: Duration::from_millis(50), queue: 10, kept: vec![] }, 1);
        hub.publish("speed", "old".into());
        std::thread::sleep(Duration::from_millis(80));
        hub.publish("speed", "new".into());
        assert_eq!(ids(&hub.subscribe(&[], StartFrom::After(1)).backlog), vec![2]);
        assert!(matches!(hub.subscribe(&[], StartFrom::After(0)).backlog, Backlog::Reset { .. }));
    }

    #[tokio::test]
    async fn live_feed_continues_after_the_backlog_without_gap() {
        let hub = hub(10);
        hub.publish("speed", "1".into());
        let mut sub = hub.subscribe(&[], StartFrom::After(0));
        hub.publish("speed", "2".into());
        assert_eq!(ids(&sub.backlog), vec![1]);
        assert_eq!(sub.live.recv().await.unwrap().id, 2);
    }

    #[test]
    fn a_restarted_hub_resets_clients_from_its_previous_life() {
        let before = Hub::new(HubLimits { replay_events: 10, replay_age: Duration::from_secs(60), queue: 4, kept: vec![] }, first_id_from_clock());
        let seen = before.publish("speed", "a".into()).id;
        std::thread::sleep(Duration::from_millis(2));
        let after = Hub::new(HubLimits { replay_events: 10, replay_age: Duration::from_secs(60), queue: 4, kept: vec![] }, first_id_from_clock());
        assert!(matches!(after.subscribe(&[], StartFrom::After(seen)).backlog, Backlog::Reset { .. }), "nothing published yet");
        let next = after.publish("speed", "b".into()).id;
        assert!(next > seen);
        assert!(matches!(after.subscribe(&[], StartFrom::After(seen)).backlog, Backlog::Reset { .. }), "one event published");
    }

    #[test]
    fn kept_topics_hold_their_newest_events_whatever_else_is_published() {
        let hub = hub(2);
        for n in 0..5 {
            hub.publish("speed", n.to_string());
            hub.publish("chatty", "x".into());
        }
        let (events, last) = hub.recent("speed");
        assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["2", "3", "4"]);
        assert_eq!(last, 10);
        assert!(hub.recent("chatty").0.is_empty());
        assert!(hub.has_topic("chatty") && !hub.has_topic("quiet"));
    }
}
