//! The `[limits]` section and its checks: how much custom publishing may add
//! to what the server keeps, and how long a field's name may be. Past a limit a publish gets a 422 that names the
//! key, never a silent drop.

use serde::Deserialize;

use crate::{
    model::BUILTIN_TOPICS,
    server::{
        config::error::{invalid, ConfigError},
        events::hub::Hub,
        http::error::ApiError,
        store::Store,
    },
    topic_fields::{all_numeric_fields, MAX_FIELD_NAME},
};

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Custom topics in use at once, declared or published. A topic whose
    /// last event is past `history.raw_days` is collected and frees its place.
    pub custom_topics: usize,
    /// Distinct numeric fields one custom topic may record over its lifetime.
    pub fields_per_topic: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self { custom_topics: 100, fields_per_topic: 32 }
    }
}

impl LimitsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=10_000).contains(&self.custom_topics) {
            return Err(invalid("limits.custom_topics", format!("must be 1 to 10000, got {}", self.custom_topics)));
        }
        if !(1..=1000).contains(&self.fields_per_topic) {
            return Err(invalid("limits.fields_per_topic", format!("must be 1 to 1000, got {}", self.fields_per_topic)));
        }
        Ok(())
    }
}

/// Refuses an event that would open a topic past `limits.custom_topics`, or
/// give its topic more fields than `limits.fields_per_topic`. True when the
/// event adds a topic or fields: such publishes are checked again and written
/// one at a time (see `publish`), so that two at once cannot both pass.
pub async fn check_publish(limits: &LimitsConfig, declared: &[String], hub: &Hub, store: &Store, topic: &str, data: &str) -> Result<bool, ApiError> {
    let new_topic = !declared.iter().any(|t| t == topic) && !hub.has_topic(topic);
    if new_topic {
        let mut in_use = hub.custom_topics(BUILTIN_TOPICS);
        in_use.extend(declared.iter().cloned());
        in_use.sort();
        in_use.dedup();
        if in_use.len() >= limits.custom_topics {
            return Err(ApiError::Unprocessable(format!(
                "this server already has {} custom topics, its limit (limits.custom_topics); publish to one of them or raise the limit",
                in_use.len()
            )));
        }
    }
    let names: Vec<String> = all_numeric_fields(data).into_iter().map(|(name, _)| name).collect();
    if let Some(long) = names.iter().find(|name| name.len() > MAX_FIELD_NAME) {
        let start: String = long.chars().take(24).collect();
        return Err(ApiError::Unprocessable(format!("numeric field names are at most {MAX_FIELD_NAME} bytes; {start:?}… is {} bytes", long.len())));
    }
    let series = format!("topic:{topic}");
    let known = store.known_field_count(&series, &names).await.map_err(|err| {
        tracing::error!(%err, "cannot read the field table");
        ApiError::Unavailable("the history database cannot be read right now".into())
    })?;
    if known.total_after > limits.fields_per_topic {
        return Err(ApiError::Unprocessable(format!(
            "topic {topic:?} would have {} numeric fields, more than its limit of {} (limits.fields_per_topic); {} of this event's are new",
            known.total_after, limits.fields_per_topic, known.new
        )));
    }
    Ok(new_topic || known.new > 0)
}
