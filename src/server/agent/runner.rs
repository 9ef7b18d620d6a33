//! What an agent runs: the server's monitors and speed tests, each result
//! into the outbox first, started again whenever the config the server
//! sends changes, and a speed test at once when the server asks.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::{
    model::SpeedSample,
    server::{
        agent::{outbox::Outbox, AgentClock},
        agents::protocol::NodeConfig,
        monitor::{check::check, config::Monitor},
        schedule,
        speed::{
            config::SpeedConfig,
            measure::{MeasureOptions, Measurer},
            payload,
            sampler::{SampleSink, SpeedSampler},
        },
    },
};

/// The checks and tests of one config.
struct Running {
    fingerprint: String,
    stop: CancellationToken,
    /// The sampler's queue of tests to run now; none without speed tests.
    test_now: Option<UnboundedSender<String>>,
    labels: Vec<String>,
}

pub struct Runner {
    outbox: Arc<Outbox>,
    clock: AgentClock,
    tls: tokio_rustls::TlsConnector,
    running: Option<Running>,
}

impl Runner {
    pub fn new(outbox: Arc<Outbox>, clock: AgentClock) -> Self {
        Self { outbox, clock, tls: crate::server::monitor::check::tls_connector(), running: None }
    }

    /// Runs what `config` says, unless it is what runs already.
    pub fn apply(&mut self, config: &NodeConfig, shutdown: &CancellationToken) {
        let fingerprint = serde_json::to_string(&(&config.monitors, &config.speed)).unwrap_or_default();
        if self.running.as_ref().is_some_and(|running| running.fingerprint == fingerprint) {
            return;
        }
        if let Some(running) = self.running.take() {
            running.stop.cancel();
        }
        let stop = shutdown.child_token();
        let monitors: Vec<Monitor> = config
            .monitors
            .iter()
            .filter_map(|table| {
                table.validate().map_err(|(key, reason)| tracing::warn!(monitor = %table.name, key, %reason, "a monitor this node cannot run")).ok()
            })
            .collect();
        tracing::info!(monitors = monitors.len(), speed_tests = config.speed.is_some(), "running the server's config");
        for monitor in monitors {
            tokio::spawn(run_checks(monitor, self.outbox.clone(), self.clock, self.tls.clone(), stop.clone()));
        }
        let (test_now, labels) = match config.speed.as_ref().map(|speed| self.start_speed_tests(&config.node, speed, &stop)) {
            Some(Ok(started)) => started,
            Some(Err(reason)) => {
                tracing::warn!(%reason, "speed tests this node cannot run");
                (None, Vec::new())
            }
            None => (None, Vec::new()),
        };
        self.running = Some(Running { fingerprint, stop, test_now, labels });
    }

    fn start_speed_tests(&self, node: &str, speed: &SpeedConfig, stop: &CancellationToken) -> Result<(Option<UnboundedSender<String>>, Vec<String>), String> {
        speed.validate().map_err(|error| error.to_string())?;
        let options = MeasureOptions::from(speed);
        let measurer = Measurer::new(options.timeout, payload::random_block()).map_err(|error| error.to_string())?;
        let targets = speed.targets();
        let labels = targets.iter().map(|scheduled| scheduled.target.label()).collect();
        let (test_now, tests_now) = tokio::sync::mpsc::unbounded_channel();
        let sampler = SpeedSampler {
            node: node.to_owned(),
            targets,
            spread: speed.spread,
            options,
            measurer,
            sink: into_outbox(self.outbox.clone(), self.clock),
            retests: Some(tests_now),
        };
        tokio::spawn(sampler.run(stop.clone()));
        Ok((Some(test_now), labels))
    }

    /// Tests `target` (every target when `None`) now; nothing while this node runs no speed tests.
    pub fn test_now(&self, target: Option<&str>) {
        let Some(Running { test_now: Some(queue), labels, .. }) = &self.running else {
            tracing::warn!("asked to test now, but this node runs no speed tests");
            return;
        };
        for label in labels.iter().filter(|label| target.is_none_or(|target| target == label.as_str())) {
            tracing::info!(target = %label, "testing now, as the server asked");
            let _ = queue.send(label.clone());
        }
    }
}

/// The agent's sink: each sample into the outbox, timed by the node's clock.
fn into_outbox(outbox: Arc<Outbox>, clock: AgentClock) -> SampleSink {
    Box::new(move |mut sample: SpeedSample| {
        let outbox = outbox.clone();
        Box::pin(async move {
            sample.at = clock.shift(sample.at);
            let data = serde_json::to_string(&sample).unwrap_or_default();
            if let Err(error) = outbox.push("speed", &data, clock.now_ms()).await {
                tracing::error!(%error, target = %sample.target, "cannot keep a speed sample");
            }
        })
    })
}

/// Checks `monitor` now and every interval, each result into the outbox first.
async fn run_checks(monitor: Monitor, outbox: Arc<Outbox>, clock: AgentClock, tls: tokio_rustls::TlsConnector, stop: CancellationToken) {
    let (monitor, outbox, tls) = (&monitor, &outbox, &tls);
    schedule::every(monitor.interval, &stop, || async move {
        let mut result = check(monitor, tls).await;
        result.at = clock.shift(result.at);
        let data = serde_json::to_string(&result).unwrap_or_default();
        if let Err(error) = outbox.push("probe", &data, clock.now_ms()).await {
            tracing::error!(%error, monitor = %monitor.name, "cannot keep a result");
        }
    })
    .await;
}
