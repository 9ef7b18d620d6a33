//! What a subscriber is sent before the live feed: the hub's backlog, and for
//! a client that was away longer than the in-memory window, the events it
//! missed read from the log page by page, or `reset` if they are gone.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};

use crate::server::events::{
    hub::{Backlog, HubEvent},
    log::EventLog,
    sse_frame,
};

/// Events read from the log per query.
const PAGE: usize = 500;

/// Most events a resume replays from the log; a client that missed more
/// reloads the page's state instead, which is faster than replaying it all.
pub const MAX_LOG_REPLAY: usize = 10_000;

/// The reset frame carries the id the live feed continues from, so the
/// browser's next automatic reconnect resumes from there instead of resetting again.
pub fn reset_frame(resume_from: u64) -> Bytes {
    sse_frame::event("reset", Some(resume_from), r#"{"reason":"the requested id can no longer be replayed; reload the current state"}"#)
}

/// Which events a subscriber may be sent: the access decision, asked of the
/// backlog and the log replay as of the live feed.
pub type EventFilter = Arc<dyn Fn(&HubEvent) -> bool + Send + Sync>;

fn frames(events: &[Arc<HubEvent>], enveloped: bool, allowed: &EventFilter) -> Vec<Bytes> {
    events.iter().filter(|e| allowed(e)).map(|e| e.frame_for(enveloped)).collect()
}

/// The backlog as frames, oldest first, enveloped or as published.
pub fn backlog_frames(
    backlog: Backlog,
    topics: Vec<String>,
    log: Arc<dyn EventLog>,
    enveloped: bool,
    allowed: EventFilter,
) -> impl Stream<Item = Bytes> + Send {
    match backlog {
        Backlog::Events(events) => stream::iter(frames(&events, enveloped, &allowed)).left_stream(),
        Backlog::Reset { resume_from } => stream::iter(vec![reset_frame(resume_from)]).left_stream(),
        Backlog::FromLog { after, before, then, newest } => from_log(Gap { after, before, newest, enveloped }, then, topics, log, allowed).right_stream(),
    }
}

/// The part of a backlog that comes from the log.
#[derive(Clone, Copy)]
struct Gap {
    after: u64,
    before: u64,
    newest: u64,
    enveloped: bool,
}

enum Page {
    Check(Vec<Arc<HubEvent>>),
    Read { after: u64, then: Vec<Arc<HubEvent>> },
    Window(Vec<Arc<HubEvent>>),
    Done,
}

/// Whether the log still holds every event after `after`, and few enough of them.
async fn replayable(log: &dyn EventLog, after: u64, before: u64, topics: &[String]) -> Result<bool, crate::server::events::log::LogError> {
    if after < log.replayable_after().await? {
        return Ok(false);
    }
    Ok(log.count_range(after, before, topics, MAX_LOG_REPLAY + 1).await? <= MAX_LOG_REPLAY)
}

fn from_log(gap: Gap, then: Vec<Arc<HubEvent>>, topics: Vec<String>, log: Arc<dyn EventLog>, allowed: EventFilter) -> impl Stream<Item = Bytes> + Send {
    let Gap { after, before, newest, enveloped } = gap;
    stream::unfold(Page::Check(then), move |page| {
        let (log, topics, allowed) = (log.clone(), topics.clone(), allowed.clone());
        async move {
            match page {
                Page::Check(then) => match replayable(log.as_ref(), after, before, &topics).await {
                    Ok(true) => Some((Vec::new(), Page::Read { after, then })),
                    Ok(false) => Some((vec![reset_frame(newest)], Page::Done)),
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the event log to resume a client; it is reset");
                        Some((vec![reset_frame(newest)], Page::Done))
                    }
                },
                Page::Read { after, then } => match log.read_range(after, before, &topics, PAGE).await {
                    Ok(events) if events.len() == PAGE => {
                        let next = events.last().map_or(before, |e| e.id);
                        Some((frames(&events, enveloped, &allowed), Page::Read { after: next, then }))
                    }
                    Ok(events) => Some((frames(&events, enveloped, &allowed), Page::Window(then))),
                    Err(error) => {
                        tracing::warn!(%error, "reading the event log failed midway; the client is reset");
                        Some((vec![reset_frame(newest)], Page::Done))
                    }
                },
                Page::Window(then) => Some((frames(&then, enveloped, &allowed), Page::Done)),
                Page::Done => None,
            }
        }
    })
    .flat_map(stream::iter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    async fn log_with(events: usize) -> (Arc<Store>, u64, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), 0).await.unwrap());
        let first = store.replayable_after().await.unwrap() + 1;
        let batch: Vec<_> = (0..events as u64).map(|n| Arc::new(HubEvent::new(first + n, "sales".into(), String::new(), 0, "{}".into()))).collect();
        store.append_events(&batch, None).await.unwrap();
        (store, first, dir)
    }

    async fn frames_after(store: Arc<Store>, after: u64, before: u64) -> Vec<Bytes> {
        let backlog = Backlog::FromLog { after, before, then: Vec::new(), newest: before - 1 };
        backlog_frames(backlog, vec!["sales".into()], store, false, Arc::new(|_: &HubEvent| true)).collect().await
    }

    #[tokio::test]
    async fn a_gap_within_the_cap_is_replayed_from_the_log_in_order() {
        let (store, first, _dir) = log_with(1203).await;
        let frames = frames_after(store, first, first + 1203).await;
        assert_eq!(frames.len(), 1202, "every event after the first, across three pages");
        assert!(frames.iter().all(|f| f.starts_with(b"event: sales\n")));
        let ids: Vec<String> = frames.iter().map(|f| String::from_utf8_lossy(f).lines().nth(1).unwrap_or_default().to_owned()).collect();
        assert_eq!(ids[0], format!("id: {}", first + 1));
        assert_eq!(ids[1201], format!("id: {}", first + 1202));
    }

    #[tokio::test]
    async fn more_than_the_cap_or_a_pruned_start_resets() {
        let (store, first, _dir) = log_with(MAX_LOG_REPLAY + 2).await;
        let frames = frames_after(store.clone(), first - 1, first + MAX_LOG_REPLAY as u64 + 2).await;
        assert_eq!(frames.len(), 1);
        assert!(frames[0].starts_with(b"event: reset\n"));
        // From before the log's first id: not exact, so reset too.
        let frames = frames_after(store, first - 2, first + 3).await;
        assert!(frames.len() == 1 && frames[0].starts_with(b"event: reset\n"));
    }
}
