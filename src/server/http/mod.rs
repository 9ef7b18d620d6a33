//! The HTTP surface: the router that joins every capability's routes, the
//! accept loop, API errors, status, the snapshot route and the PWA files.

pub mod client_address;
pub mod error;
pub mod health;
pub mod listener;
pub mod openapi;
pub mod pwa;
pub mod status;

use axum::http::{header, HeaderValue};
use axum::http::{Response, StatusCode};
use axum::{
    extract::{rejection::QueryRejection, DefaultBodyLimit, Query, State},
    routing::{any, get},
    Json, Router,
};
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower::{util::MapResponse, ServiceExt};
use tower_http::{
    compression::CompressionLayer,
    services::{fs::ServeFileSystemResponseBody, ServeDir},
    trace::TraceLayer,
};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use crate::{
    app::{shell, App},
    model::Snapshot,
    server::{
        agents, alerts,
        auth::{self, access::Caller},
        events::{publish, sse},
        http::error::ApiError,
        metrics, monitor, speed,
        state::AppState,
        status_page, store,
    },
};

/// What the dashboard renders before its stream connects: recent samples, the latest checks, alert states.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SnapshotQuery {
    /// Whose speed tests to include: this server's (the default), an agent node's, or `*` for every node's.
    node: Option<String>,
}

#[utoipa::path(get, path = "/api/snapshot", tag = "dashboard", params(SnapshotQuery), responses((status = 200, description = "The snapshot, holding only what the caller may read", body = Snapshot),
    (status = 400, description = "A malformed query", body = crate::model::ApiErrorBody),
    (status = 401, description = "A session or token that no longer works", body = crate::model::ApiErrorBody),
    (status = 404, description = "node names no node the caller may read", body = crate::model::ApiErrorBody)))]
async fn snapshot(State(state): State<AppState>, caller: Caller, query: Result<Query<SnapshotQuery>, QueryRejection>) -> Result<Json<Snapshot>, ApiError> {
    let Query(query) = query?;
    let speed_node = state.speed_node(&caller, query.node.as_deref()).ok_or_else(|| {
        ApiError::NotFound(format!("node: no node named {:?} that you may read; leave it out for this server's tests", query.node.unwrap_or_default()))
    })?;
    Ok(Json(state.snapshot(&caller, speed_node)))
}

/// The dashboard address's `?node=`, decoded as axum decodes `/api/snapshot?node=`.
fn node_in_query(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes()).find(|(key, _)| key == "node").map(|(_, value)| value.into_owned()).filter(|value| !value.is_empty())
}

async fn unknown_api_route() -> ApiError {
    ApiError::NotFound("no such API route; see the README for the list".to_owned())
}

/// Gives each page render the snapshot its caller may read, so components
/// never reach into server state, and sets the page's policy with its nonce.
fn snapshot_context(state: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        let parts = use_context::<axum::http::request::Parts>();
        let (caller, session_ended) = auth::caller::page_caller(parts.as_ref());
        // A page asked for a node it cannot show shows this server's tests.
        let asked = parts.as_ref().and_then(|parts| parts.uri.query()).and_then(node_in_query);
        let speed_node = state.speed_node(&caller, asked.as_deref()).unwrap_or_else(|| state.config.node.clone());
        provide_context(state.snapshot(&caller, speed_node));
        let signed_in = match &caller {
            Caller::User { name, role, .. } => Some((name.clone(), role.to_string())),
            _ => None,
        };
        provide_context(crate::model::auth_page::PageAccount { signed_in, session_ended });
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            let nonce = leptos::nonce::use_nonce().map(|nonce| nonce.to_string());
            if let Ok(policy) = HeaderValue::from_str(&auth::headers::page_policy(nonce.as_deref())) {
                response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
            }
        }
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("this route does not take that method; see the README for the list".to_owned())
}

