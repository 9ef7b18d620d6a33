//! A card showing one figure of the latest speed test.

use leptos::prelude::*;

use crate::ui::format;

#[component]
pub fn MetricCard(
    label: &'static str,
    unit: &'static str,
    /// Names the card for tests and styling.
    key: &'static str,
    #[prop(into)] value: Signal<Option<f64>>,
) -> impl IntoView {
    view! {
        <article class=format!("card card-{key}") data-testid=format!("card-{key}")
            data-value=move || value.get().map(|v| v.to_string()).unwrap_or_default()>
            <h2 class="card-label">{label}</h2>
            <p class="card-value">
                <span class="card-number">{move || format::metric(value.get())}</span>
                " "
                <span class="card-unit">{unit}</span>
            </p>
        </article>
    }
}
