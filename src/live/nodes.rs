//! The agent nodes the dashboard's node list shows: seeded from the snapshot,
//! replaced by each `node` event. Pure, so it is tested natively.

use crate::{
    format::{escape, time_html},
    model::{node::NodeReport, Snapshot},
};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeBoard {
    /// By name.
    nodes: Vec<NodeReport>,
}

impl NodeBoard {
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let mut board = Self::default();
        for report in &snapshot.nodes {
            board.apply(report.clone());
        }
        board
    }

    /// Takes a node's newest report: events arrive in order, so the last one told is current.
    pub fn apply(&mut self, report: NodeReport) {
        match self.nodes.binary_search_by(|known| known.node.cmp(&report.node)) {
            Ok(at) => self.nodes[at] = report,
            Err(at) => self.nodes.insert(at, report),
        }
    }

    /// The nodes' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.nodes.iter().map(|node| node.node.as_str()).collect()
    }

    pub fn is_online(&self, name: &str) -> bool {
        self.nodes.iter().any(|node| node.node == name && node.online)
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// "2 of 3 nodes online", and how many clocks are off.
    pub fn summary(&self) -> String {
        let online = self.nodes.iter().filter(|n| n.online).count();
        let skewed = self.nodes.iter().filter(|n| n.clock_skewed).count();
        let total = self.nodes.len();
        let mut text = match (online, total) {
            (1, 1) => "The node is online.".to_owned(),
            (0, 1) => "The node is offline.".to_owned(),
            (online, total) if online == total => format!("All {total} nodes are online."),
            (online, total) => format!("{online} of {total} nodes are online."),
        };
        if skewed > 0 {
            text.push_str(&format!(" {skewed} with a clock more than 2 s off."));
        }
        text
    }

    /// The nodes as list items, built as one string: a view per part would
    /// add its own code to the WASM bundle.
    pub fn rows_html(&self, zone: Option<i32>) -> String {
        self.nodes.iter().map(|node| row_html(node, zone)).collect()
    }
}

fn row_html(node: &NodeReport, zone: Option<i32>) -> String {
    let (state, class) = if node.online { ("online", "up") } else { ("offline", "down") };
    let seen = node.last_seen_ms.map_or_else(|| "never reported".to_owned(), |ms| time_html(ms, "last seen ", zone));
    let skew = if node.clock_skewed { " node-skewed" } else { "" };
    let dropped = if node.dropped > 0 { format!(", {} dropped", node.dropped) } else { String::new() };
    format!(
        "<li class=\"node-row\" data-testid=\"node-row\" data-node=\"{name}\" data-online=\"{online}\">\
         <span class=\"node-state state-{class}\">{state}</span><span class=\"node-name\">{name}</span>\
         <span class=\"node-seen\">{seen}</span><span class=\"node-clock{skew}\">{clock}</span>\
         <span class=\"node-backlog\">{backlog} waiting{dropped}</span><span class=\"node-version\">{version}</span></li>",
        name = escape(&node.node),
        online = node.online,
        clock = clock_text(node.clock_offset_ms),
        backlog = node.backlog,
        version = escape(&node.version),
    )
}

/// The node's clock against the server's: the offset is the server's clock minus the node's.
pub fn clock_text(offset_ms: Option<i64>) -> String {
    match offset_ms {
        None => "clock not measured yet".to_owned(),
        Some(ms) if ms.abs() < 100 => "clock in step".to_owned(),
        Some(ms) => format!("clock {:.1} s {}", ms.abs() as f64 / 1000.0, if ms > 0 { "behind" } else { "ahead" }),
    }
}

/// The event log's line for a node event.
pub fn node_summary(node: &NodeReport) -> String {
    let state = if node.online { "online" } else { "offline" };
    let skew = if node.clock_skewed { format!(", {}", clock_text(node.clock_offset_ms)) } else { String::new() };
    format!("{} {state}, {} waiting{skew}", node.node, node.backlog)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, online: bool) -> NodeReport {
        NodeReport {
            node: name.into(),
            online,
            last_seen_ms: Some(1_764_547_200_000),
            clock_offset_ms: Some(20),
            clock_skewed: false,
            backlog: 0,
            dropped: 0,
            version: "0.2.0".into(),
        }
    }

    #[test]
    fn the_newest_report_replaces_a_node_and_nodes_stay_in_name_order() {
        let mut board = NodeBoard::default();
        board.apply(report("tokyo", true));
        board.apply(report("berlin", true));
        board.apply(report("tokyo", false));
        let html = board.rows_html(None);
        assert!(html.find("data-node=\"berlin\"").unwrap() < html.find("data-node=\"tokyo\"").unwrap());
        assert!(html.contains("data-node=\"tokyo\" data-online=\"false\""), "{html}");
        assert_eq!(html.matches("<li ").count(), 2);
        assert_eq!(board.summary(), "1 of 2 nodes are online.");
    }

    #[test]
    fn a_row_says_when_the_node_was_seen_its_clock_and_its_backlog() {
        let skewed = NodeReport { clock_offset_ms: Some(-125_400), clock_skewed: true, backlog: 12, dropped: 3, ..report("<x>", true) };
        let html = NodeBoard { nodes: vec![skewed.clone()] }.rows_html(Some(60));
        assert!(html.contains("&lt;x&gt;") && !html.contains("<x>"), "names are escaped: {html}");
        assert!(html.contains("last seen 2025-12-01 01:00:00"), "in the viewer's zone: {html}");
        assert!(html.contains("node-clock node-skewed\">clock 125.4 s ahead"), "{html}");
        assert!(html.contains("12 waiting, 3 dropped"), "{html}");
        assert_eq!(node_summary(&skewed), "<x> online, 12 waiting, clock 125.4 s ahead");
        let never = NodeReport { last_seen_ms: None, clock_offset_ms: None, ..report("new", false) };
        let html = NodeBoard { nodes: vec![never] }.rows_html(None);
        assert!(html.contains("never reported") && html.contains("clock not measured yet"), "{html}");
    }

    #[test]
    fn the_summary_counts_nodes_online_and_clocks_off() {
        let one = |online| NodeBoard { nodes: vec![report("a", online)] };
        assert_eq!(one(true).summary(), "The node is online.");
        assert_eq!(one(false).summary(), "The node is offline.");
        let all = NodeBoard { nodes: vec![report("a", true), NodeReport { clock_skewed: true, ..report("b", true) }] };
        assert_eq!(all.summary(), "All 2 nodes are online. 1 with a clock more than 2 s off.");
        assert_eq!(clock_text(Some(3_000)), "clock 3.0 s behind");
        assert_eq!(clock_text(Some(-40)), "clock in step");
    }
}
