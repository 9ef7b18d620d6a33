//! The monitor loop: each monitor checked at once and then on its interval,
//! in its own task, each result published on the `probe` topic.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::{
    model::PROBE_TOPIC,
    server::{events::recorder::Recorder, monitor::{check::check, config::Monitor}, schedule},
};

/// Checks `monitor` now and then every interval, in its own task, until shutdown.
pub async fn run_monitor(monitor: Monitor, recorder: Arc<Recorder>, tls: tokio_rustls::TlsConnector, shutdown: CancellationToken) {
    let (monitor, recorder, tls) = (&monitor, &recorder, &tls);
    schedule::every(monitor.interval, &shutdown, || async move {
        let result = check(monitor, tls).await;
        recorder.publish(PROBE_TOPIC, serde_json::to_string(&result).expect("a probe result always serialises")).await;
    })
    .await;
}
