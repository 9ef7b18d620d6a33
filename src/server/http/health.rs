//! `GET /healthz` and `GET /readyz`, for a load balancer or an orchestrator:
//! alive while the process answers, and ready while the database answers and
//! the server is not shutting down, so a proxy stops sending new clients to
//! a replica that is draining.

use std::time::Duration;

use axum::{extract::State, http::StatusCode, Json};
use serde::Serialize;

use crate::{model::StoreHealth, server::AppState};

/// How long the database may take to answer before the server counts as not ready.
const DATABASE_DEADLINE: Duration = Duration::from_secs(2);

#[derive(Serialize, utoipa::ToSchema)]
pub struct Alive {
    /// Always `alive`.
    status: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    ready: bool,
    /// Why not, when not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Whether history is being written: a full disk leaves the server ready, with live events.
    store: StoreHealth,
    /// The database behind the store: `sqlite` or `postgres`.
    database: &'static str,
}

/// Alive: the process answers. No database, no access check.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process answers", body = Alive)))]
pub async fn healthz() -> Json<Alive> {
    Json(Alive { status: "alive" })
}

/// Ready: the database answers within 2 s and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready for clients", body = Readiness),
    (status = 503, description = "Not ready: the database does not answer, or the server is shutting down", body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let reason = if state.shutdown.is_cancelled() {
        Some("shutting down".to_owned())
    } else {
        match tokio::time::timeout(DATABASE_DEADLINE, state.store.ping()).await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: the database does not answer");
                Some("the database does not answer".to_owned())
            }
            Err(_) => Some(format!("the database did not answer within {} s", DATABASE_DEADLINE.as_secs())),
        }
    };
    let status = if reason.is_none() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Readiness { ready: reason.is_none(), reason, store: state.writer.health(), database: state.store.backend().name() }))
}
