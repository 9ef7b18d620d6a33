//! Alerts: rules over any series, their states and incidents, and the
//! notifications they send through a durable outbox.

pub mod backtest;
pub mod board;
pub mod channel_config;
pub mod command;
pub mod compose;
pub mod condition;
pub mod config;
pub mod email;
pub mod evaluate;
pub mod outbox;
pub mod page;
pub mod quorum;
pub mod record;
pub mod reminders;
pub mod routes;
pub mod send;
pub mod service;
pub mod silence;
pub mod silence_routes;
pub mod store;
pub mod template;
pub mod tracker;
pub mod values;
