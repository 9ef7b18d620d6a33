//! Says plainly when the page is offline and that the figures shown are the
//! last ones received, with when that was.

use leptos::prelude::*;

use crate::{format, live::connection::ConnectionState, live::event_log::EventLog, ui::viewer_zone::use_viewer_zone};

#[component]
pub fn OfflineBanner(connection: RwSignal<ConnectionState>, log: RwSignal<EventLog>) -> impl IntoView {
    // The server renders the page online; only the browser can be offline.
    let online = RwSignal::new(true);
    #[cfg(feature = "hydrate")]
    {
        let browser = crate::client::offline::browser_online();
        Effect::new(move |_| online.set(browser.get()));
    }
    let zone = use_viewer_zone();
    let offline = move || !online.get() || connection.get() == ConnectionState::Offline;
    let since = move || {
        // The newest event's time as the server stamped it, not when this browser received it.
        log.with(|log| log.entries().front().map(|entry| entry.at_ms))
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|at| format!(" The last update arrived at {}.", format::wall_time(at, zone.get())))
            .unwrap_or_default()
    };
    move || {
        offline().then(|| {
            view! {
                <p class="offline-banner" role="status" data-testid="offline-banner">
                    <strong>"Offline. "</strong>
                    "These are the last values this page received; they update when the connection returns."
                    {since}
                </p>
            }
        })
    }
}
