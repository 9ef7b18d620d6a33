//! The routes agents call, with their own credential rather than a user's:
//! `POST /api/agent/join` trades a join token for a node credential, and
//! `POST /api/agent/results` stores a batch of numbered results once each.

use axum::{
    extract::{rejection::JsonRejection, DefaultBodyLimit, FromRequest, Request, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use crate::server::{
    agents::{
        clock_offset::Exchange,
        ingest::{sort_batch, summary, Sender, Sorted},
        nodes::{BatchReport, JoinError},
        protocol::{
            protocol_mismatch, BatchAnswer, JoinRequest, Joined, NodeConfig, ResultBatch, CREDENTIAL_PREFIX, MOST_RESULTS_PER_BATCH, MOST_SEQUENCE_NUMBER,
            PROTOCOL_VERSION,
        },
        sequence::Sequence,
        NodeState,
    },
    auth::{access::is_node_name, routes::json_body, secrets, session::store_down},
    clock::now_ms,
    events::hub::Origin,
    events::writer::NodeEvent,
    http::{client_address::ClientAddress, error::ApiError},
    AppState,
};

/// A batch's body may be this large: 5,000 results of about 1 KiB and room to spare.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// A join request is a token, a name and a version.
const MAX_JOIN_BODY: usize = 16 * 1024;

const NOT_ENROLLED: &str = "send this node's credential as 'Authorization: Bearer npn_…'; `netpulse agent join` gets one";

/// The node a request's credential belongs to.
pub(super) async fn node_caller(state: &AppState, headers: &HeaderMap) -> Result<(i64, String), ApiError> {
    let credential = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|credential| credential.starts_with(CREDENTIAL_PREFIX))
        .ok_or_else(|| ApiError::Unauthorized(NOT_ENROLLED.to_owned()))?;
    match state.store.node_by_credential(&secrets::digest(credential)).await.map_err(|_| store_down())? {
        Some((_, name, true)) => Err(ApiError::Unauthorized(format!("node {name} was revoked: an admin must give it a new join token"))),
        Some((id, name, false)) => Ok((id, name)),
        None => Err(ApiError::Unauthorized(format!("unknown node credential; {NOT_ENROLLED}"))),
    }
}

/// Enrols a node with a single-use join token; the answer holds its credential, shown this once.
#[utoipa::path(post, path = "/api/agent/join", tag = "agents", request_body = JoinRequest,
    responses((status = 201, description = "Joined; the credential is in the answer", body = Joined),
        (status = 400, description = "Not a join body, a bad name, or another protocol version", body = crate::model::ApiErrorBody),
        (status = 401, description = "The join token is unknown, used or expired", body = crate::model::ApiErrorBody),
        (status = 409, description = "An enrolled node, or this server, has the name", body = crate::model::ApiErrorBody),
        (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn join(
    State(state): State<AppState>,
    client: ClientAddress,
    body: Result<Json<JoinRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Joined>), ApiError> {
    let request = json_body(body)?;
    if let Some(mismatch) = protocol_mismatch(request.protocol) {
        return Err(ApiError::BadRequest(mismatch));
    }
    let name = request.name.trim();
    if !is_node_name(name) {
        return Err(ApiError::bad_request(format!("name: {name:?} must be 1 to 64 letters, digits, '.', '_' or '-'")));
    }
    if name == state.config.node {
        return Err(ApiError::Conflict(format!("name: {name:?} is this server's own node name")));
    }
    let credential = format!("{CREDENTIAL_PREFIX}{}", secrets::random_secret());
    let version: String = request.version.chars().filter(|c| !c.is_control()).take(64).collect();
    let joined = state.store.join_node(&secrets::digest(request.token.trim()), name, &secrets::digest(&credential), &version, now_ms()).await;
    let id = joined.map_err(|error| match error {
        JoinError::TokenRefused => ApiError::Unauthorized("the join token is unknown, used or expired: ask an admin for a new one".to_owned()),
        JoinError::NameTaken => ApiError::Conflict(format!("name: a node named {name:?} is enrolled; revoke it first, or choose another name")),
        JoinError::Store(_) => store_down(),
    })?;
    state.agents.forget(id);
    super::mesh::reload_nodes(&state).await;
    crate::server::auth::routes::audit(&state, &format!("node:{name}"), "agent-joined", name, client).await;
    Ok((StatusCode::CREATED, Json(Joined { protocol: PROTOCOL_VERSION, node: name.to_owned(), credential })))
}

/// Stores a batch from an agent's outbox: each (node, number) once, times on the server's clock.
#[utoipa::path(post, path = "/api/agent/results", tag = "agents", request_body = ResultBatch, security(("bearer" = [])),
    responses((status = 200, description = "Every result stored, or stored before", body = BatchAnswer),
        (status = 400, description = "Not a batch, or another protocol version", body = crate::model::ApiErrorBody),
        (status = 401, description = "No node credential, an unknown one, or a revoked node", body = crate::model::ApiErrorBody),
        (status = 413, description = "More results than one batch may carry", body = crate::model::ApiErrorBody),
        (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody),
        (status = 422, description = "Some results refused, each named with why in `refused`; the rest stored", body = BatchAnswer),
        (status = 503, description = "History is not being saved; send the batch again", body = crate::model::ApiErrorBody)))]
async fn results(State(state): State<AppState>, headers: HeaderMap, request: Request) -> Result<Response, ApiError> {
    let received_ms = now_ms();
    let (node_id, name) = node_caller(&state, &headers).await?;
    // Read only once the credential is known: up to 16 MiB is not parsed for strangers.
    let batch = json_body(Json::<ResultBatch>::from_request(request, &state).await)?;
    if let Some(mismatch) = protocol_mismatch(batch.protocol) {
        return Err(ApiError::BadRequest(mismatch));
    }
    if batch.dropped_through > MOST_SEQUENCE_NUMBER {
        return Err(ApiError::bad_request(format!("dropped_through: must be at most {MOST_SEQUENCE_NUMBER}, got {}", batch.dropped_through)));
    }
    if batch.results.len() > MOST_RESULTS_PER_BATCH {
        return Err(ApiError::PayloadTooLarge(format!("results: {} in one batch; at most {MOST_RESULTS_PER_BATCH}", batch.results.len())));
    }
    let slot = state.agents.slot(node_id);
    let mut held = slot.lock().await;
    let node = match held.as_mut() {
        Some(node) => node,
        None => {
            let (acknowledged, ahead) = state.store.node_progress(node_id).await.map_err(|_| store_down())?;
            held.insert(NodeState { sequence: Sequence::resume(acknowledged, ahead), clock: Default::default() })
        }
    };
    if let Some(stamps) = batch.previous {
        node.clock.add(Exchange {
            agent_sent_ms: stamps.agent_sent_ms,
            server_received_ms: stamps.server_received_ms,
            server_sent_ms: stamps.server_sent_ms,
            agent_received_ms: stamps.agent_received_ms,
        });
    }
    // Before any exchange, the one-way estimate: off by the time on the wire.
    let offset_ms = node.clock.offset_ms().unwrap_or(received_ms.saturating_sub(batch.sent_ms));
    if batch.dropped_through > 0 {
        node.sequence.skip_to(batch.dropped_through);
    }
    let monitors: Vec<String> = state.config.monitors.iter().map(|monitor| monitor.name.clone()).collect();
    let speed_targets: Vec<String> = state.config.speed.targets().iter().map(|scheduled| scheduled.target.label()).collect();
    let raw_kept_ms = i64::try_from(state.config.history.retention().raw.as_millis()).unwrap_or(i64::MAX / 2);
    let earliest_ms = received_ms.saturating_sub(raw_kept_ms).saturating_add((raw_kept_ms / 2).min(3_600_000));
    let sender = Sender { node: &name, monitors: &monitors, speed_targets: &speed_targets, earliest_ms };
    let sorted = sort_batch(&sender, batch.results, &mut node.sequence, offset_ms, received_ms);
    let report = BatchReport {
        seen_ms: received_ms,
        clock_offset_ms: offset_ms,
        backlog: batch.backlog,
        dropped: batch.dropped,
        acknowledged: node.sequence.acknowledged(),
    };
    let stored = store_sorted(&state, node_id, &sorted).await;
    let reported = match stored {
        Ok(()) => state.store.report_batch(node_id, &report).await.map_err(|_| store_down()),
        Err(error) => Err(error),
    };
    if let Err(error) = reported {
        // What was taken in memory may not be in the store: read it again next time.
        *held = None;
        return Err(error);
    }
    drop(held);
    let status = if sorted.refused.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let answer = BatchAnswer {
        protocol: PROTOCOL_VERSION,
        acknowledged: report.acknowledged,
        received_ms,
        sent_ms: now_ms(),
        offset_ms,
        stored: sorted.accepted.len(),
        duplicates: sorted.duplicates,
        error: (!sorted.refused.is_empty()).then(|| summary(&sorted.refused)),
        clamped: sorted.clamped,
        refused: sorted.refused,
    };
    Ok((status, Json(answer)).into_response())
}

/// Records the refused results as done and publishes the new ones, each with its number in its commit.
async fn store_sorted(state: &AppState, node_id: i64, sorted: &Sorted) -> Result<(), ApiError> {
    if !sorted.refused_done.is_empty() {
        state.store.record_refused(node_id, &sorted.refused_done).await.map_err(|_| store_down())?;
    }
    let events = sorted
        .accepted
        .iter()
        .map(|accepted| NodeEvent {
            topic: accepted.topic.to_owned(),
            key: accepted.key.clone(),
            data: accepted.data.clone(),
            at_ms: accepted.at_ms,
            origin: Origin { node_id, seq: accepted.seq },
        })
        .collect();
    let written =
        state.writer.publish_from_nodes(events).await.map_err(|_| ApiError::Unavailable("the server is stopping; send the batch again".to_owned()))?;
    if written.iter().any(|(_, stored)| !stored) {
        return Err(ApiError::Unavailable("history is not being saved right now; send the batch again".to_owned()));
    }
    Ok(())
}

/// What the node runs, as the stream's `config` event says; for agents that poll instead.
#[utoipa::path(get, path = "/api/agent/config", tag = "agents", security(("bearer" = [])),
    responses((status = 200, description = "The node's monitors and speed tests", body = NodeConfig),
        (status = 401, description = "No node credential, an unknown one, or a revoked node", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn node_config(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<NodeConfig>, ApiError> {
    let (_, node) = node_caller(&state, &headers).await?;
    Ok(Json(super::stream_route::node_config(&state, node)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(join).layer(DefaultBodyLimit::max(MAX_JOIN_BODY))).routes(routes!(results)).routes(routes!(node_config))
}
