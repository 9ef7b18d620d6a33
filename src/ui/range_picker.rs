//! The Live / 24 h / 7 d / 30 d / 1 y switch. Each choice is a link to
//! `?range=…`, so a copied URL reproduces the view.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::live::range::TimeRange;

#[component]
pub fn RangePicker(selected: Memo<TimeRange>) -> impl IntoView {
    view! {
        <nav class="range-picker" aria-label="Time range">
            {TimeRange::ALL
                .into_iter()
                .map(|range| {
                    let href = format!("?range={}", range.query_value());
                    let current = move || (selected.get() == range).then_some("page");
                    view! {
                        <A href=href attr:class="range" attr:aria-current=current attr:data-range=range.query_value()>
                            {range.label()}
                        </A>
                    }
                })
                .collect_view()}
        </nav>
    }
}
