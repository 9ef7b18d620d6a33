//! The speed sampler: measures each target at start-up and then every one of
//! its intervals, and at once when asked (an alert rule's retest, "test
//! now"), and hands each result to its sink: the `speed` topic on a server,
//! the outbox on an agent.

use chrono::Utc;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch, Mutex};
use tokio_util::sync::CancellationToken;

use crate::{
    model::{SpeedSample, SPEED_TOPIC},
    server::{
        events::writer::Writer,
        schedule,
        speed::config::ScheduledTarget,
        speed::measure::{MeasureOptions, Measurement, Measurer},
        speed::peers::Peers,
        speed::target::SpeedTarget,
    },
};

/// Where finished samples go.
pub type SampleSink = Box<dyn Fn(SpeedSample) -> BoxFuture<'static, ()> + Send + Sync>;

/// The server's sink: each sample published on the `speed` topic, keyed by target.
pub fn publish_to(writer: Writer) -> SampleSink {
    Box::new(move |sample| {
        let writer = writer.clone();
        Box::pin(async move {
            let data = serde_json::to_string(&sample).expect("a speed sample always serialises");
            let _ = writer.publish(SPEED_TOPIC, &sample.target, data).await;
        })
    })
}

pub struct SpeedSampler {
    pub node: String,
    pub targets: Vec<ScheduledTarget>,
    /// Random fraction each interval may stretch or shrink by.
    pub spread: f64,
    pub options: MeasureOptions,
    pub measurer: Measurer,
    pub sink: SampleSink,
    /// Where other nodes serve, for `node:NAME` targets.
    pub peers: Peers,
    /// Targets to test again at once (by label): alert rules that confirm a breach, "test now".
    pub retests: Option<mpsc::Receiver<String>>,
}

impl SpeedSampler {
    /// Runs until `shutdown` is cancelled: one schedule per target, but one
    /// test at a time, so two tests never share, and so skew, the link.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let retests = self.retests.take();
        let link = Mutex::new(());
        let this = &self;
        let schedules = self.targets.iter().map(|scheduled| {
            let link = &link;
            let shutdown = &shutdown;
            async move {
                schedule::every_spread(scheduled.interval, this.spread, shutdown, || async move {
                    let _turn = link.lock().await;
                    let measurement = this.measure(&scheduled.target).await;
                    this.publish(&scheduled.target, measurement).await;
                })
                .await
            }
        });
        let retests = async {
            let Some(mut retests) = retests else { return };
            loop {
                let label = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    label = retests.recv() => match label {
                        Some(label) => label,
                        None => return,
                    },
                };
                let Some(scheduled) = this.targets.iter().find(|t| t.target.label() == label) else { continue };
                // The same one-at-a-time rule as the schedules: a retest waits for a running test.
                let _turn = link.lock().await;
                let measurement = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    measurement = this.measure(&scheduled.target) => measurement,
                };
                this.publish(&scheduled.target, measurement).await;
            }
        };
        futures_util::future::join(futures_util::future::join_all(schedules), retests).await;
    }

    /// One test of `target`; a node target whose node has not said where it serves is a failed test.
    async fn measure(&self, target: &SpeedTarget) -> Measurement {
        let target = match self.peers.resolve(target) {
            Ok(target) => target,
            Err(reason) => return Measurement { error: Some(reason), ..Measurement::default() },
        };
        let (progress, _) = watch::channel(Default::default());
        self.measurer.measure(&target, &self.options, &progress).await
    }

    async fn publish(&self, target: &SpeedTarget, measurement: Measurement) {
        let sample = speed_sample(&self.node, target, measurement);
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
        (self.sink)(sample).await;
    }
}

/// The wire form of one test, stamped now.
pub fn speed_sample(node: &str, target: &SpeedTarget, measurement: Measurement) -> SpeedSample {
    SpeedSample {
        node: node.to_owned(),
        target: target.label(),
        at: Utc::now(),
        download_mbps: measurement.download_mbps,
        upload_mbps: measurement.upload_mbps,
        latency_ms: measurement.latency_ms,
        jitter_ms: measurement.jitter_ms,
        latency_down_ms: measurement.latency_down_ms,
        latency_up_ms: measurement.latency_up_ms,
        bytes_down: measurement.bytes_down,
        bytes_up: measurement.bytes_up,
        error: measurement.error,
    }
}
