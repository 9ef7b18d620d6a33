//! Browser-side plumbing: loading the snapshot, the live stream, drawing on canvas.

#[cfg(feature = "hydrate")]
pub mod canvas;
#[cfg(feature = "hydrate")]
pub mod history_api;
pub mod live_signals;
#[cfg(feature = "hydrate")]
pub mod live_stream;
#[cfg(feature = "hydrate")]
pub mod offline;
pub mod snapshot_api;
#[cfg(feature = "hydrate")]
pub mod zone;
