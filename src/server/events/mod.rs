//! Events: the writer that gives each event its id and records it, the hub that
//! fans it out, the subscribers and their limits, the SSE route and wire format,
//! topic names, publishing by HTTP, and the producers that run only while watched.

pub mod hub;
pub mod limits;
pub mod live_latency;
pub mod log;
pub mod node_filter;
pub mod publish;
pub mod resume;
pub mod sse;
pub mod sse_frame;
pub mod subscribers;
pub mod topics;
pub mod writer;
