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
    let zone = use_viewer_zone();
    let has_monitors = Memo::new(move |_| board.with(|b| !b.rows().is_empty()));
    let table = move || {
        if !rooms.is_on(PROBE_TOPIC) {
            return Either::Left(view! { <p class="room-off">"Switched off: this page does not follow monitor checks."</p> });
        }
        Either::Right({
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
                        <tbody inner_html=move || trends.with(|t| board.with(|board| rows_html(board, t, range.get(), zone.get())))></tbody>
                    </table>
                </div>
            }
        })
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

/// The rows as one escaped string: a view per row, cell and sparkline would
/// add their own build and update code to the WASM bundle.
fn rows_html(board: &MonitorBoard, trends: &Trends, range: TimeRange, zone: Option<i32>) -> String {
    board
        .rows()
        .iter()
        .map(|result| {
            let empty = MonitorTrend::empty(trend_span_ms(range));
            row_html(result, trends.get(&result.monitor).unwrap_or(&empty), zone)
        })
        .collect()
}

fn row_html(result: &ProbeResult, trend: &MonitorTrend, zone: Option<i32>) -> String {
    let (badge, label) = if result.up { ("badge badge-up", "up") } else { ("badge badge-down", "down") };
    let span = |class: &str, text: Option<String>| text.map(|text| format!("<span class=\"{class}\">{}</span>", escape(&text))).unwrap_or_default();
    let error = span("monitor-error", result.error.clone());
    let detail = span("monitor-detail", format::probe_detail(result.cert_days_left, result.loss_pct, result.answer.as_deref()));
    let code = result.status_code.map_or_else(|| "—".to_owned(), |code| code.to_string());
    let response = result.response_ms.map_or_else(|| "—".to_owned(), |ms| format!("{} ms", format::metric(Some(ms))));
    let uptime = trend.uptime().map_or_else(|| "—".to_owned(), percent);
    format!(
        "<tr data-testid=\"monitor-row\" data-monitor=\"{name}\" data-up=\"{up}\">\
         <th scope=\"row\"><span class=\"monitor-name\">{name}</span><code class=\"monitor-url\">{url}</code></th>\
         <td><span class=\"{badge}\">{label}</span>{error}{detail}</td><td data-label=\"Code\">{code}</td>\
         <td class=\"response-cell\" data-label=\"Response\"><span class=\"response-value\">{response}</span>\
         <svg class=\"sparkline\" data-testid=\"sparkline\" viewBox=\"0 0 100 24\" preserveAspectRatio=\"none\" aria-hidden=\"true\"><polyline points=\"{points}\"></polyline></svg></td>\
         <td class=\"uptime-cell\" data-label=\"Uptime\"><span class=\"uptime-value\" data-testid=\"uptime\">{uptime}</span>\
         <span class=\"uptime-strip\" data-testid=\"uptime-strip\" role=\"img\" aria-label=\"{summary}\">{slots}</span></td>\
         <td data-label=\"Checked\">{checked}</td></tr>",
        name = escape(&result.monitor),
        up = result.up,
        url = escape(&result.url),
        points = trend.sparkline_points(100.0, 24.0),
        summary = escape(&uptime_summary(trend)),
        slots = slots_html(trend, zone),
        checked = format::time_html(result.at.timestamp_millis(), "", zone),
    )
}

/// The strip's text alternative.
fn uptime_summary(trend: &MonitorTrend) -> String {
    let failing = trend.buckets.iter().filter(|b| b.up < b.checks).count();
    match trend.uptime() {
        None => "No checks recorded yet".to_owned(),
        Some(u) => format!("Uptime {}; {failing} of {} periods had failed checks", percent(u), trend.buckets.len()),
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

/// The strip's cells, one per bucket: green all up, amber some down, red all down, grey unchecked.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_escapes_what_the_monitor_reports_and_keeps_its_test_hooks() {
        let at = chrono::DateTime::from_timestamp_millis(1_764_547_200_000).unwrap();
        let result = ProbeResult {
            monitor: "web@tokyo".into(),
            url: "https://a.example/?q=<x>".into(),
            at,
            up: false,
            status_code: Some(503),
            response_ms: Some(41.26),
            error: Some("HTTP 503 \"busy\"".into()),
            ..ProbeResult::default()
        };
        let html = row_html(&result, &MonitorTrend::empty(3_600_000), None);
        assert!(html.starts_with("<tr data-testid=\"monitor-row\" data-monitor=\"web@tokyo\" data-up=\"false\">"), "{html}");
        assert!(html.contains("q=&lt;x&gt;") && !html.contains("<x>"), "{html}");
        assert!(html.contains("<span class=\"monitor-error\">HTTP 503 &quot;busy&quot;</span>"), "{html}");
        assert!(html.contains(">503</td>") && html.contains("41.3 ms"), "{html}");
        assert!(html.contains("aria-label=\"No checks recorded yet\""), "{html}");
        assert!(html.contains("2025-12-01 00:00:00 UTC</time>"), "{html}");
    }

    #[test]
    fn uptime_reads_well() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.99999), "100%");
        assert_eq!(percent(0.9975), "99.75%");
        assert_eq!(percent(0.0), "0.00%");
    }
}
