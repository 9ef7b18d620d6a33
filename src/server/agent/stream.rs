//! The agent's end of `GET /api/agent/stream`: it opens the stream, hands
//! on the node config and each "test now" it hears, and opens it again
//! after a drop, backing off while the server is away and waiting long
//! when the server refuses this node.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::server::{
    agent::{enrolment::Enrolment, uplink::REFUSED_RETRY, AgentError},
    agents::protocol::{protocol_mismatch, NodeConfig, TestNow},
};

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(60);
/// The server sends a heartbeat on a node's stream every 15 s: this much silence is a dead stream.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);

/// What the server said.
#[derive(Debug)]
pub enum Heard {
    Config(Box<NodeConfig>),
    TestNow(TestNow),
    /// The server refuses this node (revoked, another protocol): stop until it takes it again.
    Refused,
}

/// One event read: what it says, `None` for an event this agent does not know
/// (a newer server's), or why the node cannot go on.
pub fn read_event(name: &str, data: &str) -> Result<Option<Heard>, AgentError> {
    match name {
        "config" => {
            let config: NodeConfig = serde_json::from_str(data).map_err(|error| {
                AgentError::Refused(format!("this agent cannot read the server's config ({error}): run the same netpulse version on the agent and the server"))
            })?;
            match protocol_mismatch(config.protocol) {
                Some(mismatch) => Err(AgentError::Refused(mismatch)),
                None => Ok(Some(Heard::Config(Box::new(config)))),
            }
        }
        "test-now" => match serde_json::from_str(data) {
            Ok(test_now) => Ok(Some(Heard::TestNow(test_now))),
            Err(error) => {
                tracing::warn!(%error, "a test-now event this agent cannot read");
                Ok(None)
            }
        },
        _ => Ok(None),
    }
}

/// Follows the stream until `shutdown`, calling `on_heard` for each event.
pub async fn follow(client: &reqwest::Client, enrolment: &Enrolment, mut on_heard: impl FnMut(Heard), shutdown: &CancellationToken) {
    let mut retry = FIRST_RETRY;
    while !shutdown.is_cancelled() {
        let ended = tokio::select! {
            ended = read_stream(client, enrolment, &mut on_heard, &mut retry) => ended,
            () = shutdown.cancelled() => return,
        };
        let pause = match ended {
            Err(AgentError::Refused(reason)) => {
                tracing::error!(%reason, "the server refuses this node's stream; asking again in 10 minutes");
                on_heard(Heard::Refused);
                REFUSED_RETRY
            }
            Err(error) => {
                tracing::warn!(%error, retry_s = retry.as_secs(), "lost the server's stream; the checks keep running as they were");
                let wait = retry;
                retry = (retry * 2).min(LAST_RETRY);
                wait
            }
            Ok(()) => FIRST_RETRY,
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => {}
        }
    }
}

/// One connection: `Ok` when the server ended it (a restart, a revocation).
async fn read_stream(client: &reqwest::Client, enrolment: &Enrolment, on_heard: &mut impl FnMut(Heard), retry: &mut Duration) -> Result<(), AgentError> {
    let response = client
        .get(enrolment.url("/api/agent/stream"))
        .bearer_auth(&enrolment.credential)
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .send()
        .await
        .map_err(|error| AgentError::Unreachable(error.without_url().to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let reason = response.json::<serde_json::Value>().await.ok().and_then(|body| body["error"].as_str().map(str::to_owned)).unwrap_or_default();
        let refusal = matches!(status, reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::BAD_REQUEST);
        let message = format!("{status}: {reason}");
        return Err(if refusal { AgentError::Refused(message) } else { AgentError::Unreachable(message) });
    }
    let mut events = response.bytes_stream().eventsource();
    let mut configured = false;
    while let Some(event) = events.next().await {
        let event = event.map_err(|error| AgentError::Unreachable(format!("the stream broke: {error}")))?;
        if let Some(heard) = read_event(&event.event, &event.data)? {
            if matches!(heard, Heard::Config(_)) {
                *retry = FIRST_RETRY;
                configured = true;
            }
            on_heard(heard);
        }
    }
    // A stream that ends before its config is not the server's (a proxy, a portal): back off.
    if !configured {
        return Err(AgentError::Unreachable("the stream ended before the node's config".to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_and_a_newer_servers_are_passed_over() {
        let config = r#"{"protocol":1,"node":"tokyo","monitors":[],"speed":null}"#;
        assert!(matches!(read_event("config", config), Ok(Some(Heard::Config(c))) if c.node == "tokyo" && c.speed.is_none()));
        assert!(matches!(read_event("test-now", "{}"), Ok(Some(Heard::TestNow(TestNow { target: None })))));
        assert!(matches!(read_event("test-now", "not json"), Ok(None)), "one bad command does not end the stream");
        assert!(matches!(read_event("reboot", "{}"), Ok(None)));
        let newer = r#"{"protocol":2,"node":"tokyo","monitors":[]}"#;
        assert!(matches!(read_event("config", newer), Err(AgentError::Refused(reason)) if reason.contains("protocol 2")));
    }
}
