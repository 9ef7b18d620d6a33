//! The server: each capability in its folder, the shared state, and `serve`,
//! the entry point that tests and `main` use.

pub mod agent;
pub mod agents;
pub mod alerts;
pub mod auth;
pub mod clock;
pub mod config;
pub mod events;
pub mod http;
pub mod metrics;
pub mod monitor;
pub mod schedule;
pub mod speed;
pub mod state;
pub mod status_page;
pub mod store;

use std::{future::Future, sync::Arc};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::server::state::AppState;
use crate::server::{
    config::Config,
    speed::{
        measure::{self, MeasureOptions, Measurer},
        sampler::SpeedSampler,
    },
    store::{Store, StoreError},
};

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

/// Serves on `listener` and runs the sampler until `shutdown` resolves.
pub async fn serve(listener: TcpListener, config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
    // A caller that skipped validation gets an error here, not silently fewer monitors.
    let monitors = config.checked_monitors()?;
    let token = CancellationToken::new();
    let options = MeasureOptions::from(&config.speed);
    let client = measure::measurement_client(options.timeout, 4)?;
    let store = Arc::new(Store::open_configured(&config).await?);
    // Held until serve returns: probes and tests must not run twice on one database.
    let server_lock = store.lock_for_server().await?;
    let lock_lost = server_lock.lost();
    let retention = config.history.retention();
    let alerts = alerts::service::Alerts::new(&config)?;
    let (pushes, waiting) = monitor::push::PushMonitors::new(&monitors);
    let auth = auth::Auth::new(&config)?;
    let serve_budget = speed::budget::ServeBudget::new(config.speed.serve_budget_mb, config.speed.serve_budget_exempt()?);
    // The sampler's queue of tests to run now; alert retests pass through `route_retests`, which sends a node's to the node.
    // Bounded: a test asked for while one of each target waits is one too many.
    let (test_now, tests_now) = tokio::sync::mpsc::channel(config.speed.targets().len().max(1));
    let speed_tests = speed::test_now::SpeedTests::new(config.speed.enabled.then_some(test_now));
    let services = state::Services { alerts, pushes, auth, serve_budget, speed_tests };
    let state = AppState::new(config, client, token.clone(), store.clone(), services).await?;
    auth::rules::load(&state).await?;
    agents::mesh::reload_nodes(&state).await;
    auth::setup::enter_if_needed(&state).await?;
    let (retest, retests) = tokio::sync::mpsc::unbounded_channel();
    let retest = state.config.speed.enabled.then_some(retest);
    let retest_task = tokio::spawn(speed::test_now::route_retests(state.clone(), retests));
    let wiring =
        alerts::service::Wiring { hub: state.hub.clone(), store: store.clone(), writer: state.writer.clone(), node: state.config.node.clone(), retest };
    let alert_tasks = state.alerts.start(wiring, token.clone());
    let hub = state.hub.clone();
    let forget: store::maintenance::OnCollected = Box::new(move |topics| hub.forget_topics(topics));
    let maintenance_task = tokio::spawn(store::maintenance::run(store, retention, forget, token.clone()));
    let sampler_task = state
        .config
        .speed
        .enabled
        .then(|| {
            let measurer = Measurer::new(options.timeout, state.speedtest.payload.clone())?;
            let sampler = SpeedSampler {
                node: state.config.node.clone(),
                targets: state.config.speed.targets_of(&state.config.node),
                spread: state.config.speed.spread,
                options,
                measurer,
                sink: speed::sampler::publish_to(state.writer.clone()),
                peers: state.agents.peers.clone(),
                retests: Some(tests_now),
            };
            Ok::<_, ServeError>(tokio::spawn(sampler.run(token.clone())))
        })
        .transpose()?;
    // One task per monitor: a thousand monitors are a thousand small futures, not threads.
    let tls = monitor::check::tls_connector();
    let checked = monitors.into_iter().filter(|monitor| !matches!(monitor.check, monitor::config::Check::Push { .. }));
    let mut monitor_tasks: Vec<_> =
        checked.map(|monitor| tokio::spawn(monitor::run::run_monitor(monitor, state.writer.clone(), tls.clone(), token.clone()))).collect();
    let latest = state.latest_probes();
    monitor_tasks.extend(waiting.into_iter().map(|waiting| {
        let before = latest.iter().find(|probe| probe.monitor == waiting.monitor.name).cloned();
        tokio::spawn(monitor::push::run_push_monitor(waiting, before, state.writer.clone(), token.clone()))
    }));
    monitor_tasks.push(tokio::spawn(agents::liveness::run(state.clone(), token.clone())));
    let app = http::router(state);
    let stop = token.clone();
    tracing::info!(address = %listener.local_addr()?, "netpulse listening");
    let lost = lock_lost.clone();
    http::listener::run(listener, app, async move {
        tokio::select! {
            () = shutdown => {}
            () = lost.cancelled() => {}
        }
        // Ends the endless streams (and every probe), so their connections can drain.
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
    for task in alert_tasks {
        let _ = task.await;
    }
    let _ = retest_task.await;
    let _ = maintenance_task.await;
    drop(server_lock);
    if lock_lost.is_cancelled() {
        return Err(StoreError::LockLost.into());
    }
    Ok(())
}
