//! The writer against a real SQLite store: ids under cancellation, group commit, restarts.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use super::*;
use crate::server::{
    events::{
        hub::{HubLimits, StartFrom},
        log::{LogError, LogFuture},
    },
    store::Store,
};

/// The real store, counting the transactions the writer asks of it; with a
/// `gate`, each commit also waits for a permit, as on a stalled disk.
struct CountingLog {
    store: Store,
    appends: AtomicUsize,
    gate: Option<tokio::sync::Semaphore>,
}

impl EventLog for CountingLog {
    fn append<'a>(&'a self, events: &'a [Arc<HubEvent>], lost_through: Option<u64>) -> LogFuture<'a, ()> {
        self.appends.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            let _turn = match &self.gate {
                Some(gate) => Some(gate.acquire().await.map_err(|_| LogError("closed".into()))?),
                None => None,
            };
            self.store.append_events(events, lost_through).await.map_err(LogError::from)
        })
    }
    fn replayable_after(&self) -> LogFuture<'_, u64> {
        Box::pin(async move { self.store.replayable_after().await.map_err(LogError::from) })
    }
    fn read_range<'a>(&'a self, after: u64, before: u64, topics: &'a [String], limit: usize) -> LogFuture<'a, Vec<Arc<HubEvent>>> {
        Box::pin(async move { self.store.read_events(after, before, topics, limit).await.map_err(LogError::from) })
    }
    fn count_range<'a>(&'a self, after: u64, before: u64, topics: &'a [String], cap: usize) -> LogFuture<'a, usize> {
        Box::pin(async move { self.store.count_events(after, before, topics, cap).await.map_err(LogError::from) })
    }
}

async fn writer() -> (Writer, Arc<Hub>, Arc<CountingLog>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 0).await.unwrap();
    let first = store.replayable_after().await.unwrap() + 1;
    let log = Arc::new(CountingLog { store, appends: AtomicUsize::new(0), gate: None });
    let hub = Arc::new(Hub::new(HubLimits { replay_events: 100_000, replay_age: Duration::from_secs(3600), queue: 100_000, kept: vec![] }, first - 1));
    (Writer::spawn(hub.clone(), log.clone(), first), hub, log, dir)
}

#[tokio::test]
async fn producers_cancelled_mid_publish_never_make_an_id_repeat() {
    let (writer, hub, log, _dir) = writer().await;
    let mut live = hub.subscribe(&[], StartFrom::Latest).live;
    // Half the producers are cancelled while they wait, as the `live`
    // producer is when its last watcher leaves; the rest complete.
    for round in 0..20 {
        let tasks: Vec<_> = (0..20)
            .map(|n| {
                tokio::spawn({
                    let writer = writer.clone();
                    async move { writer.publish("sales", "", format!("{{\"n\":{n},\"round\":{round}}}")).await }
                })
            })
            .collect();
        for (n, task) in tasks.into_iter().enumerate() {
            if n % 2 == 0 {
                task.abort();
            } else {
                task.await.unwrap().unwrap();
            }
        }
    }
    let last = writer.publish("sales", "", "{}".into()).await.unwrap();
    assert!(writer.health().ok, "{:?}", writer.health());
    let mut delivered = Vec::new();
    while let Ok(event) = live.try_recv() {
        delivered.push(event.id);
    }
    assert_eq!(delivered.last(), Some(&last.id));
    assert!(delivered.windows(2).all(|pair| pair[1] == pair[0] + 1), "ids are consecutive and unique: {delivered:?}");
    let logged = log.store.read_events(0, u64::MAX, &[], 10_000).await.unwrap();
    assert_eq!(logged.iter().map(|e| e.id).collect::<Vec<_>>(), delivered, "the log holds exactly what went out live");
}

