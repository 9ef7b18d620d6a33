//! The monitor loop: each monitor checked at once and then on its interval,
//! in its own task, each result published on the `probe` topic.

use tokio_util::sync::CancellationToken;

use crate::{
    model::PROBE_TOPIC,
    server::{
        events::writer::Writer,
        monitor::{check::check, config::Monitor},
        schedule,
    },
};

/// Checks `monitor` now and then every interval, in its own task, until shutdown.
pub async fn run_monitor(monitor: Monitor, writer: Writer, tls: tokio_rustls::TlsConnector, shutdown: CancellationToken) {
    let (monitor, writer, tls) = (&monitor, &writer, &tls);
    schedule::every(monitor.interval, &shutdown, || async move {
        let result = check(monitor, tls).await;
        let data = serde_json::to_string(&result).expect("a probe result always serialises");
        // Only shutdown closes the writer, and then this loop ends too.
        let _ = writer.publish(PROBE_TOPIC, &monitor.name, data).await;
    })
    .await;
}
