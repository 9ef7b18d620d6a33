//! Who may see and do what: accounts, sessions, scoped tokens, the access
//! rules and the decision behind them, sign-in and setup, and the checks every
//! request passes (credentials, cross-site requests, security headers).

pub mod access;
pub mod account_page;
pub mod accounts;
pub mod admin_page;
pub mod audit_log;
pub mod caller;
pub mod cli;
pub mod config;
pub mod guard;
pub mod headers;
pub mod limiter;
pub mod oidc;
pub mod pages;
pub mod pattern;
pub mod routes;
pub mod rules;
pub mod scopes;
pub mod secrets;
pub mod session;
pub mod sessions;
pub mod setup;
pub mod stream;
pub mod token_store;
pub mod totp;
pub mod totp_store;
pub mod two_factor;
pub mod users;

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::broadcast;

use crate::server::{
    auth::{
        access::{Access, AccessRule, Caller},
        config::AuthConfig,
        limiter::LoginLimiter,
    },
    config::{secret::Secret, Config, ConfigError},
};

/// A credential that stopped working, so the streams opened with it end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revoked {
    Session(i64),
    Token(i64),
    /// Every session of the user: a role change, a password change, a removal.
    User(String),
    /// Visitors may read nothing any more: an admin removed the last rule that let them.
    Visitors,
}

impl Revoked {
    /// Whether this ends a stream opened by `caller`.
    pub fn ends(&self, caller: &Caller) -> bool {
        match (self, caller) {
            (Revoked::Session(id), Caller::User { session: Some(own), .. }) => id == own,
            (Revoked::User(name), Caller::User { name: own, .. }) => name == own,
            (Revoked::Token(id), Caller::Token { id: own, .. }) => id == own,
            (Revoked::Visitors, Caller::Anonymous) => true,
            _ => false,
        }
    }
}

/// The access rules and everything sign-in needs; one per server.
pub struct Auth {
    /// The config's rules and the stored ones, swapped whole when an admin changes one.
    access: ArcSwap<Access>,
    config_rules: Vec<AccessRule>,
    /// Held across a rule's write and the reload, so two changes at once cannot swap in a stale table.
    pub rules_changing: tokio::sync::Mutex<()>,
    pub config: AuthConfig,
    /// The old `publish_token`, honoured as a token with `publish:*` and `operate`.
    legacy_token: Option<Secret>,
    /// The one-time key that creates the first admin, while there is none.
    setup_key: Mutex<Option<Secret>>,
    revoked: broadcast::Sender<Revoked>,
    pub limiter: LoginLimiter,
    /// Sign-in by a trusted reverse proxy's header, when configured.
    pub proxy: Option<config::ProxyLogin>,
    /// The reverse proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Sign-ins whose password was right, waiting for their one-time code.
    pub pending_logins: two_factor::PendingLogins,
    /// Single sign-on, when `[auth.oidc]` is set.
    pub oidc: Option<oidc::Oidc>,
}

impl Auth {
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let config_rules = config::checked_access(&config.access)?;
        let (revoked, _) = broadcast::channel(1024);
        let _ = secrets::decoy_hash();
        Ok(Self {
            access: ArcSwap::from_pointee(Access::new(config_rules.clone())),
            config_rules,
            rules_changing: tokio::sync::Mutex::new(()),
            config: config.auth.clone(),
            legacy_token: config.publish_token.clone(),
            setup_key: Mutex::new(None),
            revoked,
            limiter: LoginLimiter::new(config.auth.login_attempts_per_minute),
            proxy: config.auth.proxy_login()?,
            trusted_proxies: config.auth.trusted_networks()?,
            pending_logins: two_factor::PendingLogins::default(),
            oidc: config.auth.oidc.as_ref().map(oidc::Oidc::new).transpose()?,
        })
    }

    /// The rules every decision reads, as they are now.
    pub fn access(&self) -> arc_swap::Guard<Arc<Access>> {
        self.access.load()
    }

    /// Joins the rules admins added to the config's; decisions use them from now on.
    pub fn set_stored_rules(&self, stored: Vec<AccessRule>) {
        let rules = self.config_rules.iter().cloned().chain(stored).collect();
        self.access.store(Arc::new(Access::new(rules)));
    }

    /// Tells open streams that a credential stopped working.
    pub fn revoke(&self, revoked: Revoked) {
        let _ = self.revoked.send(revoked);
    }

    pub fn revocations(&self) -> broadcast::Receiver<Revoked> {
        self.revoked.subscribe()
    }

    pub fn legacy_token(&self) -> Option<&Secret> {
        self.legacy_token.as_ref()
    }

    pub fn setup_key(&self) -> Option<Secret> {
        self.setup_key.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes the setup key if `key` is it (compared in constant time), so only one form can use it.
    pub fn take_setup_key(&self, key: &str) -> Option<Secret> {
        let mut held = self.setup_key.lock().unwrap_or_else(|p| p.into_inner());
        let matches = held.as_ref().is_some_and(|expected| bool::from(subtle::ConstantTimeEq::ct_eq(key.as_bytes(), expected.expose().as_bytes())));
        if matches {
            held.take()
        } else {
            None
        }
    }

    pub fn set_setup_key(&self, key: Option<Secret>) {
        *self.setup_key.lock().unwrap_or_else(|p| p.into_inner()) = key;
    }

    /// Whether netpulse still waits for its first admin.
    pub fn in_setup(&self) -> bool {
        self.setup_key().is_some()
    }
}
