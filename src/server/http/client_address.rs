//! The client's address: the connection's peer, or, when that peer is a
//! trusted reverse proxy, the nearest untrusted address in `X-Forwarded-For`.
//! Rate limits, the speed-test byte budget and the audit log all use it.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{request::Parts, HeaderMap},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

use crate::server::{config::networks, AppState};

/// Who sent a request, as far as trusted proxies tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// What per-client limits count as one client: an address, or for IPv6 its
/// whole /64, which one client usually holds.
pub fn client_network(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

/// Walks `X-Forwarded-For` from the right (the hop nearest us) past every
/// trusted proxy. Entries left of the first untrusted one may be forged by the
/// client, so they are never read; a malformed entry stops the walk at the
/// proxy that passed it on.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let mut client = peer.to_canonical();
    if !networks::contains(trusted, client) {
        return client;
    }
    let hops: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(',')).collect();
    for hop in hops.into_iter().rev() {
        match parse_hop(hop.trim()) {
            Some(address) => client = address.to_canonical(),
            None => return client,
        }
        if !networks::contains(trusted, client) {
            return client;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, or one with a port (`192.0.2.1:5678`, `[2001:db8::1]:80`) or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| hop.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).and_then(|inner| inner.parse().ok()))
}

/// The layer: finds the client's address once for every handler.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let client = client_of(peer.ip(), request.headers(), &state.auth.trusted_proxies);
        request.extensions_mut().insert(ClientAddress(client));
    }
    next.run(request).await
}

/// The layer where no proxy is trusted (an agent's `/speedtest`): the connection's peer.
pub async fn peer_only_layer(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        request.extensions_mut().insert(ClientAddress(peer.ip().to_canonical()));
    }
    next.run(request).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(address_of(parts))
    }
}

/// The client's address from request parts (the unspecified address if no layer ran, as in a unit test).
pub fn address_of(parts: &Parts) -> ClientAddress {
    parts.extensions.get::<ClientAddress>().copied().unwrap_or(ClientAddress(IpAddr::from([0, 0, 0, 0])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn only_trusted_proxies_are_seen_through() {
        let trusted = networks::networks("auth.trusted_proxies", &["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        let ip = |raw: &str| raw.parse::<IpAddr>().unwrap();
        // Direct from a client: its header is its own word, and ignored.
        assert_eq!(client_of(ip("203.0.113.9"), &forwarded(&["198.51.100.1"]), &trusted), ip("203.0.113.9"));
        // Through one proxy.
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded(&["198.51.100.1"]), &trusted), ip("198.51.100.1"));
        // A forged entry left of the real client is never read.
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded(&["6.6.6.6, 198.51.100.1, 10.1.1.1"]), &trusted), ip("198.51.100.1"));
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded(&["6.6.6.6", "198.51.100.1"]), &trusted), ip("198.51.100.1"), "repeated headers read as one list");
        // Nothing forwarded, or garbage: the proxy itself.
        assert_eq!(client_of(ip("127.0.0.1"), &HeaderMap::new(), &trusted), ip("127.0.0.1"));
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded(&["unknown"]), &trusted), ip("127.0.0.1"));
        assert_eq!(client_of(ip("::ffff:127.0.0.1"), &forwarded(&["2001:db8::1"]), &trusted), ip("2001:db8::1"));
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded(&["198.51.100.1"]), &[]), ip("127.0.0.1"), "no trusted proxies: never seen through");
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded(&["198.51.100.1:5678"]), &trusted), ip("198.51.100.1"), "a port is dropped");
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded(&["[2001:db8::1]:80"]), &trusted), ip("2001:db8::1"));
        assert_eq!(client_of(ip("127.0.0.1"), &forwarded(&["[2001:db8::2]"]), &trusted), ip("2001:db8::2"));
    }
}
