//! The dashboard's state and effects, one hook each: the live stream, the
//! history of the chosen range, and each monitor's trend. `LiveDashboard`
//! only wires them to its sections.

use leptos::prelude::*;

use crate::{
    client::live_signals::LiveSignals,
    live::{
        history::SpeedHistory,
        monitors::MonitorBoard,
        range::{with_newer, TimeRange},
    },
    model::SpeedSample,
    ui::{monitor_table::Trends, rooms::Rooms},
};

/// A range's loaded history, or why it could not be loaded.
pub type LoadedRange = Option<(TimeRange, Result<Vec<SpeedSample>, String>)>;

/// Opens the stream once the page has hydrated and the stored rooms are in,
/// and resubscribes whenever a room is switched; closes it with the page.
pub fn use_live_stream(signals: LiveSignals, rooms: Rooms, custom_topics: &[String], last_event_id: u64) {
    #[cfg(feature = "hydrate")]
    {
        use crate::client::live_stream::LiveStream;
        let mut topics = vec![crate::model::SPEED_TOPIC.to_owned(), crate::model::PROBE_TOPIC.to_owned()];
        if signals.alerts.with_untracked(|alerts| alerts.has_rules()) {
            topics.push(crate::model::ALERT_TOPIC.to_owned());
        }
        // Like the alerts panel, the node list is there when the page loads with nodes.
        if signals.nodes.with_untracked(|nodes| !nodes.is_empty()) {
            topics.push(crate::model::NODE_TOPIC.to_owned());
        }
        topics.extend(custom_topics.iter().cloned());
        // The wrapper only satisfies on_cleanup's bound: the stream stays on the browser's one thread.
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
    let _ = (signals, rooms, custom_topics, last_event_id);
}

/// The stored speed history (`series`) of the chosen range, loaded when it changes; a
/// slower answer for a range no longer shown is dropped.
pub fn use_range_history(range: Memo<TimeRange>, series: Option<String>) -> RwSignal<LoadedRange> {
    let loaded = RwSignal::new(LoadedRange::None);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let wanted = range.get();
        if wanted == TimeRange::Live {
            return;
        }
        // Stored history is per node: every node's at once would be a request each.
        let Some(series) = series.clone() else {
            return loaded.set(Some((wanted, Err("a stored range shows one node at a time; choose one under Tests from".to_owned()))));
        };
        leptos::task::spawn_local(async move {
            let result = crate::client::history_api::fetch_speed_history(wanted, &series).await.map(|h| crate::live::range::samples_from_history(&h));
            if range.get_untracked() == wanted {
                loaded.set(Some((wanted, result)));
            }
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (range, series);
    loaded
}

/// Each monitor's trend over the range's span, with live checks added to its newest bucket.
pub fn use_trends(range: Memo<TimeRange>, board: RwSignal<MonitorBoard>) -> RwSignal<Trends> {
    let trends = RwSignal::new(Trends::new());
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| load_trends(range, board, trends));
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
    #[cfg(not(feature = "hydrate"))]
    let _ = (range, board);
    trends
}

/// What the speed charts draw: the live samples, or the chosen range's
/// history (followed by live samples when the range ends now). A memo, so the
/// chart's redraw, its label and its point count share one copy.
pub fn chart_samples(history: RwSignal<SpeedHistory>, loaded: RwSignal<LoadedRange>, range: Memo<TimeRange>) -> Memo<Vec<SpeedSample>> {
    let live_samples = move || history.with(|h| h.samples().iter().cloned().collect::<Vec<_>>());
    Memo::new(move |_| {
        let wanted = range.get();
        if wanted == TimeRange::Live {
            return live_samples();
        }
        loaded.with(|loaded| match loaded {
            Some((range, Ok(samples))) if *range == wanted && wanted.follows_live() => with_newer(samples.clone(), live_samples()),
            Some((range, Ok(samples))) if *range == wanted => samples.clone(),
            _ => Vec::new(),
        })
    })
}

/// What the charts say instead of drawing: loading, or why history failed.
pub fn chart_status(loaded: RwSignal<LoadedRange>, range: Memo<TimeRange>) -> Signal<Option<String>> {
    Signal::derive(move || {
        let wanted = range.get();
        if wanted == TimeRange::Live {
            return None;
        }
        loaded.with(|loaded| match loaded {
            Some((range, Err(error))) if *range == wanted => Some(format!("History could not be loaded: {error}")),
            Some((range, Ok(_))) if *range == wanted => None,
            _ => Some(format!("Loading the last {}…", wanted.label())),
        })
    })
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
