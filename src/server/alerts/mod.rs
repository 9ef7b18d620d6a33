//! Alerts: rules over any series, their states and incidents, and the
//! notifications they send through a durable outbox.

pub mod condition;
pub mod tracker;
