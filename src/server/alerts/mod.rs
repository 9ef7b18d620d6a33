//! Alerts: rules over any series, their states and incidents, and the
//! notifications they send through a durable outbox.

pub mod channel_config;
pub mod condition;
pub mod config;
pub mod template;
pub mod tracker;
