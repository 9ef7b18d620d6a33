//! Joining a server: trading the admin's join token for this node's own
//! credential, and keeping it in `agent.json` (readable by its owner only).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::server::{
    agent::{cli::AgentJoinArgs, AgentError},
    agents::protocol::{JoinRequest, Joined, PROTOCOL_VERSION},
};

const FILE: &str = "agent.json";

/// The server this node reports to, its name there and its credential.
#[derive(Clone, Deserialize, Serialize)]
pub struct Enrolment {
    pub server: String,
    pub node: String,
    pub credential: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment").field("server", &self.server).field("node", &self.node).field("credential", &"[redacted]").finish()
    }
}

impl Enrolment {
    /// A route on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.trim_end_matches('/'))
    }
}

fn file(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// This node's enrolment, from `dir`.
pub fn load(dir: &Path) -> Result<Enrolment, AgentError> {
    let path = file(dir);
    let text = std::fs::read_to_string(&path).map_err(|_| AgentError::NotJoined(path.display().to_string()))?;
    serde_json::from_str(&text).map_err(|error| AgentError::Enrolment(format!("{}: {error}", path.display())))
}

/// The server's address, checked: http or https, with a host.
fn server_url(raw: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(raw.trim()).map_err(|error| format!("SERVER: {raw:?} is not a URL: {error}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("SERVER: {raw:?} must be an http:// or https:// address"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `netpulse agent join`: 0 joined, 1 refused or unreachable, 2 bad flags.
pub async fn join(args: AgentJoinArgs) -> u8 {
    let server = match server_url(&args.server) {
        Ok(server) => server,
        Err(message) => {
            eprintln!("netpulse: {message}");
            return 2;
        }
    };
    let name = args.name.trim();
    if !crate::server::auth::access::is_node_name(name) {
        eprintln!("netpulse: --name: {name:?} must be 1 to 64 letters, digits, '.', '_' or '-'");
        return 2;
    }
    // An empty file is what a join cut short leaves: it holds no credential.
    if std::fs::metadata(file(&args.data_dir)).is_ok_and(|meta| meta.len() == 0) {
        let _ = std::fs::remove_file(file(&args.data_dir));
    }
    // The file is made before the token is spent, so a node that cannot keep its credential never joins.
    let mut reserved = match reserve(&args.data_dir) {
        Ok(reserved) => reserved,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!("netpulse: {} exists: this node has joined already (remove the file to join again)", file(&args.data_dir).display());
            return 1;
        }
        Err(error) => {
            eprintln!("netpulse: cannot write {}: {error}", file(&args.data_dir).display());
            return 1;
        }
    };
    let joined = match request(&server, &args).await {
        Ok(joined) => joined,
        Err(error) => {
            drop(reserved);
            let _ = std::fs::remove_file(file(&args.data_dir));
            eprintln!("netpulse: {error}");
            return 1;
        }
    };
    let enrolment = Enrolment { server: server.clone(), node: joined.node, credential: joined.credential };
    if let Err(error) = write(&mut reserved, &enrolment) {
        eprintln!("netpulse: joined, but cannot keep the credential: {error}; an admin must revoke {} before it joins again", enrolment.node);
        return 1;
    }
    // Results a previous enrolment left in the outbox go up under the new one, numbered from 1.
    match renumber_outbox(&args.data_dir).await {
        Ok(0) => {}
        Ok(kept) => println!("{kept} results waiting from before will be sent as {}", enrolment.node),
        Err(error) => {
            eprintln!("netpulse: joined, but cannot renumber the outbox: {error}; remove outbox.db before `agent run`");
            return 1;
        }
    }
    println!("joined {server} as {}; start it with: netpulse agent run --data-dir {}", enrolment.node, args.data_dir.display());
    0
}

async fn renumber_outbox(dir: &Path) -> Result<u64, AgentError> {
    if !dir.join(crate::server::agent::outbox::FILE).exists() {
        return Ok(0);
    }
    let unbounded = crate::server::agent::outbox::OutboxLimits { max_age_ms: i64::MAX / 4, max_bytes: i64::MAX / 4 };
    crate::server::agent::outbox::Outbox::open(dir, unbounded).await?.renumber().await
}

async fn request(server: &str, args: &AgentJoinArgs) -> Result<Joined, AgentError> {
    let body = JoinRequest {
        protocol: PROTOCOL_VERSION,
        token: args.token.trim().to_owned(),
        name: args.name.trim().to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build().map_err(AgentError::Client)?;
    let response =
        client.post(format!("{server}/api/agent/join")).json(&body).send().await.map_err(|error| AgentError::Unreachable(error.without_url().to_string()))?;
    if response.status().is_success() {
        return response.json().await.map_err(|error| AgentError::Refused(format!("the answer is not a join answer: {error}")));
    }
    let status = response.status();
    let reason = response.json::<serde_json::Value>().await.ok().and_then(|body| body["error"].as_str().map(str::to_owned)).unwrap_or_default();
    Err(AgentError::Refused(format!("the server refused to enrol this node ({status}): {reason}")))
}

/// Makes the enrolment file, empty, where only its owner can read it; fails if it exists.
fn reserve(dir: &Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file(dir))
}

fn write(out: &mut std::fs::File, enrolment: &Enrolment) -> std::io::Result<()> {
    std::io::Write::write_all(out, serde_json::to_string_pretty(enrolment).unwrap_or_default().as_bytes())?;
    out.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_must_be_an_http_address_and_the_credential_stays_out_of_debug() {
        assert_eq!(server_url("https://netpulse.example.com/").unwrap(), "https://netpulse.example.com");
        assert!(server_url("netpulse.example.com").unwrap_err().starts_with("SERVER:"));
        assert!(server_url("ftp://h/").unwrap_err().contains("http://"));
        let enrolment = Enrolment { server: "https://h".into(), node: "tokyo".into(), credential: "npn_secret".into() };
        assert!(!format!("{enrolment:?}").contains("npn_secret"));
        assert_eq!(enrolment.url("/api/agent/results"), "https://h/api/agent/results");
    }
}
