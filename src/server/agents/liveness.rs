//! The `node` topic: each enrolled node's state, looked at every few seconds
//! and published when it goes online or offline (or its clock becomes or stops
//! being skewed), and once a minute besides. A node that stops reporting thus
//! becomes an event that rules can judge (`series = "node:tokyo"`,
//! `field = "online"`): the dead-man alert.

use std::{collections::HashMap, time::Duration};

use tokio_util::sync::CancellationToken;

use crate::{
    model::{node::NodeReport, NODE_TOPIC},
    server::{
        agents::{admin_routes::node_status, nodes::NodeRow},
        clock::now_ms,
        AppState,
    },
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
pub fn is_due(report: &NodeReport, told: Option<Told>, now_ms: i64) -> bool {
    match told {
        None => true,
        Some(told) if told.online != report.online || told.skewed != report.clock_skewed => true,
        Some(told) => now_ms - told.at_ms >= REPORT_EVERY_MS,
    }
}

/// Publishes the nodes' reports until shutdown.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let told = std::sync::Mutex::new(HashMap::<String, Told>::new());
    // After this server was down, its nodes get `offline_after` to reach it again before they count as offline.
    let started_ms = now_ms();
    let (state, told) = (&state, &told);
    crate::server::schedule::every(LOOK_EVERY, &shutdown, || async move {
        let rows = match state.store.nodes().await {
            Ok(rows) => rows,
            Err(error) => return tracing::warn!(%error, "cannot read the agent nodes for the node topic"),
        };
        let now = now_ms();
        // A node that never reported has nothing to judge yet; a revoked one is no longer watched.
        for row in rows.into_iter().filter(|row| row.last_seen_ms.is_some() && row.revoked_ms.is_none()) {
            let last_seen_ms = row.last_seen_ms;
            let judged = NodeRow { last_seen_ms: last_seen_ms.map(|seen| seen.max(started_ms)), ..row };
            let report = NodeReport { last_seen_ms, ..node_status(judged, now, state.config.agents.offline_after_ms()).report() };
            let previous = told.lock().unwrap_or_else(|p| p.into_inner()).get(&report.node).copied();
            if !is_due(&report, previous, now) {
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
    fn a_node_is_reported_when_it_changes_and_each_minute() {
        let told = Some(Told { online: true, skewed: false, at_ms: 1_000 });
        assert!(is_due(&report(true), None, 1_000), "first sight");
        assert!(!is_due(&report(true), told, 30_000), "nothing new within the minute");
        assert!(is_due(&report(false), told, 6_000), "gone offline");
        assert!(is_due(&report(true), told, 61_000), "a minute on");
        let skewed = NodeReport { clock_skewed: true, ..report(true) };
        assert!(is_due(&skewed, told, 6_000), "its clock went off");
    }
}
