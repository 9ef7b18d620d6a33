//! The download/upload chart: a canvas drawn with plotters whenever the history changes.

use leptos::{html::Canvas, prelude::*};

use crate::{live::history::SpeedHistory, ui::format};

#[component]
pub fn SpeedChart(history: RwSignal<SpeedHistory>) -> impl IntoView {
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
            history.with(|h| crate::client::canvas::draw_history(&element, h));
        });
    }
    // A text alternative for screen readers, kept in step with the drawing.
    let summary = move || {
        history.with(|h| match h.latest() {
            None => "Speed chart: no measurements yet.".to_owned(),
            Some(s) => format!(
                "Speed chart of the last {} tests. Latest: download {} Mbit/s, upload {} Mbit/s.",
                h.samples().len(),
                format::metric(s.download_mbps),
                format::metric(s.upload_mbps)
            ),
        })
    };
    view! {
        <figure class="chart">
            <canvas node_ref=canvas class="chart-canvas" data-testid="speed-chart" role="img" aria-label=summary></canvas>
            <figcaption class="chart-caption">"Download and upload, Mbit/s"</figcaption>
        </figure>
    }
}
