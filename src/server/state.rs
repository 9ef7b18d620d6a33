//! The shared state every handler and task reaches: config, the hub, the
//! writer, the store, the subscribers, and the snapshot a page is rendered from.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use tokio_util::sync::CancellationToken;

use crate::{
    model::{node::NodeReport, ProbeResult, Snapshot, TopicEvent, ALERT_TOPIC, LIVE_TOPIC, LOG_LENGTH, NODE_TOPIC, PROBE_TOPIC, SPEED_TOPIC},
    server::{
        agents::Agents,
        alerts::service::Alerts,
        auth::{
            access::{series_of, Caller},
            Auth,
        },
        clock::{self, now_ms},
        config::Config,
        events::{
            hub::{Hub, HubEvent, HubLimits},
            live_latency,
            log::EventLog,
            subscribers::{ConnectionLimits, StartProducer, Subscribers},
            writer::Writer,
        },
        http::pwa::{self, Shell},
        monitor::push::PushMonitors,
        speed::{budget::ServeBudget, payload, routes::SpeedtestState, test_now::SpeedTests},
        store::{Store, StoreError},
    },
};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub hub: Arc<Hub>,
    /// The one way events are published: numbered, delivered, then logged.
    pub writer: Writer,
    /// History and the event log.
    pub store: Arc<Store>,
    /// The same store, as the log resume reads from.
    pub log: Arc<dyn EventLog>,
    pub subscribers: Arc<Subscribers>,
    /// Streams of public status pages, limited apart so visitors cannot use up the dashboard's.
    #[from_ref(skip)]
    pub status_subscribers: Arc<Subscribers>,
    /// Held by a publish that adds a topic or fields, from its limit check to its acknowledgement.
    pub publish_gate: Arc<tokio::sync::Mutex<()>>,
    pub started: Instant,
    /// The built bundle's hash and the app shell the service worker keeps.
    pub shell: Arc<Shell>,
    /// Cancelled on shutdown, so that endless streams end and connections drain.
    pub shutdown: CancellationToken,
    /// Alert rules, their states, and the notification channels.
    pub alerts: Arc<Alerts>,
    /// The push monitors' secrets, for `/api/push/{secret}`.
    pub pushes: Arc<PushMonitors>,
    /// Access rules, sign-in and the revocations streams follow.
    pub auth: Arc<Auth>,
    /// What `/speedtest` serves from, and what each client address may still move through it this hour.
    pub speedtest: SpeedtestState,
    /// Each agent node's place in its sequence and its clock estimate.
    pub agents: Arc<Agents>,
    /// Where "test now" goes: this server's sampler.
    pub speed_tests: Arc<SpeedTests>,
}

/// The parts of the state built, and checked against the config, before it.
pub struct Services {
    pub alerts: Alerts,
    pub pushes: PushMonitors,
    pub auth: Auth,
    pub serve_budget: ServeBudget,
    pub speed_tests: SpeedTests,
}

/// The topics whose newest events pages render from, and how many of each.
fn kept_topics(config: &Config) -> Vec<(String, usize)> {
    let mut kept = vec![(SPEED_TOPIC.to_owned(), config.ui.points)];
    kept.extend(config.topics.iter().map(|topic| (topic.clone(), config.ui.points)));
    kept
}

