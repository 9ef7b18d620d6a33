//! `/api/events?nodes=…`: the vantage point each event was measured from, and
//! the filter that keeps only those of the nodes asked for.

use std::sync::Arc;

use crate::{
    model::{ALERT_TOPIC, NODE_TOPIC},
    server::{
        auth::access::{is_node_name, split_node},
        events::{hub::HubEvent, resume::EventFilter},
        http::error::ApiError,
    },
};

/// At most this many names in one `nodes`.
const MOST_NODES: usize = 64;

/// What tells an event's node: this server's name, and the alert rules that
/// watch nodes themselves, whose subject (`dead-man|tokyo`) is a node's name.
pub struct Vantage {
    pub here: String,
    pub node_rules: Vec<String>,
}

impl Vantage {
    /// Where an event comes from: the node a `node` event or node rule's alert is
    /// about, the node that measured `web@tokyo` or `rule|web@tokyo`, else this
    /// server: its own checks and tests, and custom topics.
    pub fn node_of<'a>(&'a self, topic: &str, key: &'a str) -> &'a str {
        if topic == NODE_TOPIC {
            return key;
        }
        if topic == ALERT_TOPIC {
            if let Some((_, subject)) = key.split_once('|').filter(|(rule, _)| self.node_rules.iter().any(|r| r == rule)) {
                return subject;
            }
        }
        split_node(key).map_or(self.here.as_str(), |(_, node)| node)
    }
}

/// The node names of `nodes=tokyo,berlin`, where `here` (this server's own name, whatever
/// its form) may be one; `None` when not asked.
pub fn parse_nodes(raw: Option<&str>, here: &str) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let names: Vec<String> = raw.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect();
    if names.is_empty() {
        return Err(ApiError::bad_request("nodes: name at least one node, such as nodes=tokyo, or leave it out for every node"));
    }
    if names.len() > MOST_NODES {
        return Err(ApiError::bad_request(format!("nodes: at most {MOST_NODES} names, got {}", names.len())));
    }
    if let Some(bad) = names.iter().find(|name| !is_node_name(name) && *name != here) {
        return Err(ApiError::bad_request(format!("nodes: {bad:?} is not a node name (1 to 64 letters, digits, '.', '_' or '-')")));
    }
    Ok(Some(names))
}

/// `allowed`, narrowed to events from `nodes`.
pub fn keep_nodes(allowed: EventFilter, nodes: Option<Vec<String>>, vantage: Vantage) -> EventFilter {
    match nodes {
        None => allowed,
        Some(nodes) => Arc::new(move |event: &HubEvent| nodes.iter().any(|node| node == vantage.node_of(&event.topic, &event.key)) && allowed(event)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_comes_from_the_node_that_measured_it() {
        let vantage = Vantage { here: "hq".into(), node_rules: vec!["dead-man".into()] };
        let node_of = |topic, key| vantage.node_of(topic, key).to_owned();
        assert_eq!(node_of("probe", "web@tokyo"), "tokyo");
        assert_eq!(node_of("speed", "https://speed.example/x@berlin"), "berlin");
        assert_eq!(node_of("alert", "slow web|web@tokyo"), "tokyo");
        assert_eq!(node_of("alert", "dead-man|tokyo"), "tokyo", "a node rule's subject is the node");
        assert_eq!(node_of("alert", "slow web|web"), "hq");
        assert_eq!(node_of("node", "tokyo"), "tokyo");
        assert_eq!(node_of("probe", "web"), "hq");
        assert_eq!(node_of("probe", "mail@bad name"), "hq", "what follows @ is no node name");
        assert_eq!(node_of("weather", ""), "hq");
    }

    #[test]
    fn a_bad_nodes_list_is_refused_naming_the_key() {
        assert_eq!(parse_nodes(None, "hq").unwrap(), None);
        assert_eq!(parse_nodes(Some("tokyo, berlin"), "hq").unwrap(), Some(vec!["tokyo".to_owned(), "berlin".to_owned()]));
        assert_eq!(parse_nodes(Some("HQ office"), "HQ office").unwrap(), Some(vec!["HQ office".to_owned()]), "this server's name as configured");
        for (raw, why) in [(" , ", "name at least one node"), ("tok yo", "is not a node name")] {
            let error = parse_nodes(Some(raw), "hq").unwrap_err().to_string();
            assert!(error.starts_with("nodes: ") && error.contains(why), "{raw:?}: {error}");
        }
        let many = vec!["n"; 65].join(",");
        assert!(parse_nodes(Some(&many), "hq").unwrap_err().to_string().contains("at most 64"));
    }
}
