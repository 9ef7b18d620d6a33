//! Parts the server-rendered pages (alerts, admin) share: times the page's
//! script shows in the viewer's zone, and titled tables that fold into cards on phones.

use chrono::DateTime;
use leptos::prelude::*;

use crate::format;

/// A time in UTC, labelled, which the page's script turns into the viewer's.
pub fn time_view(at_ms: i64) -> impl IntoView {
    let at = DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    view! { <time datetime=at.to_rfc3339()>{format::wall_time(at, None)}</time> }
}

/// A titled section with a table, or what to say when it has no rows.
#[component]
pub fn TableSection(
    /// Names the heading and, as `data-testid`, the table.
    id: &'static str,
    title: &'static str,
    /// Shown instead of the table when there are no rows.
    empty: Option<&'static str>,
    headers: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    let (labelled_by, heading) = (format!("{id}-heading"), format!("{id}-heading"));
    view! {
        <section aria-labelledby=labelled_by>
            <h2 id=heading class="section-title">{title}</h2>
            {empty.map(|text| view! { <p class="room-off">{text}</p> })}
            <div class="table-scroll" hidden=empty.is_some()>
                <table class="monitor-table" data-testid=id>
                    <thead><tr>{headers.iter().map(|header| view! { <th scope="col">{*header}</th> }).collect_view()}</tr></thead>
                    <tbody>{children()}</tbody>
                </table>
            </div>
        </section>
    }
}