impl AppState {
    /// `client` is what on-demand producers measure with. The hub starts from
    /// the events stored before a restart, and ids continue after them.
    pub async fn new(config: Config, client: reqwest::Client, shutdown: CancellationToken, store: Arc<Store>, services: Services) -> Result<Self, StoreError> {
        let shell = pwa::shell(&config.site_root);
        let leptos_options = LeptosOptions::builder()
            .output_name("netpulse")
            .site_root(config.site_root.to_string_lossy().as_ref())
            // Pages link the bundle under its hash; see `pwa::bundle_files`.
            .site_pkg_dir(format!("pkg/{}", shell.hash))
            .site_addr(config.listen)
            .build();
        let replay_age = Duration::from_secs_f64(config.sse.replay_age);
        let kept = kept_topics(&config);
        let since = now_ms().saturating_sub(i64::try_from(replay_age.as_millis()).unwrap_or(i64::MAX));
        let restored = store.events_to_restore(config.sse.replay, since, &kept).await?;
        tracing::info!(events = restored.events.len(), last_id = restored.last_id, "resuming from the history database");
        let hub = Arc::new(Hub::new(HubLimits { replay_events: config.sse.replay, replay_age, queue: config.sse.queue, kept }, restored.last_id));
        hub.restore(restored.events, restored.window_from);
        let log: Arc<dyn EventLog> = store.clone();
        // Never below the clock either: a write that failed before a crash may have issued ids the log never saw.
        let writer = Writer::spawn(hub.clone(), log.clone(), (restored.last_id + 1).max(clock::id_floor()));
        let mut on_demand: HashMap<String, StartProducer> = HashMap::new();
        // Latency to a node target would wait for that node to report where it serves.
        if let Some(target) = config.speed.targets().into_iter().map(|scheduled| scheduled.target).find(|target| target.node().is_none()) {
            let timeout = Duration::from_secs_f64(config.speed.timeout);
            on_demand.insert(LIVE_TOPIC.to_owned(), live_latency::starter(client, target, writer.clone(), timeout));
        }
        let limits = ConnectionLimits { total: config.sse.max_connections, per_client: config.sse.max_per_client };
        Ok(Self {
            leptos_options,
            config: Arc::new(config),
            hub,
            writer,
            store,
            log,
            subscribers: Arc::new(Subscribers::new(limits, on_demand)),
            status_subscribers: Arc::new(Subscribers::new(limits, HashMap::new())),
            publish_gate: Arc::new(tokio::sync::Mutex::new(())),
            shell: Arc::new(shell),
            started: Instant::now(),
            shutdown,
            alerts: Arc::new(services.alerts),
            pushes: Arc::new(services.pushes),
            auth: Arc::new(services.auth),
            speedtest: SpeedtestState { payload: payload::random_block(), serve_budget: Arc::new(services.serve_budget) },
            agents: Arc::new(Agents::default()),
            speed_tests: Arc::new(services.speed_tests),
        })
    }

    /// The latest check of each configured monitor, in config order, each
    /// followed by the same monitor's from every agent node.
    pub fn latest_probes(&self) -> Vec<ProbeResult> {
        let nodes = self.agents.names();
        self.config
            .monitors
            .iter()
            .flat_map(|monitor| std::iter::once(monitor.name.clone()).chain(nodes.iter().map(|node| format!("{}@{node}", monitor.name))))
            .filter_map(|key| self.hub.latest(PROBE_TOPIC, &key))
            .filter_map(|event| serde_json::from_str::<ProbeResult>(&event.data).ok())
            .collect()
    }

    /// Each agent node's latest report on the `node` topic, by name; a node
    /// that never reported has none.
    pub fn node_reports(&self) -> Vec<NodeReport> {
        let mut names = self.agents.names();
        names.sort();
        names.iter().filter_map(|name| self.hub.latest(NODE_TOPIC, name)).filter_map(|event| serde_json::from_str::<NodeReport>(&event.data).ok()).collect()
    }

    /// Whose speed tests a snapshot asked for `?node=requested` shows: this
    /// server's when none is asked, else a node that has reported and `caller`
    /// may read (as the node list and the picker offer it), or every node (`*`);
    /// `None` for any other. Each sample is still filtered by its own series' rule.
    pub fn speed_node(&self, caller: &Caller, requested: Option<&str>) -> Option<String> {
        let Some(requested) = requested.filter(|node| *node != self.config.node) else { return Some(self.config.node.clone()) };
        let known = requested == crate::model::EVERY_NODE
            || (self.node_reports().iter().any(|report| report.node == requested) && self.auth.access().may_read(caller, &series_of(NODE_TOPIC, requested)));
        known.then(|| requested.to_owned())
    }

