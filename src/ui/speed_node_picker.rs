//! "Tests from": whose speed tests the speed section shows, this server's,
//! an agent node's, or every node's overlaid. `inline_scripts::NODE_PICKER_SCRIPT`
//! fills the options from the select's `data-` attributes and, on "Show",
//! loads the page with `?node=` (not on each change: arrow keys would reload
//! it), so the server sends only that node's tests and the WASM bundle
//! carries no picker logic (it has no room for it).

use leptos::prelude::*;

use crate::model::{Snapshot, EVERY_NODE, SPEED_TOPIC};

/// Whose tests the page shows, as its snapshot says.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeChoice {
    /// This server's name, the agent nodes' names (space-separated: names hold no spaces), and the shown one.
    pub here: String,
    pub nodes: String,
    pub shown: String,
    /// Whether there is an agent node to choose: else there is no picker.
    pub any_nodes: bool,
    /// Every node's tests overlaid, one line per node.
    pub every_node: bool,
    /// The stored series of a range: `speed`, or `speed@<node>`; `None` for every node.
    pub stored_series: Option<String>,
}

impl NodeChoice {
    pub fn of(snapshot: &Snapshot) -> Self {
        let shown = if snapshot.speed_node.is_empty() { &snapshot.node } else { &snapshot.speed_node };
        let nodes: Vec<&str> = snapshot.nodes.iter().map(|report| report.node.as_str()).collect();
        let stored_series = match shown.as_str() {
            EVERY_NODE => None,
            node if *node == snapshot.node => Some(SPEED_TOPIC.to_owned()),
            node => Some(format!("{SPEED_TOPIC}@{node}")),
        };
        Self {
            here: snapshot.node.clone(),
            nodes: nodes.join(" "),
            shown: shown.clone(),
            any_nodes: !nodes.is_empty(),
            every_node: shown == EVERY_NODE,
            stored_series,
        }
    }
}

/// Shown once there is an agent node to choose.
#[component]
pub fn SpeedNodePicker(choice: NodeChoice) -> impl IntoView {
    view! {
        <form class="node-picker" hidden=!choice.any_nodes>
            <label>"Tests from" <select name="node" data-testid="speed-node" data-here=choice.here data-nodes=choice.nodes data-shown=choice.shown></select></label>
            <button type="submit">"Show"</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_choice_follows_the_snapshot() {
        let report = crate::model::node::NodeReport::for_test;
        let mut snapshot = Snapshot { node: "central".into(), nodes: vec![report("tokyo"), report("pune")], ..Snapshot::default() };
        let here = NodeChoice::of(&snapshot);
        assert_eq!((here.nodes.as_str(), here.shown.as_str()), ("tokyo pune", "central"));
        assert_eq!((here.any_nodes, here.every_node, here.stored_series.as_deref()), (true, false, Some("speed")));
        snapshot.speed_node = "tokyo".into();
        assert_eq!(NodeChoice::of(&snapshot).stored_series.as_deref(), Some("speed@tokyo"));
        snapshot.speed_node = "*".into();
        let every = NodeChoice::of(&snapshot);
        assert!(every.every_node && every.stored_series.is_none() && every.shown == "*");
        assert!(!NodeChoice::of(&Snapshot { node: "central".into(), ..Snapshot::default() }).any_nodes);
    }
}
