//! The monitor table: each endpoint check's latest result.

use leptos::{either::Either, prelude::*};

use crate::{live::monitors::MonitorBoard, model::ProbeResult, ui::format};

#[component]
pub fn MonitorTable(board: RwSignal<MonitorBoard>) -> impl IntoView {
    move || {
        board.with(|board| {
            if board.rows().is_empty() {
                return Either::Left(());
            }
            Either::Right(view! {
                <section class="monitors" aria-labelledby="monitors-heading">
                    <h2 id="monitors-heading" class="section-title">"Monitors"</h2>
                    <div class="table-scroll">
                        <table class="monitor-table">
                            <thead>
                                <tr>
                                    <th scope="col">"Monitor"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Code"</th>
                                    <th scope="col">"Response"</th>
                                    <th scope="col">"Last checked"</th>
                                </tr>
                            </thead>
                            <tbody>{board.rows().iter().map(monitor_row).collect_view()}</tbody>
                        </table>
                    </div>
                </section>
            })
        })
    }
}

fn monitor_row(result: &ProbeResult) -> impl IntoView {
    let (badge, label) = if result.up { ("badge badge-up", "up") } else { ("badge badge-down", "down") };
    view! {
        <tr data-testid="monitor-row" data-monitor=result.monitor.clone() data-up=result.up.to_string()>
            <th scope="row">
                <span class="monitor-name">{result.monitor.clone()}</span>
                <code class="monitor-url">{result.url.clone()}</code>
            </th>
            <td>
                <span class=badge>{label}</span>
                {result.error.clone().map(|error| view! { <span class="monitor-error">{error}</span> })}
            </td>
            <td>{result.status_code.map_or_else(|| "—".to_owned(), |code| code.to_string())}</td>
            <td>{result.response_ms.map_or_else(|| "—".to_owned(), |ms| format!("{} ms", format::metric(Some(ms))))}</td>
            <td><time datetime=result.at.to_rfc3339()>{format::utc_time(result.at)}</time></td>
        </tr>
    }
}
