//! The admin page's agent nodes: each node's health with a revoke button, and
//! the form that makes a single-use join token. Rendered by the server alone.

use leptos::prelude::*;

use crate::{
    model::admin_page::{AdminNode, NewJoinToken},
    ui::{
        admin_page::ActionButton,
        page_parts::{time_view, TableSection},
    },
};

fn state_text(node: &AdminNode) -> &'static str {
    match (node.revoked, node.report.online, node.report.last_seen_ms) {
        (true, _, _) => "revoked",
        (false, true, _) => "online",
        (false, false, None) => "never reported",
        (false, false, Some(_)) => "offline",
    }
}

/// The node's clock against this server's, and whether it is off by more than 2 s.
fn clock_text(node: &AdminNode) -> String {
    let text = crate::live::nodes::clock_text(node.report.clock_offset_ms);
    if node.report.clock_skewed {
        format!("{text} (fix its clock; its times are corrected meanwhile)")
    } else {
        text
    }
}

#[component]
pub fn AgentNodes(nodes: Vec<AdminNode>) -> impl IntoView {
    let empty = nodes.is_empty().then_some("No agent nodes yet: make a join token below and run the command it shows on the new node.");
    let rows = nodes
        .into_iter()
        .map(|node| {
            let seen = match node.report.last_seen_ms {
                Some(at) => time_view(at).into_any(),
                None => "never".into_any(),
            };
            let revoke = (!node.revoked).then(
                || view! { <ActionButton action="revoke-node" field="name" value=node.report.node.clone() label=format!("Revoke {}", node.report.node)/> },
            );
            view! {
                <tr data-node=node.report.node.clone() data-state=state_text(&node)>
                    <td data-label="Name">{node.report.node.clone()}</td>
                    <td data-label="State">{state_text(&node)}</td>
                    <td data-label="Last seen">{seen}</td>
                    <td data-label="Clock">{clock_text(&node)}</td>
                    <td data-label="Outbox">{node.report.backlog}" waiting, "{node.report.dropped}" dropped"</td>
                    <td data-label="Version">{node.report.version.clone()}</td>
                    <td data-label="Joined">{time_view(node.joined_ms)}</td>
                    <td data-label="Revoke">{revoke}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableSection id="agent-nodes" title="Agent nodes" empty headers=&["Name", "State", "Last seen", "Clock", "Outbox", "Version", "Joined", "Revoke"]>{rows}</TableSection>
        <form method="post" action="/admin" class="admin-form" data-testid="add-join-token">
            <input type="hidden" name="action" value="add-join-token"/>
            <label class="field">"Works for hours (empty: 24, at most 720)"<input name="hours" inputmode="decimal" autocomplete="off"/></label>
            <button type="submit">"Make join token"</button>
        </form>
    }
}

/// A join token just made, and the command to run on the new node.
#[component]
pub fn NewJoinTokenNotice(made: NewJoinToken) -> impl IntoView {
    // The token from the environment stays out of `ps`.
    let command = format!("NETPULSE_JOIN_TOKEN={} netpulse agent join {} --name NAME", made.token, made.server_url);
    view! {
        <p class="notice notice-ok" role="status" data-testid="new-join-token">
            "Join token made. It works once, until " {time_view(made.expires_ms)} ", and is not shown again. On the new node, with its name for NAME: "
            <code>{command}</code>
        </p>
    }
}
