//! What an agent runs: the server's monitors and speed tests, each result
//! into the outbox first, started again whenever the part of the config the
//! server sends changes, other nodes measured where the server says they
//! serve, a speed test at once when the server asks, and
//! nothing once the server refuses the node.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    model::SpeedSample,
    server::{
        agent::{outbox::Outbox, AgentClock},
        agents::{
            mesh::is_loopback,
            protocol::{NodeConfig, PeerList},
        },
        monitor::{check::check, config::Monitor},
        schedule,
        speed::{
            config::SpeedConfig,
            measure::{MeasureOptions, Measurer},
            payload,
            peers::Peers,
            sampler::{SampleSink, SpeedSampler},
        },
    },
};

/// Checks or tests started from one part of the config, until `stop`.
struct Running {
    fingerprint: String,
    stop: CancellationToken,
}

impl Running {
    fn start(fingerprint: String, shutdown: &CancellationToken) -> Self {
        Self { fingerprint, stop: shutdown.child_token() }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The speed tests running, and where to ask for one now.
struct SpeedTests {
    running: Running,
    test_now: mpsc::Sender<String>,
    labels: Vec<String>,
}

pub struct Runner {
    outbox: Arc<Outbox>,
    clock: AgentClock,
    tls: tokio_rustls::TlsConnector,
    /// `--no-speed-tests` leaves them to other nodes.
    speed_tests_wanted: bool,
    /// Whether the server is reached on loopback: then so are its loopback targets.
    server_on_loopback: bool,
    /// The server's `/speedtest`, where `node:<the server's name>` is measured.
    server_speedtest: String,
    /// Where the other nodes serve, as the server last said.
    peers: Peers,
    monitors: Option<Running>,
    speed: Option<SpeedTests>,
}

impl Runner {
    pub fn new(outbox: Arc<Outbox>, clock: AgentClock, speed_tests_wanted: bool, server: &str) -> Self {
        let server_on_loopback = reqwest::Url::parse(server).is_ok_and(|url| is_loopback(&url));
        Self {
            outbox,
            clock,
            tls: crate::server::monitor::check::tls_connector(),
            speed_tests_wanted,
            server_on_loopback,
            server_speedtest: format!("{}/speedtest", server.trim_end_matches('/')),
            peers: Peers::default(),
            monitors: None,
            speed: None,
        }
    }

    /// Where `node:NAME` targets are measured from now on; a test already running keeps its URL.
    /// Another node's loopback address is this one's own, unless all of them share the machine.
    pub fn set_peers(&self, list: PeerList) {
        let mut peers = list.nodes;
        peers.retain(|_, url| self.server_on_loopback || reqwest::Url::parse(url).is_ok_and(|url| !is_loopback(&url)));
        peers.insert(list.server, self.server_speedtest.clone());
        self.peers.replace(peers);
    }

    /// Stops everything: the server refuses this node.
    pub fn stop(&mut self) {
        if self.monitors.take().is_some() | self.speed.take().is_some() {
            tracing::warn!("stopped the checks and speed tests until the server takes this node again");
        }
    }

    /// Runs what `config` says; each part (monitors, speed tests) restarts only when it changed.
    pub fn apply(&mut self, config: &NodeConfig, shutdown: &CancellationToken) {
        let fingerprint = serde_json::to_string(&config.monitors).unwrap_or_default();
        if self.monitors.as_ref().is_none_or(|running| running.fingerprint != fingerprint) {
            let running = Running::start(fingerprint, shutdown);
            let monitors: Vec<Monitor> = config
                .monitors
                .iter()
                .filter_map(|table| {
                    table.validate().map_err(|(key, reason)| tracing::warn!(monitor = %table.name, key, %reason, "a monitor this node cannot run")).ok()
                })
                .collect();
            tracing::info!(monitors = monitors.len(), "running the server's monitors");
            for monitor in monitors {
                tokio::spawn(run_checks(monitor, self.outbox.clone(), self.clock, self.tls.clone(), running.stop.clone()));
            }
            self.monitors = Some(running);
        }
        let speed = config.speed.as_ref().filter(|_| self.speed_tests_wanted);
        let fingerprint = serde_json::to_string(&speed).unwrap_or_default();
        if self.speed.as_ref().is_some_and(|tests| tests.running.fingerprint == fingerprint) {
            return;
        }
        self.speed = None;
        let Some(speed) = speed else { return };
        match self.start_speed_tests(&config.node, speed, Running::start(fingerprint, shutdown)) {
            Ok(tests) => self.speed = tests,
            Err(reason) => tracing::warn!(%reason, "speed tests this node cannot run"),
        }
    }

    fn start_speed_tests(&self, node: &str, speed: &SpeedConfig, running: Running) -> Result<Option<SpeedTests>, String> {
        speed.validate().map_err(|error| error.to_string())?;
        let mut speed = speed.clone();
        // The server's 127.0.0.1 is not this node's, unless this node reaches the server there too.
        let configured = speed.targets.len();
        speed.targets.retain(|target| self.server_on_loopback || reqwest::Url::parse(&target.url).is_ok_and(|url| !is_loopback(&url)));
        if speed.targets.len() < configured {
            tracing::warn!(skipped = configured - speed.targets.len(), "speed targets on the server's loopback address are not this node's to test");
        }
        if configured > 0 && speed.targets.is_empty() {
            return Ok(None);
        }
        let options = MeasureOptions::from(&speed);
        let measurer = Measurer::new(options.timeout, payload::random_block()).map_err(|error| error.to_string())?;
        let targets = speed.targets_of(node);
        let labels: Vec<String> = targets.iter().map(|scheduled| scheduled.target.label()).collect();
        let (test_now, tests_now) = mpsc::channel(labels.len().max(1));
        let sampler = SpeedSampler {
            node: node.to_owned(),
            targets,
            spread: speed.spread,
            options,
            measurer,
            sink: into_outbox(self.outbox.clone(), self.clock),
            peers: self.peers.clone(),
            retests: Some(tests_now),
        };
        tracing::info!(targets = labels.len(), "running the server's speed tests");
        tokio::spawn(sampler.run(running.stop.clone()));
        Ok(Some(SpeedTests { running, test_now, labels }))
    }

    /// Tests `target` (every target when `None`) now; a test already asked for is not queued twice.
    pub fn test_now(&self, target: Option<&str>) {
        let Some(SpeedTests { test_now, labels, .. }) = &self.speed else {
            tracing::warn!("asked to test now, but this node runs no speed tests");
            return;
        };
        let chosen: Vec<&String> = labels.iter().filter(|label| target.is_none_or(|target| target == label.as_str())).collect();
        if chosen.is_empty() {
            tracing::warn!(target, "asked to test a target this node does not test");
        }
        for label in chosen {
            tracing::info!(target = %label, "testing now, as the server asked");
            let _ = test_now.try_send(label.clone());
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
