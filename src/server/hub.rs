//! The topic hub: gives every event an id, keeps a replay window, and fans events out.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use tokio::sync::broadcast;

/// One published event. The data is JSON text, serialised once for all subscribers.
#[derive(Debug)]
pub struct HubEvent {
    pub id: u64,
    pub topic: String,
    pub data: String,
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

struct HubState {
    next_id: u64,
    window: VecDeque<Arc<HubEvent>>,
    latest: HashMap<String, Arc<HubEvent>>,
}

pub struct Hub {
    state: Mutex<HubState>,
    live: broadcast::Sender<Arc<HubEvent>>,
    replay_capacity: usize,
}

impl Hub {
    /// `replay_capacity` events are kept for resuming clients; a subscriber may
    /// fall `queue_capacity` events behind before it is cut off.
    pub fn new(replay_capacity: usize, queue_capacity: usize) -> Self {
        let (live, _) = broadcast::channel(queue_capacity.max(1));
        Self {
            state: Mutex::new(HubState {
                next_id: 1,
                window: VecDeque::with_capacity(replay_capacity.min(4096)),
                latest: HashMap::new(),
            }),
            live,
            replay_capacity: replay_capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        // A panic while holding the lock cannot leave the state half-written:
        // every mutation below is a push or an insert.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Assigns the next id and delivers the event. Sending under the lock keeps
    /// the live feed in id order, which resume depends on.
    pub fn publish(&self, topic: &str, data: String) -> Arc<HubEvent> {
        let mut state = self.lock();
        let event = Arc::new(HubEvent { id: state.next_id, topic: topic.to_owned(), data });
        state.next_id += 1;
        if state.window.len() == self.replay_capacity {
            state.window.pop_front();
        }
        state.window.push_back(event.clone());
        state.latest.insert(event.topic.clone(), event.clone());
        // No receivers is normal: nobody is watching.
        let _ = self.live.send(event.clone());
        event
    }

    /// Subscribes to `topics` (all when empty). The backlog and the live feed
    /// are taken under one lock, so nothing falls between them or arrives twice.
    pub fn subscribe(&self, topics: &[String], start: StartFrom) -> Subscription {
        let wanted = |event: &HubEvent| topics.is_empty() || topics.iter().any(|t| *t == event.topic);
        let state = self.lock();
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

    /// The newest `limit` events of one topic, oldest first, and the newest id overall.
    pub fn recent(&self, topic: &str, limit: usize) -> (Vec<Arc<HubEvent>>, u64) {
        let state = self.lock();
        let mut events: Vec<_> = state.window.iter().rev().filter(|e| e.topic == topic).take(limit).cloned().collect();
        events.reverse();
        (events, state.next_id - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(backlog: &Backlog) -> Vec<u64> {
        match backlog {
            Backlog::Events(events) => events.iter().map(|e| e.id).collect(),
            Backlog::Reset { .. } => panic!("unexpected reset"),
        }
    }

    #[test]
    fn ids_increase_and_resume_returns_exactly_the_missed_events() {
        let hub = Hub::new(10, 10);
        for n in 0..5 {
            hub.publish(if n % 2 == 0 { "speed" } else { "other" }, format!("{n}"));
        }
        let sub = hub.subscribe(&["speed".into()], StartFrom::After(1));
        assert_eq!(ids(&sub.backlog), vec![3, 5]);
        let all = hub.subscribe(&[], StartFrom::After(2));
        assert_eq!(ids(&all.backlog), vec![3, 4, 5]);
        assert_eq!(ids(&hub.subscribe(&[], StartFrom::After(5)).backlog), Vec::<u64>::new());
    }

    #[test]
    fn fresh_subscription_gets_latest_per_topic() {
        let hub = Hub::new(10, 10);
        hub.publish("speed", "a".into());
        hub.publish("other", "b".into());
        hub.publish("speed", "c".into());
        assert_eq!(ids(&hub.subscribe(&[], StartFrom::Latest).backlog), vec![2, 3]);
        assert_eq!(ids(&hub.subscribe(&["speed".into()], StartFrom::Latest).backlog), vec![3]);
    }

    #[test]
    fn resume_outside_the_window_resets() {
        let hub = Hub::new(3, 10);
        for _ in 0..6 {
            hub.publish("speed", "x".into());
        }
        // Window holds 4..=6: resuming after 3 is still exact, after 2 is not.
        assert_eq!(ids(&hub.subscribe(&[], StartFrom::After(3)).backlog), vec![4, 5, 6]);
        assert!(matches!(hub.subscribe(&[], StartFrom::After(2)).backlog, Backlog::Reset { resume_from: 6 }));
        // An id this server never issued (say, from before a restart) resets too.
        assert!(matches!(hub.subscribe(&[], StartFrom::After(99)).backlog, Backlog::Reset { resume_from: 6 }));
    }

    #[tokio::test]
    async fn live_feed_continues_after_the_backlog_without_gap() {
        let hub = Hub::new(10, 10);
        hub.publish("speed", "1".into());
        let mut sub = hub.subscribe(&[], StartFrom::After(0));
        hub.publish("speed", "2".into());
        assert_eq!(ids(&sub.backlog), vec![1]);
        assert_eq!(sub.live.recv().await.unwrap().id, 2);
    }

    #[test]
    fn recent_returns_newest_of_one_topic_oldest_first() {
        let hub = Hub::new(10, 10);
        for n in 0..5 {
            hub.publish("speed", n.to_string());
        }
        hub.publish("other", "z".into());
        let (events, last) = hub.recent("speed", 3);
        assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["2", "3", "4"]);
        assert_eq!(last, 6);
    }
}
