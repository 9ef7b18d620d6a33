//! The durable event log as the writer and resume see it: append a batch,
//! read a range back. The store implements it (`store::event_log`), on SQLite or PostgreSQL; the
//! interface is what a shared database can implement later.

use std::{future::Future, pin::Pin, sync::Arc};

use crate::server::events::hub::HubEvent;

/// A failed log operation, described for a person: the store's own error
/// type stays in the store.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LogError(pub String);

pub type LogFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, LogError>> + Send + 'a>>;

pub trait EventLog: Send + Sync {
    /// Writes numbered events in one transaction: when it succeeds, all of
    /// them survive a crash; when it fails, none was written. `lost_through`
    /// is the newest id of an earlier batch that could not be written: from
    /// now on, resuming from an id at or below it is not exact.
    fn append<'a>(&'a self, events: &'a [Arc<HubEvent>], lost_through: Option<u64>) -> LogFuture<'a, ()>;

    /// Ids above this one are all in the log, if they were ever issued; ids
    /// at or below it may have been pruned, so resuming from them is not exact.
    fn replayable_after(&self) -> LogFuture<'_, u64>;

    /// Events with `after < id < before` on `topics` (every topic when empty),
    /// oldest first, at most `limit` of them.
    fn read_range<'a>(&'a self, after: u64, before: u64, topics: &'a [String], limit: usize) -> LogFuture<'a, Vec<Arc<HubEvent>>>;

    /// How many events `read_range` would find with no limit, counting at most `cap`.
    fn count_range<'a>(&'a self, after: u64, before: u64, topics: &'a [String], cap: usize) -> LogFuture<'a, usize>;
}
