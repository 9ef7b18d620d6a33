//! A time-series chart: a canvas drawn with plotters whenever its series or
//! the theme change, with a text alternative kept in step with the drawing.

use leptos::{html::Canvas, prelude::*};

use crate::{
    chart::{draw::ChartSpec, scale::ChartSeries},
    live::range::TimeRange,
    model::SpeedSample,
    ui::format,
};

/// `summary` is the chart's text alternative: read out by screen readers and
/// shown under the chart. `samples` counts the tests behind the drawing.
#[component]
pub fn TimeChart(
    series: Memo<ChartSeries>,
    spec: ChartSpec,
    caption: &'static str,
    testid: &'static str,
    samples: Signal<usize>,
    summary: Signal<String>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    #[cfg(feature = "hydrate")]
    {
        let theme = crate::ui::theme::use_theme();
        // Bumped on resize so the drawing follows the container's width.
        let resized = RwSignal::new(0u32);
        let handle = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n = n.wrapping_add(1)));
        on_cleanup(move || handle.remove());
        Effect::new(move |_| {
            resized.track();
            let light = theme.is_light();
            let Some(element) = canvas.get() else { return };
            series.with(|series| crate::client::canvas::draw_chart(&element, series, spec, light));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (series, spec); // Drawn only in the browser.
    view! {
        <figure class="chart">
            <canvas node_ref=canvas class="chart-canvas" data-testid=testid data-points=move || samples.get() role="img" aria-label=summary></canvas>
            <figcaption class="chart-caption">{caption}</figcaption>
            <p class="chart-status" data-testid=format!("{testid}-status") aria-live="polite">{summary}</p>
        </figure>
    }
}

/// What a chart of `range` shows, for its text alternative.
fn span_words(range: TimeRange) -> String {
    match range {
        TimeRange::Live => "recent tests".to_owned(),
        other => format!("the last {}", other.label()),
    }
}

/// The speed chart's text alternative, or the loading state in its place.
pub fn speed_summary(samples: &[SpeedSample], range: TimeRange, status: Option<String>) -> String {
    if let Some(status) = status {
        return status;
    }
    let span = span_words(range);
    match samples.last() {
        None => format!("Speed chart of {span}: no measurements."),
        Some(latest) => format!(
            "Speed chart of {span}, {} point{}. Latest: download {} Mbit/s, upload {} Mbit/s.",
            samples.len(),
            if samples.len() == 1 { "" } else { "s" },
            format::metric(latest.download_mbps),
            format::metric(latest.upload_mbps)
        ),
    }
}

/// The latency chart's text alternative; loaded latency is named only when measured.
pub fn latency_summary(samples: &[SpeedSample], range: TimeRange, status: Option<String>) -> String {
    if let Some(status) = status {
        return status;
    }
    let span = span_words(range);
    match samples.iter().rev().find(|s| s.latency_ms.is_some()) {
        None => format!("Latency chart of {span}: no measurements."),
        Some(latest) => {
            let mut text = format!(
                "Latency chart of {span}. Latest: latency {} ms, jitter {} ms",
                format::metric(latest.latency_ms),
                format::metric(latest.jitter_ms)
            );
            if latest.latency_down_ms.is_some() || latest.latency_up_ms.is_some() {
                text += &format!(
                    ", under load {} ms downloading and {} ms uploading",
                    format::metric(latest.latency_down_ms),
                    format::metric(latest.latency_up_ms)
                );
            }
            text + "."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_carry_the_latest_values() {
        let mut sample = SpeedSample::for_test(0, Some(94.5), Some(20.0));
        assert_eq!(speed_summary(&[sample.clone()], TimeRange::Day, None), "Speed chart of the last 24 h, 1 point. Latest: download 94.5 Mbit/s, upload 20.0 Mbit/s.");
        assert_eq!(latency_summary(&[sample.clone()], TimeRange::Live, None), "Latency chart of recent tests: no measurements.");
        (sample.latency_ms, sample.jitter_ms) = (Some(9.25), Some(0.5));
        assert_eq!(latency_summary(&[sample.clone()], TimeRange::Live, None), "Latency chart of recent tests. Latest: latency 9.25 ms, jitter 0.50 ms.");
        sample.latency_down_ms = Some(48.0);
        assert!(latency_summary(&[sample], TimeRange::Live, None).ends_with("under load 48.0 ms downloading and — ms uploading."));
        assert_eq!(speed_summary(&[], TimeRange::Week, Some("Loading…".into())), "Loading…");
    }
}
