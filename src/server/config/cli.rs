//! Command-line flags and how they override the config file.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::server::{
    config::{secret::Secret, Config, ConfigError, TargetConfig},
    speed::target::{SpeedTarget, TargetKind},
};

#[derive(Debug, Parser)]
#[command(name = "netpulse", version, about = "Self-hosted real-time network monitor", args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags for `serve`, which is also what a bare `netpulse` runs.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard, the API and the speed-test endpoints, and run the sampler.
    Serve(ServeArgs),
    /// Run one speed test, print the result and exit: 0 measured, 1 could not measure, 2 bad flags.
    Measure(MeasureArgs),
    /// Send a test message on a [[notify]] channel: 0 delivered, 1 not (the exact error is printed), 2 bad config.
    NotifyTest(NotifyTestArgs),
    /// Alert rules: `backtest` replays stored history through a rule.
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Accounts: `add` creates one (the password from a prompt, or stdin when piped).
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens: `add` makes a scoped token and prints it once.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run as an agent node of another netpulse: `join` enrols it, `run` checks and reports.
    #[command(subcommand)]
    Agent(crate::server::agent::cli::AgentCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account: 0 created, 1 not (the name is taken, the database fails), 2 bad flags or config.
    Add(UserAddArgs),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a scoped API token and print it once: 0 made, 1 not, 2 bad flags or config.
    Add(TokenAddArgs),
}

