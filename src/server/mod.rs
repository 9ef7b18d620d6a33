//! The server: shared state, the axum router, and `serve`, the entry point tests and `main` use.

pub mod cli;
pub mod command_measure;
pub mod config;
pub mod error;
pub mod history_config;
pub mod history_route;
pub mod hub;
pub mod listener;
pub mod live_latency;
pub mod measure;
pub mod monitor_config;
pub mod payload;
pub mod probe;
pub mod publish;
pub mod pwa;
pub mod recorder;
pub mod sampler;
pub mod schedule;
pub mod speed_config;
pub mod speedtest_routes;
pub mod sse;
pub mod sse_frame;
pub mod stats;
pub mod store;
pub mod status;
pub mod subscribers;
pub mod target;
pub mod topics;

use std::{collections::HashMap, future::Future, sync::Arc, time::{Duration, Instant}};

use axum::{
    extract::{DefaultBodyLimit, FromRef, State},
    routing::{any, get, post},
    Json, Router,
};
use bytes::Bytes;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::{
    app::{shell, App},
    live::event_log::LOG_LENGTH,
    model::{ProbeResult, Snapshot, TopicEvent, LIVE_TOPIC, PROBE_TOPIC, SPEED_TOPIC},
    server::{
        config::Config,
        error::ApiError,
        hub::{Hub, HubEvent, HubLimits},
        measure::{MeasureOptions, Measurer},
        recorder::Recorder,
        store::{maintenance::EventLogLimits, Store, StoreError},
        sampler::SpeedSampler,
        subscribers::{ConnectionLimits, StartProducer, Subscribers},
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

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("history database: {0}")]
    Store(#[from] StoreError),
}

/// The topics whose newest events pages render from, and how many of each.
fn kept_topics(config: &Config) -> Vec<(String, usize)> {
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

async fn snapshot(State(state): State<AppState>) -> Json<Snapshot> {
    Json(state.snapshot())
}

async fn unknown_api_route() -> ApiError {
    ApiError::NotFound("no such API route; see the README for the list".to_owned())
}

/// The whole HTTP surface: API, speed-test target endpoints, the dashboard and its assets.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    Router::new()
        .route("/api/events", get(sse::events))
        .route("/api/snapshot", get(snapshot))
        .route("/api/status", get(status::status))
        .route("/api/history", get(history_route::history))
        .route("/api/publish/{topic}", post(publish::publish).layer(DefaultBodyLimit::max(publish::MAX_BODY)))
        .route("/api/{*rest}", any(unknown_api_route))
        .route("/sw.js", get(pwa::service_worker))
        .nest("/speedtest", speedtest_routes::routes())
        .leptos_routes(&state, generate_route_list(App), move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves on `listener` and runs the sampler until `shutdown` resolves.
pub async fn serve(listener: TcpListener, config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
    // A caller that skipped validation gets an error here, not silently fewer monitors.
    let monitors = config.checked_monitors()?;
    let token = CancellationToken::new();
    let options = MeasureOptions::from(&config.speed);
    let client = measure::measurement_client(options.timeout, 4)?;
    let store = Arc::new(Store::open(&config.data_dir, config.history.max_size_mb).await?);
    let maintenance_task = tokio::spawn(store::maintenance::run(
        store.clone(),
        config.history.retention(),
        EventLogLimits { replay: config.sse.replay, replay_age: Duration::from_secs_f64(config.sse.replay_age), kept: kept_topics(&config) },
        token.clone(),
    ));
    let state = AppState::new(config, client, token.clone(), Some(store)).await?;
    let sampler_task = state.config.speed.enabled.then(|| {
        let measurer = Measurer::new(options.timeout, state.payload.clone())?;
        let sampler = SpeedSampler {
            node: state.config.node.clone(),
            targets: state.config.speed.targets(),
            spread: state.config.speed.spread,
            options,
            measurer,
            recorder: state.recorder.clone(),
        };
        Ok::<_, ServeError>(tokio::spawn(sampler.run(token.clone())))
    }).transpose()?;
    // One task per monitor: a thousand monitors are a thousand small futures, not threads.
    let tls = probe::tls_connector();
    let monitor_tasks: Vec<_> = monitors
        .into_iter()
        .map(|monitor| tokio::spawn(probe::run_monitor(monitor, state.recorder.clone(), tls.clone(), token.clone())))
        .collect();
    let app = router(state);
    let stop = token.clone();
    tracing::info!(address = %listener.local_addr()?, "netpulse listening");
    listener::run(listener, app, async move {
        shutdown.await;
        // Ends the endless streams, so their connections can drain.
        stop.cancel();
    })
    .await?;
    token.cancel();
    if let Some(task) = sampler_task {
        let _ = task.await;
    }
    for task in monitor_tasks {
        let _ = task.await;
    }
    let _ = maintenance_task.await;
    Ok(())
}
