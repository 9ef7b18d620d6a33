//! `GET /api/events`: hub events as Server-Sent Events, with topic filtering,
//! resume through `Last-Event-ID` (from the log when the window is not enough),
//! heartbeats and proxy-safe headers. Each subscriber is sent only what it may
//! read, replays included, and its stream ends when its credentials do.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::{rejection::QueryRejection, Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use serde::Deserialize;
use tokio_stream::wrappers::{BroadcastStream, IntervalStream};

use crate::{
    model::{BUILTIN_TOPICS, NODE_TOPIC},
    server::{
        auth::{
            access::{topic_series, Action, Caller},
            guard::require,
            stream::{credentials_end, event_filter, still_valid},
        },
        events::hub::{StartFrom, Subscription},
        events::log::EventLog,
        events::node_filter::{keep_nodes, parse_nodes, Vantage},
        events::resume::{self, EventFilter},
        events::sse_frame,
        events::subscribers::{Refusal, Subscribers},
        events::topics::KnownTopics,
        http::{client_address::ClientAddress, error::ApiError},
        AppState,
    },
};

/// What a refused client is told to wait before trying again.
const RETRY_AFTER_SECS: u64 = 5;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Comma-separated topics; every built-in and declared topic by default.
    topics: Option<String>,
    /// For a first connect that should resume, since `EventSource` cannot set headers.
    #[serde(rename = "lastEventId")]
    last_event_id: Option<String>,
    /// `1`: each event's data in an envelope with the server's time.
    envelope: Option<String>,
    /// Comma-separated node names: only what those nodes measured (this server's own name for its own checks and tests, and custom topics).
    nodes: Option<String>,
}

