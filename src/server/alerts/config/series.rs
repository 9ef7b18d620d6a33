//! A rule's `series`: what it names, checked against the rest of the config.

use super::{Known, Watched};
use crate::server::auth::access::{is_node_name, split_node};

pub(super) fn parse_series(series: &str, known: &Known) -> Result<Watched, String> {
    let (kind, name) = match series.split_once(':') {
        Some((kind, name)) => (kind, Some(name)),
        None => (series, None),
    };
    match (kind, name) {
        ("speed", None) => Ok(Watched::Speed { target: None }),
        ("speed", Some(url)) => {
            let url = url.trim_end_matches('/');
            if known.speed_targets.iter().any(|t| t == url) {
                Ok(Watched::Speed { target: Some(url.to_owned()) })
            } else if let Some((target, node)) = split_node(url).filter(|(target, _)| known.speed_targets.iter().any(|t| t == target.trim_end_matches('/'))) {
                Ok(Watched::Speed { target: Some(format!("{}@{node}", target.trim_end_matches('/'))) })
            } else {
                Err(format!("{url:?} is not a configured speed target; targets: {}", known.speed_targets.join(", ")))
            }
        }
        ("probe", None) => Ok(Watched::Probe { monitor: None }),
        ("probe", Some(monitor)) if known.monitors.iter().any(|m| m == monitor) => Ok(Watched::Probe { monitor: Some(monitor.to_owned()) }),
        ("probe", Some(name)) if split_node(name).is_some_and(|(monitor, _)| known.monitors.iter().any(|m| m == monitor)) => {
            Ok(Watched::Probe { monitor: Some(name.to_owned()) })
        }
        ("probe", Some(monitor)) => Err(format!("no [[monitor]] is named {monitor:?}")),
        ("topic", Some(topic)) if known.topics.iter().any(|t| t == topic) => Ok(Watched::Topic { topic: topic.to_owned() }),
        ("topic", Some(topic)) => Err(format!("{topic:?} is not in `topics`; declare it there first")),
        ("node", None) => Ok(Watched::Node { node: None }),
        ("node", Some(node)) if is_node_name(node) => Ok(Watched::Node { node: Some(node.to_owned()) }),
        ("node", Some(node)) => Err(format!("{node:?} is not a node name: 1 to 64 letters, digits, '.', '_' or '-'")),
        _ => Err(format!(
            "must be speed, speed:<target URL>, probe, probe:<monitor> (either with @<node> for one agent node's), node, node:<agent node> or topic:<name>, got {series:?}"
        )),
    }
}
