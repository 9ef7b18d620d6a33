//! The alerts page's read-only tables: states now, incidents, deliveries.

use leptos::prelude::*;

use crate::{
    format,
    model::alert::{AlertState, Delivery, Incident},
    ui::page_parts::{time_view, TableSection},
};

#[component]
pub fn States(states: Vec<AlertState>) -> impl IntoView {
    let empty = states.is_empty().then_some("No [[alert]] rules are configured.");
    view! {
        <TableSection id="states" title="Rules now" empty headers=&["Rule", "Subject", "State", "Value", "Since"]>
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
        </TableSection>
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
    let empty = incidents.is_empty().then_some("No incidents in this range.");
    view! {
        <TableSection id="incidents" title="Incidents" empty headers=&["Rule", "Subject", "Started", "Lasted", "Worst", "State"]>
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
        </TableSection>
        {older.map(|(to, before)| view! { <p><a href=format!("/alerts?to={to}&before={before}") data-testid="older">"Older incidents"</a></p> })}
    }
}

#[component]
pub fn Deliveries(deliveries: Vec<Delivery>) -> impl IntoView {
    let empty = deliveries.is_empty().then_some("Nothing has been sent yet.");
    view! {
        <TableSection id="deliveries" title="Delivery log" empty headers=&["When", "Channel", "Rule", "Outcome", "Delivery id"]>
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
        </TableSection>
    }
}
