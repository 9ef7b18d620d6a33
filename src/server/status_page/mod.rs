//! Public status pages (`/status`, `/status/{name}`) and their live stream
//! (`/status/{name}/events`). A page is itself an access rule: it shows the
//! monitors and speed summaries its config lists to anyone, and nothing else.

pub mod config;

use std::{convert::Infallible, sync::Arc};

use axum::{
    extract::{Path, State},
    http::header,
    response::{Html, IntoResponse, Response},
};
use futures_util::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::status_document,
    model::{status_page::StatusPageData, ProbeResult, SpeedSample, PROBE_TOPIC, SPEED_TOPIC},
    server::{
        events::{
            hub::{HubEvent, StartFrom},
            sse::{stream_response, with_heartbeats},
            sse_frame,
        },
        http::{client_address::ClientAddress, error::ApiError},
        status_page::config::StatusPageConfig,
        AppState,
    },
};

fn page_named<'a>(state: &'a AppState, name: Option<&str>) -> Result<&'a StatusPageConfig, ApiError> {
    let pages = &state.config.status_pages;
    match name {
        None => pages.first().ok_or_else(|| ApiError::NotFound("no status page is configured; add a [[status_page]] table".to_owned())),
        Some(name) => pages.iter().find(|page| page.name == name).ok_or_else(|| ApiError::NotFound(format!("no status page is called {name:?}"))),
    }
}

/// What the page's stream carries of an event: only what the page shows (a
/// listed monitor's state, response time and time; a test's figures), never a
/// check's URL, error or answer. `None` for an event the page does not show:
/// speed tests are this server's (`here`), not its agent nodes'.
fn public_frame(page: &StatusPageConfig, here: &str, event: &HubEvent) -> Option<bytes::Bytes> {
    let data = if event.topic == PROBE_TOPIC && page.monitors.contains(&event.key) {
        let probe: ProbeResult = serde_json::from_str(&event.data).ok()?;
        serde_json::json!({ "monitor": probe.monitor, "up": probe.up, "response_ms": probe.response_ms, "at": probe.at })
    } else if page.speed && event.topic == SPEED_TOPIC {
        let sample: SpeedSample = serde_json::from_str(&event.data).ok().filter(|sample: &SpeedSample| sample.node == here)?;
        serde_json::json!({
            "target": sample.target, "at": sample.at, "download_mbps": sample.download_mbps,
            "upload_mbps": sample.upload_mbps, "latency_ms": sample.latency_ms,
        })
    } else {
        return None;
    };
    Some(sse_frame::event(&event.topic, None, &data.to_string()))
}

fn gather(state: &AppState, page: &StatusPageConfig) -> StatusPageData {
    let probe = |name: &String| state.hub.latest(PROBE_TOPIC, name).and_then(|event| serde_json::from_str::<ProbeResult>(&event.data).ok());
    // Each of this server's targets by its own key, so agent nodes' tests never crowd one out.
    let speed: Vec<SpeedSample> = if page.speed {
        let labels = state.config.speed.targets().into_iter().map(|scheduled| scheduled.target.label());
        labels.filter_map(|label| state.hub.latest(SPEED_TOPIC, &label)).filter_map(|event| serde_json::from_str(&event.data).ok()).collect()
    } else {
        Vec::new()
    };
    StatusPageData {
        name: page.name.clone(),
        title: page.title().to_owned(),
        monitors: page.monitors.iter().map(|name| (name.clone(), probe(name))).collect(),
        speed,
    }
}

fn render(state: &AppState, name: Option<&str>) -> Response {
    match page_named(state, name) {
        Ok(page) => {
            let html = status_document(&state.leptos_options, gather(state, page));
            // Short-lived caching lets a busy page be served by a proxy's cache; the stream keeps it current.
            ([(header::CACHE_CONTROL, "public, max-age=5")], Html(html)).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// The first status page.
#[utoipa::path(get, path = "/status", tag = "pages",
    responses((status = 200, description = "The page", content_type = "text/html; charset=utf-8", body = String), (status = 404, description = "No status page is configured", body = crate::model::ApiErrorBody)))]
async fn first_page(State(state): State<AppState>) -> Response {
    render(&state, None)
}

/// A status page by name.
#[utoipa::path(get, path = "/status/{name}", tag = "pages", params(("name" = String, Path)),
    responses((status = 200, description = "The page", content_type = "text/html; charset=utf-8", body = String), (status = 404, description = "No such page", body = crate::model::ApiErrorBody)))]
async fn named_page(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    render(&state, Some(&name))
}

/// The page's live feed: its monitors' checks and, when shown, speed tests, as SSE.
#[utoipa::path(get, path = "/status/{name}/events", tag = "stream", params(("name" = String, Path)),
    responses((status = 200, description = "An endless stream of the page's probe and speed events", content_type = "text/event-stream", body = String),
        (status = 404, description = "No such page", body = crate::model::ApiErrorBody),
        (status = 429, description = "Too many streams; retry after the Retry-After seconds", body = crate::model::ApiErrorBody)))]
async fn page_events(State(state): State<AppState>, client: ClientAddress, Path(name): Path<String>) -> Result<Response, ApiError> {
    let page = Arc::new(page_named(&state, Some(&name))?.clone());
    let topics = [PROBE_TOPIC.to_owned(), SPEED_TOPIC.to_owned()];
    // Limited like /api/events but counted apart: the page is open to anyone, and
    // behind a proxy every visitor has one address, which must not block the dashboard's streams.
    let admission = state
        .status_subscribers
        .admit(client.0, &topics)
        .map_err(|_| ApiError::TooManyRequests { message: "the server has as many streams open as it allows; retry later".to_owned(), retry_after_secs: 5 })?;
    let subscription = state.hub.subscribe(&topics, StartFrom::Latest);
    let here = state.config.node.clone();
    let live = BroadcastStream::new(subscription.live)
        .take_while(|received| std::future::ready(received.is_ok()))
        .filter_map(move |received| std::future::ready(received.ok().and_then(|event| public_frame(&page, &here, &event))));
    let frames = futures_util::stream::once(std::future::ready(sse_frame::retry(state.config.sse.retry_ms))).chain(live);
    let shutdown = state.shutdown.clone().cancelled_owned();
    let body = with_heartbeats(frames, state.config.heartbeat()).take_until(shutdown).map(move |frame| {
        // The stream owns the admission, so the slot frees when the visitor goes.
        let _held = &admission;
        Ok::<_, Infallible>(frame)
    });
    Ok(stream_response(body))
}

/// The pages, compressed like every page.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(first_page)).routes(routes!(named_page))
}

/// The stream, never compressed.
pub fn stream_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(page_events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_page_carries_this_servers_speed_tests_not_its_nodes() {
        let page = StatusPageConfig { name: "home".into(), title: None, monitors: Vec::new(), speed: true };
        let sample = |node: &str, target: &str| {
            let sample = SpeedSample { node: node.into(), target: target.into(), ..SpeedSample::for_test(1_767_225_600, Some(90.0), Some(20.0)) };
            HubEvent::new(1, SPEED_TOPIC.into(), target.into(), 0, serde_json::to_string(&sample).unwrap())
        };
        let own = public_frame(&page, "home-server", &sample("home-server", "http://h/speedtest")).unwrap();
        assert!(String::from_utf8_lossy(&own).contains("\"download_mbps\":90.0"));
        assert_eq!(public_frame(&page, "home-server", &sample("tokyo", "http://h/speedtest@tokyo")), None);
    }
}
