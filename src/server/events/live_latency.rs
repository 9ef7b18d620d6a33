//! The on-demand `live` topic: one round trip a second to the first speed
//! target, run only while some stream is subscribed to it.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use reqwest::Client;
use tokio_util::sync::CancellationToken;

use crate::{
    model::{LiveLatency, LIVE_TOPIC},
    server::{speed::measure::round_trip, events::recorder::Recorder, schedule, speed::stats, events::subscribers::StartProducer, speed::target::SpeedTarget},
};

const PERIOD: Duration = Duration::from_secs(1);

/// The producer's starter, for the subscriber registry to call on the first subscriber.
pub fn starter(client: Client, target: SpeedTarget, recorder: Arc<Recorder>, timeout: Duration) -> StartProducer {
    Box::new(move |token: CancellationToken| {
        tokio::spawn(run(client.clone(), target.clone(), recorder.clone(), timeout.min(PERIOD), token));
    })
}

async fn run(client: Client, target: SpeedTarget, recorder: Arc<Recorder>, timeout: Duration, token: CancellationToken) {
    let url = target.ping_url();
    let (client, url, target, recorder) = (&client, &url, &target, &recorder);
    schedule::every(PERIOD, &token, || async move {
        let (rtt_ms, error) = match round_trip(client, url, timeout).await {
            Ok(rtt) => (Some(stats::round3(rtt.as_secs_f64() * 1000.0)), None),
            Err(error) => (None, Some(error)),
        };
        let sample = LiveLatency { target: target.label(), at: Utc::now(), rtt_ms, error };
        recorder.publish(LIVE_TOPIC, serde_json::to_string(&sample).expect("a latency sample always serialises")).await;
    })
    .await;
}
