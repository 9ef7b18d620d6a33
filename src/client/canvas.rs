//! Sizes a canvas for the screen's pixel density and draws the speed chart on it.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use crate::{
    chart::{
        draw::{draw_speed_chart, ChartStyle},
        scale::SpeedSeries,
    },
    model::SpeedSample,
};

/// Height in CSS pixels; the width follows the container.
const CSS_HEIGHT: f64 = 320.0;

pub fn draw_samples(canvas: &HtmlCanvasElement, samples: &[SpeedSample]) {
    let Some(window) = web_sys::window() else { return };
    let scale = window.device_pixel_ratio().max(1.0);
    let css_width = f64::from(canvas.client_width().max(1));
    let (width, height) = ((css_width * scale).round() as u32, (CSS_HEIGHT * scale).round() as u32);
    // Resizing the backing store clears it, so only do it when the size changed.
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    let utc_offset_minutes = -(js_sys::Date::new_0().get_timezone_offset() as i32);
    let series = SpeedSeries::from_samples(samples).decimated(css_width as usize);
    let Some(backend) = CanvasBackend::with_canvas_object(canvas.clone()) else { return };
    let root = backend.into_drawing_area();
    if let Err(error) = draw_speed_chart(&root, &series, &ChartStyle::dark(scale, utc_offset_minutes)) {
        leptos::logging::warn!("drawing the speed chart failed: {error}");
    }
}
