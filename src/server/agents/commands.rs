//! What the server tells agent nodes between their batches: "test now",
//! where the nodes serve speed tests, and that a node was revoked (its stream ends). Each open command stream has
//! its own small queue, so one node's commands never crowd out another's,
//! and the one asking learns whether a node heard it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::mpsc;

/// A command for one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeCommand {
    /// Run a speed test now: of the target with this label, or of every target.
    TestNow { target: Option<String> },
    /// Where the nodes serve `/speedtest` now.
    Peers(super::protocol::PeerList),
    /// The node's credential no longer works: its streams end.
    Revoked,
}

/// Commands waiting on one stream; past this a slow stream misses the newest.
const QUEUED: usize = 16;

type Streams = Arc<Mutex<HashMap<String, Vec<(u64, mpsc::Sender<NodeCommand>)>>>>;

/// Each node's open command streams, each with its own queue.
#[derive(Default)]
pub struct Commands {
    streams: Streams,
    next_id: std::sync::atomic::AtomicU64,
}

/// One open command stream: its node's commands, counted while it is held.
pub struct Listener {
    node: String,
    id: u64,
    receiver: mpsc::Receiver<NodeCommand>,
    streams: Streams,
}

impl Listener {
    /// The next command for this node; `None` once the server drops its side.
    pub async fn next(&mut self) -> Option<NodeCommand> {
        self.receiver.recv().await
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = streams.get_mut(&self.node) {
            open.retain(|(id, _)| *id != self.id);
            if open.is_empty() {
                streams.remove(&self.node);
            }
        }
    }
}

impl Commands {
    /// Starts listening for `node`'s commands.
    pub fn listen(&self, node: &str) -> Listener {
        let (sender, receiver) = mpsc::channel(QUEUED);
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).entry(node.to_owned()).or_default().push((id, sender));
        Listener { node: node.to_owned(), id, receiver, streams: self.streams.clone() }
    }

    /// Whether `node` has a command stream open now.
    pub fn is_listening(&self, node: &str) -> bool {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).contains_key(node)
    }

    /// Sends `command` to each of `node`'s streams; whether one of them took it.
    pub fn send(&self, node: &str, command: NodeCommand) -> bool {
        let streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        let mut heard = false;
        for (_, sender) in streams.get(node).into_iter().flatten() {
            match sender.try_send(command.clone()) {
                Ok(()) => heard = true,
                Err(error) => tracing::warn!(node, %error, "a node's command stream is not keeping up; a command was dropped"),
            }
        }
        heard
    }

    /// Sends `command` to every open stream, each node's.
    pub fn send_to_all(&self, command: NodeCommand) {
        let nodes: Vec<String> = self.streams.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        for node in nodes {
            self.send(&node, command.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_node_hears_only_its_own_commands_while_its_stream_is_open() {
        let commands = Commands::default();
        assert!(!commands.send("tokyo", NodeCommand::TestNow { target: None }), "nobody listens yet");
        let mut tokyo = commands.listen("tokyo");
        let berlin = commands.listen("berlin");
        assert!(commands.send("berlin", NodeCommand::Revoked));
        assert!(commands.send("tokyo", NodeCommand::TestNow { target: Some("http://a".into()) }));
        assert_eq!(tokyo.next().await, Some(NodeCommand::TestNow { target: Some("http://a".into()) }), "berlin's command skipped");
        drop(berlin);
        assert!(!commands.is_listening("berlin"));
        let second = commands.listen("tokyo");
        drop(tokyo);
        assert!(commands.is_listening("tokyo"), "one of two streams is still open");
        let mut berlin = commands.listen("berlin");
        commands.send_to_all(NodeCommand::Revoked);
        assert_eq!(berlin.next().await, Some(NodeCommand::Revoked));
        drop(second);
        assert!(!commands.is_listening("tokyo"));
    }
}
