//! A public status page: an overall line, the chosen monitors and the latest
//! speed tests. Server-rendered; `/status.js` keeps it live without the WASM.

use leptos::prelude::*;

use crate::{
    format,
    model::{status_page::StatusPageData, ProbeResult, SpeedSample},
};

#[component]
pub fn StatusPage() -> impl IntoView {
    let data = use_context::<StatusPageData>().unwrap_or_default();
    let (down, checked) = data.down_of_checked();
    let (summary, tone) = match (down, checked) {
        (_, 0) => ("Waiting for the first checks".to_owned(), "unknown"),
        (0, _) => ("All systems operational".to_owned(), "up"),
        (down, checked) => (format!("{down} of {checked} down"), "down"),
    };
    let rows = data.monitors.into_iter().map(|(name, probe)| view! { <MonitorRow name probe/> }).collect_view();
    let speed = (!data.speed.is_empty()).then(|| {
        let tests = data.speed.into_iter().map(|sample| view! { <SpeedRow sample/> }).collect_view();
        view! {
            <section aria-labelledby="status-speed"><h2 id="status-speed" class="section-title">"Speed"</h2>
                <ul class="status-list">{tests}</ul>
            </section>
        }
    });
    view! {
        <header class="topbar"><h1 class="brand">{data.title}</h1></header>
        <main class="dashboard status-page" data-status-page=data.name>
            <p class="status-summary" data-tone=tone data-testid="status-summary" role="status" aria-live="polite">{summary}</p>
            <section aria-labelledby="status-monitors"><h2 id="status-monitors" class="section-title">"Services"</h2>
                <ul class="status-list" data-testid="status-monitors">{rows}</ul>
            </section>
            {speed}
        </main>
    }
}

#[component]
fn MonitorRow(name: String, probe: Option<ProbeResult>) -> impl IntoView {
    let state = probe.as_ref().map_or("unknown", |p| if p.up { "up" } else { "down" });
    let response = probe.as_ref().and_then(|p| p.response_ms).map(|ms| format!("{} ms", format::metric(Some(ms)))).unwrap_or_default();
    let at = probe.as_ref().map(|p| p.at.to_rfc3339()).unwrap_or_default();
    let label = name.clone();
    view! {
        <li class="status-row" data-monitor=name data-state=state>
            <span class="status-name">{label}</span>
            <span class="status-response">{response}</span>
            <span class="phase-badge status-state">{state}</span>
            <time class="status-at" datetime=at.clone()>{at.clone()}</time>
        </li>
    }
}

#[component]
fn SpeedRow(sample: SpeedSample) -> impl IntoView {
    let figure = |value: Option<f64>, unit: &str| value.map(|v| format!("{} {unit}", format::metric(Some(v)))).unwrap_or_else(|| "–".to_owned());
    let target = sample.target.clone();
    view! {
        <li class="status-row" data-target=sample.target>
            <span class="status-name">{target}</span>
            <span class="status-figure" data-field="download">"↓ " {figure(sample.download_mbps, "Mbit/s")}</span>
            <span class="status-figure" data-field="upload">"↑ " {figure(sample.upload_mbps, "Mbit/s")}</span>
            <span class="status-figure" data-field="latency">{figure(sample.latency_ms, "ms")}</span>
        </li>
    }
}
