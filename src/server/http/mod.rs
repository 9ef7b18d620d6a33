//! The HTTP surface: the router that joins every capability's routes, the
//! accept loop, API errors, status, the snapshot route and the PWA files.

pub mod error;
pub mod listener;
pub mod pwa;
pub mod status;

use axum::{
    extract::{DefaultBodyLimit, State},
    routing::{any, get, post},
    Json, Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::TraceLayer;

use crate::{
    app::{shell, App},
    model::Snapshot,
    server::{
        events::{publish, sse},
        http::error::ApiError,
        speed,
        state::AppState,
        store,
    },
};

async fn snapshot(State(state): State<AppState>) -> Json<Snapshot> {
    Json(state.snapshot())
}

async fn unknown_api_route() -> ApiError {
    ApiError::NotFound("no such API route; see the README for the list".to_owned())
}

/// Gives each page render the current snapshot, so components never reach into server state.
fn snapshot_context(state: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    move || provide_context(state.snapshot())
}

/// The whole HTTP surface: API, speed-test target endpoints, the dashboard and its assets.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    Router::new()
        .route("/api/events", get(sse::events))
        .route("/api/snapshot", get(snapshot))
        .route("/api/status", get(status::status))
        .route("/api/history", get(store::route::history))
        .route("/api/publish/{topic}", post(publish::publish).layer(DefaultBodyLimit::max(publish::MAX_BODY)))
        .route("/api/{*rest}", any(unknown_api_route))
        .route("/sw.js", get(pwa::service_worker))
        .nest("/speedtest", speed::routes::routes())
        .leptos_routes_with_context(&state, generate_route_list(App), snapshot_context(state.clone()), move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

