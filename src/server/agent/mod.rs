//! `netpulse agent`: a node that runs the server's monitors and speed tests
//! from where it is and sends every result to the server through its
//! outbox. It opens every connection itself, so it works behind NAT, and it
//! has no dashboard.

pub mod cli;
pub mod enrolment;
pub mod outbox;
pub mod runner;
pub mod speedtest;
pub mod stream;
pub mod uplink;

use std::{sync::Arc, time::Duration};

use tokio_util::sync::CancellationToken;

use cli::AgentRunArgs;
use outbox::{Outbox, OutboxLimits};
use runner::Runner;
use stream::{Heard, StreamRequest};

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
    #[error("cannot serve /speedtest on {0}")]
    Speedtest(String),
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
    let speedtest_url = args.advertised_speedtest().map_err(AgentError::Speedtest)?;
    let serving = match args.serve_speedtest {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address).await.map_err(|error| AgentError::Speedtest(format!("{address}: {error}")))?;
            let stop = shutdown.clone();
            Some(tokio::spawn(async move {
                if let Err(error) = speedtest::serve(listener, stop).await {
                    tracing::error!(%error, "stopped serving /speedtest; the other nodes' tests of this one fail until it restarts");
                }
            }))
        }
        None => None,
    };
    tracing::info!(server = %enrolment.server, node = %enrolment.node, "agent started");
    let uplink = tokio::spawn(uplink::Uplink::new(client, enrolment.clone(), clock).run(outbox.clone(), shutdown.clone()));
    // No overall timeout: the stream is endless, and silence past the heartbeats ends it.
    let streaming =
        reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).read_timeout(stream::SILENCE_LIMIT).build().map_err(AgentError::Client)?;
    let mut runner = Runner::new(outbox, clock, !args.no_speed_tests, &enrolment.server);
    let on_heard = |heard| match heard {
        Heard::Config(config) => runner.apply(&config, &shutdown),
        Heard::TestNow(test_now) => runner.test_now(test_now.target.as_deref()),
        Heard::Peers(peers) => runner.set_peers(peers),
        Heard::Refused => runner.stop(),
    };
    let request = StreamRequest { enrolment: &enrolment, speedtest_url: speedtest_url.as_deref() };
    stream::follow(&streaming, &request, on_heard, &shutdown).await;
    let _ = uplink.await;
    if let Some(serving) = serving {
        let _ = serving.await;
    }
    Ok(())
}