#[tokio::test]
async fn a_burst_is_group_committed_in_order() {
    let (writer, hub, log, _dir) = writer().await;
    let mut live = hub.subscribe(&[], StartFrom::Latest).live;
    let burst: Vec<_> = (0..2000)
        .map(|n| {
            let writer = writer.clone();
            tokio::spawn(async move { writer.publish("sales", "", format!("{{\"n\":{n}}}")).await.unwrap().id })
        })
        .collect();
    let mut ids = Vec::new();
    for task in burst {
        ids.push(task.await.unwrap());
    }
    let appends = log.appends.load(Ordering::SeqCst);
    assert!(appends < 2000 / 4, "2000 events took {appends} commits");
    let mut previous = 0;
    for _ in 0..2000 {
        let event = live.recv().await.unwrap();
        assert!(event.id > previous);
        previous = event.id;
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2000);
}

#[tokio::test]
async fn events_carry_the_servers_time_and_their_key() {
    let (writer, hub, _log, _dir) = writer().await;
    let before = now_ms();
    let event = writer.publish("probe", "web", "{\"monitor\":\"web\"}".into()).await.unwrap();
    assert!(event.at_ms >= before && event.at_ms <= now_ms());
    assert_eq!(hub.latest("probe", "web").map(|e| e.id), Some(event.id));
}

#[tokio::test]
async fn ids_of_unlogged_live_events_are_never_issued_again_after_a_restart() {
    let (writer, _hub, log, dir) = writer().await;
    writer.publish("sales", "", "{}".into()).await.unwrap();
    let live = writer.publish("live", "t", "{\"rtt_ms\":1}".into()).await.unwrap();
    let restarted = Store::open(dir.path(), 0).await.unwrap();
    let restored = restarted.events_to_restore(100, 0, &[]).await.unwrap();
    assert!(restored.last_id >= live.id, "the restart continues after the live event's id {}: {}", live.id, restored.last_id);
    assert!(log.store.read_events(0, u64::MAX, &[], 10).await.unwrap().iter().all(|e| e.topic != "live"), "live is memory-only");
}

#[tokio::test]
async fn a_stalled_disk_does_not_hold_up_live_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 0).await.unwrap();
    let log = Arc::new(CountingLog { store, appends: AtomicUsize::new(0), gate: Some(tokio::sync::Semaphore::new(0)) });
    let hub = Arc::new(Hub::new(HubLimits { replay_events: 100, replay_age: Duration::from_secs(3600), queue: 100, kept: vec![] }, 0));
    let writer = Writer::spawn(hub.clone(), log.clone(), 1);
    let mut live = hub.subscribe(&[], StartFrom::Latest).live;
    let publish = tokio::spawn({
        let writer = writer.clone();
        async move { writer.publish("sales", "", "{\"n\":1}".into()).await }
    });
    let streamed = tokio::time::timeout(Duration::from_secs(5), live.recv()).await.expect("delivered while the commit is stalled").unwrap();
    assert_eq!(streamed.data, "{\"n\":1}");
    // Later events are not held up behind the stalled commit either.
    let later = tokio::spawn({
        let writer = writer.clone();
        async move { writer.publish("sales", "", "{\"n\":2}".into()).await }
    });
    let second = tokio::time::timeout(Duration::from_secs(5), live.recv()).await.expect("a later event is delivered too").unwrap();
    assert_eq!(second.data, "{\"n\":2}");
    assert!(!publish.is_finished() && !later.is_finished(), "producers are answered only once their commit is over");
    log.gate.as_ref().unwrap().add_permits(2);
    assert!(tokio::time::timeout(Duration::from_secs(5), later).await.unwrap().unwrap().is_ok());
    let acknowledged = tokio::time::timeout(Duration::from_secs(5), publish).await.unwrap().unwrap().unwrap();
    assert_eq!(acknowledged.id, streamed.id);
    assert_eq!(log.store.read_events(0, u64::MAX, &[], 10).await.unwrap().len(), 2, "and the events are in the log");
}
