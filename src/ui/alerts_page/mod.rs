//! The alerts page at `/alerts`: current states, incidents, the delivery log,
//! silences and channel tests. Rendered by the server alone: it ships no WASM
//! and its forms post as plain HTML, so none of it weighs on the dashboard's bundle.

mod forms;
mod tables;

use leptos::prelude::*;

use crate::model::alerts_page::{AlertsPageData, Notice};

#[component]
pub fn AlertsPage() -> impl IntoView {
    let data = use_context::<AlertsPageData>().unwrap_or_default();
    let AlertsPageData { node, states, incidents, older, deliveries, silences, rules, channels, needs_token, notice } = data;
    view! {
        <header class="topbar">
            <h1 class="brand">"netpulse alerts"</h1>
            <span class="node" title="This node">{node}</span>
            <a class="back-link" href="/">"Dashboard"</a>
        </header>
        <main class="dashboard alerts-page">
            {notice.map(|notice| view! { <NoticeBanner notice/> })}
            <tables::States states/>
            <forms::Actions rules channels silences needs_token/>
            <tables::Incidents incidents older/>
            <tables::Deliveries deliveries/>
        </main>
    }
}

#[component]
fn NoticeBanner(notice: Notice) -> impl IntoView {
    let (class, role) = if notice.ok { ("notice notice-ok", "status") } else { ("notice notice-error", "alert") };
    view! { <p class=class role=role data-testid="notice">{notice.text}</p> }
}
