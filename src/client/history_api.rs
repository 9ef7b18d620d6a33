//! Loads stretches of history over `GET /api/history`: the speed series for
//! the range picker and each monitor's record for its uptime strip.

use crate::{live::range::TimeRange, model::History};

/// `series` over the `span_ms` ending now, in buckets of `step_s` when given.
pub async fn fetch_history(series: &str, span_ms: i64, step_s: Option<i64>) -> Result<History, String> {
    // The span only: the server ends it at its own now, whatever this browser's clock says.
    let mut url = format!("/api/history?series={}&last={}", js_sys::encode_uri_component(series), span_ms / 1000);
    if let Some(step) = step_s {
        url += &format!("&step={step}");
    }
    let response = gloo_net::http::Request::get(&url).send().await.map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("loading history failed with status {}", response.status()));
    }
    response.json::<History>().await.map_err(|e| e.to_string())
}

/// A speed series (`speed`, or a node's `speed@<node>`) over `range`, ending now.
pub async fn fetch_speed_history(range: TimeRange, series: &str) -> Result<History, String> {
    let Some(span) = range.span_ms() else { return Err("the live range has no stored history to load".to_owned()) };
    fetch_history(series, span, None).await
}
