//! `GET /api/status`: what the event stream is doing right now.

use axum::{extract::State, Json};
use serde::Serialize;

use crate::{
    model::StoreHealth,
    server::{
        auth::access::{topic_series, Caller},
        events::subscribers::ConnectionCounts,
        AppState,
    },
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Status {
    version: &'static str,
    node: String,
    uptime_secs: u64,
    events_published: u64,
    connections: ConnectionCounts,
    limits: Limits,
    /// Whether history is being written; `ok: false` with the reason when not.
    store: StoreHealth,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Limits {
    max_connections: usize,
    max_per_client: usize,
}

/// What the event stream is doing: connections per topic, events published, the store's health.
/// Open to every caller, as a health check; counts are only of topics the caller may read.
#[utoipa::path(get, path = "/api/status", tag = "stream", responses((status = 200, description = "The stream's state", body = Status), (status = 401, description = "A session or token that no longer works", body = crate::model::ApiErrorBody)))]
pub async fn status(State(state): State<AppState>, caller: Caller) -> Json<Status> {
    let limits = state.subscribers.limits();
    let mut connections = state.subscribers.counts();
    connections.per_topic.retain(|topic, _| topic == "*" || state.auth.access().may_read(&caller, &topic_series(topic)));
    connections.producers_running.retain(|topic| state.auth.access().may_read(&caller, &topic_series(topic)));
    Json(Status {
        version: env!("CARGO_PKG_VERSION"),
        node: state.config.node.clone(),
        uptime_secs: state.started.elapsed().as_secs(),
        events_published: state.hub.published(),
        connections,
        limits: Limits { max_connections: limits.total, max_per_client: limits.per_client },
        store: state.writer.health(),
    })
}
