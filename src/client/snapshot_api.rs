//! The dashboard snapshot: read from the server's state for the page, and
//! reloaded over `GET /api/snapshot` when the stream cannot replay what was missed.

use crate::model::Snapshot;

/// The snapshot the page is rendered with. Only the server reads it; while
/// hydrating, the browser gets the server's copy from the page instead.
pub fn page_snapshot() -> Result<Snapshot, String> {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<crate::server::AppState>().map(|s| s.snapshot()).ok_or_else(|| "the server state is missing".to_owned())
    }
    #[cfg(not(feature = "ssr"))]
    {
        Err("This page arrived without its data; reload it.".to_owned())
    }
}

#[cfg(feature = "hydrate")]
pub async fn fetch_snapshot() -> Result<Snapshot, String> {
    let response = gloo_net::http::Request::get("/api/snapshot").send().await.map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("loading the snapshot failed with status {}", response.status()));
    }
    response.json::<Snapshot>().await.map_err(|e| e.to_string())
}
