//! Push (heartbeat) monitors: a cron job or another system calls
//! `/api/push/<secret>` when it has done its work, and the monitor is down
//! when no call came within its interval plus its grace.

use std::time::Duration;

use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    Json,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{
    model::{ProbeResult, PROBE_TOPIC},
    server::{
        clock::now_ms,
        config::secret::Secret,
        events::writer::Writer,
        http::error::ApiError,
        monitor::config::{Check, Monitor},
        AppState,
    },
};

/// The longest message a push may carry, in bytes.
const MOST_MESSAGE_BYTES: usize = 500;

/// A call, passed to the monitor's task, which writes every result of its
/// monitor, so that a call and a missed deadline never race.
struct Beat {
    up: bool,
    error: Option<String>,
    written: oneshot::Sender<bool>,
}

struct Entry {
    name: String,
    secret: Secret,
    beats: mpsc::Sender<Beat>,
}

/// Every push monitor's secret, for the push route to find its monitor by.
#[derive(Default)]
pub struct PushMonitors {
    entries: Vec<Entry>,
}

/// A push monitor, and what its task waits on.
pub struct Waiting {
    pub monitor: Monitor,
    pub grace: Duration,
    beats: mpsc::Receiver<Beat>,
}

impl PushMonitors {
    /// The push monitors among `monitors`, with a task's share of each.
    pub fn new(monitors: &[Monitor]) -> (Self, Vec<Waiting>) {
        let mut entries = Vec::new();
        let mut waiting = Vec::new();
        for monitor in monitors {
            let Check::Push { secret, grace } = &monitor.check else { continue };
            let (beats, receiver) = mpsc::channel(16);
            entries.push(Entry { name: monitor.name.clone(), secret: secret.clone(), beats });
            waiting.push(Waiting { monitor: monitor.clone(), grace: *grace, beats: receiver });
        }
        (Self { entries }, waiting)
    }

    /// The monitor whose secret is `presented`. Every secret is compared, in
    /// constant time, so how long this takes says nothing about any of them.
    fn find(&self, presented: &str) -> Option<&Entry> {
        let mut found = None;
        for entry in &self.entries {
            if bool::from(entry.secret.expose().as_bytes().ct_eq(presented.as_bytes())) {
                found = Some(entry);
            }
        }
        found
    }
}

