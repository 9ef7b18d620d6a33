//! Single sign-on with OpenID Connect: the authorization code flow with PKCE
//! against one configured provider, the sign-ins waiting for the browser to
//! come back, and the provider's metadata, read when first needed.

pub mod account;
pub mod claims;
pub mod config;
pub mod flow;
pub mod routes;

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::server::{
    auth::{oidc::claims::ClaimRules, secrets},
    config::ConfigError,
    http::client_address::client_network,
};

/// How long the provider may take to send the browser back.
const WAITS_FOR: Duration = Duration::from_secs(600);
/// Sign-ins that may wait at once: anyone can start one, so memory stays bounded.
const MOST_WAITING: usize = 10_000;
/// Sign-ins one client (an address, an IPv6 /64) may have waiting, so one cannot fill the rest.
const MOST_WAITING_PER_CLIENT: usize = 20;

/// A sign-in sent to the provider, waiting for the browser to come back.
struct Waiting {
    client: IpAddr,
    pkce_verifier: String,
    nonce: String,
    next: String,
    expires: Instant,
}

/// What single sign-on needs; one per server when `[auth.oidc]` is set.
pub struct Oidc {
    pub config: config::OidcConfig,
    pub rules: ClaimRules,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<flow::Metadata>,
    /// Keyed by the SHA-256 of the `state` the browser carries.
    waiting: Mutex<HashMap<Vec<u8>, Waiting>>,
}

/// Why a sign-in with the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the sign-in provider cannot be reached right now; try again, or sign in with a password")]
    Unreachable,
    #[error("too many single sign-ons are under way; try again in a few minutes")]
    Busy,
    #[error("this address has many single sign-ons waiting at the provider; finish one, or try again in a few minutes")]
    BusyHere,
    #[error("this sign-in expired or was started in another browser; start again")]
    Expired,
    #[error("the sign-in provider refused: {0}")]
    Refused(String),
    #[error("the sign-in provider's answer could not be checked; see the server's log")]
    BadAnswer,
    #[error(transparent)]
    Claims(#[from] claims::ClaimError),
}

impl Oidc {
    pub fn new(config: &config::OidcConfig) -> Result<Self, ConfigError> {
        let rules = config.validate()?;
        // No redirects: the provider's endpoints answer directly, and a redirect could lead the server elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| crate::server::config::invalid("auth.oidc", format!("cannot make an HTTP client: {error}")))?;
        Ok(Self { config: config.clone(), rules, http, metadata: tokio::sync::Mutex::new(flow::Metadata::default()), waiting: Mutex::new(HashMap::new()) })
    }

    /// Remembers a sign-in `client` started, under a new random `state`, which is returned.
    fn wait_for(&self, client: IpAddr, pkce_verifier: String, nonce: String, next: String) -> Result<String, OidcError> {
        let client = client_network(client);
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        waiting.retain(|_, sign_in| sign_in.expires > now);
        if waiting.values().filter(|sign_in| sign_in.client == client).count() >= MOST_WAITING_PER_CLIENT {
            return Err(OidcError::BusyHere);
        }
        if waiting.len() >= MOST_WAITING {
            return Err(OidcError::Busy);
        }
        let state = secrets::random_secret();
        waiting.insert(secrets::digest(&state), Waiting { client, pkce_verifier, nonce, next, expires: now + WAITS_FOR });
        Ok(state)
    }

    /// Drops a waiting sign-in the provider refused.
    pub fn forget(&self, state: &str) {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&secrets::digest(state));
    }

    /// Takes the waiting sign-in for `state`: each works once.
    fn take(&self, state: &str) -> Result<Waiting, OidcError> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let sign_in = waiting.remove(&secrets::digest(state)).ok_or(OidcError::Expired)?;
        if sign_in.expires <= Instant::now() {
            return Err(OidcError::Expired);
        }
        Ok(sign_in)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc() -> Oidc {
        let config = config::OidcConfig {
            issuer: "http://127.0.0.1:9".into(),
            client_id: "netpulse".into(),
            redirect_url: "http://127.0.0.1:3000/login/oidc/callback".into(),
            default_role: Some("viewer".into()),
            ..config::OidcConfig::default()
        };
        Oidc::new(&config).unwrap()
    }

    #[test]
    fn a_waiting_sign_in_is_found_once_by_its_state() {
        let oidc = oidc();
        let state = oidc.wait_for(ip("127.0.0.1"), "verifier".into(), "nonce".into(), "/alerts".into()).unwrap();
        assert!(matches!(oidc.take("forged"), Err(OidcError::Expired)));
        let found = oidc.take(&state).unwrap();
        assert_eq!((found.pkce_verifier.as_str(), found.next.as_str()), ("verifier", "/alerts"));
        assert!(matches!(oidc.take(&state), Err(OidcError::Expired)), "a state works once");
        let refused = oidc.wait_for(ip("127.0.0.1"), String::new(), String::new(), "/".into()).unwrap();
        oidc.forget(&refused);
        assert!(matches!(oidc.take(&refused), Err(OidcError::Expired)));
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn waiting_sign_ins_are_bounded_per_client_and_in_all() {
        let oidc = oidc();
        for n in 0..MOST_WAITING_PER_CLIENT {
            oidc.wait_for(ip(&format!("2001:db8::{n:x}")), String::new(), String::new(), "/".into()).unwrap();
        }
        let same_64 = oidc.wait_for(ip("2001:db8::ffff"), String::new(), String::new(), "/".into());
        assert!(matches!(same_64, Err(OidcError::BusyHere)), "one IPv6 /64 is one client");
        assert!(oidc.wait_for(ip("192.0.2.1"), String::new(), String::new(), "/".into()).is_ok(), "others still can");
        for n in 0..MOST_WAITING {
            let _ = oidc.wait_for(IpAddr::from([10, (n >> 16) as u8, (n >> 8) as u8, n as u8]), String::new(), String::new(), "/".into());
        }
        assert!(matches!(oidc.wait_for(ip("192.0.2.9"), String::new(), String::new(), "/".into()), Err(OidcError::Busy)));
    }
}
