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
/// Sign-ins one client (an address, an IPv6 /64) may have waiting. Past either bound the
/// oldest gives way, so a client that starts many pushes out its own first, and nobody is
/// ever refused a new sign-in.
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
    metadata: Mutex<flow::Metadata>,
    /// Held by the one discovery read under way.
    metadata_read: tokio::sync::Mutex<()>,
    /// Keyed by the SHA-256 of the `state` the browser carries.
    waiting: Mutex<HashMap<Vec<u8>, Waiting>>,
}

/// Why a sign-in with the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the sign-in provider cannot be reached right now; try again, or sign in with a password")]
    Unreachable,
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
        Ok(Self {
            config: config.clone(),
            rules,
            http,
            metadata: Mutex::new(flow::Metadata::default()),
            metadata_read: tokio::sync::Mutex::new(()),
            waiting: Mutex::new(HashMap::new()),
        })
    }

    /// Remembers a sign-in `client` started, under a new random `state`, which is returned.
    fn wait_for(&self, client: IpAddr, pkce_verifier: String, nonce: String, next: String) -> String {
        let client = client_network(client);
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        waiting.retain(|_, sign_in| sign_in.expires > now);
        let oldest = |waiting: &HashMap<Vec<u8>, Waiting>, of_client: bool| {
            let candidates = waiting.iter().filter(|(_, sign_in)| !of_client || sign_in.client == client);
            candidates.min_by_key(|(_, sign_in)| sign_in.expires).map(|(key, _)| key.clone())
        };
        if waiting.values().filter(|sign_in| sign_in.client == client).count() >= MOST_WAITING_PER_CLIENT {
            if let Some(key) = oldest(&waiting, true) {
                waiting.remove(&key);
            }
        }
        if waiting.len() >= MOST_WAITING {
            if let Some(key) = oldest(&waiting, false) {
                waiting.remove(&key);
            }
        }
        let state = secrets::random_secret();
        waiting.insert(secrets::digest(&state), Waiting { client, pkce_verifier, nonce, next, expires: now + WAITS_FOR });
        state
    }

    /// Drops a waiting sign-in the provider refused; whether it was there.
    pub fn forget(&self, state: &str) -> bool {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&secrets::digest(state)).is_some()
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
        let state = oidc.wait_for(ip("127.0.0.1"), "verifier".into(), "nonce".into(), "/alerts".into());
        assert!(matches!(oidc.take("forged"), Err(OidcError::Expired)));
        let found = oidc.take(&state).unwrap();
        assert_eq!((found.pkce_verifier.as_str(), found.next.as_str()), ("verifier", "/alerts"));
        assert!(matches!(oidc.take(&state), Err(OidcError::Expired)), "a state works once");
        let refused = oidc.wait_for(ip("127.0.0.1"), String::new(), String::new(), "/".into());
        assert!(oidc.forget(&refused) && !oidc.forget(&refused));
        assert!(matches!(oidc.take(&refused), Err(OidcError::Expired)));
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn start(oidc: &Oidc, client: IpAddr) -> String {
        oidc.wait_for(client, String::new(), String::new(), "/".into())
    }

    #[test]
    fn a_client_that_starts_many_sign_ins_pushes_out_only_its_own_oldest() {
        let oidc = oidc();
        let other = start(&oidc, ip("192.0.2.1"));
        let first = start(&oidc, ip("2001:db8::1"));
        std::thread::sleep(Duration::from_millis(2));
        for n in 1..MOST_WAITING_PER_CLIENT {
            start(&oidc, ip(&format!("2001:db8::{:x}", n + 1)));
        }
        let newest = start(&oidc, ip("2001:db8::ffff"));
        assert!(matches!(oidc.take(&first), Err(OidcError::Expired)), "one IPv6 /64 is one client: its oldest gave way");
        assert!(oidc.take(&newest).is_ok());
        assert!(oidc.take(&other).is_ok(), "another client's sign-in is untouched");
    }

    #[test]
    fn the_map_never_grows_past_its_bound() {
        let oidc = oidc();
        for n in 0..MOST_WAITING + 5 {
            start(&oidc, IpAddr::from([10, (n >> 16) as u8, (n >> 8) as u8, n as u8]));
        }
        assert_eq!(oidc.waiting.lock().unwrap().len(), MOST_WAITING);
        assert!(oidc.take(&start(&oidc, ip("192.0.2.9"))).is_ok(), "a new sign-in is never refused");
    }
}
