//! `/api/events?nodes=…`: the vantage point each event was measured from, and
//! the filter that keeps only those of the nodes asked for.

use std::sync::Arc;

use crate::{
    model::NODE_TOPIC,
    server::{
        auth::access::{is_node_name, split_node},
        events::{hub::HubEvent, resume::EventFilter},
        http::error::ApiError,
    },
};

/// At most this many names in one `nodes`.
const MOST_NODES: usize = 64;

/// Where an event comes from: the node a `node` event is about, the node that
/// measured `web@tokyo` or `rule|web@tokyo`, else this server (`here`): its own
/// checks and tests, and custom topics.
pub fn node_of<'a>(topic: &str, key: &'a str, here: &'a str) -> &'a str {
    if topic == NODE_TOPIC {
        return key;
    }
    split_node(key).map_or(here, |(_, node)| node)
}

/// The node names of `nodes=tokyo,berlin`; `None` when not asked.
pub fn parse_nodes(raw: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let names: Vec<String> = raw.split(',').map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned).collect();
    if names.is_empty() {
        return Err(ApiError::bad_request("nodes: name at least one node, such as nodes=tokyo, or leave it out for every node"));
    }
    if names.len() > MOST_NODES {
        return Err(ApiError::bad_request(format!("nodes: at most {MOST_NODES} names, got {}", names.len())));
    }
    if let Some(bad) = names.iter().find(|name| !is_node_name(name)) {
        return Err(ApiError::bad_request(format!("nodes: {bad:?} is not a node name (1 to 64 letters, digits, '.', '_' or '-')")));
    }
    Ok(Some(names))
}

/// `allowed`, narrowed to events from `nodes`; `here` is this server's own name.
pub fn keep_nodes(allowed: EventFilter, nodes: Option<Vec<String>>, here: String) -> EventFilter {
    match nodes {
        None => allowed,
        Some(nodes) => Arc::new(move |event: &HubEvent| nodes.iter().any(|node| node == node_of(&event.topic, &event.key, &here)) && allowed(event)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_comes_from_the_node_that_measured_it() {
        assert_eq!(node_of("probe", "web@tokyo", "hq"), "tokyo");
        assert_eq!(node_of("speed", "https://speed.example/x@berlin", "hq"), "berlin");
        assert_eq!(node_of("alert", "slow web|web@tokyo", "hq"), "tokyo");
        assert_eq!(node_of("node", "tokyo", "hq"), "tokyo");
        assert_eq!(node_of("probe", "web", "hq"), "hq");
        assert_eq!(node_of("probe", "mail@bad name", "hq"), "hq", "what follows @ is no node name");
        assert_eq!(node_of("weather", "", "hq"), "hq");
    }

    #[test]
    fn a_bad_nodes_list_is_refused_naming_the_key() {
        assert_eq!(parse_nodes(None).unwrap(), None);
        assert_eq!(parse_nodes(Some("tokyo, berlin")).unwrap(), Some(vec!["tokyo".to_owned(), "berlin".to_owned()]));
        for (raw, why) in [(" , ", "name at least one node"), ("tok yo", "is not a node name")] {
            let error = parse_nodes(Some(raw)).unwrap_err().to_string();
            assert!(error.starts_with("nodes: ") && error.contains(why), "{raw:?}: {error}");
        }
        let many = vec!["n"; 65].join(",");
        assert!(parse_nodes(Some(&many)).unwrap_err().to_string().contains("at most 64"));
    }
}
