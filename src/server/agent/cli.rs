//! `netpulse agent join` and `netpulse agent run`: their flags.

use std::path::PathBuf;

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
        Ok(())
    }
}
