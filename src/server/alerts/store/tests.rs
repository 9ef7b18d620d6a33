//! The alert tables on both databases: pruning keeps what is pending or recent, and pages of incidents.

use super::*;
use crate::server::store::test_cluster::each_backend;

fn facts() -> Facts {
    Facts {
        kind: "firing".into(),
        label: "orders".into(),
        unit: String::new(),
        node: "n".into(),
        at_ms: 0,
        value: f64::NAN,
        worst: None,
        started_ms: None,
        threshold: None,
        lower_is_worse: true,
    }
}

async fn notification(store: &Store, id: &str, created_ms: i64) {
    let note = NewNotification {
        delivery_id: id.into(),
        channel: "hook".into(),
        rule: "r".into(),
        subject: id.into(),
        title: "t".into(),
        message: "m".into(),
        facts: facts(),
        created_ms,
        expires_ms: i64::MAX,
    };
    store.enqueue(&note).await.unwrap();
}

#[tokio::test]
async fn pruning_keeps_pending_and_recent_rows_and_a_nan_value_survives_the_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for store in each_backend(dir.path()).await {
        const DAY: i64 = 86_400_000;
        notification(&store, "old-sent", DAY).await;
        notification(&store, "old-pending", DAY).await;
        notification(&store, "new-sent", 40 * DAY).await;
        let due = store.due_notifications(50 * DAY, 10).await.unwrap();
        assert_eq!(due.len(), 3, "a NaN value is stored as null and read back");
        assert!(due[0].facts.value.is_nan());
        for (row, at_ms) in [(&due[0], 2 * DAY), (&due[2], 41 * DAY)] {
            let attempt =
                Attempt { ids: &[row.id], delivery_id: &row.delivery_id, channel: "hook", rule: "r", at_ms, outcome: "sent", error: None, retry_at_ms: None };
            store.record_attempt(&attempt).await.unwrap();
        }
        store.prune_alerts(30 * DAY, 30 * DAY).await.unwrap();
        let left: Vec<String> = store.due_notifications(i64::MAX, 10).await.unwrap().into_iter().map(|q| q.delivery_id).collect();
        assert_eq!(left, ["old-pending"], "a pending notification is never pruned");
        let kept: Vec<String> = store.deliveries(10).await.unwrap().into_iter().map(|d| d.delivery_id).collect();
        assert_eq!(kept, ["new-sent"], "the old attempt is gone, the recent one kept");
    }
}

#[tokio::test]
async fn pages_of_incidents_skip_none_that_share_a_start() {
    let dir = tempfile::tempdir().unwrap();
    for store in each_backend(dir.path()).await {
        let decided = Decided { worst: Some(1.0), threshold: Some(10.0), samples: &[] };
        // Two rules on one sample open their incidents in the same millisecond.
        for (rule, started_ms) in [("a", 1_000), ("b", 2_000), ("c", 2_000), ("d", 3_000)] {
            store.open_incident(rule, "s", started_ms, started_ms, &decided).await.unwrap();
        }
        let mut seen = Vec::new();
        let (mut to_ms, mut before_id) = (i64::MAX, i64::MAX);
        for _ in 0..10 {
            let page = store.incidents_before(to_ms, before_id, 2).await.unwrap();
            let Some(last) = page.last() else { break };
            (to_ms, before_id) = (last.started_ms, last.id);
            seen.extend(page.into_iter().map(|incident| incident.rule));
        }
        assert_eq!(seen, ["d", "c", "b", "a"], "newest first, the tie kept in id order across the page break");
        let closed = store.update_incident("c", "s", "resolved", None, Some(2_500)).await.unwrap();
        assert_eq!(closed, Some(2_000), "closing an incident answers its start");
        assert_eq!(store.update_incident("c", "s", "resolved", None, Some(2_600)).await.unwrap(), None, "none is open any more");
    }
}
