//! The `node` topic's wire type: an agent node's state as the node list shows it.

use serde::{Deserialize, Serialize};

/// Published when a node goes online or offline, or its clock starts or stops being
/// skewed, and once a minute besides, so its history has a point each minute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeReport {
    pub node: String,
    /// Sent a batch within `agents.offline_after`, and not revoked.
    pub online: bool,
    pub last_seen_ms: Option<i64>,
    /// The server's clock minus the node's.
    pub clock_offset_ms: Option<i64>,
    /// The offset is over 2 s.
    pub clock_skewed: bool,
    /// Results waiting in the node's outbox, and dropped there for want of room.
    pub backlog: i64,
    pub dropped: i64,
    pub version: String,
}

#[cfg(test)]
impl NodeReport {
    /// An online node named `name` with nothing else reported, for tests.
    pub fn for_test(name: &str) -> Self {
        Self { node: name.into(), online: true, last_seen_ms: None, clock_offset_ms: None, clock_skewed: false, backlog: 0, dropped: 0, version: String::new() }
    }
}
