//! The monitor table: each endpoint check's latest result, a response-time
//! sparkline and an uptime strip over the chosen range.

use std::collections::BTreeMap;

use leptos::{either::Either, prelude::*};

use crate::{
    format::{self, escape},
    live::{
        monitor_trend::{trend_span_ms, MonitorTrend, TrendBucket},
        monitors::MonitorBoard,
        range::TimeRange,
    },
    model::{ProbeResult, PROBE_TOPIC},
    ui::{
        rooms::{use_rooms, SectionHead},
        viewer_zone::use_viewer_zone,
    },
};

/// Each monitor's trend, by name.
pub type Trends = BTreeMap<String, MonitorTrend>;

#[component]
pub fn MonitorTable(board: RwSignal<MonitorBoard>, trends: RwSignal<Trends>, range: Memo<TimeRange>) -> impl IntoView {
    let span_label = move || if range.get() == TimeRange::Live { TimeRange::Day.label() } else { range.get().label() };
    let rooms = use_rooms();
    let has_monitors = Memo::new(move |_| board.with(|b| !b.rows().is_empty()));
    let table = move || {
        if !rooms.is_on(PROBE_TOPIC) {
            return Either::Left(view! { <p class="room-off">"Switched off: this page does not follow monitor checks."</p> });
        }
        Either::Right(board.with(|board| {
            view! {
                <div class="table-scroll">
                    <table class="monitor-table">
                        <thead>
                            <tr>
                                <th scope="col">"Monitor"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Code"</th>
                                <th scope="col">"Response"</th>
                                <th scope="col">"Uptime, " {span_label}</th>
                                <th scope="col">"Last checked"</th>
                            </tr>
                        </thead>
                        <tbody>{board.rows().iter().map(|result| monitor_row(result, trends, range)).collect_view()}</tbody>
                    </table>
                </div>
            }
        }))
    };
    // Built again only when monitors first appear (a memo), so the switch keeps its focus.
    move || {
        has_monitors.get().then(|| {
            view! {
                <section class="monitors" aria-labelledby="monitors-heading">
                    <SectionHead heading_id="monitors-heading" title="Monitors" topic=PROBE_TOPIC label="monitor checks"/>
                    {table}
                </section>
            }
        })
    }
}

fn monitor_row(result: &ProbeResult, trends: RwSignal<Trends>, range: Memo<TimeRange>) -> impl IntoView {
    let zone = use_viewer_zone();
    let (badge, label) = if result.up { ("badge badge-up", "up") } else { ("badge badge-down", "down") };
    let name = result.monitor.clone();
    let trend = Signal::derive(move || trends.with(|t| t.get(&name).cloned()).unwrap_or_else(|| MonitorTrend::empty(trend_span_ms(range.get()))));
    view! {
        <tr data-testid="monitor-row" data-monitor=result.monitor.clone() data-up=result.up.to_string()>
            <th scope="row">
                <span class="monitor-name">{result.monitor.clone()}</span>
                <code class="monitor-url">{result.url.clone()}</code>
            </th>
            <td>
                <span class=badge>{label}</span>
                {result.error.clone().map(|error| view! { <span class="monitor-error">{error}</span> })}
                {format::probe_detail(result.cert_days_left, result.loss_pct, result.answer.as_deref()).map(|detail| view! { <span class="monitor-detail">{detail}</span> })}
            </td>
            <td data-label="Code">{result.status_code.map_or_else(|| "—".to_owned(), |code| code.to_string())}</td>
            <td class="response-cell" data-label="Response">
                <span class="response-value">{result.response_ms.map_or_else(|| "—".to_owned(), |ms| format!("{} ms", format::metric(Some(ms))))}</span>
                <Sparkline trend/>
            </td>
            <td class="uptime-cell" data-label="Uptime"><UptimeStrip trend/></td>
            <td data-label="Checked"><time datetime=result.at.to_rfc3339()>{let at = result.at; move || format::wall_time(at, zone.get())}</time></td>
        </tr>
    }
}

/// Mean response time per bucket, the slowest at the top.
#[component]
fn Sparkline(trend: Signal<MonitorTrend>) -> impl IntoView {
    let points = move || trend.with(|t| t.sparkline_points(100.0, 24.0));
    view! {
        <svg class="sparkline" data-testid="sparkline" viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true">
            <polyline points=points></polyline>
        </svg>
    }
}

fn percent(fraction: f64) -> String {
    let pct = fraction * 100.0;
    if pct >= 99.995 {
        "100%".to_owned()
    } else {
        format!("{pct:.2}%")
    }
}

/// The strip's cells as one escaped string: a view per cell would add its
/// own update code to the WASM bundle.
fn slots_html(trend: &MonitorTrend, zone: Option<i32>) -> String {
    trend
        .slots()
        .into_iter()
        .map(|(t, bucket)| format!("<span class=\"{}\" title=\"{}\"></span>", cell_class(bucket), escape(&cell_title(t, bucket, zone))))
        .collect()
}

fn cell_class(bucket: Option<TrendBucket>) -> &'static str {
    match bucket.and_then(|b| b.uptime()) {
        None => "slot slot-none",
        Some(u) if u >= 1.0 => "slot slot-up",
        Some(u) if u <= 0.0 => "slot slot-down",
        Some(_) => "slot slot-partial",
    }
}

fn cell_title(t: i64, bucket: Option<TrendBucket>, zone: Option<i32>) -> String {
    let at = chrono::DateTime::from_timestamp_millis(t).map(|at| format::wall_time(at, zone)).unwrap_or_default();
    match bucket.filter(|b| b.checks > 0) {
        None => format!("{at}: no checks"),
        Some(b) => {
            format!("{at}: {} up of {} checks{}", b.up, b.checks, b.response_ms.map(|ms| format!(", {} ms mean", format::metric(Some(ms)))).unwrap_or_default())
        }
    }
}

/// One cell per bucket: green all up, amber some down, red all down, grey unchecked.
#[component]
fn UptimeStrip(trend: Signal<MonitorTrend>) -> impl IntoView {
    let zone = use_viewer_zone();
    let uptime = move || trend.with(MonitorTrend::uptime);
    let summary = move || {
        trend.with(|t| {
            let failing = t.buckets.iter().filter(|b| b.up < b.checks).count();
            match t.uptime() {
                None => "No checks recorded yet".to_owned(),
                Some(u) => format!("Uptime {}; {failing} of {} periods had failed checks", percent(u), t.buckets.len()),
            }
        })
    };
    view! {
        <span class="uptime-value" data-testid="uptime">{move || uptime().map_or_else(|| "—".to_owned(), percent)}</span>
        <span class="uptime-strip" data-testid="uptime-strip" role="img" aria-label=summary inner_html=move || trend.with(|t| slots_html(t, zone.get()))></span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_reads_well() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.99999), "100%");
        assert_eq!(percent(0.9975), "99.75%");
        assert_eq!(percent(0.0), "0.00%");
    }
}
