//! Speed across nodes: the picker of whose tests the speed section shows, and
//! a chart that overlays every node's download; both only once some agent
//! node's tests have arrived.

use leptos::prelude::*;

use crate::{
    chart::{draw::SPEED_CHART, scale::ChartSeries},
    format::{self, escape},
    live::history::SpeedHistory,
    ui::time_chart::TimeChart,
};

/// The picker's options, the shown node selected and this server marked; built
/// as one string, since a list of views adds its own update code to the bundle.
pub fn node_options_html(history: &SpeedHistory) -> String {
    let mut html = String::new();
    for (n, node) in history.nodes().into_iter().enumerate() {
        let selected = if node == history.shown() { " selected" } else { "" };
        let here = if n == 0 { " (this server)" } else { "" };
        let node = escape(node);
        html += &format!("<option value=\"{node}\"{selected}>{node}{here}</option>");
    }
    html
}

/// The overlay's text alternative: each node's latest download.
pub fn by_node_summary(series: &ChartSeries) -> String {
    let latest: Vec<String> =
        series.drawn().filter_map(|(_, line)| Some(format!("{} {} Mbit/s", line.name, format::metric(Some(line.points.last()?.v))))).collect();
    if latest.is_empty() {
        return "Download by node: no measurements yet.".to_owned();
    }
    format!("Download by node, latest: {}.", latest.join(", "))
}

/// Whose tests the cards and charts show.
#[component]
pub fn NodePicker(history: RwSignal<SpeedHistory>) -> impl IntoView {
    // A memo: the options are rebuilt when a node appears or another is shown, not on every sample.
    let options = Memo::new(move |_| history.with(node_options_html));
    view! {
        <label class="node-picker">
            "Tests from "
            <select data-testid="speed-node" inner_html=options on:change=move |ev| history.update(|h| h.show(&event_target_value(&ev)))></select>
        </label>
    }
}

/// Every node's download over its recent tests, one line each.
#[component]
pub fn NodeSpeedChart(history: RwSignal<SpeedHistory>) -> impl IntoView {
    let series = Memo::new(move |_| history.with(|h| ChartSeries::download_by_node(h.each_node())));
    let samples = Signal::derive(move || series.with(ChartSeries::point_count));
    let summary = Signal::derive(move || series.with(by_node_summary));
    view! { <TimeChart series spec=SPEED_CHART caption="Download by node, Mbit/s: each node's recent tests" testid="node-speed-chart" samples summary/> }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Snapshot, SpeedSample};

    fn history() -> SpeedHistory {
        let tokyo = SpeedSample { node: "to<kyo".into(), ..SpeedSample::for_test(60, Some(80.5), None) };
        let snapshot = Snapshot { node: "n".into(), max_points: 10, speed: vec![SpeedSample::for_test(0, Some(900.0), None), tokyo], ..Snapshot::default() };
        SpeedHistory::from_snapshot(&snapshot)
    }

    #[test]
    fn options_list_this_server_first_and_select_the_shown_node() {
        let mut history = history();
        assert_eq!(node_options_html(&history), "<option value=\"n\" selected>n (this server)</option><option value=\"to&lt;kyo\">to&lt;kyo</option>");
        history.show("to<kyo");
        assert!(node_options_html(&history).ends_with("<option value=\"to&lt;kyo\" selected>to&lt;kyo</option>"));
    }

    #[test]
    fn the_overlay_says_each_nodes_latest_download() {
        let series = ChartSeries::download_by_node(history().each_node());
        assert_eq!(by_node_summary(&series), "Download by node, latest: n 900 Mbit/s, to<kyo 80.5 Mbit/s.");
        assert_eq!(by_node_summary(&ChartSeries::default()), "Download by node: no measurements yet.");
    }
}
