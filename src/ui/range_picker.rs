//! The Live / 24 h / 7 d / 30 d / 1 y switch. Each choice is a link to
//! `?range=…`, so a copied URL reproduces the view. Plain links: the router
//! still navigates them in place, and `A` would mark every one of them
//! `aria-current`, since they share the page's path.

use leptos::prelude::*;

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
                        <a href=href class="range" aria-current=current data-range=range.query_value()>
                            {range.label()}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}
