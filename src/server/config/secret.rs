//! A configured secret (a token, a password): usable where it is needed and
//! never shown by `Debug`, so it cannot reach a log line or an error.

use serde::Deserialize;

#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The one place secrets are serialised: a monitor's request headers, sent
/// to the agent nodes that run the check (over their own authenticated request).
pub fn expose_to_agent<S: serde::Serializer>(headers: &std::collections::BTreeMap<String, Secret>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(headers.iter().map(|(name, value)| (name, value.expose())))
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_never_shows_the_value() {
        let secret = super::Secret::new("hunter2-bot-token");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2-bot-token");
    }
}
