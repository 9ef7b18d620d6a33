//! Nodes measuring each other: where each agent serves `/speedtest` (it says
//! so when it opens its stream), kept in the store and in memory for
//! `node:NAME` targets, and sent to every node's stream when it changes.

use crate::server::{
    agents::{commands::NodeCommand, protocol::PeerList},
    auth::session::store_down,
    http::error::ApiError,
    speed::target::{SpeedTarget, TargetKind},
    AppState,
};

/// The longest `speedtest_url` a node may report.
const MOST_URL_BYTES: usize = 2048;

/// A node's reported `/speedtest` base, normalised; or why it is not one.
pub fn speedtest_base(raw: &str) -> Result<String, String> {
    if raw.len() > MOST_URL_BYTES {
        return Err(format!("must be at most {MOST_URL_BYTES} bytes"));
    }
    let url = reqwest::Url::parse(raw).map_err(|error| format!("{raw:?} is not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{raw:?} must use http or https"));
    }
    // Every node is told it: a password in it would be one no longer.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user or password: other nodes are told it".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{raw:?} must be a base URL, without '?' or '#'"));
    }
    Ok(SpeedTarget::parse(raw, TargetKind::Netpulse)?.label())
}

/// What every node is told: this server's name and where each node serves.
pub fn peer_list(state: &AppState) -> PeerList {
    PeerList { server: state.config.node.clone(), nodes: state.agents.peers.all() }
}

fn tell_every_node(state: &AppState) {
    state.agents.commands.send_to_all(NodeCommand::Peers(peer_list(state)));
}

/// Records what node `name` said it serves (`None`: nothing), and tells every node if that changed.
pub async fn report_speedtest(state: &AppState, node_id: i64, name: &str, url: Option<&str>) -> Result<(), ApiError> {
    let changed = match url {
        Some(url) => state.agents.peers.set(name, url),
        None => state.agents.peers.remove(name),
    };
    if changed {
        state.store.set_node_speedtest(node_id, url).await.map_err(|_| store_down())?;
        tell_every_node(state);
    }
    Ok(())
}

/// Reads the enrolled nodes again (one joined or was revoked): their names for
/// the snapshot, and where they serve, telling every node if that changed.
pub async fn reload_nodes(state: &AppState) {
    let nodes = match state.store.nodes().await {
        Ok(nodes) => nodes,
        Err(error) => return tracing::warn!(%error, "cannot read the agent nodes"),
    };
    let enrolled: Vec<_> = nodes.into_iter().filter(|node| node.revoked_ms.is_none()).collect();
    let serving = enrolled.iter().filter_map(|node| Some((node.name.clone(), node.speedtest_url.clone()?))).collect();
    state.agents.set_names(enrolled.into_iter().map(|node| node.name).collect());
    if state.agents.peers.all() != serving {
        state.agents.peers.replace(serving);
        tell_every_node(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reported_url_is_a_plain_base_without_secrets() {
        assert_eq!(speedtest_base("http://198.18.0.3:8091/speedtest/").unwrap(), "http://198.18.0.3:8091/speedtest");
        for (raw, why) in [
            ("node:tokyo", "http or https"),
            ("http://me:pw@198.18.0.3/speedtest", "user or password"),
            ("http://198.18.0.3/speedtest?x=1", "base URL"),
            ("not a url", "not a URL"),
        ] {
            assert!(speedtest_base(raw).unwrap_err().contains(why), "{raw}");
        }
        assert!(speedtest_base(&format!("http://h/{}", "a".repeat(3000))).is_err());
    }
}
