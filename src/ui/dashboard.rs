//! The dashboard page: latest figures, the speed and latency charts, monitors and the stream's state.

use leptos::{either::Either, prelude::*};

use crate::{
    client::snapshot_api::load_snapshot,
    live::{
        connection::ConnectionState,
        history::SpeedHistory,
        monitors::MonitorBoard,
        range::{with_newer, TimeRange},
    },
    model::{Snapshot, SpeedSample},
    chart::{
        draw::{LATENCY_CHART, SPEED_CHART},
        scale::ChartSeries,
    },
    ui::{
        cards::MetricCard,
        connection_badge::ConnectionBadge,
        format,
        monitor_table::{MonitorTable, Trends},
        range_picker::RangePicker,
        store_banner::StoreBanner,
        theme::ThemeToggle,
        time_chart::{latency_summary, speed_summary, TimeChart},
    },
};

/// A range's loaded history, or why it could not be loaded.
type LoadedRange = Option<(TimeRange, Result<Vec<SpeedSample>, String>)>;

#[component]
pub fn DashboardPage() -> impl IntoView {
    // Resolved during server rendering and shipped with the page, so the first
    // paint already shows the latest figures.
    let snapshot = Resource::new(|| (), |_| load_snapshot());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match snapshot.await {
                    Ok(snapshot) => Either::Left(view! { <LiveDashboard snapshot/> }),
                    Err(error) => Either::Right(view! { <p class="load-error" role="alert">{error}</p> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveDashboard(snapshot: Snapshot) -> impl IntoView {
    let node = snapshot.node.clone();
    let store_health = snapshot.store.clone();
    let history = RwSignal::new(SpeedHistory::from_snapshot(&snapshot));
    let board = RwSignal::new(MonitorBoard::from_snapshot(&snapshot));
    let connection = RwSignal::new(ConnectionState::Connecting);
    #[cfg(feature = "hydrate")]
    {
        // The stream lives on the browser's one thread; the wrapper only satisfies on_cleanup's bound.
        let stream = send_wrapper::SendWrapper::new(crate::client::live_stream::LiveStream::start(snapshot.last_event_id, history, board, connection));
        on_cleanup(move || stream.stop());
    }
    let latest = Memo::new(move |_| history.with(|h| h.latest().cloned()));
    let query = leptos_router::hooks::use_query_map();
    let range = Memo::new(move |_| TimeRange::from_query(query.with(|q| q.get("range")).as_deref()));
    let loaded = RwSignal::new(LoadedRange::None);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let wanted = range.get();
        if wanted == TimeRange::Live {
            return;
        }
        leptos::task::spawn_local(async move {
            let result = crate::client::history_api::fetch_speed_history(wanted).await.map(|h| crate::live::range::samples_from_history(&h));
            // A slower answer for a range no longer shown is dropped.
            if range.get_untracked() == wanted {
                loaded.set(Some((wanted, result)));
            }
        });
    });
    let trends = RwSignal::new(Trends::new());
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| load_trends(range, board, trends));
        // Each live check lands in its monitor's newest bucket.
        Effect::new(move |_| {
            board.with(|board| {
                trends.update(|trends| {
                    for row in board.rows() {
                        let span = crate::live::monitor_trend::trend_span_ms(range.get_untracked());
                        trends.entry(row.monitor.clone()).or_insert_with(|| crate::live::monitor_trend::MonitorTrend::empty(span)).absorb(row);
                    }
                })
            })
        });
    }
    let live_samples = move || history.with(|h| h.samples().iter().cloned().collect::<Vec<_>>());
    // A memo, so the chart's redraw, its label and its point count share one copy.
    let chart_samples = Memo::new(move |_| {
        let wanted = range.get();
        if wanted == TimeRange::Live {
            return live_samples();
        }
        loaded.with(|loaded| match loaded {
            Some((range, Ok(samples))) if *range == wanted && wanted.follows_live() => with_newer(samples.clone(), live_samples()),
            Some((range, Ok(samples))) if *range == wanted => samples.clone(),
            _ => Vec::new(),
        })
    });
    let chart_status = Signal::derive(move || {
        let wanted = range.get();
        if wanted == TimeRange::Live {
            return None;
        }
        loaded.with(|loaded| match loaded {
            Some((range, Err(error))) if *range == wanted => Some(format!("History could not be loaded: {error}")),
            Some((range, Ok(_))) if *range == wanted => None,
            _ => Some(format!("Loading the last {}…", wanted.label())),
        })
    });
    let throughput = Memo::new(move |_| chart_samples.with(|s| ChartSeries::throughput(s)));
    let latency = Memo::new(move |_| chart_samples.with(|s| ChartSeries::latency(s)));
    let sample_count = Signal::derive(move || chart_samples.with(Vec::len));
    let speed_text = Signal::derive(move || chart_samples.with(|s| speed_summary(s, range.get(), chart_status.get())));
    let latency_text = Signal::derive(move || chart_samples.with(|s| latency_summary(s, range.get(), chart_status.get())));
    let figure = move |pick: fn(&SpeedSample) -> Option<f64>| Signal::derive(move || latest.with(|s| s.as_ref().and_then(pick)));

    view! {
        <header class="topbar">
            <h1 class="brand">"netpulse"</h1>
            <span class="node" title="This node">{node}</span>
            <ConnectionBadge state=connection/>
            <ThemeToggle/>
        </header>
        <main class="dashboard">
            <StoreBanner initial=store_health/>
            <section class="cards" aria-label="Latest speed test">
                <MetricCard label="Download" unit="Mbit/s" key="download" value=figure(|s| s.download_mbps)/>
                <MetricCard label="Upload" unit="Mbit/s" key="upload" value=figure(|s| s.upload_mbps)/>
                <MetricCard label="Latency" unit="ms" key="latency" value=figure(|s| s.latency_ms)/>
                <MetricCard label="Jitter" unit="ms" key="jitter" value=figure(|s| s.jitter_ms)/>
            </section>
            <LatestTest latest/>
            <RangePicker selected=range/>
            <div class="charts">
                <TimeChart series=throughput spec=SPEED_CHART caption="Download and upload, Mbit/s" testid="speed-chart" samples=sample_count summary=speed_text/>
                <TimeChart
                    series=latency
                    spec=LATENCY_CHART
                    caption="Latency and jitter, ms; loaded latency while downloading (↓) and uploading (↑)"
                    testid="latency-chart"
                    samples=sample_count
                    summary=latency_text
                />
            </div>
            <MonitorTable board trends range/>
        </main>
    }
}

