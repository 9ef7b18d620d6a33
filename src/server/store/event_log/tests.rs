//! The event log on both databases: pruning and the gaps a failed write leaves.

use super::*;
use crate::server::store::test_cluster::each_backend;

#[tokio::test]
async fn pruning_removes_exactly_the_old_prefix_and_makes_it_unreplayable() {
    let dir = tempfile::tempdir().unwrap();
    for store in each_backend(dir.path()).await {
        let first = store.replayable_after().await.unwrap() + 1;
        let events: Vec<_> = (0..10u64).map(|n| Arc::new(HubEvent::new(first + n, "sales".into(), String::new(), 1_000 * n as i64, "{}".into()))).collect();
        store.append_events(&events, None).await.unwrap();
        // Events at 0..=4 s are older than 4.5 s.
        assert_eq!(store.prune_event_log(4_500).await.unwrap(), 5);
        let left: Vec<u64> = store.read_events(0, u64::MAX, &[], 100).await.unwrap().iter().map(|e| e.id).collect();
        assert_eq!(left, (first + 5..first + 10).collect::<Vec<_>>());
        assert_eq!(store.replayable_after().await.unwrap(), first + 4, "resume from before the cut is no longer exact");
        assert_eq!(store.prune_event_log(4_500).await.unwrap(), 0, "nothing more to prune");
        // The latest event of the topic outlives the log's pruning.
        let restored = store.events_to_restore(0, i64::MAX, &[]).await.unwrap();
        assert_eq!(restored.events.iter().map(|e| e.id).collect::<Vec<_>>(), [first + 9]);
    }
}

#[tokio::test]
async fn a_failed_write_makes_the_ids_before_it_unreplayable() {
    let dir = tempfile::tempdir().unwrap();
    for store in each_backend(dir.path()).await {
        let first = store.replayable_after().await.unwrap() + 1;
        let event = |n: u64| Arc::new(HubEvent::new(first + n, "sales".into(), String::new(), 0, "{}".into()));
        store.append_events(&[event(0)], None).await.unwrap();
        // Event 1 went out live but never reached the disk; event 2's write records the gap.
        store.append_events(&[event(2)], Some(first + 1)).await.unwrap();
        assert_eq!(store.replayable_after().await.unwrap(), first + 1);
    }
}
