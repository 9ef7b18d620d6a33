//! What the server tells agent nodes between their batches: "test now", and
//! that a node was revoked (its stream ends). Each node's open command
//! streams are counted, so the one asking learns whether a node heard it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::broadcast;

/// A command for one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeCommand {
    /// Run a speed test now: of the target with this label, or of every target.
    TestNow { target: Option<String> },
    /// The node's credential no longer works: its streams end.
    Revoked,
}

/// Commands waiting to be sent on a stream; a slow stream that misses some drops them.
const QUEUED: usize = 64;

pub struct Commands {
    sender: broadcast::Sender<(String, NodeCommand)>,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Default for Commands {
    fn default() -> Self {
        Self { sender: broadcast::channel(QUEUED).0, open: Arc::default() }
    }
}

/// One open command stream: its node's commands, counted while it is held.
pub struct Listener {
    node: String,
    receiver: broadcast::Receiver<(String, NodeCommand)>,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl Listener {
    /// The next command for this node; `None` once the server drops its side.
    pub async fn next(&mut self) -> Option<NodeCommand> {
        loop {
            match self.receiver.recv().await {
                Ok((node, command)) if node == self.node => return Some(command),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(missed)) => tracing::warn!(node = %self.node, missed, "a node's stream missed commands"),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.node) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.node);
            }
        }
    }
}

impl Commands {
    /// Starts listening for `node`'s commands.
    pub fn listen(&self, node: &str) -> Listener {
        *self.open.lock().unwrap_or_else(PoisonError::into_inner).entry(node.to_owned()).or_default() += 1;
        Listener { node: node.to_owned(), receiver: self.sender.subscribe(), open: self.open.clone() }
    }

    /// Whether `node` has a command stream open now.
    pub fn is_listening(&self, node: &str) -> bool {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).contains_key(node)
    }

    /// Sends `command` to `node`; whether one of its streams was open to hear it.
    pub fn send(&self, node: &str, command: NodeCommand) -> bool {
        let listening = self.is_listening(node);
        let _ = self.sender.send((node.to_owned(), command));
        listening
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
        drop(second);
        assert!(!commands.is_listening("tokyo"));
    }
}
