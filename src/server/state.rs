//! The shared state every handler and task reaches: config, the hub, the
//! recorder, the subscribers, and the snapshot a page is rendered from.

use std::{collections::HashMap, sync::Arc, time::{Duration, Instant}};

use bytes::Bytes;
use leptos::prelude::LeptosOptions;
use axum::extract::FromRef;
use tokio_util::sync::CancellationToken;

use crate::{
    model::{ProbeResult, Snapshot, TopicEvent, LIVE_TOPIC, LOG_LENGTH, PROBE_TOPIC, SPEED_TOPIC},
    server::{
        config::Config,
        events::{
            hub::{self, Hub, HubEvent, HubLimits},
            live_latency,
            recorder::Recorder,
            subscribers::{ConnectionLimits, StartProducer, Subscribers},
        },
        speed::payload,
        store::{self, Store, StoreError},
    },
};

/// Everything a request handler may need; cheap to clone.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<Config>,
    pub hub: Arc<Hub>,
    /// Publishes: to the store first, then to the hub.
    pub recorder: Arc<Recorder>,
    pub subscribers: Arc<Subscribers>,
    pub started: Instant,
    /// The random block download responses are cut from.
    pub payload: Bytes,
    /// Cancelled on shutdown, so that endless streams end and connections drain.
    pub shutdown: CancellationToken,
}

/// The topics whose newest events pages render from, and how many of each.
pub(crate) fn kept_topics(config: &Config) -> Vec<(String, usize)> {
    let mut kept = vec![
        (SPEED_TOPIC.to_owned(), config.ui.points),
        // Enough to find every monitor's latest check among recent ones.
        (PROBE_TOPIC.to_owned(), (config.monitors.len() * 4).max(16)),
    ];
    kept.extend(config.topics.iter().map(|topic| (topic.clone(), config.ui.points)));
    kept
}

impl AppState {
    /// `client` is what on-demand producers measure with. With a store, the
    /// hub starts from the events stored before a restart.
    pub async fn new(config: Config, client: reqwest::Client, shutdown: CancellationToken, store: Option<Arc<Store>>) -> Result<Self, StoreError> {
        let leptos_options = LeptosOptions::builder()
            .output_name("netpulse")
            .site_root(config.site_root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .site_addr(config.listen)
            .build();
        let hub = Arc::new(Hub::new(HubLimits {
            replay_events: config.sse.replay,
            replay_age: Duration::from_secs_f64(config.sse.replay_age),
            queue: config.sse.queue,
            kept: kept_topics(&config),
        }, hub::first_id_from_clock()));
        if let Some(store) = &store {
            let now = store::now_ms();
            let since = now - (config.sse.replay_age * 1000.0) as i64;
            let events = store.events_to_restore(config.sse.replay, since, &kept_topics(&config)).await?;
            tracing::info!(events = events.len(), "resuming from the history database");
            hub.restore(events.into_iter().map(|e| {
                let age = Duration::from_millis((now - e.at_ms).max(0) as u64);
                (e.id, e.topic, e.data, age)
            }));
        }
        let recorder = Arc::new(Recorder::new(hub.clone(), store));
        let mut on_demand: HashMap<String, StartProducer> = HashMap::new();
        if let Some(target) = config.speed.targets().into_iter().next().map(|scheduled| scheduled.target) {
            let timeout = Duration::from_secs_f64(config.speed.timeout);
            on_demand.insert(LIVE_TOPIC.to_owned(), live_latency::starter(client, target, recorder.clone(), timeout));
        }
        let limits = ConnectionLimits { total: config.sse.max_connections, per_client: config.sse.max_per_client };
        Ok(Self {
            leptos_options,
            config: Arc::new(config),
            hub,
            recorder,
            subscribers: Arc::new(Subscribers::new(limits, on_demand)),
            started: Instant::now(),
            payload: payload::random_block(),
            shutdown,
        })
    }

    /// The state a page renders before its stream connects.
    pub fn snapshot(&self) -> Snapshot {
        let (events, last_event_id) = self.hub.recent(SPEED_TOPIC);
        let (probe_events, _) = self.hub.recent(PROBE_TOPIC);
        let checks: Vec<ProbeResult> = probe_events.iter().rev().filter_map(|event| serde_json::from_str(&event.data).ok()).collect();
        // Newest first above, so `find` gives each monitor's latest check.
        let probes = self.config.monitors.iter().filter_map(|m| checks.iter().find(|c| c.monitor == m.name).cloned()).collect();
        Snapshot {
            node: self.config.node.clone(),
            last_event_id,
            max_points: self.config.ui.points,
            speed: events.iter().filter_map(|event| serde_json::from_str(&event.data).ok()).collect(),
            probes,
            store: self.recorder.health(),
            topics: self.config.topics.clone(),
            custom: self.config.topics.iter().flat_map(|topic| self.hub.recent(topic).0).map(|event| topic_event(&event)).collect(),
            log: self.hub.newest(LOG_LENGTH).iter().map(|event| topic_event(event)).collect(),
        }
    }
}

/// A hub event as a snapshot carries it, stamped with its publication time.
fn topic_event(event: &HubEvent) -> TopicEvent {
    let age_ms = event.published.elapsed().as_millis() as i64;
    TopicEvent { topic: event.topic.clone(), id: event.id, at_ms: store::now_ms() - age_ms, data: event.data.clone() }
}

