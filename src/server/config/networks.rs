//! Lists of addresses and networks in the config (`10.0.0.0/8`, `::1`), checked.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::server::config::{invalid, ConfigError};

/// Parses each entry as a network or a single address; the error names `key`.
pub fn networks(key: &'static str, entries: &[String]) -> Result<Vec<IpNet>, ConfigError> {
    entries
        .iter()
        .map(|raw| {
            raw.parse::<IpNet>()
                .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| invalid(key, format!("{raw:?} is not an address or network such as 10.0.0.0/8")))
        })
        .collect()
}

/// Whether `address` (an IPv4-mapped IPv6 address counts as IPv4) is in any of `networks`.
pub fn contains(networks: &[IpNet], address: IpAddr) -> bool {
    let address = address.to_canonical();
    networks.iter().any(|net| net.contains(&address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_networks_or_addresses() {
        let nets = networks("auth.trusted_proxies", &["10.0.0.0/8".into(), "::1".into()]).unwrap();
        assert!(contains(&nets, "10.9.8.7".parse().unwrap()));
        assert!(contains(&nets, "::ffff:10.0.0.1".parse().unwrap()), "mapped IPv4 counts as IPv4");
        assert!(contains(&nets, "::1".parse().unwrap()));
        assert!(!contains(&nets, "11.0.0.1".parse().unwrap()));
        let error = networks("auth.trusted_proxies", &["nginx".into()]).unwrap_err().to_string();
        assert!(error.starts_with("invalid auth.trusted_proxies:") && error.contains("\"nginx\""), "{error}");
    }
}
