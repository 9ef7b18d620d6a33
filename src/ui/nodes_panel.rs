//! The node list and the node × monitor matrix, live from the `node` and
//! `probe` topics. Shown when the server has agent nodes that reported.

use leptos::prelude::*;

use crate::{
    live::{monitors::MonitorBoard, node_matrix::matrix_html, nodes::NodeBoard},
    model::PROBE_TOPIC,
    ui::{rooms::use_rooms, viewer_zone::use_viewer_zone},
};

#[component]
pub fn NodesPanel(nodes: RwSignal<NodeBoard>, board: RwSignal<MonitorBoard>, here: String) -> impl IntoView {
    let zone = use_viewer_zone();
    // With monitor checks switched off the board is stale: no matrix then, as no monitor table.
    let rooms = use_rooms();
    view! {
        <section class="nodes" aria-labelledby="nodes-heading" data-testid="nodes">
            <h2 id="nodes-heading" class="section-title">"Nodes"</h2>
            <p class="nodes-summary" data-testid="nodes-summary" role="status">{move || nodes.with(NodeBoard::summary)}</p>
            <ul class="node-list" data-testid="node-list" inner_html=move || nodes.with(|list| list.rows_html(zone.get()))></ul>
            <div class="table-scroll">
                <table class="monitor-table node-matrix" data-testid="node-matrix" aria-label="Each monitor's latest check, from this server and from each node"
                    inner_html=move || if rooms.is_on(PROBE_TOPIC) { nodes.with(|list| board.with(|b| matrix_html(b, list, &here))) } else { String::new() }></table>
            </div>
        </section>
    }
}
