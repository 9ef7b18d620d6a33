//! What an agent and the server say to each other, as JSON over HTTPS that
//! the agent opens: joining with a token, batches of numbered results and
//! their acknowledgements, and a stream of its config and commands. Versioned: each side names the protocol it
//! speaks, and a mismatch is refused with a message saying what to upgrade.

use serde::{Deserialize, Serialize};

/// The agent protocol this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Results one batch may carry; an agent with more sends several.
/// Sequence numbers are stored as signed 64-bit integers: at most `i64::MAX`.
pub const MOST_SEQUENCE_NUMBER: u64 = i64::MAX as u64;
pub const MOST_RESULTS_PER_BATCH: usize = 5_000;

/// The start of an agent credential, so one pasted in the wrong place is recognisable.
pub const CREDENTIAL_PREFIX: &str = "npn_";

/// The start of a join token.
pub const JOIN_TOKEN_PREFIX: &str = "npj_";

/// An agent asks to join with an admin's single-use token (no `Debug`: it holds the token).
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct JoinRequest {
    pub protocol: u32,
    /// The token from `POST /api/agents/join-tokens`; works once.
    pub token: String,
    /// The node's name as charts and rules show it: 1 to 64 letters, digits, `.`, `_` or `-`.
    pub name: String,
    /// The agent's netpulse version, shown in the node list.
    #[serde(default)]
    pub version: String,
}

/// The node's own credential, shown this once; only its SHA-256 is kept.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
pub struct Joined {
    pub protocol: u32,
    pub node: String,
    pub credential: String,
}

impl std::fmt::Debug for Joined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joined").field("protocol", &self.protocol).field("node", &self.node).field("credential", &"[redacted]").finish()
    }
}

/// The four timestamps of an exchange, NTP-style: the agent's clock at
/// sending and receiving, the server's at receiving and answering.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ExchangeStamps {
    pub agent_sent_ms: i64,
    pub server_received_ms: i64,
    pub server_sent_ms: i64,
    pub agent_received_ms: i64,
}

/// A batch of results from an agent's outbox.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ResultBatch {
    pub protocol: u32,
    /// The agent's clock as it sent this batch.
    pub sent_ms: i64,
    /// The previous batch's exchange, now that the agent knows when its answer arrived.
    #[serde(default)]
    pub previous: Option<ExchangeStamps>,
    /// Results still waiting in the outbox after this batch.
    #[serde(default)]
    pub backlog: u64,
    /// Results the outbox dropped, oldest first, for want of room (a running total).
    #[serde(default)]
    pub dropped: u64,
    /// The highest sequence number dropped: nothing at or below it will come.
    #[serde(default)]
    pub dropped_through: u64,
    pub results: Vec<AgentResult>,
}

/// One numbered result.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct AgentResult {
    /// The node's sequence number, from 1, each taken once.
    pub seq: u64,
    /// `speed` or `probe`.
    pub kind: String,
    /// A speed sample or a check result as the server's own topics carry them, timed by the agent's clock.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// One result the server refused, and why.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Refused {
    pub seq: u64,
    pub reason: String,
    /// Whether sending it again later can help (it waits for a gap to fill); otherwise it counts as done.
    pub retry: bool,
}

/// The server's answer to a batch; with status 422 when some results were refused.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct BatchAnswer {
    pub protocol: u32,
    /// Every sequence number up to this one is done: the agent may delete them.
    pub acknowledged: u64,
    /// The server's clock when the batch arrived and when this answer left.
    pub received_ms: i64,
    pub sent_ms: i64,
    /// The server's estimate of its clock minus the agent's.
    pub offset_ms: i64,
    /// Results stored from this batch.
    pub stored: usize,
    /// Results stored before (retries), not stored again.
    pub duplicates: usize,
    /// Results whose corrected time was in the future: stored at the server's time, and flagged.
    pub clamped: Vec<u64>,
    pub refused: Vec<Refused>,
    /// Present with status 422: which results were refused, in a line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a node runs, as the server's config says: its monitors but push ones, and its speed tests.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NodeConfig {
    pub protocol: u32,
    pub node: String,
    /// `[[monitor]]` tables as the server's config has them.
    #[schema(value_type = Vec<Object>)]
    pub monitors: Vec<crate::server::monitor::config::MonitorConfig>,
    /// The server's `[speed]` section, targets included; absent while `speed.enabled` is off.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub speed: Option<crate::server::speed::config::SpeedConfig>,
}

/// The stream's `test-now` event: run a speed test at once.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TestNow {
    /// The target's label, as samples carry it; absent for every target.
    #[serde(default)]
    pub target: Option<String>,
}

/// The stream's `peers` event: where each node serves `/speedtest`, for `node:NAME` targets.
/// Sent after the config and again whenever a node starts or stops serving.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PeerList {
    /// The server's own node name: an agent reaches its `/speedtest` at the server's address.
    pub server: String,
    /// Each agent node's `/speedtest` base URL, by name.
    pub nodes: std::collections::BTreeMap<String, String>,
}

/// The refusal of a protocol the server does not speak.
pub fn protocol_mismatch(theirs: u32) -> Option<String> {
    (theirs != PROTOCOL_VERSION).then(|| {
        format!(
            "this server speaks agent protocol {PROTOCOL_VERSION} and the agent sent protocol {theirs}: run the same netpulse version on the agent and the server"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatch_names_both_versions_and_the_credential_never_shows_in_debug() {
        assert_eq!(protocol_mismatch(PROTOCOL_VERSION), None);
        let message = protocol_mismatch(7).unwrap();
        assert!(message.contains("protocol 1") && message.contains("protocol 7"), "{message}");
        let joined = Joined { protocol: 1, node: "tokyo".into(), credential: "npn_secret".into() };
        assert!(!format!("{joined:?}").contains("npn_secret"));
    }
}
