//! Endpoint monitors: their config, one HTTP, TCP, TLS, DNS or ping check
//! (connecting, the HTTP exchange and its body rules, the TLS handshake, the DNS
//! query, ICMP echo), the loop that runs each monitor on its interval, and push
//! monitors, which are called instead of checked.

pub mod body;
pub mod check;
pub mod config;
pub mod connect;
pub mod dns;
pub mod http;
pub mod ping;
pub mod push;
pub mod run;
pub mod tls;
