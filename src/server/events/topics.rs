//! Topic names: their syntax, which ones a stream may ask for, and which ones a publisher may use.

use crate::{
    model::{BUILTIN_TOPICS, RESERVED_TOPICS},
    server::{events::hub::Hub, http::error::ApiError},
};

pub const MAX_TOPIC_LEN: usize = 64;

/// `[a-z0-9_-]{1,64}`.
pub fn check_name(name: &str) -> Result<(), String> {
    let well_formed =
        !name.is_empty() && name.len() <= MAX_TOPIC_LEN && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if well_formed {
        Ok(())
    } else {
        Err(format!("topic names are 1 to {MAX_TOPIC_LEN} characters of a-z, 0-9, '_' and '-', got {name:?}"))
    }
}

/// Where a custom topic comes from: the config, or a publish since start-up.
pub struct KnownTopics<'a> {
    pub declared: &'a [String],
    pub hub: &'a Hub,
}

impl KnownTopics<'_> {
    fn contains(&self, name: &str) -> bool {
        BUILTIN_TOPICS.contains(&name) || self.declared.iter().any(|t| t == name) || self.hub.has_topic(name)
    }

    fn listing(&self) -> String {
        let mut names: Vec<&str> = BUILTIN_TOPICS.to_vec();
        names.extend(self.declared.iter().map(String::as_str));
        names.join(", ")
    }

    /// The `topics` parameter of `/api/events`: absent means every topic;
    /// otherwise a comma-separated list of known topics, de-duplicated.
    pub fn parse_subscription(&self, raw: Option<&str>) -> Result<Vec<String>, ApiError> {
        let Some(raw) = raw else { return Ok(Vec::new()) };
        let mut topics: Vec<String> = Vec::new();
        for name in raw.split(',').map(str::trim) {
            if name.is_empty() {
                return Err(ApiError::bad_request("topics must be a comma-separated list of topic names with no empty entries"));
            }
            check_name(name).map_err(ApiError::BadRequest)?;
            if !self.contains(name) {
                return Err(ApiError::bad_request(format!("unknown topic {name:?}; valid topics: {}", self.listing())));
            }
            if !topics.iter().any(|t| t == name) {
                topics.push(name.to_owned());
            }
        }
        Ok(topics)
    }
}

/// A name a publisher may post to: well formed and not reserved.
pub fn check_publishable(name: &str) -> Result<(), ApiError> {
    check_name(name).map_err(ApiError::BadRequest)?;
    if RESERVED_TOPICS.contains(&name) {
        return Err(ApiError::bad_request(format!("topic {name:?} is reserved for netpulse's own events")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::events::hub::{HubEvent, HubLimits};
    use std::time::Duration;

    fn hub() -> Hub {
        Hub::new(HubLimits { replay_events: 10, replay_age: Duration::from_secs(60), queue: 4, kept: vec![] }, 0)
    }

    #[test]
    fn names_follow_the_documented_syntax() {
        assert!(check_name("sales_2026-q4").is_ok());
        for bad in ["", "Sales", "a b", "ünï", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn subscriptions_accept_builtin_declared_and_published_topics() {
        let hub = hub();
        let declared = vec!["sales".to_owned()];
        let known = KnownTopics { declared: &declared, hub: &hub };
        assert_eq!(known.parse_subscription(None).unwrap(), Vec::<String>::new());
        assert_eq!(known.parse_subscription(Some("speed, sales,speed")).unwrap(), ["speed", "sales"]);
        let err = known.parse_subscription(Some("speed,weather")).unwrap_err().to_string();
        assert!(err.contains("\"weather\"") && err.contains("speed, probe, live, alert, node, sales"), "{err}");
        let event = HubEvent::new(1, "weather".into(), String::new(), crate::server::clock::now_ms(), "{}".into());
        hub.deliver(&[std::sync::Arc::new(event)]);
        assert!(known.parse_subscription(Some("weather")).is_ok());
        assert!(known.parse_subscription(Some("")).is_err());
        assert!(known.parse_subscription(Some("UPPER")).is_err());
    }

    #[test]
    fn reserved_names_cannot_be_published() {
        assert!(check_publishable("sales").is_ok());
        assert!(check_publishable("speed").is_err());
        assert!(check_publishable("reset").is_err());
        assert!(check_publishable("no spaces").is_err());
    }
}
