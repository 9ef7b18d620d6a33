//! The `[auth]` section and the `[[access]]` rules table.

use std::net::IpAddr;

use serde::Deserialize;

use crate::server::{
    auth::access::{Access, AccessRuleConfig},
    config::{invalid, ConfigError},
};

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Days a sign-in lasts.
    pub session_days: f64,
    /// netpulse is reached over HTTPS (through a proxy): cookies are `Secure` and HSTS is sent.
    pub behind_tls: bool,
    /// Failed sign-ins allowed per account, and per client address, each minute.
    pub login_attempts_per_minute: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { session_days: 30.0, behind_tls: false, login_attempts_per_minute: 10 }
    }
}

impl AuthConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.session_days >= 0.01 && self.session_days <= 400.0) {
            return Err(invalid("auth.session_days", format!("must be 0.01 to 400 days, got {}", self.session_days)));
        }
        if !(1..=10_000).contains(&self.login_attempts_per_minute) {
            return Err(invalid("auth.login_attempts_per_minute", format!("must be 1 to 10000, got {}", self.login_attempts_per_minute)));
        }
        Ok(())
    }

    pub fn session_ms(&self) -> i64 {
        (self.session_days * 86_400_000.0) as i64
    }
}

/// The `[[access]]` rules, checked; the error names the key and the rule's position.
pub fn checked_access(rules: &[AccessRuleConfig]) -> Result<Access, ConfigError> {
    let parsed = rules.iter().enumerate().map(|(n, rule)| rule.parse().map_err(|reason| invalid("access", format!("rule {}: {reason}", n + 1))));
    Ok(Access::new(parsed.collect::<Result<_, _>>()?))
}

/// Whether `address` is loopback, which `X-Forwarded-Proto` is believed from.
pub fn is_local(address: IpAddr) -> bool {
    address.to_canonical().is_loopback()
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
    }
}
