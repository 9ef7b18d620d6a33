//! The on-demand `live` topic: one round trip a second to the first speed
//! target, run only while some stream is subscribed to it.

use std::time::Duration;

use chrono::Utc;
use reqwest::Client;
use tokio_util::sync::CancellationToken;

use crate::{
    model::{LiveLatency, LIVE_TOPIC},
    server::{events::subscribers::StartProducer, events::writer::Writer, schedule, speed::measure::round_trip, speed::stats, speed::target::SpeedTarget},
};

const PERIOD: Duration = Duration::from_secs(1);

/// The producer's starter, for the subscriber registry to call on the first subscriber.
pub fn starter(client: Client, target: SpeedTarget, writer: Writer, timeout: Duration) -> StartProducer {
    Box::new(move |token: CancellationToken| {
        tokio::spawn(run(client.clone(), target.clone(), writer.clone(), timeout.min(PERIOD), token));
    })
}

async fn run(client: Client, target: SpeedTarget, writer: Writer, timeout: Duration, token: CancellationToken) {
    let url = target.ping_url();
    let (client, url, target, writer) = (&client, &url, &target, &writer);
    schedule::every(PERIOD, &token, || async move {
        let (rtt_ms, error) = match round_trip(client, url, timeout).await {
            Ok(rtt) => (Some(stats::round3(rtt.as_secs_f64() * 1000.0)), None),
            Err(error) => (None, Some(error)),
        };
        let sample = LiveLatency { target: target.label(), at: Utc::now(), rtt_ms, error };
        let data = serde_json::to_string(&sample).expect("a latency sample always serialises");
        let _ = writer.publish(LIVE_TOPIC, &sample.target, data).await;
    })
    .await;
}
