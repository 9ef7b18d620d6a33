//! Loads a stretch of speed history over `GET /api/history` for the range picker.

use crate::{live::range::TimeRange, model::History};

/// The `speed` series over `range`, ending now.
pub async fn fetch_speed_history(range: TimeRange) -> Result<History, String> {
    let Some(span) = range.span_ms() else { return Err("the live range has no stored history to load".to_owned()) };
    let now = js_sys::Date::now() as i64;
    let url = format!("/api/history?series=speed&from={}&to={}", now - span, now);
    let response = gloo_net::http::Request::get(&url).send().await.map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("loading history failed with status {}", response.status()));
    }
    response.json::<History>().await.map_err(|e| e.to_string())
}
