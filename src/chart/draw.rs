//! Draws a time-series line chart (speed, latency) on any plotters backend: a
//! canvas in the browser, SVG in tests. The legend is HTML beside the canvas
//! (`ui::time_chart`); plotters' own legend costs about 10 KB of the gzipped bundle.

use plotters::{
    coord::{types::RangedCoordf64, Shift},
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use crate::chart::scale::{time_label, value_ceiling, ChartPoint, ChartSeries, LINE_COLOURS};

/// Incidents are shaded in the danger colour, this opaque.
const INCIDENT_SHADE: f64 = 0.16;

/// Colours and sizes; pixel sizes are in device pixels.
#[derive(Clone, Debug)]
pub struct ChartStyle {
    pub background: RGBColor,
    pub text: RGBColor,
    pub grid: RGBColor,
    /// Line colours: download, upload, latency, jitter, then two more.
    pub lines: [RGBColor; LINE_COLOURS],
    /// Shades incidents.
    pub danger: RGBColor,
    /// Device pixels per CSS pixel, so text and lines keep their size on HiDPI screens.
    pub scale: f64,
    /// The viewer's offset from UTC, for axis labels.
    pub utc_offset_minutes: i32,
}

impl ChartStyle {
    pub fn dark(scale: f64, utc_offset_minutes: i32) -> Self {
        Self {
            background: RGBColor(0x12, 0x17, 0x21),
            text: RGBColor(0xc9, 0xd1, 0xd9),
            grid: RGBColor(0x30, 0x36, 0x3d),
            lines: [
                RGBColor(0x3f, 0xb9, 0x50),
                RGBColor(0x58, 0xa6, 0xff),
                RGBColor(0xd2, 0xa8, 0xff),
                RGBColor(0xf0, 0x88, 0x3e),
                RGBColor(0x39, 0xc5, 0xcf),
                RGBColor(0xf7, 0x78, 0xba),
            ],
            danger: RGBColor(0xff, 0x7b, 0x72),
            scale,
            utc_offset_minutes,
        }
    }

    pub fn light(scale: f64, utc_offset_minutes: i32) -> Self {
        Self {
            background: RGBColor(0xff, 0xff, 0xff),
            text: RGBColor(0x1f, 0x23, 0x28),
            grid: RGBColor(0xd0, 0xd7, 0xde),
            lines: [
                RGBColor(0x1a, 0x7f, 0x37),
                RGBColor(0x09, 0x69, 0xda),
                RGBColor(0x82, 0x50, 0xdf),
                RGBColor(0xbc, 0x4c, 0x00),
                RGBColor(0x1b, 0x7c, 0x83),
                RGBColor(0xbf, 0x39, 0x89),
            ],
            danger: RGBColor(0xcf, 0x22, 0x2e),
            scale,
            utc_offset_minutes,
        }
    }

    fn px(&self, css_px: f64) -> u32 {
        (css_px * self.scale).round().max(1.0) as u32
    }
}

/// The plot's frame, in CSS pixels; `chart::hover` maps the pointer with them.
pub const PLOT_MARGIN: f64 = 12.0;
/// Wider on the right, so the last time label is not cut off.
pub const PLOT_MARGIN_RIGHT: f64 = 28.0;
pub const X_LABEL_AREA: f64 = 28.0;
pub const Y_LABEL_AREA: f64 = 56.0;

/// Points are marked individually while there are few enough to tell apart.
const MARK_POINTS_UP_TO: usize = 60;

/// What a chart is of: its unit and what it says before it has data.
#[derive(Clone, Copy, Debug)]
pub struct ChartSpec {
    pub unit: &'static str,
    pub empty: &'static str,
}

pub const SPEED_CHART: ChartSpec = ChartSpec { unit: "Mbit/s", empty: "Waiting for the first speed test…" };
pub const TOPIC_CHART: ChartSpec = ChartSpec { unit: "value", empty: "Waiting for the first event…" };
pub const LATENCY_CHART: ChartSpec = ChartSpec { unit: "ms", empty: "Waiting for the first latency figures…" };

pub fn draw_line_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    series: &ChartSeries,
    spec: ChartSpec,
    style: &ChartStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&style.background)?;
    // The enum, not the name "sans-serif": plotters lower-cases a name, which
    // pulls Unicode case tables into the bundle.
    let font = (FontFamily::SansSerif, style.px(12.0) as f64).into_font().color(&style.text);
    let Some((t0, t1)) = series.time_range() else {
        let (w, h) = root.dim_in_pixel();
        let text = Text::new(spec.empty, (w as i32 / 2, h as i32 / 2), font.clone().pos(Pos::new(HPos::Center, VPos::Center)));
        root.draw(&text)?;
        return root.present();
    };
    let span = t1 - t0;
    let ceiling = value_ceiling(series.max_marked());
    let mut chart = ChartBuilder::on(root)
        .margin(style.px(PLOT_MARGIN))
        .margin_right(style.px(PLOT_MARGIN_RIGHT))
        .x_label_area_size(style.px(X_LABEL_AREA))
        .y_label_area_size(style.px(Y_LABEL_AREA))
        .build_cartesian_2d(t0..t1, 0.0..ceiling)?;
    let offset = style.utc_offset_minutes;
    // About one time label per 90 CSS pixels of plot, so a phone's labels do not run together.
    let plot_css_width = f64::from(root.dim_in_pixel().0) / style.scale - PLOT_MARGIN - PLOT_MARGIN_RIGHT - Y_LABEL_AREA;
    let x_labels = (plot_css_width / 90.0).clamp(2.0, 8.0) as usize;
    chart
        .configure_mesh()
        .x_labels(x_labels)
        .y_labels(6)
        .x_label_formatter(&|t| time_label(*t, span, offset))
        .y_label_formatter(&|v| format_axis_value(*v))
        .y_desc(spec.unit)
        .label_style(font.clone())
        .axis_desc_style(font.clone())
        .axis_style(style.grid)
        .bold_line_style(style.grid.mix(0.6))
        .light_line_style(style.grid.mix(0.2))
        .draw()?;
    let marks = &series.marks;
    let shade = style.danger.mix(INCIDENT_SHADE).filled();
    let shown = marks.incidents.iter().filter(|&&(from, to)| from < t1 && to > t0);
    chart.draw_series(shown.map(|&(from, to)| Rectangle::new([(from.max(t0), 0.0), (to.min(t1), ceiling)], shade)))?;
    // Dashes drawn as short lines, through the same routine as the data's lines:
    // plotters' dashed series would add its own code to the bundle.
    let seconds_per_px = span / f64::from(chart.plotting_area().dim_in_pixel().0.max(1));
    let (dash, step) = (seconds_per_px * f64::from(style.px(6.0)), seconds_per_px * f64::from(style.px(10.0)));
    for &(line, v) in &marks.thresholds {
        let colour = style.lines[(series.first_colour + line) % LINE_COLOURS].stroke_width(style.px(1.5));
        let mut t = t0;
        while t < t1 && step > 0.0 {
            draw_polyline(&mut chart, &[ChartPoint { t, v }, ChartPoint { t: (t + dash).min(t1), v }], colour)?;
            t += step;
        }
    }
    let line_width = style.px(2.0);
    for (colour, line) in series.drawn() {
        let (points, colour) = (&line.points, style.lines[colour]);
        draw_polyline(&mut chart, points, colour.stroke_width(line_width))?;
        if points.len() <= MARK_POINTS_UP_TO {
            let radius = style.px(3.0);
            chart.draw_series(points.iter().map(|&ChartPoint { t, v }| Circle::new((t, v), radius, colour.filled())))?;
        }
    }
    root.present()
}

