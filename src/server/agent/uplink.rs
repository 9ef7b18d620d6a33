//! Sending the outbox: the oldest results in batches, each exchange's four
//! timestamps carried in the next for the server's clock estimate, deleting
//! what the answer acknowledges, and backing off while the server is away
//! or refuses this node.

use std::{sync::Arc, time::Duration};

use reqwest::StatusCode;
use tokio_util::sync::CancellationToken;

use crate::server::{
    agent::{enrolment::Enrolment, outbox::Outbox, AgentClock, AgentError},
    agents::protocol::{AgentResult, BatchAnswer, ExchangeStamps, ResultBatch, PROTOCOL_VERSION},
};

/// Results per batch: well under the server's 5,000, so one answer is quick.
const BATCH: i64 = 500;
/// An idle node still says it is there this often; the server calls it offline after 90 s.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How often an idle uplink looks at the outbox, should a wake-up be missed.
const IDLE_PAUSE: Duration = Duration::from_millis(250);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(60);
/// A node the server refuses (revoked, another protocol) asks again this rarely.
pub(super) const REFUSED_RETRY: Duration = Duration::from_secs(600);

/// What one exchange came to.
enum Sent {
    /// Answered: whether a full batch went and the answer settled some of it, so the next may go at once.
    Answered { more: bool },
    /// Refused for good until someone acts; the reason is logged.
    Refused(String),
}

pub struct Uplink {
    client: reqwest::Client,
    enrolment: Enrolment,
    clock: AgentClock,
    previous: Option<ExchangeStamps>,
    acknowledged: u64,
}

impl Uplink {
    pub fn new(client: reqwest::Client, enrolment: Enrolment, clock: AgentClock) -> Self {
        Self { client, enrolment, clock, previous: None, acknowledged: 0 }
    }

    /// Sends until shutdown.
    pub async fn run(mut self, outbox: Arc<Outbox>, shutdown: CancellationToken) {
        let mut retry = FIRST_RETRY;
        let mut last_sent = None::<std::time::Instant>;
        while !shutdown.is_cancelled() {
            let pending = outbox.state().await.map(|state| state.backlog).unwrap_or(0);
            let due = pending > 0 || last_sent.is_none_or(|at| at.elapsed() >= HEARTBEAT);
            let pause = if !due {
                IDLE_PAUSE
            } else {
                match self.send_once(&outbox).await {
                    Ok(Sent::Answered { more }) => {
                        retry = FIRST_RETRY;
                        last_sent = Some(std::time::Instant::now());
                        if more {
                            continue;
                        }
                        IDLE_PAUSE
                    }
                    Ok(Sent::Refused(reason)) => {
                        tracing::error!(%reason, "the server refuses this node; asking again in 10 minutes");
                        REFUSED_RETRY
                    }
                    Err(error) => {
                        tracing::warn!(%error, retry_s = retry.as_secs(), "cannot send results; they wait in the outbox");
                        let wait = retry;
                        retry = (retry * 2).min(LAST_RETRY);
                        wait
                    }
                }
            };
            // Idle or between batches, a new result ends the pause; after a failure only time does.
            let wake_on_write = pause <= IDLE_PAUSE;
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = outbox.written(), if wake_on_write => {}
                () = shutdown.cancelled() => {}
            }
        }
    }

    async fn send_once(&mut self, outbox: &Outbox) -> Result<Sent, AgentError> {
        let batch = outbox.oldest(BATCH).await?;
        let full = batch.len() as i64 == BATCH;
        let state = outbox.state().await?;
        let mut results = Vec::with_capacity(batch.len());
        for pending in batch {
            let data = serde_json::from_str(&pending.data).map_err(|error| AgentError::Outbox(format!("result {} is not JSON: {error}", pending.seq)))?;
            results.push(AgentResult { seq: u64::try_from(pending.seq).unwrap_or(0), kind: pending.kind, data });
        }
        let sent_ms = self.clock.now_ms();
        let body = ResultBatch {
            protocol: PROTOCOL_VERSION,
            sent_ms,
            previous: self.previous,
            backlog: state.backlog.saturating_sub(results.len() as u64),
            dropped: state.dropped,
            dropped_through: state.dropped_through,
            results,
        };
        let response = self
            .client
            .post(self.enrolment.url("/api/agent/results"))
            .bearer_auth(&self.enrolment.credential)
            .json(&body)
            .send()
            .await
            .map_err(|error| AgentError::Unreachable(error.without_url().to_string()))?;
        let status = response.status();
        if status == StatusCode::OK || status == StatusCode::UNPROCESSABLE_ENTITY {
            let answer: BatchAnswer =
                response.json().await.map_err(|error| AgentError::Unreachable(format!("an answer that is not a batch answer: {error}")))?;
            self.previous = Some(ExchangeStamps {
                agent_sent_ms: sent_ms,
                server_received_ms: answer.received_ms,
                server_sent_ms: answer.sent_ms,
                agent_received_ms: self.clock.now_ms(),
            });
            for refused in &answer.refused {
                tracing::warn!(seq = refused.seq, reason = %refused.reason, "the server refused a result");
            }
            let gone: Vec<u64> = answer.refused.iter().filter(|r| !r.retry).map(|r| r.seq).collect();
            outbox.remove(answer.acknowledged, &gone).await?;
            // A full batch the server settled none of (numbers past a gap) waits for the pause, not a busy loop.
            let settled = answer.acknowledged > self.acknowledged || !gone.is_empty();
            self.acknowledged = self.acknowledged.max(answer.acknowledged);
            return Ok(Sent::Answered { more: full && settled });
        }
        let reason = response.json::<serde_json::Value>().await.ok().and_then(|body| body["error"].as_str().map(str::to_owned)).unwrap_or_default();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => Ok(Sent::Refused(format!("{status}: {reason}"))),
            _ => Err(AgentError::Unreachable(format!("{status}: {reason}"))),
        }
    }
}
