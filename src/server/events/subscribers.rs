//! Who is subscribed: counts per topic and per client address, connection
//! limits, and the on-demand producers that run only while a topic is watched.

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// Starts a producer that runs until its token is cancelled.
pub type StartProducer = Box<dyn Fn(CancellationToken) + Send + Sync>;

#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub total: usize,
    pub per_client: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    TooManyRequests,
    TooManyFromClient,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
    /// Keyed by topic; "*" counts streams that take every topic.
    per_topic: BTreeMap<String, usize>,
    running: HashMap<String, CancellationToken>,
}

pub struct Subscribers {
    counts: Mutex<Counts>,
    limits: ConnectionLimits,
    on_demand: HashMap<String, StartProducer>,
    dropped_for_lag: AtomicU64,
}

/// Counts of the moment, as `/api/status` reports them.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionCounts {
    pub total: usize,
    pub per_topic: BTreeMap<String, usize>,
    pub dropped_for_lag: u64,
    pub producers_running: Vec<String>,
}

/// Held for as long as a stream is open; dropping it releases the slot.
pub struct Admission {
    subscribers: Arc<Subscribers>,
    client: IpAddr,
    topics: Vec<String>,
}

const ALL_TOPICS: &str = "*";

impl Subscribers {
    pub fn new(limits: ConnectionLimits, on_demand: HashMap<String, StartProducer>) -> Self {
        Self { counts: Mutex::default(), limits, on_demand, dropped_for_lag: AtomicU64::new(0) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a slot for a stream on `topics` (empty: every topic), starting
    /// any on-demand producer whose topic gains its first subscriber.
    pub fn admit(self: &Arc<Self>, client: IpAddr, topics: &[String]) -> Result<Admission, Refusal> {
        let mut counts = self.lock();
        if counts.total >= self.limits.total {
            return Err(Refusal::TooManyRequests);
        }
        let from_client = counts.per_client.entry(client).or_default();
        if *from_client >= self.limits.per_client {
            return Err(Refusal::TooManyFromClient);
        }
        *from_client += 1;
        counts.total += 1;
        let keys: Vec<String> = if topics.is_empty() { vec![ALL_TOPICS.to_owned()] } else { topics.to_vec() };
        for topic in &keys {
            let watchers = counts.per_topic.entry(topic.clone()).or_default();
            *watchers += 1;
            if *watchers == 1 {
                if let Some(start) = self.on_demand.get(topic) {
                    let token = CancellationToken::new();
                    start(token.clone());
                    counts.running.insert(topic.clone(), token);
                }
            }
        }
        Ok(Admission { subscribers: self.clone(), client, topics: keys })
    }

    fn release(&self, client: IpAddr, topics: &[String]) {
        let mut counts = self.lock();
        counts.total -= 1;
        if let Some(n) = counts.per_client.get_mut(&client) {
            *n -= 1;
            if *n == 0 {
                counts.per_client.remove(&client);
            }
        }
        for topic in topics {
            if let Some(n) = counts.per_topic.get_mut(topic) {
                *n -= 1;
                if *n == 0 {
                    counts.per_topic.remove(topic);
                    if let Some(token) = counts.running.remove(topic) {
                        token.cancel();
                    }
                }
            }
        }
    }

    pub fn note_dropped_for_lag(&self) {
        self.dropped_for_lag.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> ConnectionCounts {
        let counts = self.lock();
        let mut producers_running: Vec<String> = counts.running.keys().cloned().collect();
        producers_running.sort();
        ConnectionCounts {
            total: counts.total,
            per_topic: counts.per_topic.clone(),
            dropped_for_lag: self.dropped_for_lag.load(Ordering::Relaxed),
            producers_running,
        }
    }

    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.subscribers.release(self.client, &self.topics);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn limits_refuse_and_released_slots_are_reused() {
        let subs = Arc::new(Subscribers::new(ConnectionLimits { total: 3, per_client: 2 }, HashMap::new()));
        let a = subs.admit(ip(1), &[]).unwrap();
        let _b = subs.admit(ip(1), &[]).unwrap();
        assert_eq!(subs.admit(ip(1), &[]).err(), Some(Refusal::TooManyFromClient));
        let _c = subs.admit(ip(2), &[]).unwrap();
        assert_eq!(subs.admit(ip(3), &[]).err(), Some(Refusal::TooManyRequests));
        drop(a);
        assert!(subs.admit(ip(1), &[]).is_ok());
    }

    #[test]
    fn counts_per_topic_follow_admissions() {
        let subs = Arc::new(Subscribers::new(ConnectionLimits { total: 10, per_client: 10 }, HashMap::new()));
        let speed = subs.admit(ip(1), &["speed".into()]).unwrap();
        let _all = subs.admit(ip(1), &[]).unwrap();
        let counts = subs.counts();
        assert_eq!(counts.total, 2);
        assert_eq!(counts.per_topic.get("speed"), Some(&1));
        assert_eq!(counts.per_topic.get("*"), Some(&1));
        drop(speed);
        assert_eq!(subs.counts().per_topic.get("speed"), None);
    }

    #[test]
    fn on_demand_producer_runs_only_while_watched() {
        let starts = Arc::new(AtomicUsize::new(0));
        let tokens = Arc::new(Mutex::new(Vec::<CancellationToken>::new()));
        let mut on_demand: HashMap<String, StartProducer> = HashMap::new();
        let (s, t) = (starts.clone(), tokens.clone());
        on_demand.insert(
            "live".into(),
            Box::new(move |token| {
                s.fetch_add(1, Ordering::SeqCst);
                t.lock().unwrap().push(token);
            }),
        );
        let subs = Arc::new(Subscribers::new(ConnectionLimits { total: 10, per_client: 10 }, on_demand));
        let first = subs.admit(ip(1), &["live".into()]).unwrap();
        let second = subs.admit(ip(2), &["live".into(), "speed".into()]).unwrap();
        assert_eq!(starts.load(Ordering::SeqCst), 1, "started once for two watchers");
        assert_eq!(subs.counts().producers_running, vec!["live".to_owned()]);
        drop(first);
        assert!(!tokens.lock().unwrap()[0].is_cancelled(), "one watcher left");
        drop(second);
        assert!(tokens.lock().unwrap()[0].is_cancelled(), "stopped with the last watcher");
        let _again = subs.admit(ip(1), &["live".into()]).unwrap();
        assert_eq!(starts.load(Ordering::SeqCst), 2);
    }
}
