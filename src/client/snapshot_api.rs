//! Loads the dashboard snapshot: from the server's state while rendering there,
//! over `GET /api/snapshot` in the browser.

use std::future::Future;

use crate::model::Snapshot;

#[cfg(feature = "ssr")]
pub fn load_snapshot() -> impl Future<Output = Result<Snapshot, String>> + Send {
    // Read synchronously: the context is there while the component runs.
    let state = leptos::prelude::use_context::<crate::server::AppState>();
    async move { state.map(|s| s.snapshot()).ok_or_else(|| "the server state is missing".to_owned()) }
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
pub fn load_snapshot() -> impl Future<Output = Result<Snapshot, String>> + Send {
    // Browser futures are not Send; they also never leave the one browser thread.
    send_wrapper::SendWrapper::new(fetch_snapshot())
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
pub fn load_snapshot() -> impl Future<Output = Result<Snapshot, String>> + Send {
    std::future::ready(Err("built without the ssr or hydrate feature".to_owned()))
}

#[cfg(feature = "hydrate")]
pub async fn fetch_snapshot() -> Result<Snapshot, String> {
    let response = gloo_net::http::Request::get("/api/snapshot").send().await.map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("loading the snapshot failed with status {}", response.status()));
    }
    response.json::<Snapshot>().await.map_err(|e| e.to_string())
}
