//! The alerts panel: what is firing, flapping or pending now, live from the
//! `alert` topic. Incidents are listed by `GET /api/alerts/history`.

use leptos::prelude::*;

use crate::{
    live::alerts::{rows_html, AlertBoard},
    ui::viewer_zone::use_viewer_zone,
};

#[component]
pub fn AlertsPanel(alerts: RwSignal<AlertBoard>) -> impl IntoView {
    let zone = use_viewer_zone();
    view! {
        <section class="alerts" aria-labelledby="alerts-heading" data-testid="alerts">
            <div class="section-head">
                <h2 id="alerts-heading" class="section-title">"Alerts"</h2>
                <a class="alerts-link" href="/alerts" data-testid="alerts-link">"Incidents, deliveries and silences"</a>
            </div>
            <p class="alerts-summary" data-testid="alerts-summary" role="status">{move || alerts.with(summary)}</p>
            <ul class="alert-list" data-testid="alert-list" inner_html=move || alerts.with(|board| rows_html(&board.active(), zone.get()))></ul>
        </section>
    }
}

/// "2 firing, 1 pending", or that all is well.
fn summary(board: &AlertBoard) -> String {
    let active = board.active();
    let count = |phase: &str| active.iter().filter(|s| s.phase == phase).count();
    let parts: Vec<String> = [("firing", count("firing")), ("flapping", count("flapping")), ("pending", count("pending"))]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(phase, n)| format!("{n} {phase}"))
        .collect();
    match (parts.is_empty(), board.rules()) {
        (false, _) => parts.join(", "),
        (true, 1) => "The rule is OK.".to_owned(),
        (true, rules) => format!("All {rules} rules are OK."),
    }
}
