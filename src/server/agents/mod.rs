//! Agents: other netpulse nodes that measure from where they run and send
//! their numbered results here. This module holds each node's place in its
//! sequence and its clock estimate between batches; the store is the truth,
//! and a node's state is read from it again after any failed write.

pub mod admin_routes;
pub mod clock_offset;
pub mod commands;
pub mod config;
pub mod ingest;
pub mod liveness;
pub mod mesh;
pub mod nodes;
pub mod protocol;
pub mod results_route;
pub mod sequence;
pub mod stream_route;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use clock_offset::ClockFilter;
use sequence::Sequence;

/// A node's state between batches; `None` until read from the store.
#[derive(Debug, Default)]
pub struct NodeState {
    pub sequence: Sequence,
    pub clock: ClockFilter,
}

/// One lock per node: its batches are sorted and stored one at a time, so a
/// number is never taken twice; different nodes go in parallel.
type NodeSlot = Arc<tokio::sync::Mutex<Option<NodeState>>>;

#[derive(Default)]
pub struct Agents {
    nodes: Mutex<HashMap<i64, NodeSlot>>,
    /// Enrolled, unrevoked nodes' names, for the snapshot's latest checks.
    names: Mutex<Vec<String>>,
    /// "Test now" and revocations, for the nodes' command streams.
    pub commands: commands::Commands,
    /// Where each node serves `/speedtest`, for `node:NAME` targets.
    pub peers: crate::server::speed::peers::Peers,
    /// Held while `peers` and the store change together, so two changes never interleave.
    pub mesh_changes: tokio::sync::Mutex<()>,
}

impl Agents {
    fn lock_nodes(&self) -> MutexGuard<'_, HashMap<i64, NodeSlot>> {
        self.nodes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The node's slot, to lock for one batch.
    pub fn slot(&self, node_id: i64) -> NodeSlot {
        self.lock_nodes().entry(node_id).or_default().clone()
    }

    /// Forgets a node's state (it joined again, or was revoked): the next batch reads the store.
    pub fn forget(&self, node_id: i64) {
        self.lock_nodes().remove(&node_id);
    }

    pub fn names(&self) -> Vec<String> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn set_names(&self, names: Vec<String>) {
        *self.names.lock().unwrap_or_else(PoisonError::into_inner) = names;
    }
}
