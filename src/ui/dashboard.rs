//! The dashboard page: latest figures, the speed and latency charts, monitors and the stream's state.

use leptos::{either::Either, prelude::*};

use crate::{
    client::snapshot_api::page_snapshot,
    live::{
        connection::ConnectionState,
        event_log::EventLog,
        history::SpeedHistory,
        monitors::MonitorBoard,
        range::{with_newer, TimeRange},
        topic_feed::TopicBoard,
    },
    model::{Snapshot, SpeedSample},
    ui::{
        connection_badge::ConnectionBadge,
        event_log::EventLogView,
        monitor_table::{MonitorTable, Trends},
        offline_banner::OfflineBanner,
        range_picker::{use_range, RangePicker},
        rooms::provide_rooms,
        speed_section::SpeedSection,
        store_banner::StoreBanner,
        theme::ThemeToggle,
        topic_section::TopicSection,
    },
};

/// A range's loaded history, or why it could not be loaded.
type LoadedRange = Option<(TimeRange, Result<Vec<SpeedSample>, String>)>;

#[component]
pub fn DashboardPage() -> impl IntoView {
    // Read on the server and shipped inside the page, so the first paint already
    // shows the latest figures and hydration needs no request and no Suspense.
    match SharedValue::new(page_snapshot).into_inner() {
        Ok(snapshot) => Either::Left(view! { <LiveDashboard snapshot/> }),
        Err(error) => Either::Right(view! { <p class="load-error" role="alert">{error}</p> }),
    }
}

#[component]
fn LiveDashboard(snapshot: Snapshot) -> impl IntoView {
    let node = snapshot.node.clone();
    let store_health = snapshot.store.clone();
    let history = RwSignal::new(SpeedHistory::from_snapshot(&snapshot));
    let board = RwSignal::new(MonitorBoard::from_snapshot(&snapshot));
    let topic_board = RwSignal::new(TopicBoard::from_snapshot(&snapshot));
    let log = RwSignal::new(EventLog::from_events(&snapshot.log));
    let connection = RwSignal::new(ConnectionState::Connecting);
    let last_event_at = RwSignal::new(snapshot.log.last().map(|event| event.at_ms as f64));
    let rooms = provide_rooms();
    let custom_topics = snapshot.topics.clone();
    #[cfg(feature = "hydrate")]
    {
        use crate::client::live_stream::{LiveSignals, LiveStream};
        let signals = LiveSignals { history, board, topics: topic_board, log, connection, last_event_at };
        let mut topics = vec![crate::model::SPEED_TOPIC.to_owned(), crate::model::PROBE_TOPIC.to_owned()];
        topics.extend(custom_topics.iter().cloned());
        let last_event_id = snapshot.last_event_id;
        // Started after hydration, once the stored rooms are in; then it
        // resubscribes whenever a room is switched. The wrapper only
        // satisfies on_cleanup's bound: the stream stays on the browser's one thread.
        let stream = std::rc::Rc::new(std::cell::OnceCell::<LiveStream>::new());
        let effect_stream = stream.clone();
        Effect::new(move |_| {
            let wanted = rooms.subscribed(&topics);
            match effect_stream.get() {
                Some(stream) => stream.set_topics(wanted),
                None => {
                    let _ = effect_stream.set(LiveStream::start(last_event_id, signals, wanted));
                }
            }
        });
        let stream = send_wrapper::SendWrapper::new(stream);
        on_cleanup(move || {
            if let Some(stream) = stream.get() {
                stream.stop();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (rooms, last_event_at);
    let chosen = use_range();
    let range = Memo::new(move |_| chosen.get());
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

    view! {
        <header class="topbar">
            <h1 class="brand">"netpulse"</h1>
            <span class="node" title="This node">{node}</span>
            <ConnectionBadge state=connection last_event_at/>
            <ThemeToggle/>
        </header>
        <main class="dashboard">
            <OfflineBanner connection last_event_at/>
            <StoreBanner initial=store_health/>
            <RangePicker selected=chosen/>
            <SpeedSection history chart_samples range status=chart_status/>
            <MonitorTable board trends range/>
            {custom_topics.into_iter().map(|topic| view! { <TopicSection topic board=topic_board/> }).collect_view()}
            <EventLogView log/>
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
