//! `netpulse agent`: a node that runs the server's monitors from where it is
//! and sends every result to the server through its outbox. It opens every
//! connection itself, so it works behind NAT, and it has no dashboard.

pub mod cli;
pub mod enrolment;
pub mod outbox;
pub mod uplink;

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::server::{
    agents::protocol::{protocol_mismatch, NodeConfig},
    monitor::{check::check, config::Monitor},
    schedule,
};

use cli::AgentRunArgs;
use enrolment::Enrolment;
use outbox::{Outbox, OutboxLimits};

/// The server's monitors are asked for again this often.
const CONFIG_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("this node has not joined a server ({0} is missing): run `netpulse agent join SERVER TOKEN --name NAME` first")]
    NotJoined(String),
    #[error("the enrolment file is damaged: {0}")]
    Enrolment(String),
    #[error("the outbox: {0}")]
    Outbox(String),
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Refused(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
}

/// The node's clock: the system's, shifted in tests to stand for one that is off.
#[derive(Clone, Copy, Debug)]
pub struct AgentClock {
    pub skew_ms: i64,
}

impl AgentClock {
    pub fn now_ms(&self) -> i64 {
        crate::server::clock::now_ms() + self.skew_ms
    }

    fn shift(&self, at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        at + chrono::Duration::milliseconds(self.skew_ms)
    }
}

/// Runs the agent until `shutdown`.
pub async fn run(args: AgentRunArgs, shutdown: CancellationToken) -> Result<(), AgentError> {
    let enrolment = enrolment::load(&args.data_dir)?;
    let limits =
        OutboxLimits { max_age_ms: (args.max_age_days * 86_400_000.0) as i64, max_bytes: i64::try_from(args.max_mb).unwrap_or(i64::MAX / 2) * 1_000_000 };
    let outbox = Arc::new(Outbox::open(&args.data_dir, limits).await?);
    let clock = AgentClock { skew_ms: args.clock_skew_ms };
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(AgentError::Client)?;
    tracing::info!(server = %enrolment.server, node = %enrolment.node, "agent started");
    let uplink = tokio::spawn(uplink::Uplink::new(client.clone(), enrolment.clone(), clock).run(outbox.clone(), shutdown.clone()));
    follow_config(&client, &enrolment, outbox, clock, &shutdown).await;
    let _ = uplink.await;
    Ok(())
}

/// Asks the server for this node's monitors every minute (every 5 s until it first
/// answers), and restarts the checks when they change.
async fn follow_config(client: &reqwest::Client, enrolment: &Enrolment, outbox: Arc<Outbox>, clock: AgentClock, shutdown: &CancellationToken) {
    let tls = crate::server::monitor::check::tls_connector();
    let mut running: Option<(String, CancellationToken)> = None;
    while !shutdown.is_cancelled() {
        let mut refused = false;
        match fetch_config(client, enrolment).await {
            Ok(config) => {
                let fingerprint = serde_json::to_string(&config.monitors).unwrap_or_default();
                if running.as_ref().is_none_or(|(held, _)| *held != fingerprint) {
                    if let Some((_, stop)) = running.take() {
                        stop.cancel();
                    }
                    let stop = shutdown.child_token();
                    let monitors: Vec<Monitor> = config
                        .monitors
                        .iter()
                        .filter_map(|table| {
                            table.validate().map_err(|(key, reason)| tracing::warn!(monitor = %table.name, key, %reason, "a monitor this node cannot run")).ok()
                        })
                        .collect();
                    tracing::info!(monitors = monitors.len(), "running the server's monitors");
                    for monitor in monitors {
                        tokio::spawn(run_checks(monitor, outbox.clone(), clock, tls.clone(), stop.clone()));
                    }
                    running = Some((fingerprint, stop));
                }
            }
            Err(error) => {
                refused = matches!(error, AgentError::Refused(_));
                tracing::warn!(%error, "cannot read this node's monitors; the checks keep running as they were");
            }
        }
        // A refusal (revoked, another protocol) lasts until someone acts: ask rarely, as the uplink does.
        let pause = match (refused, running.is_some()) {
            (true, _) => uplink::REFUSED_RETRY,
            (false, true) => CONFIG_EVERY,
            (false, false) => Duration::from_secs(5),
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => {}
        }
    }
}

async fn fetch_config(client: &reqwest::Client, enrolment: &Enrolment) -> Result<NodeConfig, AgentError> {
    let response = client
        .get(enrolment.url("/api/agent/config"))
        .bearer_auth(&enrolment.credential)
        .send()
        .await
        .map_err(|error| AgentError::Unreachable(error.without_url().to_string()))?;
    if !response.status().is_success() {
        let status = response.status();
        let reason = response.json::<serde_json::Value>().await.ok().and_then(|body| body["error"].as_str().map(str::to_owned)).unwrap_or_default();
        let refusal = matches!(status, reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::BAD_REQUEST);
        return Err(if refusal { AgentError::Refused(format!("{status}: {reason}")) } else { AgentError::Unreachable(format!("{status}: {reason}")) });
    }
    let config: NodeConfig = response.json().await.map_err(|error| AgentError::Refused(format!("not a node config: {error}")))?;
    match protocol_mismatch(config.protocol) {
        Some(mismatch) => Err(AgentError::Refused(mismatch)),
        None => Ok(config),
    }
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
