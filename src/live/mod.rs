//! Client state that is plain data: the bounded sample history, reconnect
//! backoff and connection states. Pure, so it is unit-tested natively.

pub mod alerts;
pub mod backoff;
pub mod connection;
pub mod event_log;
pub mod history;
pub mod monitor_trend;
pub mod monitors;
pub mod node_matrix;
pub mod nodes;
pub mod range;
pub mod topic_feed;