/// The live event stream (Server-Sent Events): each event's type is its topic and its id a position to resume from.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "stream",
    params(EventsQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id, as a browser does on reconnect")),
    responses(
        (status = 200, description = "An endless stream of `event:`, `id:` and `data:` frames, with heartbeats", content_type = "text/event-stream", body = String),
        (status = 400, description = "An unknown topic, a bad event id or a bad node name", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in and visitors may read nothing, or a session or token that no longer works", body = crate::model::ApiErrorBody),
        (status = 403, description = "A custom topic the caller may not read", body = crate::model::ApiErrorBody),
        (status = 429, description = "Too many streams; retry after the Retry-After seconds", body = crate::model::ApiErrorBody),
        (status = 503, description = "Sign-in cannot be checked: the database is unavailable", body = crate::model::ApiErrorBody),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    // Listening first, then checking again: a revocation between the request's check and now is not missed.
    let revocations = state.auth.revocations();
    let still_valid = still_valid(&state.store, &caller).await.map_err(|_| ApiError::Unavailable("sign-in cannot be checked right now".to_owned()))?;
    if !still_valid {
        return Err(ApiError::Unauthorized("your session or token stopped working; sign in again".to_owned()));
    }
    if !state.auth.access().reads_anything(&caller) {
        return Err(ApiError::Unauthorized("sign in, or send a bearer token, to follow the stream".to_owned()));
    }
    let known = KnownTopics { declared: &state.config.topics, hub: &state.hub };
    let topics = known.parse_subscription(query.topics.as_deref())?;
    // A custom topic asked for by name must be readable; built-in ones are filtered per event.
    for topic in topics.iter().filter(|topic| !BUILTIN_TOPICS.contains(&topic.as_str())) {
        require(&state, &caller, &topic_series(topic), Action::Read)?;
    }
    let header_id =
        headers.get("last-event-id").map(|value| value.to_str().map_err(|_| ApiError::bad_request("Last-Event-ID must be a whole number"))).transpose()?;
    // The header is what a browser sends when it reconnects, so it is the newer of the two.
    let start = parse_start(header_id.or(query.last_event_id.as_deref()))?;
    let nodes = parse_nodes(query.nodes.as_deref(), &state.config.node)?;
    let enveloped = match query.envelope.as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => return Err(ApiError::bad_request(format!("envelope must be 0 or 1, got {other:?}"))),
    };
    let admission = state.subscribers.admit(client.0, &topics).map_err(|refusal| {
        let message = match refusal {
            Refusal::TooManyRequests => "the server has as many streams open as it allows; retry later",
            Refusal::TooManyFromClient => "this address has as many streams open as the server allows; close one or retry later",
        };
        ApiError::TooManyRequests { message: message.to_owned(), retry_after_secs: RETRY_AFTER_SECS }
    })?;
    let subscription = state.hub.subscribe(&topics, start);
    let allowed = keep_nodes(event_filter(&state.auth, &caller), nodes, vantage(&state));
    let feed = Feed { retry_ms: state.config.sse.retry_ms, subscribers: state.subscribers.clone(), log: state.log.clone(), enveloped, allowed };
    let frames = event_frames(subscription, topics, feed);
    let shutdown = state.shutdown.clone().cancelled_owned();
    // Ends within moments of a sign-out, a revoked token or a changed role; the reconnect then gets 401.
    let revoked = credentials_end(revocations, caller);
    let ended = async move {
        tokio::select! {
            () = shutdown => {}
            () = revoked => {}
        }
    };
    let body = with_heartbeats(frames, state.config.heartbeat()).take_until(ended).map(move |frame| {
        // The stream owns the admission, so the slot frees when the client goes.
        let _held = &admission;
        Ok::<_, Infallible>(frame)
    });
    Ok(stream_response(body))
}

/// This server's name and its rules on nodes, for `?nodes=`.
fn vantage(state: &AppState) -> Vantage {
    let watches_nodes = |series: &str| series == NODE_TOPIC || series.starts_with("node:");
    let node_rules = state.config.alert_rules.iter().filter(|rule| watches_nodes(&rule.series)).map(|rule| rule.name.clone()).collect();
    Vantage { here: state.config.node.clone(), node_rules }
}

/// An endless body as an event stream, with the headers every stream sends.
pub fn stream_response(body: impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static) -> Response {
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Stops nginx from buffering the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

pub fn parse_start(last_event_id: Option<&str>) -> Result<StartFrom, ApiError> {
    match last_event_id.map(str::trim) {
        None | Some("") => Ok(StartFrom::Latest),
        Some(raw) => raw.parse().map(StartFrom::After).map_err(|_| ApiError::bad_request(format!("Last-Event-ID must be a whole number, got {raw:?}"))),
    }
}

/// The `retry:` line, the backlog, then the live feed until the subscriber
/// falls too far behind (it then reconnects and resumes). Every frame was
/// encoded once at publish time; here it is only shared.
/// How a subscriber's frames are made.
struct Feed {
    retry_ms: u64,
    subscribers: Arc<Subscribers>,
    log: Arc<dyn EventLog>,
    enveloped: bool,
    allowed: EventFilter,
}

fn event_frames(subscription: Subscription, topics: Vec<String>, feed: Feed) -> impl Stream<Item = Bytes> {
    let Feed { retry_ms, subscribers, log, enveloped, allowed } = feed;
    let backlog = resume::backlog_frames(subscription.backlog, topics.clone(), log, enveloped, allowed.clone());
    let live = BroadcastStream::new(subscription.live)
        .take_while(move |received| {
            if received.is_err() {
                subscribers.note_dropped_for_lag();
            }
            std::future::ready(received.is_ok())
        })
        .filter_map(move |received| {
            let frame = received.ok().filter(|e| (topics.is_empty() || topics.iter().any(|t| *t == e.topic)) && allowed(e)).map(|e| e.frame_for(enveloped));
            std::future::ready(frame)
        });
    stream::once(std::future::ready(sse_frame::retry(retry_ms))).chain(backlog).chain(live)
}

/// Interleaves a heartbeat comment every `period`, and ends when `frames` ends.
pub fn with_heartbeats(frames: impl Stream<Item = Bytes>, period: Duration) -> impl Stream<Item = Bytes> {
    let first = tokio::time::Instant::now() + period;
    let beats = IntervalStream::new(tokio::time::interval_at(first, period)).map(|_| Some(sse_frame::HEARTBEAT));
    // `None` marks the end of the events, which the endless heartbeats would otherwise hide.
    let frames = frames.map(Some).chain(stream::once(async { None }));
    stream::select(frames, beats).take_while(|frame| std::future::ready(frame.is_some())).filter_map(std::future::ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_event_id() {
        assert_eq!(parse_start(None).unwrap(), StartFrom::Latest);
        assert_eq!(parse_start(Some(" ")).unwrap(), StartFrom::Latest);
        assert_eq!(parse_start(Some("42")).unwrap(), StartFrom::After(42));
        assert!(parse_start(Some("-1")).is_err());
        assert!(parse_start(Some("abc")).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn heartbeats_interleave_and_stop_with_the_events() {
        let events = stream::iter([Bytes::from_static(b"a"), Bytes::from_static(b"b")]).chain(stream::once(async {
            tokio::time::sleep(Duration::from_millis(250)).await;
            Bytes::from_static(b"c")
        }));
        let out: Vec<Bytes> = with_heartbeats(events, Duration::from_millis(100)).collect().await;
        let beats = out.iter().filter(|f| **f == sse_frame::HEARTBEAT).count();
        assert_eq!(beats, 2, "{out:?}");
        assert_eq!(out.last().unwrap(), &Bytes::from_static(b"c"));
    }
}
