//! `GET /api/status`: what the event stream is doing right now.

use axum::{extract::State, Json};
use serde::Serialize;

use crate::{
    model::StoreHealth,
    server::{events::subscribers::ConnectionCounts, AppState},
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
#[utoipa::path(get, path = "/api/status", tag = "stream", responses((status = 200, description = "The stream's state", body = Status)))]
pub async fn status(State(state): State<AppState>) -> Json<Status> {
    let limits = state.subscribers.limits();
    Json(Status {
        version: env!("CARGO_PKG_VERSION"),
        node: state.config.node.clone(),
        uptime_secs: state.started.elapsed().as_secs(),
        events_published: state.hub.published(),
        connections: state.subscribers.counts(),
        limits: Limits { max_connections: limits.total, max_per_client: limits.per_client },
        store: state.writer.health(),
    })
}
