//! Command-line flags and how they override the config file.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::server::{
    config::{Config, ConfigError, TargetConfig},
    target::{SpeedTarget, TargetKind},
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
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = "NETPULSE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// TOML config file; every key is optional.
    #[arg(long, env = "NETPULSE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Speed-test target, a netpulse `/speedtest` base URL; repeat for several.
    /// Replaces the configured targets.
    #[arg(long = "target", value_name = "URL", value_parser = parse_target)]
    pub targets: Vec<String>,
    /// Bearer token that authorises `POST /api/publish/{topic}` (at least 16 characters).
    #[arg(long, env = "NETPULSE_PUBLISH_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub publish_token: Option<String>,
    /// Seconds between speed tests [default: 60].
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: Option<u64>,
}

fn parse_target(raw: &str) -> Result<String, String> {
    SpeedTarget::parse(raw, TargetKind::Netpulse).map(|_| raw.to_owned())
}

impl Cli {
    /// The serve flags, whether given before or after the `serve` word.
    pub fn into_serve_args(self) -> ServeArgs {
        match self.command {
            Some(Command::Serve(args)) => args,
            None => self.serve,
        }
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
        if !self.targets.is_empty() {
            config.speed.targets = self.targets.iter().map(|url| TargetConfig { url: url.clone(), kind: Some(TargetKind::Netpulse) }).collect();
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
        for args in [bare.into_serve_args(), serve.into_serve_args()] {
            let config = args.load_config().unwrap();
            assert_eq!(config.speed.interval, 5);
            assert_eq!(config.speed_targets()[0].label(), "http://127.0.0.1:1/speedtest");
        }
    }

    #[test]
    fn bad_flags_are_rejected_by_the_parser() {
        assert!(Cli::try_parse_from(["netpulse", "--interval", "0"]).is_err());
        assert!(Cli::try_parse_from(["netpulse", "--target", "nonsense"]).is_err());
        assert!(Cli::try_parse_from(["netpulse", "--listen", "nowhere"]).is_err());
    }
}