/// Routes whose answers may be compressed: the JSON API, metrics and the alerts page.
fn compressed_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(snapshot))
        .routes(routes!(status::status))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(monitor::push::push))
        .routes(routes!(store::route::history))
        .routes(routes!(publish::publish).layer(DefaultBodyLimit::max(publish::MAX_BODY)))
        .routes(routes!(openapi::openapi_json))
        .merge(alerts::routes::routes())
        .merge(alerts::silence_routes::routes())
        .merge(alerts::page::routes())
        .merge(auth::routes::routes())
        .merge(auth::users::routes())
        .merge(auth::audit_log::routes())
        .merge(auth::rules::routes())
        .merge(auth::sessions::routes())
        .merge(auth::two_factor::routes())
        .merge(auth::account_page::routes())
        .merge(auth::admin_page::routes())
        .merge(auth::pages::routes())
        .merge(auth::oidc::routes::routes())
        .merge(status_page::routes())
        .merge(agents::admin_routes::routes())
        .merge(speed::test_now::routes())
        .merge(agents::results_route::routes().layer(DefaultBodyLimit::max(agents::results_route::MAX_BODY)))
}

/// Routes never compressed: the event stream and the speed-test endpoints.
fn streaming_api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sse::events))
        .merge(status_page::stream_routes())
        .merge(agents::stream_route::routes())
        .nest("/speedtest", speed::routes::routes())
}

/// Every documented route, for the OpenAPI document.
pub fn api_routes() -> OpenApiRouter<AppState> {
    compressed_api().merge(streaming_api())
}

/// The whole HTTP surface: API, speed-test target endpoints, the dashboard and its assets.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let bundle = pwa::bundle_files(&state.config.site_root);
    // Compressed on the fly unless already compressed; never the event stream nor
    // `/speedtest`, which are routed after this layer: measurements see the bytes
    // they ask for, and streams carry no compressor state.
    let (compressed, _) = compressed_api().split_for_parts();
    let (streaming, _) = streaming_api().split_for_parts();
    let compressed = compressed
        .route("/api/{*rest}", any(unknown_api_route))
        .route("/sw.js", get(pwa::service_worker))
        .nest_service(&format!("/pkg/{}", state.shell.hash), cached(bundle.clone(), pwa::IMMUTABLE))
        .nest_service("/pkg", cached(bundle, "no-cache"))
        .leptos_routes_with_context(&state, generate_route_list(App), snapshot_context(state.clone()), move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(CompressionLayer::new());
    compressed
        // Never compressed, nor wrapped in the compressor's body: a stream lives long and holds its state.
        .merge(streaming)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::caller::layer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), client_address::layer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::headers::protective_headers))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// A request's URI as the logs show it: a push monitor's address (also a
/// mistyped `//api/push/…`) without its secret. Written only when a span is
/// recorded, so a request logged at no level costs no string.
struct LoggedUri<'a>(&'a axum::http::Uri);

impl std::fmt::Display for LoggedUri<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.path().contains("/api/push/") {
            f.write_str("/api/push/[redacted]")
        } else if self.0.path().starts_with("/setup") && self.0.query().is_some() {
            f.write_str("/setup?[redacted]")
        } else {
            self.0.fmt(f)
        }
    }
}

/// The request's span for the logs.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!("request", method = %request.method(), uri = %LoggedUri(request.uri()), version = ?request.version())
}

/// The bundle's files with `cache_control` on what was found; a 404 is never cached for good.
fn cached(
    files: ServeDir,
    cache_control: &'static str,
) -> MapResponse<ServeDir, impl FnOnce(Response<ServeFileSystemResponseBody>) -> Response<ServeFileSystemResponseBody> + Clone> {
    <ServeDir as ServiceExt<axum::extract::Request>>::map_response(files, move |mut response: Response<ServeFileSystemResponseBody>| {
        if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
        }
        response
    })
}

#[cfg(test)]
mod tests {
    use super::{node_in_query, LoggedUri};

    #[test]
    fn the_dashboards_node_is_read_from_any_query() {
        assert_eq!(node_in_query("node=tokyo").as_deref(), Some("tokyo"));
        assert_eq!(node_in_query("range=24h&node=%2A").as_deref(), Some("*"));
        assert_eq!(node_in_query("node="), None);
        assert_eq!(node_in_query("nodes=tokyo"), None);
    }

    #[test]
    fn logged_uris_never_carry_a_push_secret() {
        let shown = |uri: &str| LoggedUri(&uri.parse().unwrap()).to_string();
        assert_eq!(shown("/api/push/backup-job-0123456789?status=down"), "/api/push/[redacted]");
        assert_eq!(shown("//api/push/backup-job-0123456789"), "/api/push/[redacted]");
        assert_eq!(shown("/api/history?series=speed&last=60"), "/api/history?series=speed&last=60");
        assert_eq!(shown("/setup?key=one-time-key"), "/setup?[redacted]");
    }
}
