//! Where each netpulse node serves `/speedtest`, as the nodes reported it:
//! what a `node:NAME` target is measured at, looked up before each test so a
//! node that moves or starts serving later is found.

use std::{
    collections::BTreeMap,
    sync::{Arc, PoisonError, RwLock},
};

use crate::server::speed::target::SpeedTarget;

/// Node name to its `/speedtest` base URL; shared by the sampler and whoever learns of nodes.
#[derive(Clone, Debug, Default)]
pub struct Peers(Arc<RwLock<BTreeMap<String, String>>>);

impl Peers {
    /// Records where `node` serves; whether that changed anything.
    pub fn set(&self, node: &str, url: &str) -> bool {
        let mut peers = self.0.write().unwrap_or_else(PoisonError::into_inner);
        peers.insert(node.to_owned(), url.to_owned()).as_deref() != Some(url)
    }

    /// Forgets `node` (revoked); whether it was known.
    pub fn remove(&self, node: &str) -> bool {
        self.0.write().unwrap_or_else(PoisonError::into_inner).remove(node).is_some()
    }

    /// Replaces every entry, as a server's list of them does on an agent.
    pub fn replace(&self, peers: BTreeMap<String, String>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = peers;
    }

    pub fn all(&self) -> BTreeMap<String, String> {
        self.0.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// `target` as it is measured now: a node target at its node's URL, or why it cannot be.
    pub fn resolve(&self, target: &SpeedTarget) -> Result<SpeedTarget, String> {
        let Some(node) = target.node() else { return Ok(target.clone()) };
        let peers = self.0.read().unwrap_or_else(PoisonError::into_inner);
        match peers.get(node) {
            Some(url) => target.at(url),
            None => Err(format!("node {node} serves no speed test: run its agent with --serve-speedtest, or check that it joined")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::speed::target::TargetKind;

    #[test]
    fn a_node_target_is_measured_where_its_node_last_said() {
        let peers = Peers::default();
        let tokyo = SpeedTarget::parse("node:tokyo", TargetKind::Netpulse).unwrap();
        assert!(peers.resolve(&tokyo).unwrap_err().contains("--serve-speedtest"), "unknown until the node reports");
        assert!(peers.set("tokyo", "http://198.18.0.3:8091/speedtest"));
        assert!(!peers.set("tokyo", "http://198.18.0.3:8091/speedtest"), "the same URL again changes nothing");
        assert_eq!(peers.resolve(&tokyo).unwrap().ping_url().as_str(), "http://198.18.0.3:8091/speedtest/empty");
        let plain = SpeedTarget::parse("http://127.0.0.1:1/speedtest", TargetKind::Netpulse).unwrap();
        assert_eq!(peers.resolve(&plain).unwrap(), plain);
        assert!(peers.remove("tokyo") && !peers.remove("tokyo"));
        assert!(peers.resolve(&tokyo).is_err());
    }
}
