//! The `[auth]` section and the `[[access]]` rules table.

use ipnet::IpNet;
use serde::Deserialize;

use crate::server::{
    auth::{
        access::{AccessRule, AccessRuleConfig, Role},
        oidc::config::OidcConfig,
    },
    config::{invalid, networks, ConfigError},
};

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Days a sign-in lasts.
    pub session_days: f64,
    /// netpulse is reached over HTTPS (through a proxy): cookies are `Secure` and HSTS is sent.
    pub behind_tls: bool,
    /// Sign-in attempts allowed per account each minute (ten times as many per client address).
    pub login_attempts_per_minute: u32,
    /// A header a trusted proxy names the signed-in user in (`X-Remote-User`, say); off when unset.
    pub proxy_header: Option<String>,
    /// Addresses and networks of reverse proxies: their `X-Forwarded-For` names the client
    /// (for rate limits, the speed-test byte budget and the audit log) and their
    /// `proxy_header` the user. From anywhere else both headers are ignored.
    pub trusted_proxies: Vec<String>,
    /// The role of a proxy-signed-in name that has no account here.
    pub proxy_role: String,
    /// Single sign-on with an OpenID Connect provider; off when absent.
    pub oidc: Option<OidcConfig>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_days: 30.0,
            behind_tls: false,
            login_attempts_per_minute: 10,
            proxy_header: None,
            trusted_proxies: vec!["127.0.0.1".to_owned(), "::1".to_owned()],
            proxy_role: "viewer".to_owned(),
            oidc: None,
        }
    }
}

/// Sign-in by a trusted reverse proxy, checked; only `trusted_proxies` may send the header.
#[derive(Clone, Debug)]
pub struct ProxyLogin {
    pub header: axum::http::HeaderName,
    pub role: Role,
}

impl AuthConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.session_days >= 0.01 && self.session_days <= 400.0) {
            return Err(invalid("auth.session_days", format!("must be 0.01 to 400 days, got {}", self.session_days)));
        }
        if !(1..=10_000).contains(&self.login_attempts_per_minute) {
            return Err(invalid("auth.login_attempts_per_minute", format!("must be 1 to 10000, got {}", self.login_attempts_per_minute)));
        }
        self.trusted_networks()?;
        self.proxy_login()?;
        if let Some(oidc) = &self.oidc {
            oidc.validate()?;
        }
        Ok(())
    }

    /// The proxy sign-in, when `proxy_header` is set.
    pub fn proxy_login(&self) -> Result<Option<ProxyLogin>, ConfigError> {
        let Some(header) = &self.proxy_header else { return Ok(None) };
        let header =
            axum::http::HeaderName::from_bytes(header.as_bytes()).map_err(|_| invalid("auth.proxy_header", format!("{header:?} is not a header name")))?;
        if self.trusted_proxies.is_empty() {
            return Err(invalid("auth.trusted_proxies", "must name at least one address when proxy_header is set"));
        }
        let role = self.proxy_role.parse().map_err(|reason| invalid("auth.proxy_role", reason))?;
        Ok(Some(ProxyLogin { header, role }))
    }

    /// The proxies whose forwarding headers are believed.
    pub fn trusted_networks(&self) -> Result<Vec<IpNet>, ConfigError> {
        networks::networks("auth.trusted_proxies", &self.trusted_proxies)
    }

    pub fn session_ms(&self) -> i64 {
        (self.session_days * 86_400_000.0) as i64
    }
}

/// The `[[access]]` rules, checked; the error names the key and the rule's position.
pub fn checked_access(rules: &[AccessRuleConfig]) -> Result<Vec<AccessRule>, ConfigError> {
    let parsed = rules.iter().enumerate().map(|(n, rule)| rule.parse().map_err(|reason| invalid("access", format!("rule {}: {reason}", n + 1))));
    parsed.collect()
}

#[cfg(test)]
mod tests {
    use crate::server::config::Config;

    #[test]
    fn rules_and_limits_are_checked_by_key() {
        let bad = Config::from_toml("[[access]]\nwho = \"everyone\"\nseries = \"*\"\nallow = \"read\"\n").unwrap();
        let error = bad.validate().unwrap_err().to_string();
        assert!(error.starts_with("invalid access: rule 1:"), "{error}");
        assert!(Config::from_toml("[[access]]\nwho = \"anonymous\"\nseries = \"*\"\nallow = \"write\"\n").is_err());
        let good = Config::from_toml("[[access]]\nwho = \"anonymous\"\nseries = \"speed\"\nallow = \"read\"\n").unwrap();
        good.validate().unwrap();
        let days = Config::from_toml("[auth]\nsession_days = 0\n").unwrap();
        assert!(days.validate().unwrap_err().to_string().starts_with("invalid auth.session_days:"));
        let proxy = |extra: &str| Config::from_toml(&format!("[auth]\nproxy_header = \"X-Remote-User\"\n{extra}")).unwrap().validate();
        assert!(proxy("trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").is_ok());
        assert!(proxy("trusted_proxies = [\"nginx\"]\n").unwrap_err().to_string().starts_with("invalid auth.trusted_proxies:"));
        assert!(proxy("trusted_proxies = []\n").is_err());
        assert!(proxy("proxy_role = \"root\"\n").unwrap_err().to_string().starts_with("invalid auth.proxy_role:"));
        assert!(Config::from_toml("[auth]\ntrusted_proxies = [\"proxy\"]\n").unwrap().validate().is_err(), "checked without proxy_header too");
    }
}