/// Where a command that edits accounts finds the database.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// TOML config file.
    #[arg(long, env = "NETPULSE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Directory of the database [default: the config's data_dir].
    #[arg(long, env = "NETPULSE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL database instead of the SQLite file [default: the config's database_url].
    #[arg(long, env = "NETPULSE_DATABASE_URL", value_name = "URL", hide_env_values = true, value_parser = parse_secret)]
    pub database_url: Option<Secret>,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// The account's name: letters, digits, '.', '_', '-' or '@'.
    pub name: String,
    /// admin, editor or viewer.
    #[arg(long, value_parser = ["admin", "editor", "viewer"])]
    pub role: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct TokenAddArgs {
    /// The token's name, as rules (`token:<name>`) and the audit log call it.
    pub name: String,
    /// Space-separated scopes: read:<pattern>, publish:<pattern>, operate, admin.
    #[arg(long)]
    pub scopes: String,
    /// Days until it stops working [default: never].
    #[arg(long, value_name = "DAYS")]
    pub expires_days: Option<f64>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct NotifyTestArgs {
    /// The channel's name in the config.
    pub channel: String,
    /// TOML config file.
    #[arg(long, env = "NETPULSE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Print the incidents a rule would have raised over stored history: 0 done, 2 bad flags or config.
    Backtest(BacktestArgs),
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// The rule's name in the config.
    pub rule: String,
    /// Start of the range: a date (2026-11-01) or an RFC 3339 time [default: 7 days before --to].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub from: Option<i64>,
    /// End of the range [default: now].
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub to: Option<i64>,
    /// TOML config file.
    #[arg(long, env = "NETPULSE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Directory of the history database [default: the config's data_dir].
    #[arg(long, env = "NETPULSE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL database instead of the SQLite file [default: the config's database_url].
    #[arg(long, env = "NETPULSE_DATABASE_URL", value_name = "URL", hide_env_values = true, value_parser = parse_secret)]
    pub database_url: Option<Secret>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A date or an RFC 3339 time, as Unix milliseconds.
fn parse_time(raw: &str) -> Result<i64, String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(time.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc().timestamp_millis())
        .ok_or_else(|| format!("{raw:?} is not a date (2026-11-01) or an RFC 3339 time (2026-11-01T12:00:00Z)"))
}

/// The config file of a command that does not serve, validated; defaults without one.
pub fn load_config_file(path: Option<&std::path::Path>) -> Result<Config, ConfigError> {
    let config = match path {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    config.validate()?;
    Ok(config)
}

#[derive(Debug, Args)]
pub struct MeasureArgs {
    /// Base URL of the target, e.g. http://host:3000/speedtest.
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// The protocol the target speaks.
    #[arg(long, value_enum, default_value_t = TargetKind::Netpulse)]
    pub kind: TargetKind,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Parallel TCP streams per direction [default: 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub streams: Option<u64>,
    /// Seconds each direction may run, warm-up included [default: 8].
    #[arg(long, value_name = "SECONDS", value_parser = parse_duration)]
    pub duration: Option<f64>,
    /// Megabytes the test may move in all; 0 for no cap [default: 1000].
    #[arg(long, value_name = "MB", value_parser = parse_budget)]
    pub budget_mb: Option<f64>,
    /// Run each direction for the whole duration, not just until the rate is stable.
    #[arg(long)]
    pub no_early_stop: bool,
}

fn parse_duration(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(seconds) if seconds > 1.5 && seconds <= 120.0 => Ok(seconds),
        _ => Err(format!("{raw:?} is not a number of seconds above 1.5 (the warm-up) and at most 120")),
    }
}

fn parse_budget(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(mb) if mb == 0.0 || (1.0..=1e6).contains(&mb) => Ok(mb),
        _ => Err(format!("{raw:?} is not 0 or a number of megabytes from 1 to 1000000")),
    }
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = "NETPULSE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// TOML config file; every key is optional.
    #[arg(long, env = "NETPULSE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Directory of the history database [default: data].
    #[arg(long, env = "NETPULSE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL database to keep everything in instead of the SQLite file
    /// in the data directory: postgres://user:password@host:5432/name.
    #[arg(long, env = "NETPULSE_DATABASE_URL", value_name = "URL", hide_env_values = true, value_parser = parse_secret)]
    pub database_url: Option<Secret>,
    /// Speed-test target, a netpulse `/speedtest` base URL; repeat for several.
    /// Replaces the configured targets.
    #[arg(long = "target", value_name = "URL", value_parser = parse_target)]
    pub targets: Vec<String>,
    /// Bearer token that authorises `POST /api/publish/{topic}` (at least 16 characters).
    #[arg(long, env = "NETPULSE_PUBLISH_TOKEN", value_name = "TOKEN", hide_env_values = true, value_parser = parse_secret)]
    pub publish_token: Option<Secret>,
    /// Seconds between speed tests [default: 60].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: Option<u64>,
}

fn parse_secret(raw: &str) -> Result<Secret, String> {
    Ok(Secret::new(raw))
}

fn parse_target(raw: &str) -> Result<String, String> {
    SpeedTarget::parse(raw, TargetKind::Netpulse).map(|_| raw.to_owned())
}

impl Cli {
    /// The command to run; a bare `netpulse` serves.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

impl ServeArgs {
    /// The config file (or defaults), with flags and environment on top, validated.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            config.database_url = Some(url.clone());
        }
        if !self.targets.is_empty() {
            config.speed.targets = self.targets.iter().map(|url| TargetConfig { url: url.clone(), kind: Some(TargetKind::Netpulse), interval: None }).collect();
        }
        if let Some(token) = &self.publish_token {
            config.publish_token = Some(token.clone());
        }
        if let Some(interval) = self.interval {
            config.speed.interval = interval;
        }
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_serve_forms_parse_the_same_flags() {
        let bare = Cli::try_parse_from(["netpulse", "--interval", "5", "--target", "http://127.0.0.1:1/speedtest"]).unwrap();
        let serve = Cli::try_parse_from(["netpulse", "serve", "--interval", "5", "--target", "http://127.0.0.1:1/speedtest"]).unwrap();
        for command in [bare.into_command(), serve.into_command()] {
            let Command::Serve(args) = command else { panic!("serves") };
            let config = args.load_config().unwrap();
            assert_eq!(config.speed.interval, 5);
            assert_eq!(config.speed.targets()[0].target.label(), "http://127.0.0.1:1/speedtest");
        }
    }

    #[test]
    fn bad_flags_are_rejected_by_the_parser() {
        assert!(Cli::try_parse_from(["netpulse", "--interval", "0"]).is_err());
        assert!(Cli::try_parse_from(["netpulse", "--target", "nonsense"]).is_err());
        assert!(Cli::try_parse_from(["netpulse", "--listen", "nowhere"]).is_err());
        assert!(Cli::try_parse_from(["netpulse", "measure"]).is_err(), "--target is required");
        assert!(Cli::try_parse_from(["netpulse", "measure", "--target", "http://h/", "--kind", "ookla"]).is_err());
        assert!(Cli::try_parse_from(["netpulse", "measure", "--target", "http://h/", "--duration", "1"]).is_err());
        assert!(Cli::try_parse_from(["netpulse", "measure", "--target", "http://h/", "--budget-mb", "-5"]).is_err());
        assert!(Cli::try_parse_from(["netpulse", "notify-test"]).is_err(), "the channel is required");
        assert!(Cli::try_parse_from(["netpulse", "alerts", "backtest", "r", "--from", "yesterday"]).is_err());
        assert!(Cli::try_parse_from(["netpulse", "alerts", "backtest", "r", "--from", "2026-11-01", "--to", "2026-11-02T00:00:00Z"]).is_ok());
    }
}
