//! Nodes measuring each other: where each agent serves `/speedtest` (it says
//! so when it opens its stream), kept in the store and in memory for
//! `node:NAME` targets, and sent to every node's stream when it changes.

use crate::server::{
    agents::{commands::NodeCommand, protocol::PeerList},
    auth::session::store_down,
    http::error::ApiError,
    speed::target::{shown, SpeedTarget, TargetKind},
    AppState,
};

/// The longest `speedtest_url` a node may report.
const MOST_URL_BYTES: usize = 2048;

/// A node's reported `/speedtest` base, normalised; or why it is not one. The
/// reasons never repeat the URL: it may hold a password. A loopback URL is
/// taken only from a node on loopback: for any other node it names itself.
pub fn speedtest_base(raw: &str, from_loopback: bool) -> Result<String, String> {
    if raw.len() > MOST_URL_BYTES {
        return Err(format!("must be at most {MOST_URL_BYTES} bytes"));
    }
    let url = reqwest::Url::parse(raw).map_err(|error| format!("is not a URL ({error})"))?;
    // Every node is told it: a password in it would be one no longer.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user or password: other nodes are told it".to_owned());
    }
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http or https URL with a host".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must be a base URL, without '?' or '#'".to_owned());
    }
    if !from_loopback && is_loopback(&url) {
        return Err(format!("{} is this machine's own address to every other node; give the address they reach it at", shown(&url)));
    }
    Ok(SpeedTarget::parse(raw, TargetKind::Netpulse)?.label())
}

/// Whether `url` names the machine it is used on: a loopback or unspecified address, or `localhost`.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback() || address.is_unspecified(),
        Some(url::Host::Ipv6(address)) => address.is_loopback() || address.is_unspecified(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost") || name.to_ascii_lowercase().ends_with(".localhost"),
        None => false,
    }
}

/// What every node is told: this server's name and where each node serves.
pub fn peer_list(state: &AppState) -> PeerList {
    PeerList { server: state.config.node.clone(), nodes: state.agents.peers.all() }
}

fn tell_every_node(state: &AppState) {
    state.agents.commands.send_to_all(NodeCommand::Peers(peer_list(state)));
}

/// Records what node `name` said it serves (`None`: nothing), and tells every node if that changed.
/// The store first: a failed write changes nothing, so the node's next stream tries again.
pub async fn report_speedtest(state: &AppState, node_id: i64, name: &str, url: Option<&str>) -> Result<(), ApiError> {
    let _one_change_at_a_time = state.agents.mesh_changes.lock().await;
    if state.agents.peers.all().get(name).map(String::as_str) == url {
        return Ok(());
    }
    // False when the node was revoked since its credential was checked: it is no one's target.
    if !state.store.set_node_speedtest(node_id, url).await.map_err(|_| store_down())? {
        return Ok(());
    }
    match url {
        Some(url) => state.agents.peers.set(name, url),
        None => state.agents.peers.remove(name),
    };
    tell_every_node(state);
    Ok(())
}

/// Reads the enrolled nodes again (one joined or was revoked): their names for
/// the snapshot, and where they serve, telling every node if that changed.
pub async fn reload_nodes(state: &AppState) {
    let _one_change_at_a_time = state.agents.mesh_changes.lock().await;
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
        assert_eq!(speedtest_base("http://198.18.0.3:8091/speedtest/", false).unwrap(), "http://198.18.0.3:8091/speedtest");
        for (raw, why) in [
            ("node:tokyo", "http or https"),
            ("http://me:pw@198.18.0.3/speedtest", "user or password"),
            ("ftp://me:pw@198.18.0.3/speedtest", "user or password"),
            ("http://198.18.0.3/speedtest?x=1", "base URL"),
            ("not a url", "not a URL"),
            ("http://127.0.0.1:8091/speedtest", "own address"),
            ("http://localhost:8091/speedtest", "own address"),
            ("http://0.0.0.0:8091/speedtest", "own address"),
        ] {
            let reason = speedtest_base(raw, false).unwrap_err();
            assert!(reason.contains(why) && !reason.contains("pw"), "{raw}: {reason}");
        }
        assert!(speedtest_base("http://127.0.0.1:8091/speedtest", true).is_ok(), "a node on loopback, as in a test");
        assert!(speedtest_base(&format!("http://h/{}", "a".repeat(3000)), false).is_err());
    }
}
