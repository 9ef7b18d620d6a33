//! `GET /api/agent/stream`: the long-lived stream an agent opens to hear
//! what it should run and when to test now: where the nodes serve speed
//! tests (`peers`, again on each change), the node's config, then `test-now`
//! events as they are asked for. Heartbeats keep proxies from closing it, and
//! it ends when the node is revoked. Opening it, a node says where it serves
//! `/speedtest` itself.

use std::convert::Infallible;

use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use futures_util::{stream, StreamExt};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::{
    agents::{
        commands::{Listener, NodeCommand},
        mesh::{self, peer_list},
        protocol::{NodeConfig, PeerList, TestNow, PROTOCOL_VERSION},
        results_route::node_caller,
    },
    events::{
        sse::{stream_response, with_heartbeats},
        sse_frame,
    },
    http::{client_address::ClientAddress, error::ApiError},
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
        NodeCommand::Peers(peers) => Some(peers_frame(&peers)),
        NodeCommand::Revoked => None,
    }
}

fn peers_frame(peers: &PeerList) -> bytes::Bytes {
    sse_frame::event("peers", None, &serde_json::to_string(peers).expect("a peer list always serialises"))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// Where this node serves `/speedtest` for the others, such as `http://198.18.0.3:8091/speedtest`; absent when it serves none.
    speedtest_url: Option<String>,
}

/// The node's config and then its commands, as an event stream.
#[utoipa::path(get, path = "/api/agent/stream", tag = "agents", security(("bearer" = [])), params(StreamQuery),
    responses((status = 200, description = "`text/event-stream`: a `peers` event (a PeerList, again on each change), a `config` event (a NodeConfig), then `test-now` events (TestNow)", body = NodeConfig, content_type = "text/event-stream"),
        (status = 400, description = "speedtest_url is not an http(s) base URL without a password, or is a loopback one from a node that is not on loopback", body = crate::model::ApiErrorBody),
        (status = 401, description = "No node credential, an unknown one, or a revoked node", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn node_stream(
    State(state): State<AppState>,
    client: ClientAddress,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (node_id, node) = node_caller(&state, &headers).await?;
    let Query(query) = query?;
    let from_loopback = client.0.is_loopback();
    let speedtest = query
        .speedtest_url
        .as_deref()
        .map(|raw| mesh::speedtest_base(raw, from_loopback))
        .transpose()
        .map_err(|reason| ApiError::bad_request(format!("speedtest_url: {reason}")))?;
    // Listening before the config is sent, so no command asked for in between is missed;
    // then the credential again, so a revocation in between is not missed either.
    let listener = state.agents.commands.listen(&node);
    node_caller(&state, &headers).await?;
    mesh::report_speedtest(&state, node_id, &node, speedtest.as_deref()).await?;
    let config = serde_json::to_string(&node_config(&state, node)).expect("a node config always serialises");
    let peers = peers_frame(&peer_list(&state));
    // Peers first: the node's first tests of `node:NAME` targets already know where they are.
    let first = stream::iter([peers, sse_frame::event("config", None, &config)]);
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
        let peers = PeerList { server: "central".into(), nodes: [("tokyo".to_owned(), "http://198.18.0.3:8091/speedtest".to_owned())].into() };
        let frame = command_frame(NodeCommand::Peers(peers)).unwrap();
        assert_eq!(&frame[..], &b"event: peers\ndata: {\"server\":\"central\",\"nodes\":{\"tokyo\":\"http://198.18.0.3:8091/speedtest\"}}\n\n"[..]);
    }
}
