//! Loads the newest incidents over `GET /api/alerts/history`.

use crate::model::alert::Incident;

/// The newest `limit` incidents, newest first.
pub async fn fetch_incidents(limit: u32) -> Result<Vec<Incident>, String> {
    #[derive(serde::Deserialize)]
    struct History {
        incidents: Vec<Incident>,
    }
    let response = gloo_net::http::Request::get(&format!("/api/alerts/history?limit={limit}")).send().await.map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("loading incidents failed with status {}", response.status()));
    }
    response.json::<History>().await.map(|history| history.incidents).map_err(|e| e.to_string())
}
