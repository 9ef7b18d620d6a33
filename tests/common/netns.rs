//! A network namespace joined to the host by a veth pair, for tests that
//! need a peer at an address of their own (198.18.0.0/15) or a link they can
//! cut. Needs root and `ip`; removed when dropped.

use std::process::{Command, Stdio};

pub fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

pub struct Namespace {
    pub name: String,
    pub host_side: String,
    pub peer_side: String,
}

impl Namespace {
    /// `tag` keeps tests apart; the host gets `host/prefix`, the namespace `peer/prefix`.
    pub fn create(tag: &str, host: &str, peer: &str, prefix: u8) -> Option<Self> {
        let id = std::process::id() % 100_000;
        let (name, host_side, peer_side) = (format!("np-{tag}-{id}"), format!("np{tag}{id}h"), format!("np{tag}{id}p"));
        let namespace = Self { name: name.clone(), host_side: host_side.clone(), peer_side: peer_side.clone() };
        let steps: [&[&str]; 8] = [
            &["netns", "add", &name],
            &["link", "add", &host_side, "type", "veth", "peer", "name", &peer_side],
            &["link", "set", &peer_side, "netns", &name],
            &["addr", "add", &format!("{host}/{prefix}"), "dev", &host_side],
            &["link", "set", &host_side, "up"],
            &["-n", &name, "addr", "add", &format!("{peer}/{prefix}"), "dev", &peer_side],
            &["-n", &name, "link", "set", &peer_side, "up"],
            &["-n", &name, "link", "set", "lo", "up"],
        ];
        steps.iter().all(|step| ip(step)).then_some(namespace)
    }

    /// Runs `command` inside the namespace and says whether it succeeded.
    pub fn run(&self, command: &[&str]) -> bool {
        Command::new("ip").args(["netns", "exec", &self.name]).args(command).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        ip(&["link", "del", &self.host_side]);
        ip(&["netns", "del", &self.name]);
    }
}