type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Every line of a chart goes through here, so the bundle links one routine for them.
fn draw_polyline<DB: DrawingBackend>(
    chart: &mut TimeChart<'_, DB>,
    points: &[ChartPoint],
    style: ShapeStyle,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart.draw_series(LineSeries::new(points.iter().map(|p| (p.t, p.v)), style))?;
    Ok(())
}

fn format_axis_value(value: f64) -> String {
    if value >= 100.0 || value == 0.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{
        marks::AlertMarks,
        scale::{ChartPoint, Line},
    };

    fn render(series: &ChartSeries, spec: ChartSpec) -> String {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (640, 300)).into_drawing_area();
            draw_line_chart(&root, series, spec, &ChartStyle::dark(1.0, 0)).unwrap();
        }
        svg
    }

    fn line(name: &str, v: f64) -> Line {
        Line { name: name.to_owned(), points: (0..10).map(|i| ChartPoint { t: 1_700_000_000.0 + i as f64 * 60.0, v: v + i as f64 }).collect() }
    }

    #[test]
    fn draws_each_series_in_its_colour_with_the_unit() {
        let svg = render(&ChartSeries { lines: vec![line("Download", 90.0), line("Upload", 20.0)], first_colour: 0, ..ChartSeries::default() }, SPEED_CHART);
        assert!(svg.contains("Mbit/s"), "unit");
        for colour in ["#3FB950", "#58A6FF"] {
            let strokes = svg.matches(&format!(r#"stroke="{colour}""#)).count();
            assert_eq!(strokes, 1, "{colour}: one line");
        }
    }

    #[test]
    fn a_line_without_points_keeps_its_colour_for_the_next() {
        let series =
            ChartSeries { lines: vec![Line { name: "Latency".into(), points: Vec::new() }, line("Jitter", 0.5)], first_colour: 2, ..ChartSeries::default() };
        let svg = render(&series, LATENCY_CHART);
        assert!(svg.contains(">\nms\n<"), "unit");
        assert!(!svg.contains(r##"stroke="#D2A8FF""##), "the empty first line draws nothing");
        assert!(svg.contains(r##"stroke="#F0883E""##), "the second line keeps its colour, the jitter card's, as in the legend");
    }

    /// The HTML legend's swatches are CSS; they must match the canvas lines in both themes.
    #[test]
    fn legend_colours_in_the_stylesheet_match_the_lines() {
        let css = include_str!("../../style/main.css").to_lowercase();
        for (theme, style) in [("dark", ChartStyle::dark(1.0, 0)), ("light", ChartStyle::light(1.0, 0))] {
            for (index, RGBColor(r, g, b)) in style.lines.iter().enumerate() {
                let declaration = format!("--line-{index}: #{r:02x}{g:02x}{b:02x}");
                assert!(css.contains(&declaration), "{theme}: style/main.css lacks `{declaration}`");
            }
        }
    }

    #[test]
    fn thresholds_are_dashed_in_their_lines_colour_and_incidents_shaded() {
        let mut series = ChartSeries { lines: vec![line("Download", 90.0), line("Upload", 20.0)], ..ChartSeries::default() };
        let start = 1_700_000_000.0;
        let marks = AlertMarks { thresholds: vec![(0, 300.0)], incidents: vec![(start + 120.0, start + 240.0), (start + 480.0, f64::INFINITY), (0.0, 1.0)] };
        series = series.with_marks(marks);
        let svg = render(&series, SPEED_CHART);
        assert!(
            svg.contains(">\n500\n<") && !render(&ChartSeries { marks: AlertMarks::default(), ..series.clone() }, SPEED_CHART).contains(">\n500\n<"),
            "the axis grows to show a threshold above every point"
        );
        assert_eq!(svg.matches(r##"stroke="#3FB950""##).count(), 1 + dashes(&svg), "one download line, the rest are the threshold's dashes");
        assert!(dashes(&svg) > 5, "the threshold is dashed");
        assert_eq!(svg.matches(r##"opacity="0.16" fill="#FF7B72""##).count(), 2, "two incidents in range are shaded; one long before is not");
    }

    /// Dash segments: two-point polylines in the download colour.
    fn dashes(svg: &str) -> usize {
        svg.lines().filter(|l| l.contains(r##"stroke="#3FB950""##) && l.contains("<polyline") && l.matches(',').count() == 2).count()
    }

    #[test]
    fn empty_chart_says_it_is_waiting() {
        assert!(render(&ChartSeries::default(), SPEED_CHART).contains("Waiting for the first speed test"));
        assert!(render(&ChartSeries::default(), LATENCY_CHART).contains("Waiting for the first latency figures"));
    }

    #[test]
    fn axis_values_read_well() {
        assert_eq!(format_axis_value(250.0), "250");
        assert_eq!(format_axis_value(2.5), "2.5");
        assert_eq!(format_axis_value(0.25), "0.25");
    }
}
