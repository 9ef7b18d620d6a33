//! Endpoint monitors: their config, one HTTP or TCP check, and the loop that
//! runs each monitor on its interval.

pub mod check;
pub mod config;
pub mod run;
