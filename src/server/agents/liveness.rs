//! The `node` topic: each enrolled node's state, looked at every few seconds
//! and published when it goes online or offline (or its clock becomes or stops
//! being skewed), and once a minute besides. A node that stops reporting thus
//! becomes an event that rules can judge (`series = "node:tokyo"`,
//! `field = "online"`): the dead-man alert.

use std::{collections::HashMap, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::{
    model::{node::NodeReport, NODE_TOPIC},
    server::{agents::admin_routes::node_status, clock::now_ms, AppState},
};

/// How often the nodes are looked at: an offline node shows within this of `agents.offline_after`.
const LOOK_EVERY: Duration = Duration::from_secs(5);
/// A report this often even when nothing changed, so `node:<name>` history has a point a minute.
const REPORT_EVERY_MS: i64 = 60_000;

/// What was last published for a node, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Told {
    online: bool,
    skewed: bool,
    at_ms: i64,
}

/// Whether `report` is news against what was told: a change, or a minute's silence.
/// A revoked node is reported once, offline, and then no more.
pub fn is_due(report: &NodeReport, revoked: bool, told: Option<Told>, now_ms: i64) -> bool {
    match told {
        None => true,
        Some(told) if told.online != report.online || told.skewed != report.clock_skewed => true,
        Some(_) if revoked => false,
        Some(told) => now_ms - told.at_ms >= REPORT_EVERY_MS,
    }
}

/// Publishes the nodes' reports until shutdown.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let told = std::sync::Mutex::new(HashMap::<String, Told>::new());
    let (state, told) = (&state, &told);
    crate::server::schedule::every(LOOK_EVERY, &shutdown, || async move {
        let rows = match state.store.nodes().await {
            Ok(rows) => rows,
            Err(error) => return tracing::warn!(%error, "cannot read the agent nodes for the node topic"),
        };
        let now = now_ms();
        for row in rows {
            let revoked = row.revoked_ms.is_some();
            let status = node_status(row, now, state.config.agents.offline_after_ms());
            let report = NodeReport {
                node: status.name,
                online: status.online,
                last_seen_ms: status.last_seen_ms,
                clock_offset_ms: status.clock_offset_ms,
                clock_skewed: status.clock_skewed,
                backlog: status.backlog,
                dropped: status.dropped,
                version: status.version,
            };
            let previous = told.lock().unwrap_or_else(|p| p.into_inner()).get(&report.node).copied();
            if !is_due(&report, revoked, previous, now) {
                continue;
            }
            let data = serde_json::to_string(&report).unwrap_or_default();
            if state.writer.publish(NODE_TOPIC, &report.node, data).await.is_ok() {
                let entry = Told { online: report.online, skewed: report.clock_skewed, at_ms: now };
                told.lock().unwrap_or_else(|p| p.into_inner()).insert(report.node, entry);
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(online: bool) -> NodeReport {
        NodeReport {
            node: "tokyo".into(),
            online,
            last_seen_ms: Some(0),
            clock_offset_ms: None,
            clock_skewed: false,
            backlog: 0,
            dropped: 0,
            version: "0.2.0".into(),
        }
    }

    #[test]
    fn a_node_is_reported_when_it_changes_and_each_minute_and_a_revoked_one_once() {
        let told = Some(Told { online: true, skewed: false, at_ms: 1_000 });
        assert!(is_due(&report(true), false, None, 1_000), "first sight");
        assert!(!is_due(&report(true), false, told, 30_000), "nothing new within the minute");
        assert!(is_due(&report(false), false, told, 6_000), "gone offline");
        assert!(is_due(&report(true), false, told, 61_000), "a minute on");
        let skewed = NodeReport { clock_skewed: true, ..report(true) };
        assert!(is_due(&skewed, false, told, 6_000), "its clock went off");
        let revoked = Some(Told { online: false, skewed: false, at_ms: 1_000 });
        assert!(!is_due(&report(false), true, revoked, 600_000), "a revoked node is told once");
    }
}
