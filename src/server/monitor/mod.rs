//! Endpoint monitors: their config, one HTTP or TCP check (connecting, the
//! HTTP exchange), and the loop that runs each monitor on its interval.

pub mod check;
pub mod config;
pub mod connect;
pub mod http;
pub mod run;
