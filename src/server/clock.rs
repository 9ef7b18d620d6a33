//! The server's clock: the one source of the times events carry and of the
//! floor new event ids start from.

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The clock in microseconds: the floor for a new log's first id, so that ids
/// keep growing even when the database is replaced, as long as fewer than a
/// million events a second are published on average.
pub fn id_floor() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |since| u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
}
