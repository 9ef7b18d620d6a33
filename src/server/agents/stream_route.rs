//! `GET /api/agent/stream`: the long-lived stream an agent opens to hear
//! what it should run and when to test now. The first event is the node's
//! config; `test-now` events follow as they are asked for; heartbeats keep
//! proxies from closing it, and it ends when the node is revoked.

use std::convert::Infallible;

use axum::{
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use futures_util::{stream, StreamExt};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::{
    agents::{
        commands::{Listener, NodeCommand},
        protocol::{NodeConfig, TestNow, PROTOCOL_VERSION},
        results_route::node_caller,
    },
    events::{
        sse::{stream_response, with_heartbeats},
        sse_frame,
    },
    http::error::ApiError,
    AppState,
};

/// Heartbeats on a node's stream, whatever `sse.heartbeat` says: an agent counts 60 s of silence as a lost stream.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(15);

/// What `node` runs: the server's monitors but push ones, and its speed tests while they are on.
pub fn node_config(state: &AppState, node: String) -> NodeConfig {
    let monitors = state.config.monitors.iter().filter(|monitor| monitor.push.is_none()).cloned().collect();
    let speed = state.config.speed.enabled.then(|| state.config.speed.clone());
    NodeConfig { protocol: PROTOCOL_VERSION, node, monitors, speed }
}

/// The stream's frame for a command, or `None` for one that ends it.
fn command_frame(command: NodeCommand) -> Option<bytes::Bytes> {
    match command {
        NodeCommand::TestNow { target } => {
            let data = serde_json::to_string(&TestNow { target }).expect("a command always serialises");
            Some(sse_frame::event("test-now", None, &data))
        }
        NodeCommand::Revoked => None,
    }
}

/// The node's config and then its commands, as an event stream.
#[utoipa::path(get, path = "/api/agent/stream", tag = "agents", security(("bearer" = [])),
    responses((status = 200, description = "`text/event-stream`: a `config` event (a NodeConfig), then `test-now` events (TestNow)", body = NodeConfig, content_type = "text/event-stream"),
        (status = 401, description = "No node credential, an unknown one, or a revoked node", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn node_stream(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (_, node) = node_caller(&state, &headers).await?;
    // Listening before the config is sent, so no command asked for in between is missed;
    // then the credential again, so a revocation in between is not missed either.
    let listener = state.agents.commands.listen(&node);
    node_caller(&state, &headers).await?;
    let config = serde_json::to_string(&node_config(&state, node)).expect("a node config always serialises");
    let first = stream::once(async move { sse_frame::event("config", None, &config) });
    let commands = stream::unfold(listener, |mut listener: Listener| async move {
        let frame = command_frame(listener.next().await?)?;
        Some((frame, listener))
    });
    let frames = first.chain(commands);
    let body = with_heartbeats(frames, HEARTBEAT).take_until(state.shutdown.clone().cancelled_owned()).map(Ok::<_, Infallible>);
    Ok(stream_response(body).into_response())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(node_stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_now_is_an_event_and_a_revocation_ends_the_stream() {
        let frame = command_frame(NodeCommand::TestNow { target: Some("http://a/speedtest".into()) }).unwrap();
        assert_eq!(&frame[..], b"event: test-now\ndata: {\"target\":\"http://a/speedtest\"}\n\n");
        assert_eq!(command_frame(NodeCommand::Revoked), None);
    }
}
