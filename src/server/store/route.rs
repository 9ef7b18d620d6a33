//! `GET /api/history`: a series over a time range as JSON, or as CSV with `format=csv`.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::server::{
    clock::now_ms,
    events::topics,
    http::error::ApiError,
    store::history::{History, HistoryRequest, MAX_POINTS},
    AppState,
};

const DAY_MS: i64 = 86_400_000;
/// The widest range one request may ask for.
const MAX_SPAN_MS: i64 = 10 * 366 * DAY_MS;

/// A time as unix milliseconds or RFC 3339.
fn parse_time(name: &str, raw: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(ms);
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp_millis())
        .map_err(|_| ApiError::bad_request(format!("{name}={raw:?} is neither unix milliseconds nor an RFC 3339 time")))
}

/// Checks the series name's shape: `speed`, `speed:<target>`, `probe:<monitor>` or `topic:<name>`.
fn check_series(series: &str, state: &AppState) -> Result<(), ApiError> {
    let known = match series.split_once(':') {
        None => series == "speed",
        Some(("speed", target)) => !target.is_empty(),
        Some(("probe", monitor)) => state.config.monitors.iter().any(|m| m.name == monitor),
        Some(("topic", name)) => topics::check_name(name).is_ok(),
        Some(_) => false,
    };
    if known {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("unknown series {series:?}: use speed, speed:<target URL>, probe:<monitor name> or topic:<name>")))
    }
}

pub fn parse_request(params: &HashMap<String, String>, state: &AppState, now_ms: i64) -> Result<HistoryRequest, ApiError> {
    for key in params.keys() {
        if !matches!(key.as_str(), "series" | "from" | "to" | "step" | "format") {
            return Err(ApiError::bad_request(format!("unknown parameter {key:?}; use series, from, to, step and format")));
        }
    }
    let series = params.get("series").ok_or_else(|| ApiError::bad_request("series is required, e.g. series=speed"))?.clone();
    check_series(&series, state)?;
    // `to` is exclusive: by default it lies just past now, so an event
    // published in this very millisecond is in the answer.
    let to_ms = params.get("to").map(|raw| parse_time("to", raw)).transpose()?.unwrap_or(now_ms + 1);
    let from_ms = params.get("from").map(|raw| parse_time("from", raw)).transpose()?.unwrap_or(to_ms - DAY_MS);
    if from_ms >= to_ms {
        return Err(ApiError::bad_request("from must be before to"));
    }
    if to_ms - from_ms > MAX_SPAN_MS {
        return Err(ApiError::bad_request("the range is longer than ten years"));
    }
    let step_s = match params.get("step") {
        None => None,
        Some(raw) => {
            let step: i64 = raw
                .parse()
                .ok()
                .filter(|s| *s >= 1)
                .ok_or_else(|| ApiError::bad_request(format!("step={raw:?} is not a whole number of seconds, at least 1")))?;
            if step >= 60 && step % 60 != 0 {
                return Err(ApiError::bad_request("a step of a minute or more must be whole minutes"));
            }
            if (to_ms - from_ms) / 1000 / step > MAX_POINTS {
                return Err(ApiError::bad_request(format!("that step gives more than {MAX_POINTS} points; use a larger step or a shorter range")));
            }
            Some(step)
        }
    };
    Ok(HistoryRequest { series, from_ms, to_ms, step_s })
}

pub async fn history(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let csv = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(ApiError::bad_request(format!("format={other:?}: use json or csv"))),
    };
    let now = now_ms();
    let request = parse_request(&params, &state, now)?;
    let store = &state.store;
    let history = store.history(&request, state.config.history.retention(), now).await.map_err(|err| {
        tracing::error!(%err, "history query failed");
        ApiError::Unavailable("the history database cannot be read right now".into())
    })?;
    if csv {
        Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&history)).into_response())
    } else {
        Ok(Json(history).into_response())
    }
}

/// One row per point and field: `time,field,n,min,mean,max,p95`.
pub fn to_csv(history: &History) -> String {
    let mut out = String::from("time,field,n,min,mean,max,p95\n");
    for point in &history.points {
        let time = DateTime::<Utc>::from_timestamp_millis(point.t).map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)).unwrap_or_default();
        for (field, s) in &point.values {
            out.push_str(&format!("{time},{},{},{},{},{},{}\n", csv_field(field), s.n, s.min, s.mean, s.max, s.p95));
        }
    }
    out
}

/// Quotes a field name when CSV needs it (custom topics choose their names).
fn csv_field(name: &str) -> String {
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_owned()
    }
}
