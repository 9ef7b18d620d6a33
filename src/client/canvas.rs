//! Sizes a canvas for the screen's pixel density, draws a chart on it, and
//! watches its size so the chart can follow its container.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{HtmlCanvasElement, ResizeObserver};

use crate::chart::{
    draw::{draw_line_chart, ChartSpec, ChartStyle},
    scale::ChartSeries,
};

/// Draws `series` at the canvas's CSS width times the device pixel ratio, so
/// lines stay crisp on HiDPI screens. The time it took, in ms, goes on the
/// canvas as `data-draw-ms`, where the browser tests read it.
pub fn draw_chart(canvas: &HtmlCanvasElement, series: &ChartSeries, spec: ChartSpec, light: bool) {
    let Some(window) = web_sys::window() else { return };
    let started = window.performance().map(|p| p.now());
    let scale = window.device_pixel_ratio().max(1.0);
    let css_width = f64::from(canvas.client_width().max(1));
    let css_height = f64::from(canvas.client_height().max(1));
    let (width, height) = ((css_width * scale).round() as u32, (css_height * scale).round() as u32);
    // Resizing the backing store clears it, so only do it when the size changed.
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    let utc_offset_minutes = crate::client::zone::utc_offset_minutes();
    let style = if light { ChartStyle::light(scale, utc_offset_minutes) } else { ChartStyle::dark(scale, utc_offset_minutes) };
    // About one point per CSS pixel column: more could not be seen.
    let series = series.decimated(css_width as usize);
    let Some(backend) = CanvasBackend::with_canvas_object(canvas.clone()) else { return };
    let root = backend.into_drawing_area();
    if let Err(error) = draw_line_chart(&root, &series, spec, &style) {
        leptos::logging::warn!("drawing a chart failed: {error}");
    }
    if let (Some(started), Some(now)) = (started, window.performance().map(|p| p.now())) {
        let _ = canvas.set_attribute("data-draw-ms", &format!("{:.2}", now - started));
    }
}

/// Calls back whenever an element's box changes size (and once at the start);
/// stops when dropped.
pub struct SizeObserver {
    observer: Option<ResizeObserver>,
    _callback: Closure<dyn FnMut(js_sys::Array)>,
}

impl SizeObserver {
    pub fn watch(element: &web_sys::Element, on_resize: impl Fn() + 'static) -> Self {
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries| on_resize());
        let observer = ResizeObserver::new(callback.as_ref().unchecked_ref()).ok();
        if let Some(observer) = &observer {
            observer.observe(element);
        }
        Self { observer, _callback: callback }
    }
}

impl Drop for SizeObserver {
    fn drop(&mut self) {
        if let Some(observer) = &self.observer {
            observer.disconnect();
        }
    }
}
