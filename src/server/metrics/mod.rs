//! `GET /metrics`: netpulse's figures for Prometheus, in its text format,
//! read from the server's current state at each scrape, holding only the
//! series the scraper may read (send a token with `read:*`).

mod families;

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use prometheus::{Encoder, TextEncoder};

use crate::server::{auth::access::Caller, AppState};

/// The latest figures in the Prometheus text format (0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "metrics", responses(
    (status = 200, description = "Prometheus text exposition", content_type = "text/plain; version=0.0.4", body = String),
    (status = 401, description = "A session or token that no longer works", body = crate::model::ApiErrorBody),
    (status = 500, description = "The figures could not be encoded (logged)", content_type = "text/plain; charset=utf-8", body = String),
))]
pub async fn metrics(State(state): State<AppState>, caller: Caller) -> Response {
    let registry = families::gather(&state, &caller);
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    match encoder.encode(&registry.gather(), &mut body) {
        Ok(()) => ([(header::CONTENT_TYPE, encoder.format_type())], body).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode the metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, "the metrics could not be encoded").into_response()
        }
    }
}
