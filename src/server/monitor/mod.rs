//! Endpoint monitors: their config, one HTTP, TCP, DNS or ping check
//! (connecting, the HTTP exchange, the DNS query, ICMP echo), the loop that runs each monitor on its interval, and push
//! monitors, which are called instead of checked.

pub mod check;
pub mod config;
pub mod connect;
pub mod dns;
pub mod http;
pub mod ping;
pub mod push;
pub mod run;
