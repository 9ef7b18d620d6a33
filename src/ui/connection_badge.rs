//! The live / reconnecting / offline indicator in the header.

use leptos::prelude::*;

use crate::live::connection::ConnectionState;

#[component]
pub fn ConnectionBadge(state: RwSignal<ConnectionState>) -> impl IntoView {
    view! {
        <span class="connection" data-testid="connection" data-state=move || state.get().label() role="status" aria-live="polite">
            <span class="connection-dot" aria-hidden="true"></span>
            <span class="connection-label">{move || state.get().label()}</span>
        </span>
    }
}
