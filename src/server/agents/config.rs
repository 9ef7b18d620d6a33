//! The `[agents]` table: when the node list calls a node offline.

use serde::Deserialize;

use crate::server::config::error::{invalid, ConfigError};

/// Agents with nothing to send still report every 10 s, so two missed reports is the least.
const LEAST_OFFLINE_AFTER_S: u64 = 20;

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsConfig {
    /// Seconds without a batch (results or the 10-second report) before a node shows as offline.
    pub offline_after: u64,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self { offline_after: 90 }
    }
}

impl AgentsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(LEAST_OFFLINE_AFTER_S..=86_400).contains(&self.offline_after) {
            return Err(invalid("agents.offline_after", format!("must be {LEAST_OFFLINE_AFTER_S} to 86400 seconds, got {}", self.offline_after)));
        }
        Ok(())
    }

    pub fn offline_after_ms(&self) -> i64 {
        i64::try_from(self.offline_after).unwrap_or(i64::MAX / 1000) * 1000
    }
}

#[cfg(test)]
mod tests {
    use crate::server::config::Config;

    #[test]
    fn offline_after_defaults_to_90_s_and_is_bounded() {
        assert_eq!(Config::from_toml("").unwrap().agents.offline_after_ms(), 90_000);
        let short = Config::from_toml("[agents]\noffline_after = 5\n").unwrap();
        assert!(short.validate().unwrap_err().to_string().starts_with("invalid agents.offline_after:"));
        Config::from_toml("[agents]\noffline_after = 20\n").unwrap().validate().unwrap();
    }
}
