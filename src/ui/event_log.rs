//! The last 50 events of every followed topic, newest first.

use leptos::{either::Either, prelude::*};

use crate::{format, live::event_log::EventLog, ui::viewer_zone::use_viewer_zone};

#[component]
pub fn EventLogView(log: RwSignal<EventLog>) -> impl IntoView {
    let zone = use_viewer_zone();
    view! {
        <section class="event-log" aria-labelledby="event-log-heading">
            <h2 id="event-log-heading" class="section-title">"Events"</h2>
            <ol class="event-list" data-testid="event-log" tabindex="0" aria-label="Newest events first">
                {move || {
                    log.with(|log| {
                        if log.entries().is_empty() {
                            return Either::Left(view! { <li class="event-empty">"No events yet."</li> });
                        }
                        Either::Right(log.entries()
                            .iter()
                            .map(|entry| {
                                let at = chrono::DateTime::from_timestamp_millis(entry.at_ms).unwrap_or_default();
                                view! {
                                    <li class="event" data-testid="event" data-id=entry.id data-topic=entry.topic.clone()>
                                        <time datetime=at.to_rfc3339()>{move || format::wall_clock(at, zone.get())}</time>
                                        <span class="event-topic">{entry.topic.clone()}</span>
                                        <span class="event-summary">{entry.summary.clone()}</span>
                                    </li>
                                }
                            })
                            .collect_view())
                    })
                }}
            </ol>
            <p class="event-note">{move || format!("{}, {} shown.", if zone.get().is_some() { "Times are this device's" } else { "Times are UTC" }, log.with(|l| l.entries().len()))}</p>
        </section>
    }
}
