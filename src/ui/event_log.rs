//! The last 50 events of every followed topic, newest first.

use leptos::prelude::*;

use crate::{live::event_log::EventLog, ui::viewer_zone::use_viewer_zone};

#[component]
pub fn EventLogView(log: RwSignal<EventLog>) -> impl IntoView {
    let zone = use_viewer_zone();
    view! {
        <section class="event-log" aria-labelledby="event-log-heading">
            <h2 id="event-log-heading" class="section-title">"Events"</h2>
            <ol class="event-list" data-testid="event-log" tabindex="0" aria-label="Newest events first" inner_html=move || log.with(|log| log.entries_html(zone.get()))></ol>
            <p class="event-note">{move || format!("{}, {} shown.", if zone.get().is_some() { "Times are this device's" } else { "Times are UTC" }, log.with(|l| l.entries().len()))}</p>
        </section>
    }
}
