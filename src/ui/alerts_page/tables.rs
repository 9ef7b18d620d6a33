//! The alerts page's read-only tables: states now, incidents, deliveries.

use chrono::DateTime;
use leptos::prelude::*;

use crate::{
    format,
    model::alert::{AlertState, Delivery, Incident},
};

/// A time in UTC, labelled, which the page's script turns into the viewer's.
pub fn time_view(at_ms: i64) -> impl IntoView {
    let at = DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    view! { <time datetime=at.to_rfc3339()>{format::wall_time(at, None)}</time> }
}

#[component]
pub fn States(states: Vec<AlertState>) -> impl IntoView {
    let empty = states.is_empty();
    view! {
        <section aria-labelledby="states-heading">
            <h2 id="states-heading" class="section-title">"Rules now"</h2>
            {empty.then(|| view! { <p class="room-off">"No [[alert]] rules are configured."</p> })}
            <div class="table-scroll" hidden=empty>
                <table class="monitor-table" data-testid="states">
                    <thead><tr><th scope="col">"Rule"</th><th scope="col">"Subject"</th><th scope="col">"State"</th><th scope="col">"Value"</th><th scope="col">"Since"</th></tr></thead>
                    <tbody>
                        {states.into_iter().map(|state| {
                            let (rule, phase) = (state.rule.clone(), state.phase.clone());
                            let badge_class = format!("phase-badge phase-{}", state.phase);
                            view! {
                            <tr data-rule=rule data-phase=phase>
                                <td><span class="monitor-name">{state.rule}</span><span class="monitor-url">{format!("{} {}", state.field, state.condition)}</span></td>
                                <td data-label="Subject">{if state.subject.is_empty() { "no data yet".to_owned() } else { state.subject }}</td>
                                <td data-label="State"><span class=badge_class>{state.phase}</span>
                                    {state.not_sent.map(|reason| view! { <span class="monitor-error">{reason}</span> })}</td>
                                <td class="number" data-label="Value">{format::metric(state.value)}</td>
                                <td data-label="Since">{state.since_ms.map(time_view)}</td>
                            </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// "41.8 (threshold 100)", or the worst value alone.
fn worst_text(incident: &Incident) -> String {
    match incident.threshold {
        Some(threshold) => format!("{} (threshold {})", format::metric(incident.worst), format::metric(Some(threshold))),
        None => format::metric(incident.worst),
    }
}

#[component]
pub fn Incidents(incidents: Vec<Incident>, older: Option<(i64, i64)>) -> impl IntoView {
    let empty = incidents.is_empty();
    view! {
        <section aria-labelledby="incidents-heading">
            <h2 id="incidents-heading" class="section-title">"Incidents"</h2>
            {empty.then(|| view! { <p class="room-off" data-testid="no-incidents">"No incidents in this range."</p> })}
            <div class="table-scroll" hidden=empty>
                <table class="monitor-table" data-testid="incidents">
                    <thead><tr><th scope="col">"Rule"</th><th scope="col">"Subject"</th><th scope="col">"Started"</th><th scope="col">"Lasted"</th><th scope="col">"Worst"</th><th scope="col">"State"</th></tr></thead>
                    <tbody>
                        {incidents.into_iter().map(|incident| {
                            let worst = worst_text(&incident);
                            let open = incident.ended_ms.is_none();
                            let (rule, state) = (incident.rule.clone(), incident.state.clone());
                            view! {
                                <tr data-rule=rule data-state=state>
                                    <td class="monitor-name">{incident.rule}</td>
                                    <td data-label="Subject">{incident.subject}</td>
                                    <td data-label="Started">{time_view(incident.started_ms)}</td>
                                    <td data-label="Lasted">{format::duration(incident.duration_ms)}{open.then_some(" so far")}</td>
                                    <td class="number" data-label="Worst">{worst}</td>
                                    <td data-label="State">{incident.state}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {older.map(|(to, before)| view! { <p><a href=format!("/alerts?to={to}&before={before}") data-testid="older">"Older incidents"</a></p> })}
        </section>
    }
}

#[component]
pub fn Deliveries(deliveries: Vec<Delivery>) -> impl IntoView {
    let empty = deliveries.is_empty();
    view! {
        <section aria-labelledby="deliveries-heading">
            <h2 id="deliveries-heading" class="section-title">"Delivery log"</h2>
            {empty.then(|| view! { <p class="room-off">"Nothing has been sent yet."</p> })}
            <div class="table-scroll" hidden=empty>
                <table class="monitor-table" data-testid="deliveries">
                    <thead><tr><th scope="col">"When"</th><th scope="col">"Channel"</th><th scope="col">"Rule"</th><th scope="col">"Outcome"</th><th scope="col">"Delivery id"</th></tr></thead>
                    <tbody>
                        {deliveries.into_iter().map(|delivery| {
                            let outcome = match delivery.notifications {
                                n if n > 1 => format!("{} (digest of {n})", delivery.outcome),
                                _ => delivery.outcome.clone(),
                            };
                            let outcome_name = delivery.outcome.clone();
                            view! {
                                <tr data-outcome=outcome_name>
                                    <td data-label="When">{time_view(delivery.at_ms)}</td>
                                    <td data-label="Channel">{delivery.channel}</td>
                                    <td data-label="Rule">{delivery.rule}</td>
                                    <td data-label="Outcome">{outcome}{delivery.error.map(|error| view! { <span class="monitor-error">{error}</span> })}</td>
                                    <td class="delivery-id" data-label="Delivery id">{delivery.delivery_id}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
