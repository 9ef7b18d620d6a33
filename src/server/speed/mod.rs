//! Speed tests: the sampler that runs them on a schedule, the targets it
//! measures (other nodes' among them), the measurement engine, the `measure` command, "test now", and
//! the routes that let any netpulse act as a speed-test target.

pub mod budget;
pub mod command;
pub mod config;
pub mod measure;
pub mod payload;
pub mod peers;
pub mod routes;
pub mod sampler;
pub mod stats;
pub mod target;
pub mod test_now;
