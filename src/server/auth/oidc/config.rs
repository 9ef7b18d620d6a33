//! The `[auth.oidc]` section: the OpenID provider, this client's registration
//! there, and how the provider's claims become a netpulse name and role.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::server::{
    auth::{access::Role, oidc::claims::ClaimRules},
    config::{invalid, secret::Secret, ConfigError},
};

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL, as its discovery document names it.
    pub issuer: String,
    pub client_id: String,
    /// Absent for a public client, which PKCE alone protects.
    pub client_secret: Option<Secret>,
    /// Where the provider sends the browser back: netpulse's own address and
    /// `/login/oidc/callback`, exactly as registered at the provider.
    pub redirect_url: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The claim that names the account here.
    pub username_claim: String,
    /// The claim holding the groups or roles to map; a dotted path reaches into objects.
    pub roles_claim: String,
    /// A value of `roles_claim` and the role it gives; the highest wins.
    pub roles: BTreeMap<String, String>,
    /// The role of someone no value maps; unset, they are refused.
    pub default_role: Option<String>,
    /// The sign-in page's button.
    pub button: String,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            redirect_url: String::new(),
            scopes: vec!["profile".to_owned(), "email".to_owned()],
            username_claim: "preferred_username".to_owned(),
            roles_claim: "groups".to_owned(),
            roles: BTreeMap::new(),
            default_role: None,
            button: "Sign in with single sign-on".to_owned(),
        }
    }
}

/// An `http` URL is accepted only for a provider on this machine (tests, a local Keycloak).
fn checked_url(key: &'static str, raw: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(raw).map_err(|error| invalid(key, format!("{raw:?} is not a URL: {error}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(invalid(key, format!("{raw:?} must be an https URL (http only on loopback)"))),
    }
}

impl OidcConfig {
    /// Checks every key; the name and role rules come back ready to use.
    pub fn validate(&self) -> Result<ClaimRules, ConfigError> {
        checked_url("auth.oidc.issuer", &self.issuer)?;
        if self.client_id.trim().is_empty() {
            return Err(invalid("auth.oidc.client_id", "must be set: the client id registered at the provider"));
        }
        let redirect = url::Url::parse(&self.redirect_url).map_err(|_| {
            invalid("auth.oidc.redirect_url", format!("{:?} is not a URL such as https://netpulse.example.com/login/oidc/callback", self.redirect_url))
        })?;
        if !matches!(redirect.scheme(), "http" | "https") || redirect.path() != "/login/oidc/callback" {
            return Err(invalid("auth.oidc.redirect_url", format!("{:?} must be netpulse's address and /login/oidc/callback", self.redirect_url)));
        }
        if let Some(scope) = self.scopes.iter().find(|scope| scope.is_empty() || scope.contains(char::is_whitespace)) {
            return Err(invalid("auth.oidc.scopes", format!("{scope:?} is not a scope")));
        }
        for (key, value) in [("auth.oidc.username_claim", &self.username_claim), ("auth.oidc.roles_claim", &self.roles_claim)] {
            if value.trim().is_empty() {
                return Err(invalid(key, "must name a claim"));
            }
        }
        let roles = self
            .roles
            .iter()
            .map(|(value, role)| {
                role.parse::<Role>().map(|role| (value.clone(), role)).map_err(|reason| invalid("auth.oidc.roles", format!("{value:?}: {reason}")))
            })
            .collect::<Result<_, _>>()?;
        let default_role = self.default_role.as_deref().map(str::parse).transpose().map_err(|reason| invalid("auth.oidc.default_role", reason))?;
        if self.roles.is_empty() && default_role.is_none() {
            return Err(invalid("auth.oidc.roles", "map at least one group to a role, or set default_role, or nobody can sign in"));
        }
        Ok(ClaimRules { username_claim: self.username_claim.clone(), roles_claim: self.roles_claim.clone(), roles, default_role })
    }
}

#[cfg(test)]
mod tests {
    use crate::server::config::Config;

    fn checked(section: &str) -> Result<(), String> {
        Config::from_toml(&format!("[auth.oidc]\n{section}")).map_err(|e| e.to_string())?.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn each_wrong_key_is_named() {
        let good = "issuer = \"https://id.example.com\"\nclient_id = \"netpulse\"\nredirect_url = \"https://np.example.com/login/oidc/callback\"\n";
        assert_eq!(checked(&format!("{good}default_role = \"viewer\"\n")), Ok(()));
        assert_eq!(checked(&format!("{good}[auth.oidc.roles]\nops = \"editor\"\n")), Ok(()));
        let fails = |extra: &str, key: &str| {
            let error = checked(&format!("{good}{extra}")).unwrap_err();
            assert!(error.starts_with(&format!("invalid {key}:")), "{extra}: {error}");
        };
        fails("", "auth.oidc.roles");
        fails("default_role = \"root\"\n", "auth.oidc.default_role");
        fails("[auth.oidc.roles]\nops = \"boss\"\n", "auth.oidc.roles");
        let only = |section: &str, key: &str| {
            let error = checked(&format!("{section}default_role = \"viewer\"\n")).unwrap_err();
            assert!(error.starts_with(&format!("invalid {key}:")), "{section}: {error}");
        };
        only("issuer = \"http://id.example.com\"\nclient_id = \"n\"\nredirect_url = \"https://np/login/oidc/callback\"\n", "auth.oidc.issuer");
        only("client_id = \"n\"\nredirect_url = \"https://np/login/oidc/callback\"\n", "auth.oidc.issuer");
        only("issuer = \"http://127.0.0.1:9000\"\nredirect_url = \"https://np/login/oidc/callback\"\n", "auth.oidc.client_id");
        only("issuer = \"http://127.0.0.1:9000\"\nclient_id = \"n\"\nredirect_url = \"https://np/callback\"\n", "auth.oidc.redirect_url");
        assert!(checked("issuer = 3\n").unwrap_err().contains("issuer"), "a wrong type names the key");
        assert!(checked("isuer = \"x\"\n").unwrap_err().contains("isuer"), "an unknown key is named");
    }
}
