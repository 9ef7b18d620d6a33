//! The alerts capability as the rest of the server holds it: the validated
//! rules and channels, the board, and the evaluator and dispatcher tasks.

use std::{collections::HashMap, sync::Arc};

use tokio::{sync::Notify, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::server::{
    alerts::{
        board::Board,
        channel_config::Channel,
        config::Rule,
        evaluate::Evaluator,
        outbox::{Backoff, Dispatcher},
        silence::Window,
    },
    config::{invalid, Config, ConfigError},
    events::{hub::Hub, writer::Writer},
    store::Store,
};

pub struct Alerts {
    pub rules: Arc<Vec<Rule>>,
    pub channels: Arc<HashMap<String, Channel>>,
    pub board: Arc<Board>,
    pub windows: Arc<Vec<Window>>,
    /// Woken when a notification is stored.
    pub outbox: Arc<Notify>,
    /// The client every HTTP channel sends with.
    pub http: reqwest::Client,
    expiry: std::time::Duration,
    backoff: Backoff,
}

/// What the alert tasks need from the rest of the server.
pub struct Wiring {
    pub hub: Arc<Hub>,
    pub store: Arc<Store>,
    pub writer: Writer,
    pub node: String,
    /// Where retests of speed targets are asked for; none when the sampler is off.
    pub retest: Option<tokio::sync::mpsc::UnboundedSender<String>>,
}

impl Alerts {
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let rules = config.checked_rules()?;
        let windows = Arc::new(config.checked_windows()?);
        let channels = config.checked_channels()?.into_iter().map(|c| (c.name.clone(), c)).collect();
        let expiry = config.alerts.expiry().map_err(|(key, reason)| invalid(key, reason))?;
        let (first, most) = config.alerts.retry().map_err(|(key, reason)| invalid(key, reason))?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("netpulse/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the channel's headers (a token) to another host, and a
            // Referer with the URL (a webhook's secret path): receivers are called as configured.
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .build()
            .map_err(|err| invalid("notify", format!("cannot build the HTTP client: {err}")))?;
        Ok(Self {
            board: Arc::new(Board::new(&rules)),
            windows,
            rules: Arc::new(rules),
            channels: Arc::new(channels),
            outbox: Arc::new(Notify::new()),
            http,
            expiry,
            backoff: Backoff { first, most },
        })
    }

    /// Starts the evaluator (when there are rules) and the dispatcher (when there are channels).
    pub fn start(&self, wiring: Wiring, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
        let mut tasks = Vec::new();
        if !self.rules.is_empty() {
            let evaluator = Evaluator {
                rules: self.rules.clone(),
                node: wiring.node,
                store: wiring.store.clone(),
                writer: wiring.writer,
                board: self.board.clone(),
                outbox: self.outbox.clone(),
                expiry: self.expiry,
                windows: self.windows.clone(),
                retest: wiring.retest,
            };
            tasks.push(tokio::spawn(evaluator.run(wiring.hub.tap(), shutdown.clone())));
        }
        if !self.channels.is_empty() {
            let dispatcher =
                Dispatcher { store: wiring.store, channels: self.channels.clone(), http: self.http.clone(), wake: self.outbox.clone(), backoff: self.backoff };
            tasks.push(tokio::spawn(dispatcher.run(shutdown)));
        }
        tasks
    }
}
