//! Push (heartbeat) monitors: a cron job or another system calls
//! `/api/push/<secret>` when it has done its work, and the monitor is down
//! when no call came within its interval plus its grace.

use std::time::Duration;

use axum::{
    extract::{Path, Query, State},
    Json,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{
    model::{ProbeResult, PROBE_TOPIC},
    server::{
        config::secret::Secret,
        events::writer::Writer,
        http::error::ApiError,
        monitor::config::{Check, Monitor},
        AppState,
    },
};

/// The longest message a push may carry, in bytes.
const MOST_MESSAGE_BYTES: usize = 500;

struct Entry {
    name: String,
    secret: Secret,
    /// Counts the calls, so that the monitor's task sees each one.
    beats: watch::Sender<u64>,
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
    pub beats: watch::Receiver<u64>,
}

impl PushMonitors {
    /// The push monitors among `monitors`, with a task's share of each.
    pub fn new(monitors: &[Monitor]) -> (Self, Vec<Waiting>) {
        let mut entries = Vec::new();
        let mut waiting = Vec::new();
        for monitor in monitors {
            let Check::Push { secret, grace } = &monitor.check else { continue };
            let (beats, receiver) = watch::channel(0);
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
    ProbeResult {
        monitor: name.to_owned(),
        url: "push".to_owned(),
        at: Utc::now(),
        up,
        status_code: None,
        response_ms: None,
        dns_ms: None,
        connect_ms: None,
        tls_ms: None,
        ttfb_ms: None,
        protocol: None,
        final_url: None,
        redirects: 0,
        cert_days_left: None,
        error,
    }
}

/// Marks a push monitor down each time its interval plus grace passes with no call.
pub async fn run_push_monitor(waiting: Waiting, writer: Writer, shutdown: CancellationToken) {
    let Waiting { monitor, grace, mut beats } = waiting;
    let mut wait = monitor.interval + grace;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = beats.changed() => {
                if changed.is_err() {
                    break;
                }
                wait = monitor.interval + grace;
            }
            _ = tokio::time::sleep(wait) => {
                let silent = humantime::format_duration(Duration::from_secs(wait.as_secs().max(1)));
                let down = result(&monitor.name, false, Some(format!("no push received for {silent}")));
                let data = serde_json::to_string(&down).expect("a probe result always serialises");
                let _ = writer.publish(PROBE_TOPIC, &monitor.name, data).await;
                // Still down: said again each interval, as a checked monitor would be.
                wait = monitor.interval;
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushQuery {
    /// `up` (the default) or `down`.
    status: Option<String>,
    /// Why, for a push that reports down; shown as the check's error.
    msg: Option<String>,
}

#[derive(Serialize)]
pub struct PushAck {
    monitor: String,
    up: bool,
}

/// `GET` or `POST /api/push/{secret}`: a heartbeat.
pub async fn push(State(state): State<AppState>, Path(secret): Path<String>, Query(query): Query<PushQuery>) -> Result<Json<PushAck>, ApiError> {
    let entry = state.pushes.find(&secret).ok_or_else(|| ApiError::NotFound("no push monitor has this address".to_owned()))?;
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
    let data = serde_json::to_string(&result(&entry.name, up, error)).expect("a probe result always serialises");
    state.writer.publish(PROBE_TOPIC, &entry.name, data).await.map_err(|_| ApiError::Unavailable("netpulse is shutting down".to_owned()))?;
    entry.beats.send_modify(|n| *n = n.wrapping_add(1));
    Ok(Json(PushAck { monitor: entry.name.clone(), up }))
}
