//! The dashboard address's `?node=`: whose speed tests the page shows. Read
//! by the server as it renders the page, and by the node picker's script.

/// The `node` parameter of a query string such as `?range=7d&node=tokyo`, if it names one.
pub fn node_in_query(query: &str) -> Option<String> {
    let value = query.trim_start_matches('?').split('&').find_map(|pair| pair.strip_prefix("node="))?;
    // Node names are letters, digits, '.', '_' and '-', so only `*` (every node) is ever encoded.
    let value = value.replace("%2A", "*").replace("%2a", "*");
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_is_read_from_any_query() {
        assert_eq!(node_in_query("?node=tokyo").as_deref(), Some("tokyo"));
        assert_eq!(node_in_query("range=24h&node=%2A").as_deref(), Some("*"));
        assert_eq!(node_in_query("?node="), None);
        assert_eq!(node_in_query("?nodes=tokyo"), None);
        assert_eq!(node_in_query(""), None);
    }
}
