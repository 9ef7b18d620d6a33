//! The agent's end of `GET /api/agent/stream`: it opens the stream, hands
//! on the node config, where the other nodes serve speed tests and each
//! "test now" it hears, and opens it again
//! after a drop, backing off while the server is away and waiting long
//! when the server refuses this node.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::server::{
    agent::{enrolment::Enrolment, uplink::REFUSED_RETRY, AgentError},
    agents::protocol::{protocol_mismatch, NodeConfig, PeerList, TestNow},
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
    Peers(PeerList),
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
        "test-now" => Ok(read_command(name, data).map(Heard::TestNow)),
        "peers" => Ok(read_command(name, data).map(Heard::Peers)),
        _ => Ok(None),
    }
}

/// A command's body; one this agent cannot read is logged and passed over, not the stream's end.
fn read_command<T: serde::de::DeserializeOwned>(name: &str, data: &str) -> Option<T> {
    serde_json::from_str(data).map_err(|error| tracing::warn!(%error, event = name, "an event this agent cannot read")).ok()
}

/// Where this node says it serves `/speedtest`, if it does.
pub struct StreamRequest<'a> {
    pub enrolment: &'a Enrolment,
    pub speedtest_url: Option<&'a str>,
}

impl StreamRequest<'_> {
    fn url(&self) -> String {
        let mut url = self.enrolment.url("/api/agent/stream");
        if let Some(speedtest) = self.speedtest_url {
            url = reqwest::Url::parse_with_params(&url, [("speedtest_url", speedtest)]).map_or(url, String::from);
        }
        url
    }
}

/// Follows the stream until `shutdown`, calling `on_heard` for each event.
pub async fn follow(client: &reqwest::Client, request: &StreamRequest<'_>, mut on_heard: impl FnMut(Heard), shutdown: &CancellationToken) {
    let mut retry = FIRST_RETRY;
    while !shutdown.is_cancelled() {
        let ended = tokio::select! {
            ended = read_stream(client, request, &mut on_heard, &mut retry) => ended,
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
async fn read_stream(client: &reqwest::Client, request: &StreamRequest<'_>, on_heard: &mut impl FnMut(Heard), retry: &mut Duration) -> Result<(), AgentError> {
    let response = client
        .get(request.url())
        .bearer_auth(&request.enrolment.credential)
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
        let peers = r#"{"server":"central","nodes":{"tokyo":"http://198.18.0.3:8091/speedtest"}}"#;
        assert!(matches!(read_event("peers", peers), Ok(Some(Heard::Peers(p))) if p.server == "central" && p.nodes.len() == 1));
        let newer = r#"{"protocol":2,"node":"tokyo","monitors":[]}"#;
        assert!(matches!(read_event("config", newer), Err(AgentError::Refused(reason)) if reason.contains("protocol 2")));
    }
}
