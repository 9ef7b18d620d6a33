//! `netpulse agent join` and `netpulse agent run`: their flags.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Enrol this machine with a netpulse server using an admin's join token: 0 joined, 1 refused (the reason is printed), 2 bad flags.
    Join(AgentJoinArgs),
    /// Run as an agent: check the server's monitors and send every result, until stopped; 2 when not joined yet.
    Run(AgentRunArgs),
}

#[derive(Debug, Args)]
pub struct AgentJoinArgs {
    /// The server's address, such as https://netpulse.example.com.
    pub server: String,
    /// The join token from the admin page or `POST /api/agents/join-tokens`; works once.
    /// From the environment, it stays out of `ps` and the shell's history.
    #[arg(env = "NETPULSE_JOIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// This node's name as the server will show it: letters, digits, '.', '_' or '-'.
    #[arg(long)]
    pub name: String,
    /// Where the agent keeps its credential and outbox.
    #[arg(long, env = "NETPULSE_AGENT_DIR", value_name = "DIR", default_value = "netpulse-agent")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct AgentRunArgs {
    /// Where `agent join` left the credential; the outbox is kept there too.
    #[arg(long, env = "NETPULSE_AGENT_DIR", value_name = "DIR", default_value = "netpulse-agent")]
    pub data_dir: PathBuf,
    /// Results older than this many days are dropped from the outbox while the server is away.
    #[arg(long, value_name = "DAYS", default_value_t = 7.0)]
    pub max_age_days: f64,
    /// The outbox's size cap in MB; past it the oldest results are dropped (and counted).
    #[arg(long, value_name = "MB", default_value_t = 100)]
    pub max_mb: u64,
    /// Run only the server's monitors, not its speed tests (a metered link, a small machine).
    #[arg(long)]
    pub no_speed_tests: bool,
    /// Serve `/speedtest` on this address, so that `node:NAME` targets can measure this node.
    #[arg(long, value_name = "ADDR")]
    pub serve_speedtest: Option<SocketAddr>,
    /// The URL other nodes reach this node's `/speedtest` at; needed when --serve-speedtest
    /// listens on every address (0.0.0.0, [::]), else http://ADDR/speedtest.
    #[arg(long, value_name = "URL", requires = "serve_speedtest")]
    pub speedtest_url: Option<String>,
    /// For tests: this node's clock runs this many ms ahead (negative: behind) of the real one.
    #[arg(long, hide = true, default_value_t = 0, allow_hyphen_values = true)]
    pub clock_skew_ms: i64,
}

impl AgentRunArgs {
    /// The one-line refusal of a bad flag, naming it.
    pub fn check(&self) -> Result<(), String> {
        if !(self.max_age_days > 0.0 && self.max_age_days <= 3650.0) {
            return Err(format!("--max-age-days: must be above 0 and at most 3650, got {}", self.max_age_days));
        }
        if self.max_mb == 0 || self.max_mb > 1_000_000 {
            return Err(format!("--max-mb: must be 1 to 1000000, got {}", self.max_mb));
        }
        self.advertised_speedtest()?;
        Ok(())
    }

    /// The `/speedtest` URL this node tells the server, when it serves one.
    pub fn advertised_speedtest(&self) -> Result<Option<String>, String> {
        let Some(address) = self.serve_speedtest else { return Ok(None) };
        let url = match &self.speedtest_url {
            Some(url) => url.clone(),
            None if address.ip().is_unspecified() => {
                return Err(format!(
                    "--speedtest-url: needed when --serve-speedtest listens on every address ({address}): the URL other nodes reach this one at"
                ))
            }
            None => format!("http://{address}/speedtest"),
        };
        crate::server::agents::mesh::speedtest_base(&url, true).map(Some).map_err(|reason| format!("--speedtest-url: {reason}"))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: AgentCommand,
    }

    fn run_args(flags: &[&str]) -> AgentRunArgs {
        match Cli::try_parse_from(["agent", "run"].iter().chain(flags)).unwrap().command {
            AgentCommand::Run(args) => args,
            AgentCommand::Join(_) => unreachable!("parsed run"),
        }
    }

    #[test]
    fn the_speedtest_url_comes_from_the_address_unless_it_is_every_address() {
        assert_eq!(run_args(&[]).advertised_speedtest(), Ok(None));
        assert_eq!(run_args(&["--serve-speedtest", "198.18.0.3:8091"]).advertised_speedtest().unwrap().unwrap(), "http://198.18.0.3:8091/speedtest");
        let every = run_args(&["--serve-speedtest", "0.0.0.0:8091"]).check().unwrap_err();
        assert!(every.starts_with("--speedtest-url: needed"), "{every}");
        let given = run_args(&["--serve-speedtest", "0.0.0.0:8091", "--speedtest-url", "https://tokyo.example/speedtest"]);
        assert_eq!(given.advertised_speedtest().unwrap().unwrap(), "https://tokyo.example/speedtest");
        let secret = run_args(&["--serve-speedtest", "0.0.0.0:1", "--speedtest-url", "http://u:p@h/speedtest"]).check().unwrap_err();
        assert!(secret.starts_with("--speedtest-url:") && !secret.contains("u:p"), "{secret}");
    }
}
