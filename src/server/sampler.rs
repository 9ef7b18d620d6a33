//! The speed sampler: measures every target once at start-up and then every
//! interval, one test at a time, and publishes each result on the `speed` topic.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use chrono::Utc;
use reqwest::Client;
use tokio_util::sync::CancellationToken;

use crate::{
    model::{SpeedSample, SPEED_TOPIC},
    server::{
        hub::Hub,
        measure::{measure, MeasureOptions, Measurement},
        schedule,
        target::SpeedTarget,
    },
};

pub struct SpeedSampler {
    pub node: String,
    pub targets: Vec<SpeedTarget>,
    pub interval: Duration,
    pub options: MeasureOptions,
    pub client: Client,
    pub block: Bytes,
    pub hub: Arc<Hub>,
}

impl SpeedSampler {
    /// Runs until `shutdown` is cancelled. Targets are measured one after the
    /// other so that two tests never share, and so skew, the link.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = &self;
        schedule::every(self.interval, &shutdown, || async move {
            for target in &this.targets {
                let measurement = measure(&this.client, target, &this.options, &this.block).await;
                this.publish(target, measurement);
            }
        })
        .await;
    }

    fn publish(&self, target: &SpeedTarget, measurement: Measurement) {
        let sample = SpeedSample {
            node: self.node.clone(),
            target: target.label(),
            at: Utc::now(),
            download_mbps: measurement.download_mbps,
            upload_mbps: measurement.upload_mbps,
            latency_ms: measurement.latency_ms,
            jitter_ms: measurement.jitter_ms,
            bytes_down: measurement.bytes_down,
            bytes_up: measurement.bytes_up,
            error: measurement.error,
        };
        match &sample.error {
            Some(error) => tracing::warn!(target = %sample.target, %error, "speed test failed"),
            None => tracing::info!(
                target = %sample.target,
                download_mbps = sample.download_mbps,
                upload_mbps = sample.upload_mbps,
                latency_ms = sample.latency_ms,
                "speed test done"
            ),
        }
        let data = serde_json::to_string(&sample).expect("a speed sample always serialises");
        self.hub.publish(SPEED_TOPIC, data);
    }
}
