//! A time-series chart: a canvas drawn with plotters whenever its series or
//! the theme change, with a text alternative kept in step with the drawing.

use leptos::{html::Canvas, prelude::*};

use crate::{
    chart::{
        draw::ChartSpec,
        hover::{hover_at, hover_near, step, x_at, Hover, Step},
        scale::{time_label, ChartSeries},
    },
    format::{self, escape},
    live::range::TimeRange,
    model::SpeedSample,
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
    // What the pointer or the arrow keys are on, and where, in CSS pixels within the canvas.
    let hover = RwSignal::new(None::<(Hover, f64, f64)>);
    let width = move || canvas.get_untracked().map_or(0.0, |c| f64::from(c.client_width()));
    let point_at = move |x: f64, y: f64| {
        hover.set(series.with_untracked(|s| hover_at(s, x, width(), 1.0)).map(|h| (h, x, y)));
    };
    // The arrow keys, Home and End walk through the samples; Escape hides the values.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let key = ev.key();
        let Some(to) = Step::from_key(&key) else {
            if key == "Escape" {
                hover.set(None);
            }
            return;
        };
        ev.prevent_default();
        let from = hover.with_untracked(|h| h.as_ref().map(|(h, _, _)| h.t));
        let place = series.with_untracked(|s| {
            let t = step(s, from, to)?;
            Some((hover_near(s, t, 1.0)?, x_at(s, t, width())?, KEYBOARD_TOOLTIP_TOP))
        });
        hover.set(place);
    };
    #[cfg(feature = "hydrate")]
    {
        let theme = crate::ui::theme::use_theme();
        // Bumped whenever the canvas's box changes size, so the drawing follows its container.
        let resized = RwSignal::new(0u32);
        Effect::new(move |_| {
            let Some(element) = canvas.get() else { return };
            let observer = crate::client::canvas::SizeObserver::watch(&element, move || resized.update(|n| *n = n.wrapping_add(1)));
            let observer = send_wrapper::SendWrapper::new(observer);
            on_cleanup(move || drop(observer));
        });
        Effect::new(move |_| {
            resized.track();
            let light = theme.is_light();
            let Some(element) = canvas.get() else { return };
            series.with(|series| crate::client::canvas::draw_chart(&element, series, spec, light));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (series, spec); // Drawn only in the browser.
    let unit = if spec.unit == "value" { "" } else { spec.unit };
    let tooltip = move || {
        hover.get().map(|(hover, x, y)| {
            let offset = utc_offset_minutes();
            let flip = canvas.get_untracked().is_some_and(|c| x > f64::from(c.client_width()) / 2.0);
            // Set property by property: the page's CSP allows no inline style attribute.
            let (left, right) = if flip { (None, Some(format!("calc(100% - {x:.0}px + 0.75rem)"))) } else { (Some(format!("{x:.0}px")), None) };
            view! {
                <div class="chart-tooltip" role="status" data-testid=format!("{testid}-tooltip") style:left=left style:right=right style:top=format!("{y:.0}px")>
                    <time>{time_label(hover.t, 0.0, offset)}</time>
                    <span class="tooltip-values" inner_html=values_html(&hover.values, unit)></span>
                </div>
            }
        })
    };
    let legend = move || series.with(legend_html);
    view! {
        <figure class="chart">
            <ul class="chart-legend" data-testid=format!("{testid}-legend") inner_html=legend></ul>
            <canvas
                node_ref=canvas
                class="chart-canvas"
                data-testid=testid
                data-points=move || samples.get()
                role="img"
                aria-label=summary
                tabindex="0"
                aria-keyshortcuts="ArrowLeft ArrowRight Home End Escape"
                on:keydown=on_key
                on:blur=move |_| hover.set(None)
                on:pointermove=move |ev| point_at(f64::from(ev.offset_x()), f64::from(ev.offset_y()))
                on:pointerdown=move |ev| point_at(f64::from(ev.offset_x()), f64::from(ev.offset_y()))
                // A finger lifting also "leaves": keep a tapped value on screen.
                on:pointerleave=move |ev| {
                    if ev.pointer_type() != "touch" {
                        hover.set(None);
                    }
                }
            ></canvas>
            {tooltip}
            <figcaption class="chart-caption">{caption}</figcaption>
            <p class="chart-status" data-testid=format!("{testid}-status") aria-live="polite">{summary}</p>
        </figure>
    }
}

// The legend and the tooltip's values are built as escaped strings: a list
// of views adds its own update code to the WASM bundle.

/// Only lines with points, each in its canvas colour (chart::draw).
fn legend_html(series: &ChartSeries) -> String {
    series.drawn().map(|(colour, line)| format!("<li class=\"line-{colour}\"><span class=\"legend-swatch\"></span>{}</li>", escape(&line.name))).collect()
}

/// "Download: 94.1 Mbit/s" for each value under the pointer.
fn values_html(values: &[(String, f64)], unit: &str) -> String {
    values.iter().map(|(name, v)| format!("<span>{}: {} {unit}</span>", escape(name), format::metric(Some(*v)))).collect()
}

/// Where a tooltip opened from the keyboard sits, in CSS pixels from the canvas top.
const KEYBOARD_TOOLTIP_TOP: f64 = 16.0;

/// The viewer's offset from UTC; the server, which draws no tooltips, says 0.
fn utc_offset_minutes() -> i32 {
    #[cfg(feature = "hydrate")]
    return crate::client::zone::utc_offset_minutes();
    #[cfg(not(feature = "hydrate"))]
    0
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
            let mut text =
                format!("Latency chart of {span}. Latest: latency {} ms, jitter {} ms", format::metric(latest.latency_ms), format::metric(latest.jitter_ms));
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
        assert_eq!(
            speed_summary(&[sample.clone()], TimeRange::Day, None),
            "Speed chart of the last 24 h, 1 point. Latest: download 94.5 Mbit/s, upload 20.0 Mbit/s."
        );
        assert_eq!(latency_summary(&[sample.clone()], TimeRange::Live, None), "Latency chart of recent tests: no measurements.");
        (sample.latency_ms, sample.jitter_ms) = (Some(9.25), Some(0.5));
        assert_eq!(latency_summary(&[sample.clone()], TimeRange::Live, None), "Latency chart of recent tests. Latest: latency 9.25 ms, jitter 0.50 ms.");
        sample.latency_down_ms = Some(48.0);
        assert!(latency_summary(&[sample], TimeRange::Live, None).ends_with("under load 48.0 ms downloading and — ms uploading."));
        assert_eq!(speed_summary(&[], TimeRange::Week, Some("Loading…".into())), "Loading…");
    }
}
