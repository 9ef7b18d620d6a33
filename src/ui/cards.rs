//! A card showing one figure: its latest value, the change from the one
//! before, and a short pulse each time a new value arrives.

use leptos::prelude::*;

use crate::format;

#[component]
pub fn MetricCard(
    #[prop(into)] label: String,
    #[prop(into)] unit: String,
    /// Names the card for tests and styling.
    #[prop(into)]
    key: String,
    #[prop(into)] value: Signal<Option<f64>>,
    #[prop(into)] previous: Signal<Option<f64>>,
    /// Changes with every new event, even one repeating the same value.
    #[prop(into)]
    event_id: Signal<u64>,
) -> impl IntoView {
    // Counts arrivals after the first render; its parity picks one of two
    // identical animations, so each arrival restarts the pulse.
    let arrivals = RwSignal::new(0u32);
    Effect::new(move |seen: Option<u64>| {
        let id = event_id.get();
        if seen.is_some_and(|seen| seen != id) {
            arrivals.update(|n| *n += 1);
        }
        id
    });
    let pulse = move || match arrivals.get() {
        0 => None,
        n if n % 2 == 1 => Some("a"),
        _ => Some("b"),
    };
    let change = move || format::delta(value.get(), previous.get());
    view! {
        <article class=format!("card card-{key}") data-testid=format!("card-{key}") data-pulse=pulse
            data-value=move || value.get().map(|v| v.to_string()).unwrap_or_default()>
            <h3 class="card-label">{label}</h3>
            <p class="card-value">
                <span class="card-number">{move || format::metric(value.get())}</span>
                " "
                <span class="card-unit">{unit}</span>
            </p>
            <p class="card-delta" data-testid="card-delta">
                {move || change().map_or_else(|| "\u{a0}".to_owned(), |c| format!("{c} since the previous"))}
            </p>
        </article>
    }
}
