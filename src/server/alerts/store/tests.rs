//! The alert tables on a real SQLite file: pruning keeps what is pending or recent.

use super::*;

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
    let store = Store::open(dir.path(), 0).await.unwrap();
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
