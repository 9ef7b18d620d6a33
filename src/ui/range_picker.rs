//! The Live / 24 h / 7 d / 30 d / 1 y switch, kept in the URL as `?range=`
//! so a copied link reproduces the view. A choice updates the address with
//! `history.pushState` instead of reloading, and Back and Forward step
//! through the ranges. (This is all the page needs of a router, and
//! leptos_router cost the browser bundle more than the rest of this file.)

use leptos::prelude::*;

use crate::live::range::TimeRange;

/// The `range` parameter of a query string such as `?a=1&range=7d`.
pub fn range_in_query(query: &str) -> TimeRange {
    let value = query.trim_start_matches('?').split('&').find_map(|pair| pair.strip_prefix("range="));
    TimeRange::from_query(value)
}

/// `query` with its `range` set to `value`, the other parameters (`?node=`) kept.
pub fn with_range(query: &str, value: &str) -> String {
    let kept = query.trim_start_matches('?').split('&').filter(|pair| !pair.is_empty() && !pair.starts_with("range="));
    let mut out = format!("?range={value}");
    for pair in kept {
        out.push('&');
        out.push_str(pair);
    }
    out
}

/// The range the page was asked for: from the request while rendering on the
/// server, from the address bar in the browser.
pub fn range_from_url() -> TimeRange {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<axum::http::request::Parts>();
        return range_in_query(parts.as_ref().and_then(|p| p.uri.query()).unwrap_or_default());
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        return range_in_query(&web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default());
    }
    #[allow(unreachable_code)]
    TimeRange::Live
}

/// The chosen range, following Back and Forward.
pub fn use_range() -> RwSignal<TimeRange> {
    let range = RwSignal::new(range_from_url());
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::popstate, move |_| range.set(range_from_url()));
        on_cleanup(move || handle.remove());
    }
    range
}

#[component]
pub fn RangePicker(selected: RwSignal<TimeRange>) -> impl IntoView {
    view! {
        <nav class="range-picker" aria-label="Time range">
            {TimeRange::ALL
                .into_iter()
                .map(|range| {
                    // A click keeps the address's other parameters (`?node=`); the link itself names only the range.
                    let href = format!("?range={}", range.query_value());
                    let current = move || (selected.get() == range).then_some("page");
                    let choose = move |ev: leptos::ev::MouseEvent| {
                        // A modified click still opens a tab or window, as links do.
                        if ev.button() != 0 || ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() {
                            return;
                        }
                        ev.prevent_default();
                        #[cfg(feature = "hydrate")]
                        if let Some(window) = web_sys::window() {
                            let target = with_range(&window.location().search().unwrap_or_default(), range.query_value());
                            if let Ok(history) = window.history() {
                                let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&target));
                            }
                        }
                        selected.set(range);
                    };
                    view! {
                        <a href=href class="range" aria-current=current data-range=range.query_value() on:click=choose>
                            {range.label()}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_range_keeps_the_other_parameters() {
        assert_eq!(with_range("?node=tokyo&range=7d", "24h"), "?range=24h&node=tokyo");
        assert_eq!(with_range("", "live"), "?range=live");
        assert_eq!(with_range("?range=1y", "30d"), "?range=30d");
    }

    #[test]
    fn the_range_is_read_from_any_query() {
        assert_eq!(range_in_query("?range=7d"), TimeRange::Week);
        assert_eq!(range_in_query("utm=x&range=1y"), TimeRange::Year);
        assert_eq!(range_in_query(""), TimeRange::Live);
        assert_eq!(range_in_query("?range=forever"), TimeRange::Live);
        assert_eq!(range_in_query("?notrange=7d"), TimeRange::Live);
    }
}
