//! The `netpulse` binary: parses the command line and wires the server together.

use std::process::ExitCode;

use anyhow::Context;
use clap::{error::ErrorKind, Parser};
use netpulse::server::{
    self,
    agent::{self, cli::AgentCommand},
    alerts, auth,
    config::cli::{AlertsCommand, Cli, Command, TokenCommand, UserCommand},
    speed::command,
};

/// Exit code for bad flags or config, as clap uses for usage errors.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            let rendered = err.render().to_string();
            let mut lines = rendered.lines().map(str::trim).filter(|line| !line.is_empty());
            let mut first = lines.next().unwrap_or("invalid arguments").trim_start_matches("error: ").to_owned();
            // "the following required arguments were not provided:" names them on the next line.
            if first.ends_with(':') {
                first = format!("{first} {}", lines.next().unwrap_or_default());
            }
            eprintln!("netpulse: {first}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    let args = match cli.into_command() {
        Command::Serve(args) => args,
        Command::Measure(args) => return measure(args),
        Command::NotifyTest(args) => return once(alerts::command::notify_test(args)),
        Command::Alerts(AlertsCommand::Backtest(args)) => return once(alerts::command::backtest_command(args)),
        Command::User(UserCommand::Add(args)) => return once(auth::cli::user_add(args)),
        Command::Token(TokenCommand::Add(args)) => return once(auth::cli::token_add(args)),
        Command::Agent(AgentCommand::Join(args)) => return once(agent::enrolment::join(args)),
        Command::Agent(AgentCommand::Run(args)) => return run_agent(args),
    };
    let config = match args.load_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("netpulse: {err}");
            return ExitCode::from(USAGE_ERROR);
        }
    };
    if let Err(err) = config.check_site() {
        eprintln!("netpulse: {err}");
        return ExitCode::from(USAGE_ERROR);
    }
    init_tracing("info,tower_http=warn");
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("netpulse: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(default_filter: &str) {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only on a terminal, not in a journal or a file.
        .with_ansi(std::io::stderr().is_terminal())
        // A closed stderr (a log reader gone) must not bring the server down:
        // reporting the failed write would itself panic.
        .log_internal_errors(false)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()))
        .init();
}

fn measure(args: server::config::cli::MeasureArgs) -> ExitCode {
    // Logs only on request: stdout is the result and stderr the progress line.
    init_tracing("off");
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => ExitCode::from(runtime.block_on(command::run(args)).code()),
        Err(err) => {
            eprintln!("netpulse: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `netpulse agent run`: until Ctrl-C or SIGTERM; 2 for bad flags or a node not joined yet.
fn run_agent(args: agent::cli::AgentRunArgs) -> ExitCode {
    if let Err(message) = args.check() {
        eprintln!("netpulse: {message}");
        return ExitCode::from(USAGE_ERROR);
    }
    init_tracing("info");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("netpulse: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let stop = tokio_util::sync::CancellationToken::new();
        let stopping = stop.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            stopping.cancel();
        });
        agent::run(args, stop).await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err @ agent::AgentError::NotJoined(_)) => {
            eprintln!("netpulse: {err}");
            ExitCode::from(USAGE_ERROR)
        }
        Err(err) => {
            eprintln!("netpulse: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a one-shot command to its exit code.
fn once(command: impl std::future::Future<Output = u8>) -> ExitCode {
    init_tracing("off");
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => ExitCode::from(runtime.block_on(command)),
        Err(err) => {
            eprintln!("netpulse: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: server::config::Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
        server::serve(listener, config, shutdown_signal()).await?;
        Ok(())
    })
}

/// Resolves on Ctrl-C or SIGTERM, so `systemctl stop` drains connections cleanly.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
