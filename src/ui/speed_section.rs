//! The speed section: the latest test's cards, what it ran against, and the
//! speed and latency charts over the chosen range, of the node picked under
//! "Tests from", or one line per node when every node is.

use leptos::{either::Either, prelude::*};

use crate::{
    chart::{
        draw::{LATENCY_CHART, SPEED_CHART},
        scale::ChartSeries,
    },
    format,
    live::{alerts::AlertBoard, history::SpeedHistory, range::TimeRange},
    model::{SpeedSample, SPEED_TOPIC},
    ui::{
        cards::MetricCard,
        rooms::{use_rooms, SectionHead},
        speed_node_picker::{NodeChoice, SpeedNodePicker},
        test_now_button::TestNowButton,
        time_chart::{latency_summary, speed_summary, TimeChart},
        viewer_zone::use_viewer_zone,
    },
};

/// The fields each chart draws, in line order, as alert rules name them.
const THROUGHPUT_FIELDS: [&str; 2] = ["download_mbps", "upload_mbps"];
const LATENCY_FIELDS: [&str; 4] = ["latency_ms", "jitter_ms", "latency_down_ms", "latency_up_ms"];

/// `chart_samples` are what the charts draw for `range`; `status` replaces
/// their summaries while history loads or when it failed; `alerts` gives the
/// thresholds and incidents the charts mark; `choice` whose tests they are;
/// `may_test_now` shows "Test now".
#[component]
pub fn SpeedSection(
    history: RwSignal<SpeedHistory>,
    chart_samples: Memo<Vec<SpeedSample>>,
    range: Memo<TimeRange>,
    status: Signal<Option<String>>,
    alerts: RwSignal<AlertBoard>,
    choice: NodeChoice,
    may_test_now: bool,
) -> impl IntoView {
    let rooms = use_rooms();
    let every_node = choice.every_node;
    let content = move || {
        if rooms.is_on(SPEED_TOPIC) {
            Either::Left(speed_body(history, chart_samples, range, status, alerts, every_node))
        } else {
            Either::Right(view! { <p class="room-off">"Switched off: this page does not follow speed tests."</p> })
        }
    };
    view! {
        <section class="speed-section" aria-labelledby="speed-heading">
            <SectionHead heading_id="speed-heading" title="Speed" topic=SPEED_TOPIC label="speed tests"/>
            <SpeedNodePicker choice/>
            {may_test_now.then(TestNowButton)}
            {content}
        </section>
    }
}

fn speed_body(
    history: RwSignal<SpeedHistory>,
    chart_samples: Memo<Vec<SpeedSample>>,
    range: Memo<TimeRange>,
    status: Signal<Option<String>>,
    alerts: RwSignal<AlertBoard>,
    every_node: bool,
) -> impl IntoView {
    let latest = Memo::new(move |_| history.with(|h| h.latest().cloned()));
    let previous = Memo::new(move |_| history.with(|h| h.samples().iter().rev().nth(1).cloned()));
    let event_id = Signal::derive(move || history.with(|h| h.last_id()));
    let figure = move |pick: fn(&SpeedSample) -> Option<f64>| Signal::derive(move || latest.with(|s| s.as_ref().and_then(pick)));
    let before = move |pick: fn(&SpeedSample) -> Option<f64>| Signal::derive(move || previous.with(|s| s.as_ref().and_then(pick)));
    // Failed tests shade the speed chart: there was no throughput then.
    // Every node: one line each, its download and its latency, in the same colour in both charts.
    // Every node: one line each, its download and its latency, in the same colour in both charts
    // (and no alert marks: `AlertBoard` gives those for the shown node's lines only).
    let throughput = Memo::new(move |_| {
        let series = chart_samples.with(|s| if every_node { ChartSeries::per_node(s, |s| s.download_mbps, 0) } else { ChartSeries::throughput(s) });
        series.with_marks(alerts.with(|a| a.speed_marks(&THROUGHPUT_FIELDS, &["failed"])))
    });
    let latency = Memo::new(move |_| {
        let series = chart_samples.with(|s| if every_node { ChartSeries::per_node(s, |s| s.latency_ms, 0) } else { ChartSeries::latency(s) });
        series.with_marks(alerts.with(|a| a.speed_marks(&LATENCY_FIELDS, &[])))
    });
    let (speed_caption, latency_caption) = if every_node {
        ("Download by node, Mbit/s", "Latency by node, ms")
    } else {
        ("Download and upload, Mbit/s", "Latency and jitter, ms; loaded latency while downloading (↓) and uploading (↑)")
    };
    let sample_count = Signal::derive(move || chart_samples.with(Vec::len));
    let speed_text = Signal::derive(move || chart_samples.with(|s| speed_summary(s, range.get(), status.get())) + &throughput.with(ChartSeries::marks_note));
    let latency_text = Signal::derive(move || chart_samples.with(|s| latency_summary(s, range.get(), status.get())) + &latency.with(ChartSeries::marks_note));
    view! {
        <div class="cards" role="group" aria-label="Latest speed test">
            <MetricCard label="Download" unit="Mbit/s" key="download" value=figure(|s| s.download_mbps) previous=before(|s| s.download_mbps) event_id/>
            <MetricCard label="Upload" unit="Mbit/s" key="upload" value=figure(|s| s.upload_mbps) previous=before(|s| s.upload_mbps) event_id/>
            <MetricCard label="Latency" unit="ms" key="latency" value=figure(|s| s.latency_ms) previous=before(|s| s.latency_ms) event_id/>
            <MetricCard label="Jitter" unit="ms" key="jitter" value=figure(|s| s.jitter_ms) previous=before(|s| s.jitter_ms) event_id/>
        </div>
        <LatestTest latest/>
        <div class="charts">
            <TimeChart series=throughput spec=SPEED_CHART caption=speed_caption testid="speed-chart" samples=sample_count summary=speed_text/>
            <TimeChart
                series=latency
                spec=LATENCY_CHART
                caption=latency_caption
                testid="latency-chart"
                samples=sample_count
                summary=latency_text
            />
        </div>
    }
}

/// Which target the latest test ran against, when, and why it failed if it did.
#[component]
fn LatestTest(latest: Memo<Option<SpeedSample>>) -> impl IntoView {
    let zone = use_viewer_zone();
    move || {
        latest.with(|sample| match sample {
            None => Either::Left(view! { <p class="test-meta">"No speed test has finished yet."</p> }),
            Some(sample) => Either::Right(view! {
                <p class="test-meta">
                    "Last test against " <code>{sample.target.clone()}</code> " at "
                    <time datetime=sample.at.to_rfc3339()>{let at = sample.at; move || format::wall_time(at, zone.get())}</time>
                </p>
                {sample.error.clone().map(|error| view! {
                    <p class="test-error" role="alert" data-testid="test-error">"Speed test failed: " {error}</p>
                })}
            }),
        })
    }
}
