//! Endpoint monitors: their config, one HTTP, TCP or DNS check (connecting,
//! the HTTP exchange, the DNS query), the loop that runs each monitor on its interval, and push
//! monitors, which are called instead of checked.

pub mod check;
pub mod config;
pub mod connect;
pub mod dns;
pub mod http;
pub mod push;
pub mod run;
