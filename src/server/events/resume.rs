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

/// The reset frame carries the id the live feed continues from, so the
/// browser's next automatic reconnect resumes from there instead of resetting again.
pub fn reset_frame(resume_from: u64) -> Bytes {
    sse_frame::event("reset", Some(resume_from), r#"{"reason":"the requested id can no longer be replayed; reload the current state"}"#)
}

fn frames(events: &[Arc<HubEvent>]) -> Vec<Bytes> {
    events.iter().map(|e| e.frame.clone()).collect()
}

/// The backlog as frames, oldest first.
pub fn backlog_frames(backlog: Backlog, topics: Vec<String>, log: Arc<dyn EventLog>) -> impl Stream<Item = Bytes> + Send {
    match backlog {
        Backlog::Events(events) => stream::iter(frames(&events)).left_stream(),
        Backlog::Reset { resume_from } => stream::iter(vec![reset_frame(resume_from)]).left_stream(),
        Backlog::FromLog { after, before, then, newest } => from_log(after, before, then, newest, topics, log).right_stream(),
    }
}

enum Page {
    Check(Vec<Arc<HubEvent>>),
    Read { after: u64, then: Vec<Arc<HubEvent>> },
    Window(Vec<Arc<HubEvent>>),
    Done,
}

fn from_log(after: u64, before: u64, then: Vec<Arc<HubEvent>>, newest: u64, topics: Vec<String>, log: Arc<dyn EventLog>) -> impl Stream<Item = Bytes> + Send {
    stream::unfold(Page::Check(then), move |page| {
        let (log, topics) = (log.clone(), topics.clone());
        async move {
            match page {
                Page::Check(then) => match log.replayable_after().await {
                    Ok(replayable_after) if after >= replayable_after => Some((Vec::new(), Page::Read { after, then })),
                    Ok(_) => Some((vec![reset_frame(newest)], Page::Done)),
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the event log to resume a client; it is reset");
                        Some((vec![reset_frame(newest)], Page::Done))
                    }
                },
                Page::Read { after, then } => match log.read_range(after, before, &topics, PAGE).await {
                    Ok(events) if events.len() == PAGE => {
                        let next = events.last().map_or(before, |e| e.id);
                        Some((frames(&events), Page::Read { after: next, then }))
                    }
                    Ok(events) => Some((frames(&events), Page::Window(then))),
                    Err(error) => {
                        tracing::warn!(%error, "reading the event log failed midway; the client is reset");
                        Some((vec![reset_frame(newest)], Page::Done))
                    }
                },
                Page::Window(then) => Some((frames(&then), Page::Done)),
                Page::Done => None,
            }
        }
    })
    .flat_map(stream::iter)
}
