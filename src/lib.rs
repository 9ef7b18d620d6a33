//! netpulse: a self-hosted, real-time network monitor. The same crate builds the
//! server (feature `ssr`) and the hydrated browser client (feature `hydrate`).

pub mod app;
pub mod chart;
pub mod client;
pub mod format;
pub mod inline_scripts;
pub mod live;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;
pub mod topic_fields;
pub mod ui;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    client::offline::register_service_worker();
}