    /// The state a page renders before its stream connects, holding only
    /// what `caller` may read: a series it may not read is absent, not hidden.
    /// Its speed tests are `speed_node`'s (see [`Self::speed_node`]).
    pub fn snapshot(&self, caller: &Caller, speed_node: String) -> Snapshot {
        let access = self.auth.access();
        let readable = |topic: &str, key: &str| access.may_read(caller, &series_of(topic, key));
        let (events, last_event_id) = self.hub.recent(SPEED_TOPIC);
        let probes = self.latest_probes().into_iter().filter(|probe| readable(PROBE_TOPIC, &probe.monitor)).collect();
        let topics: Vec<String> = self.config.topics.iter().filter(|topic| readable(topic, "")).cloned().collect();
        let mut custom: Vec<TopicEvent> = topics.iter().flat_map(|topic| self.hub.recent(topic).0).map(|event| topic_event(&event)).collect();
        let mut log: Vec<TopicEvent> =
            self.hub.newest(LOG_LENGTH).iter().filter(|event| readable(&event.topic, &event.key)).map(|event| topic_event(event)).collect();
        trim_to_budget(&mut custom, &mut log);
        let alerts_readable = readable(ALERT_TOPIC, "");
        Snapshot {
            node: self.config.node.clone(),
            last_event_id,
            max_points: self.config.ui.points,
            speed: events
                .iter()
                .filter(|event| readable(SPEED_TOPIC, &event.key))
                .filter_map(|event| serde_json::from_str::<crate::model::SpeedSample>(&event.data).ok())
                .filter(|sample| speed_node == crate::model::EVERY_NODE || sample.node == speed_node)
                .collect(),
            probes,
            store: self.writer.health(),
            topics,
            custom,
            log,
            alerts: if alerts_readable { self.alerts.board.list() } else { Vec::new() },
            incidents: if alerts_readable { self.alerts.board.spans() } else { Vec::new() },
            nodes: self.node_reports().into_iter().filter(|report| readable(NODE_TOPIC, &report.node)).collect(),
            may_test_now: self.config.speed.enabled && caller.may_operate(),
            speed_node,
        }
    }
}

/// Bytes of event data one snapshot may carry for custom topics and the log:
/// custom events may be 64 KiB each, and a page must stay light.
pub const SNAPSHOT_EVENT_BYTES: usize = 768 * 1024;

/// Drops the oldest custom-topic events, then the oldest log entries, until
/// their data fits [`SNAPSHOT_EVENT_BYTES`]; the stream brings newer ones live.
fn trim_to_budget(custom: &mut Vec<TopicEvent>, log: &mut Vec<TopicEvent>) {
    let size = |events: &[TopicEvent]| events.iter().map(|e| e.data.len() + e.topic.len() + 48).sum::<usize>();
    let mut total = size(custom) + size(log);
    custom.sort_by_key(|e| e.id);
    let mut drop_custom = 0;
    while total > SNAPSHOT_EVENT_BYTES && drop_custom < custom.len() {
        total -= size(&custom[drop_custom..=drop_custom]);
        drop_custom += 1;
    }
    custom.drain(..drop_custom);
    let mut drop_log = 0;
    while total > SNAPSHOT_EVENT_BYTES && drop_log < log.len() {
        total -= size(&log[drop_log..=drop_log]);
        drop_log += 1;
    }
    log.drain(..drop_log);
}

/// A hub event as a snapshot carries it, with the server's time of publication.
fn topic_event(event: &HubEvent) -> TopicEvent {
    TopicEvent { topic: event.topic.clone(), id: event.id, at_ms: event.at_ms, data: event.data.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, bytes: usize) -> TopicEvent {
        TopicEvent { topic: "big".into(), id, at_ms: 0, data: "x".repeat(bytes) }
    }

    #[test]
    fn large_custom_events_are_trimmed_oldest_first_to_the_budget() {
        let mut custom: Vec<_> = (1..=50).map(|id| event(id, 60 * 1024)).collect();
        let mut log: Vec<_> = (30..=50).map(|id| event(id, 60 * 1024)).collect();
        trim_to_budget(&mut custom, &mut log);
        let bytes: usize = custom.iter().chain(&log).map(|e| e.data.len()).sum();
        assert!(bytes <= SNAPSHOT_EVENT_BYTES, "{bytes}");
        assert!(custom.is_empty() || custom.last().map(|e| e.id) == Some(50), "the newest are kept");
        assert!(!log.is_empty() && log.last().map(|e| e.id) == Some(50));
        let mut small = vec![event(1, 10)];
        trim_to_budget(&mut small, &mut Vec::new());
        assert_eq!(small.len(), 1, "a small snapshot is left alone");
    }
}