/// Loads every monitor's record over the range's span; a load that finishes
/// after the range changed again is dropped.
#[cfg(feature = "hydrate")]
fn load_trends(range: Memo<TimeRange>, board: RwSignal<MonitorBoard>, trends: RwSignal<Trends>) {
    use crate::live::monitor_trend::{trend_span_ms, trend_step_ms, MonitorTrend};
    let wanted = range.get();
    let span = trend_span_ms(wanted);
    let step_s = trend_step_ms(span) / 1000;
    let names: Vec<String> = board.with_untracked(|b| b.rows().iter().map(|r| r.monitor.clone()).collect());
    trends.set(Trends::new());
    for name in names {
        leptos::task::spawn_local(async move {
            let Ok(history) = crate::client::history_api::fetch_history(&format!("probe:{name}"), span, Some(step_s)).await else { return };
            if range.get_untracked() != wanted {
                return;
            }
            let mut trend = MonitorTrend::from_history(span, &history);
            board.with_untracked(|b| b.rows().iter().filter(|r| r.monitor == name).for_each(|r| trend.absorb(r)));
            trends.update(|trends| {
                trends.insert(name, trend);
            });
        });
    }
}

/// Which target the latest test ran against, when, and why it failed if it did.
#[component]
fn LatestTest(latest: Memo<Option<SpeedSample>>) -> impl IntoView {
    move || {
        latest.with(|sample| match sample {
            None => Either::Left(view! { <p class="test-meta">"No speed test has finished yet."</p> }),
            Some(sample) => Either::Right(view! {
                <p class="test-meta">
                    "Last test against " <code>{sample.target.clone()}</code> " at "
                    <time datetime=sample.at.to_rfc3339()>{format::utc_time(sample.at)}</time>
                </p>
                {sample.error.clone().map(|error| view! {
                    <p class="test-error" role="alert" data-testid="test-error">"Speed test failed: " {error}</p>
                })}
            }),
        })
    }
}