fn result(name: &str, up: bool, error: Option<String>) -> ProbeResult {
    ProbeResult { monitor: name.to_owned(), url: "push".to_owned(), at: Utc::now(), up, error, ..ProbeResult::default() }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// When the next "down" is due, in Unix ms, after the last result written
/// (`latest`, from before a restart too): a call gives the interval plus the
/// grace, a missed deadline the interval. With none yet, counted from `now_ms`.
fn next_deadline(latest: Option<&ProbeResult>, interval: Duration, grace: Duration, now_ms: i64) -> i64 {
    match latest {
        Some(last) if last.error.as_deref().is_some_and(|e| e.starts_with(SILENT)) => last.at.timestamp_millis().saturating_add(millis(interval)),
        Some(last) => last.at.timestamp_millis().saturating_add(millis(interval + grace)),
        None => now_ms.saturating_add(millis(interval + grace)),
    }
}

/// How a missed deadline's result begins.
const SILENT: &str = "no push received";

/// Writes the monitor's results: each call as it comes, and "down" whenever its
/// deadline passes. `latest` is the result the monitor had before a restart.
pub async fn run_push_monitor(waiting: Waiting, latest: Option<ProbeResult>, writer: Writer, shutdown: CancellationToken) {
    let Waiting { monitor, grace, mut beats } = waiting;
    let mut last_call_ms = latest.as_ref().filter(|last| !last.error.as_deref().is_some_and(|e| e.starts_with(SILENT))).map(|last| last.at.timestamp_millis());
    let mut deadline_ms = next_deadline(latest.as_ref(), monitor.interval, grace, now_ms());
    loop {
        // Wall-clock time: a restart or a suspended machine does not push the deadline back.
        let wait = Duration::from_millis(u64::try_from(deadline_ms.saturating_sub(now_ms())).unwrap_or(0));
        let written = tokio::select! {
            _ = shutdown.cancelled() => break,
            beat = beats.recv() => {
                let Some(Beat { up, error, written }) = beat else { break };
                let ok = publish(&writer, &result(&monitor.name, up, error)).await;
                let _ = written.send(ok);
                last_call_ms = Some(now_ms());
                monitor.interval + grace
            }
            _ = tokio::time::sleep(wait) => {
                let silence = match last_call_ms {
                    Some(at) => format!("{SILENT} for {}", humantime::format_duration(Duration::from_secs(u64::try_from((now_ms() - at) / 1000).unwrap_or(0)))),
                    None => format!("{SILENT} in the last {}", humantime::format_duration(monitor.interval)),
                };
                publish(&writer, &result(&monitor.name, false, Some(silence))).await;
                // Still down: said again each interval, as a checked monitor would be.
                monitor.interval
            }
        };
        deadline_ms = now_ms().saturating_add(millis(written));
    }
}

async fn publish(writer: &Writer, result: &ProbeResult) -> bool {
    let data = serde_json::to_string(result).expect("a probe result always serialises");
    writer.publish(PROBE_TOPIC, &result.monitor, data).await.is_ok()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PushQuery {
    /// `up` (the default) or `down`.
    #[param(pattern = "^(up|down)$")]
    status: Option<String>,
    /// Why, for a push that reports down; shown as the check's error.
    msg: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PushAck {
    monitor: String,
    up: bool,
}

/// `GET` or `POST /api/push/{secret}`: a heartbeat.
#[utoipa::path(
    method(get, post),
    path = "/api/push/{secret}",
    tag = "monitors",
    params(("secret" = String, Path, description = "The push monitor's secret"), PushQuery),
    responses(
        (status = 200, description = "Recorded as the monitor's latest result", body = PushAck),
        (status = 400, description = "A bad status, an over-long msg or an unknown parameter", body = crate::model::ApiErrorBody),
        (status = 404, description = "No push monitor has this secret", body = crate::model::ApiErrorBody),
        (status = 503, description = "The result could not be written, or netpulse is shutting down", body = crate::model::ApiErrorBody),
    )
)]
pub async fn push(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    query: Result<Query<PushQuery>, QueryRejection>,
) -> Result<Json<PushAck>, ApiError> {
    let entry = state.pushes.find(&secret).ok_or_else(|| ApiError::NotFound("no push monitor has this address".to_owned()))?;
    let Query(query) = query?;
    let up = match query.status.as_deref() {
        None | Some("up") => true,
        Some("down") => false,
        Some(other) => return Err(ApiError::bad_request(format!("status must be up or down, got {other:?}"))),
    };
    let message = query.msg.filter(|m| !m.trim().is_empty());
    if message.as_ref().is_some_and(|m| m.len() > MOST_MESSAGE_BYTES) {
        return Err(ApiError::bad_request(format!("msg must be at most {MOST_MESSAGE_BYTES} bytes")));
    }
    let error = (!up).then(|| message.unwrap_or_else(|| "reported down by its push".to_owned()));
    let (written, answer) = oneshot::channel();
    let stopping = || ApiError::Unavailable("netpulse is shutting down".to_owned());
    entry.beats.send(Beat { up, error, written }).await.map_err(|_| stopping())?;
    if !answer.await.unwrap_or(false) {
        return Err(stopping());
    }
    Ok(Json(PushAck { monitor: entry.name.clone(), up }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64, error: Option<&str>) -> ProbeResult {
        ProbeResult { at: chrono::DateTime::from_timestamp_millis(ms).unwrap(), ..result("backup", error.is_none(), error.map(str::to_owned)) }
    }

    #[test]
    fn deadlines_follow_the_last_result_even_across_a_restart() {
        let (interval, grace) = (Duration::from_secs(60), Duration::from_secs(10));
        assert_eq!(next_deadline(None, interval, grace, 1_000_000), 1_070_000, "from start-up, with the grace");
        assert_eq!(next_deadline(Some(&at(500_000, None)), interval, grace, 1_000_000), 570_000, "a call long ago: due already");
        assert_eq!(next_deadline(Some(&at(990_000, Some("disk full"))), interval, grace, 1_000_000), 1_060_000, "a call that reported down is a call");
        assert_eq!(
            next_deadline(Some(&at(990_000, Some("no push received for 1m"))), interval, grace, 1_000_000),
            1_050_000,
            "after a missed one, an interval"
        );
    }
}
