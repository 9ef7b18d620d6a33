//! The dashboard snapshot: given by the server as context for the page, and
//! reloaded over `GET /api/snapshot` when the stream cannot replay what was missed.

use crate::model::Snapshot;

/// The snapshot the page is rendered with. The server provides it as context
/// for each render; while hydrating, the browser gets the server's copy from
/// the page instead, so it never reaches this.
pub fn page_snapshot() -> Result<Snapshot, String> {
    leptos::prelude::use_context::<Snapshot>().ok_or_else(|| "This page arrived without its data; reload it.".to_owned())
}

#[cfg(feature = "hydrate")]
pub async fn fetch_snapshot() -> Result<Snapshot, String> {
    // Every node's tests, which any caller may ask for: the page keeps its own node's, whichever
    // it shows, even one that is gone since the page loaded.
    let response = gloo_net::http::Request::get("/api/snapshot?node=*").send().await.map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("loading the snapshot failed with status {}", response.status()));
    }
    response.json::<Snapshot>().await.map_err(|e| e.to_string())
}
