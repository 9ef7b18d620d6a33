//! The node × monitor matrix: each monitor's latest check from this server and
//! from every agent node, so that "down from here, fine from there" shows at a glance.

use crate::{
    format::{self, escape},
    live::{monitors::MonitorBoard, nodes::NodeBoard},
    model::ProbeResult,
};

/// The matrix as one table's markup; `here` names this server's own column.
/// Rows are monitors in the board's order, columns this server then the nodes by name.
pub fn matrix_html(board: &MonitorBoard, nodes: &NodeBoard, here: &str) -> String {
    let names = nodes.names();
    let mut monitors: Vec<&str> = Vec::new();
    for result in board.rows() {
        let (monitor, _) = split(&result.monitor, &names);
        if !monitors.contains(&monitor) {
            monitors.push(monitor);
        }
    }
    if monitors.is_empty() {
        return String::new();
    }
    let head: String = std::iter::once(format!("{} (this server)", escape(here)))
        .chain(names.iter().map(|name| escape(name)))
        .map(|label| format!("<th scope=\"col\">{label}</th>"))
        .collect();
    let rows: String = monitors
        .iter()
        .map(|monitor| {
            let cells: String = std::iter::once(None)
                .chain(names.iter().map(|name| Some(*name)))
                .map(|node| {
                    let result = board.rows().iter().find(|result| split(&result.monitor, &names) == (monitor, node));
                    cell_html(result, node.is_none_or(|node| nodes.is_online(node)))
                })
                .collect();
            format!("<tr data-monitor=\"{name}\"><th scope=\"row\">{name}</th>{cells}</tr>", name = escape(monitor))
        })
        .collect();
    format!("<thead><tr><th scope=\"col\">Monitor</th>{head}</tr></thead><tbody>{rows}</tbody>")
}

/// `web@tokyo` as (`web`, Some(`tokyo`)) when `tokyo` is a node; else the name itself, from here.
fn split<'a>(name: &'a str, nodes: &[&str]) -> (&'a str, Option<&'a str>) {
    match name.rsplit_once('@') {
        Some((monitor, node)) if nodes.contains(&node) => (monitor, Some(node)),
        _ => (name, None),
    }
}

/// A check's cell; a node gone offline shows as such, its last check in the title.
fn cell_html(result: Option<&ProbeResult>, online: bool) -> String {
    match result {
        Some(result) if !online => format!(
            "<td class=\"cell-none\" data-state=\"offline\" title=\"the node is offline; its last check said {}\">offline</td>",
            if result.up { "up" } else { "down" }
        ),
        None => "<td class=\"cell-none\" data-state=\"none\" title=\"not checked from there\">—</td>".to_owned(),
        Some(result) => {
            let (state, detail) = match (result.up, &result.error) {
                (true, _) => ("up", result.response_ms.map(|ms| format!("{} ms", format::metric(Some(ms)))).unwrap_or_default()),
                (false, error) => ("down", error.clone().unwrap_or_default()),
            };
            format!("<td class=\"cell-{state}\" data-state=\"{state}\" title=\"{}\">{state}</td>", escape(&detail))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::node::NodeReport;

    fn check(monitor: &str, up: bool) -> ProbeResult {
        ProbeResult { monitor: monitor.into(), up, response_ms: up.then_some(12.0), error: (!up).then(|| "refused".into()), ..ProbeResult::default() }
    }

    fn node(name: &str) -> NodeReport {
        NodeReport::for_test(name)
    }

    #[test]
    fn each_monitor_is_a_row_and_each_vantage_point_a_column() {
        let mut board = MonitorBoard::default();
        for result in [check("web", true), check("web@tokyo", false), check("db@berlin", true), check("mail@home", true)] {
            board.apply(result);
        }
        let mut nodes = NodeBoard::default();
        nodes.apply(node("tokyo"));
        nodes.apply(node("berlin"));
        nodes.apply(NodeReport { online: false, ..node("paris") });
        board.apply(check("web@paris", true));
        let html = matrix_html(&board, &nodes, "hq");
        assert!(
            html.contains("<th scope=\"col\">hq (this server)</th><th scope=\"col\">berlin</th><th scope=\"col\">paris</th><th scope=\"col\">tokyo</th>"),
            "{html}"
        );
        let row = |monitor: &str| html.split(&format!("<tr data-monitor=\"{monitor}\">")).nth(1).unwrap().split("</tr>").next().unwrap().to_owned();
        let states = |monitor: &str| row(monitor).matches("data-state=\"").count();
        assert_eq!(states("web"), 4);
        assert!(row("web").contains("data-state=\"offline\" title=\"the node is offline; its last check said up\""), "{html}");
        assert!(
            row("web").contains("data-state=\"up\" title=\"12.0 ms\">up</td><td class=\"cell-none\"") && row("web").contains("title=\"refused\">down"),
            "{html}"
        );
        assert!(row("db").starts_with("<th scope=\"row\">db</th><td class=\"cell-none\""), "db is checked only from berlin: {html}");
        assert!(html.contains("<tr data-monitor=\"mail@home\">"), "an @ that names no node is part of the name: {html}");
        assert_eq!(matrix_html(&MonitorBoard::default(), &nodes, "hq"), "", "no monitors, no table");
    }
}
