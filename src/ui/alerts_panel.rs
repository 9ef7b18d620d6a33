//! The alerts panel: what is firing, flapping or pending now (live, from the
//! `alert` topic), and the newest incidents with how long they lasted.

use leptos::{either::Either, prelude::*};

use crate::{
    format,
    live::alerts::{span, subject_label, AlertBoard},
    model::alert::{AlertState, Incident},
    ui::viewer_zone::use_viewer_zone,
};

/// Incidents the panel lists.
#[cfg(feature = "hydrate")]
const INCIDENTS: u32 = 10;

#[component]
pub fn AlertsPanel(alerts: RwSignal<AlertBoard>) -> impl IntoView {
    let incidents = RwSignal::new(None::<Result<Vec<Incident>, String>>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        // Reloaded whenever a state changes: a resolved breach becomes an incident.
        alerts.track();
        leptos::task::spawn_local(async move { incidents.set(Some(crate::client::alerts_api::fetch_incidents(INCIDENTS).await)) });
    });
    let summary = move || {
        alerts.with(|board| {
            let active = board.active();
            let count = |phase: &str| active.iter().filter(|s| s.phase == phase).count();
            match (count("firing"), count("flapping"), count("pending")) {
                (0, 0, 0) if board.rules() == 1 => "The rule is OK.".to_owned(),
                (0, 0, 0) => format!("All {} rules are OK.", board.rules()),
                (firing, flapping, pending) => {
                    let parts: Vec<String> = [(firing, "firing"), (flapping, "flapping"), (pending, "pending")]
                        .into_iter()
                        .filter(|(n, _)| *n > 0)
                        .map(|(n, phase)| format!("{n} {phase}"))
                        .collect();
                    parts.join(", ")
                }
            }
        })
    };
    view! {
        <section class="alerts" aria-labelledby="alerts-heading" data-testid="alerts">
            <h2 id="alerts-heading" class="section-title">"Alerts"</h2>
            <p class="alerts-summary" data-testid="alerts-summary" role="status">{summary}</p>
            <ul class="alert-list" data-testid="alert-list">
                {move || alerts.with(|board| board.active().into_iter().map(|state| view! { <AlertRow state/> }).collect_view())}
            </ul>
            <h3 class="alerts-subtitle">"Recent incidents"</h3>
            <IncidentList incidents/>
        </section>
    }
}

#[component]
fn AlertRow(state: AlertState) -> impl IntoView {
    let zone = use_viewer_zone();
    let since = state.since_ms.and_then(chrono::DateTime::from_timestamp_millis);
    let value = format!("{} {} ({})", state.field, format::metric(state.value), state.condition);
    view! {
        <li class=format!("alert-row phase-{}", state.phase) data-testid="alert-row" data-rule=state.rule.clone() data-phase=state.phase.clone()>
            <span class="alert-phase">{state.phase.clone()}</span>
            <span class="alert-rule">{state.rule.clone()}</span>
            <span class="alert-subject">{subject_label(&state.subject).to_owned()}</span>
            <span class="alert-value">{value}</span>
            {since.map(|at| view! { <time class="alert-since" datetime=at.to_rfc3339()>{move || format!("since {}", format::wall_time(at, zone.get()))}</time> })}
            {state.not_sent.map(|reason| view! { <span class="alert-note">{reason}</span> })}
        </li>
    }
}

#[component]
fn IncidentList(incidents: RwSignal<Option<Result<Vec<Incident>, String>>>) -> impl IntoView {
    let zone = use_viewer_zone();
    move || {
        incidents.with(|loaded| match loaded {
            None => Either::Left(view! { <p class="alerts-note">"Loading incidents…"</p> }.into_any()),
            Some(Err(error)) => Either::Left(view! { <p class="alerts-note">{format!("Incidents could not be loaded: {error}")}</p> }.into_any()),
            Some(Ok(list)) if list.is_empty() => Either::Left(view! { <p class="alerts-note">"No incidents yet."</p> }.into_any()),
            Some(Ok(list)) => Either::Right(view! {
                <ol class="incident-list" data-testid="incident-list">
                    {list.iter().map(|incident| {
                        let start = chrono::DateTime::from_timestamp_millis(incident.started_ms).unwrap_or_default();
                        let lasted = if incident.ended_ms.is_some() { format!("lasted {}", span(incident.duration_ms)) } else { format!("{} so far", span(incident.duration_ms)) };
                        let worst = incident.worst.map(|w| format!("worst {}", format::metric(Some(w)))).unwrap_or_default();
                        view! {
                            <li class="incident" data-testid="incident" data-state=incident.state.clone()>
                                <time datetime=start.to_rfc3339()>{move || format::wall_time(start, zone.get())}</time>
                                <span class="alert-rule">{incident.rule.clone()}</span>
                                <span class="alert-subject">{subject_label(&incident.subject).to_owned()}</span>
                                <span>{lasted}</span>
                                <span>{worst}</span>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            }),
        })
    }
}
