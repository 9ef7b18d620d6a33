//! The live / reconnecting / offline indicator in the header, with the age of
//! the newest event so a stalled feed is visible at a glance.

use leptos::prelude::*;

use crate::{format, live::connection::ConnectionState};

#[component]
pub fn ConnectionBadge(state: RwSignal<ConnectionState>, last_event_at: RwSignal<Option<f64>>) -> impl IntoView {
    // Ticks once a second in the browser; the server renders no age.
    let now = RwSignal::new(None::<f64>);
    #[cfg(feature = "hydrate")]
    {
        // After hydration, so the first render matches the server's.
        Effect::new(move |_| now.set(Some(js_sys::Date::now())));
        if let Ok(tick) = set_interval_with_handle(move || now.set(Some(js_sys::Date::now())), std::time::Duration::from_secs(1)) {
            on_cleanup(move || tick.clear());
        }
    }
    let age = move || match (now.get(), last_event_at.get()) {
        (Some(now), Some(at)) => format!("last event {}", format::age(now - at)),
        _ => String::new(),
    };
    view! {
        <span class="connection" data-testid="connection" data-state=move || state.get().label() role="status" aria-live="polite">
            <span class="connection-dot" aria-hidden="true"></span>
            <span class="connection-label">{move || state.get().label()}</span>
        </span>
        <span class="event-age" data-testid="event-age">{age}</span>
        // Static, and shown by the stylesheet only beside a signed-out badge: a reactive view would cost the bundle more.
        <a class="sign-in-again" href="/login" data-testid="sign-in-again">"Sign in again"</a>
    }
}
