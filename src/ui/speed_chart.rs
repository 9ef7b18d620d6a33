//! The download/upload chart: a canvas drawn with plotters whenever its samples change.

use leptos::{html::Canvas, prelude::*};

use crate::{live::range::TimeRange, model::SpeedSample, ui::format};

/// `status` is shown instead of the chart's summary while history loads or when it failed.
#[component]
pub fn SpeedChart(samples: Signal<Vec<SpeedSample>>, range: Memo<TimeRange>, status: Signal<Option<String>>) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    #[cfg(feature = "hydrate")]
    {
        // Bumped on resize so the drawing follows the container's width.
        let resized = RwSignal::new(0u32);
        let handle = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n = n.wrapping_add(1)));
        on_cleanup(move || handle.remove());
        Effect::new(move |_| {
            resized.track();
            let Some(element) = canvas.get() else { return };
            samples.with(|s| crate::client::canvas::draw_samples(&element, s));
        });
    }
    // A text alternative for screen readers, kept in step with the drawing.
    let summary = move || {
        if let Some(status) = status.get() {
            return status;
        }
        let span = match range.get() {
            TimeRange::Live => "recent tests".to_owned(),
            other => format!("the last {}", other.label()),
        };
        samples.with(|s| match s.last() {
            None => format!("Speed chart of {span}: no measurements."),
            Some(latest) => format!(
                "Speed chart of {span}, {} points. Latest: download {} Mbit/s, upload {} Mbit/s.",
                s.len(),
                format::metric(latest.download_mbps),
                format::metric(latest.upload_mbps)
            ),
        })
    };
    view! {
        <figure class="chart">
            <canvas node_ref=canvas class="chart-canvas" data-testid="speed-chart" data-points=move || samples.with(Vec::len) role="img" aria-label=summary></canvas>
            <figcaption class="chart-caption">"Download and upload, Mbit/s"</figcaption>
            <p class="chart-status" data-testid="chart-status" aria-live="polite">{summary}</p>
        </figure>
    }
}
