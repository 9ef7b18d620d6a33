//! `GET /api/events`: hub events as Server-Sent Events, with topic filtering,
//! resume through `Last-Event-ID`, heartbeats and proxy-safe headers.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{rejection::QueryRejection, ConnectInfo, Query, State},
    http::{HeaderMap, HeaderName, HeaderValue},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use futures_util::{stream, Stream, StreamExt};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;

use crate::server::{
    error::ApiError,
    hub::{Backlog, HubEvent, StartFrom, Subscription},
    subscribers::{Admission, Refusal, Subscribers},
    topics::KnownTopics,
    AppState,
};

/// What a refused client is told to wait before trying again.
const RETRY_AFTER_SECS: u64 = 5;

#[derive(Deserialize)]
pub struct EventsQuery {
    topics: Option<String>,
    /// For a first connect that should resume, since `EventSource` cannot set headers.
    #[serde(rename = "lastEventId")]
    last_event_id: Option<String>,
}

pub async fn events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let known = KnownTopics { declared: &state.config.topics, hub: &state.hub };
    let topics = known.parse_subscription(query.topics.as_deref())?;
    let header_id = headers
        .get("last-event-id")
        .map(|value| value.to_str().map_err(|_| ApiError::bad_request("Last-Event-ID must be a whole number")))
        .transpose()?;
    // The header is what a browser sends when it reconnects, so it is the newer of the two.
    let start = parse_start(header_id.or(query.last_event_id.as_deref()))?;
    let admission = state.subscribers.admit(peer.ip().to_canonical(), &topics).map_err(|refusal| {
        let message = match refusal {
            Refusal::TooManyConnections => "the server has as many streams open as it allows; retry later",
            Refusal::TooManyFromClient => "this address has as many streams open as the server allows; close one or retry later",
        };
        ApiError::TooManyConnections { message: message.to_owned(), retry_after_secs: RETRY_AFTER_SECS }
    })?;
    let subscription = state.hub.subscribe(&topics, start);
    let retry = Duration::from_millis(state.config.sse.retry_ms);
    let shutdown = state.shutdown.clone().cancelled_owned();
    let events = event_stream(subscription, topics, retry, admission, state.subscribers.clone()).take_until(shutdown);
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(state.config.heartbeat()).text("heartbeat"));
    // Sse sets Content-Type and Cache-Control; this one stops nginx from buffering.
    Ok(([(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"))], sse).into_response())
}

pub fn parse_start(last_event_id: Option<&str>) -> Result<StartFrom, ApiError> {
    match last_event_id.map(str::trim) {
        None | Some("") => Ok(StartFrom::Latest),
        Some(raw) => raw
            .parse()
            .map(StartFrom::After)
            .map_err(|_| ApiError::bad_request(format!("Last-Event-ID must be a whole number, got {raw:?}"))),
    }
}

fn to_sse(event: &HubEvent) -> Event {
    Event::default().event(&event.topic).id(event.id.to_string()).data(&event.data)
}

/// Carries the id the live feed continues from, so the browser's next
/// automatic reconnect resumes from there instead of resetting again.
fn reset_event(resume_from: u64) -> Event {
    Event::default()
        .event("reset")
        .id(resume_from.to_string())
        .data(r#"{"reason":"the requested id can no longer be replayed; reload the current state"}"#)
}

/// The `retry:` line, the backlog, then the live feed until the subscriber
/// falls too far behind (it then reconnects and resumes). The admission is
/// held by the stream, so the slot frees when the client goes.
fn event_stream(
    subscription: Subscription,
    topics: Vec<String>,
    retry: Duration,
    admission: Admission,
    subscribers: Arc<Subscribers>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let head = Event::default().retry(retry);
    let backlog: Vec<Event> = match subscription.backlog {
        Backlog::Events(events) => events.iter().map(|e| to_sse(e)).collect(),
        Backlog::Reset { resume_from } => vec![reset_event(resume_from)],
    };
    let wanted = move |event: &Arc<HubEvent>| topics.is_empty() || topics.iter().any(|t| *t == event.topic);
    let live = BroadcastStream::new(subscription.live)
        .take_while(move |received| {
            if received.is_err() {
                subscribers.note_dropped_for_lag();
            }
            std::future::ready(received.is_ok())
        })
        .filter_map(move |received| std::future::ready(received.ok().filter(|e| wanted(e)).map(|e| to_sse(&e))));
    stream::iter(std::iter::once(head).chain(backlog)).chain(live).map(move |event| {
        let _held = &admission;
        Ok(event)
    })
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
}
