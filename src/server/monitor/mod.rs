//! Endpoint monitors: their config, one HTTP or TCP check (connecting, the
//! HTTP exchange), the loop that runs each monitor on its interval, and push
//! monitors, which are called instead of checked.

pub mod check;
pub mod config;
pub mod connect;
pub mod http;
pub mod push;
pub mod run;
