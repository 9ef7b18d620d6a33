//! The hub on its own: windows, resume, latest events and restore.

use super::*;

fn hub(replay: usize) -> Hub {
    Hub::new(HubLimits { replay_events: replay, replay_age: Duration::from_secs(3600), queue: 10, kept: vec![("speed".into(), 3)] }, 0)
}

fn event(id: u64, topic: &str, key: &str, data: &str) -> Arc<HubEvent> {
    Arc::new(HubEvent::new(id, topic.into(), key.into(), crate::server::clock::now_ms(), data.into()))
}

/// Delivers one event with the next id, as the writer would.
fn publish(hub: &Hub, topic: &str, key: &str, data: &str) -> u64 {
    let id = hub.lock().last_id + 1;
    hub.deliver(&[event(id, topic, key, data)]);
    id
}

fn ids(backlog: &Backlog) -> Vec<u64> {
    match backlog {
        Backlog::Events(events) => events.iter().map(|e| e.id).collect(),
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn resume_returns_exactly_the_missed_events_of_the_subscribed_topics() {
    let hub = hub(10);
    for n in 0..5 {
        publish(&hub, if n % 2 == 0 { "speed" } else { "other" }, "", &n.to_string());
    }
    assert_eq!(ids(&hub.subscribe(&["speed".into()], StartFrom::After(1)).backlog), [3, 5]);
    assert_eq!(ids(&hub.subscribe(&[], StartFrom::After(2)).backlog), [3, 4, 5]);
    assert_eq!(ids(&hub.subscribe(&[], StartFrom::After(5)).backlog), Vec::<u64>::new());
    assert_eq!(hub.published(), 5);
}

#[test]
fn resume_from_before_the_window_asks_the_log_for_the_gap() {
    let hub = hub(3);
    for _ in 0..6 {
        publish(&hub, "speed", "", "x");
    }
    // The window holds 4..=6: after 3 it is exact; after 1, ids 2 and 3 come from the log.
    assert_eq!(ids(&hub.subscribe(&[], StartFrom::After(3)).backlog), [4, 5, 6]);
    match hub.subscribe(&["speed".into()], StartFrom::After(1)).backlog {
        Backlog::FromLog { after, before, then, newest } => {
            assert_eq!((after, before, newest), (1, 4, 6));
            assert_eq!(then.iter().map(|e| e.id).collect::<Vec<_>>(), [4, 5, 6]);
        }
        other => panic!("expected a log read, got {other:?}"),
    }
}

#[test]
fn an_id_this_log_never_issued_resets() {
    let hub = hub(3);
    publish(&hub, "speed", "", "x");
    assert!(matches!(hub.subscribe(&[], StartFrom::After(99)).backlog, Backlog::Reset { resume_from: 1 }));
}

#[test]
fn events_older_than_the_replay_age_leave_the_window() {
    let hub = Hub::new(HubLimits { replay_events: 100, replay_age: Duration::from_secs(60), queue: 10, kept: vec![] }, 0);
    let now = crate::server::clock::now_ms();
    hub.deliver(&[Arc::new(HubEvent::new(1, "speed".into(), String::new(), now - 120_000, "old".into()))]);
    hub.deliver(&[Arc::new(HubEvent::new(2, "speed".into(), String::new(), now, "new".into()))]);
    assert_eq!(ids(&hub.subscribe(&[], StartFrom::After(1)).backlog), [2]);
    assert!(matches!(hub.subscribe(&[], StartFrom::After(0)).backlog, Backlog::FromLog { after: 0, before: 2, .. }));
}

#[test]
fn a_fresh_subscription_gets_the_latest_event_of_each_thing_described() {
    let hub = hub(10);
    publish(&hub, "probe", "web", "a");
    publish(&hub, "probe", "db", "b");
    publish(&hub, "probe", "web", "c");
    publish(&hub, "sales", "", "d");
    assert_eq!(ids(&hub.subscribe(&[], StartFrom::Latest).backlog), [2, 3, 4]);
    assert_eq!(ids(&hub.subscribe(&["probe".into()], StartFrom::Latest).backlog), [2, 3]);
}

#[test]
fn the_latest_event_per_key_survives_any_amount_of_other_traffic() {
    let hub = hub(2);
    publish(&hub, "probe", "hourly", "slow");
    for _ in 0..100 {
        publish(&hub, "probe", "every-30-s", "fast");
    }
    assert_eq!(hub.latest("probe", "hourly").map(|e| e.data.clone()).as_deref(), Some("slow"));
    assert!(hub.latest("probe", "never").is_none());
}

#[test]
fn restored_events_are_remembered_without_duplicates_and_ids_continue() {
    let restarted = hub(10);
    let (a, b) = (event(500, "speed", "t", "a"), event(501, "other", "", "b"));
    // The same event may come back twice: as a window event and as a kept one.
    restarted.restore([a.clone(), b, a], 0);
    assert_eq!(ids(&restarted.subscribe(&[], StartFrom::After(499)).backlog), [500, 501]);
    assert_eq!(restarted.recent("speed").0.len(), 1);
    assert_eq!(restarted.recent("speed").1, 501);
    assert_eq!(publish(&restarted, "speed", "t", "c"), 502);
}

#[tokio::test]
async fn the_live_feed_continues_after_the_backlog_without_a_gap() {
    let hub = hub(10);
    publish(&hub, "speed", "", "1");
    let mut sub = hub.subscribe(&[], StartFrom::After(0));
    publish(&hub, "speed", "", "2");
    assert_eq!(ids(&sub.backlog), [1]);
    assert_eq!(sub.live.recv().await.unwrap().id, 2);
}

#[test]
fn kept_topics_hold_their_newest_events_whatever_else_is_published() {
    let hub = hub(2);
    for n in 0..5 {
        publish(&hub, "speed", "", &n.to_string());
        publish(&hub, "chatty", "", "x");
    }
    let (events, last) = hub.recent("speed");
    assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["2", "3", "4"]);
    assert_eq!(last, 10);
    assert!(hub.recent("chatty").0.is_empty());
    assert!(hub.has_topic("chatty") && !hub.has_topic("quiet"));
    assert_eq!(hub.custom_topics(&["speed"]), ["chatty"]);
    hub.forget_topics(&["chatty".into()]);
    assert!(!hub.has_topic("chatty"));
}

#[test]
fn restored_state_older_than_the_window_never_enters_it() {
    let restarted = hub(10);
    // The latest check of an hourly monitor, then the recent window from 900 on.
    restarted.restore([event(100, "probe", "hourly", "old"), event(900, "probe", "fast", "a"), event(901, "probe", "fast", "b")], 900);
    assert_eq!(restarted.latest("probe", "hourly").map(|e| e.id), Some(100));
    // Events 101..=899 are in the log only: a client from 150 must be sent there.
    assert!(matches!(restarted.subscribe(&[], StartFrom::After(150)).backlog, Backlog::FromLog { after: 150, before: 900, .. }));
}
