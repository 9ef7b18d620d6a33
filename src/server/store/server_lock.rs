//! One server per PostgreSQL database, until replicas share it safely: the
//! server holds a session advisory lock on a connection of its own for as
//! long as it runs, and a second server waits for it (a restart overlapping
//! the old process) and then refuses to start. Commands such as `netpulse
//! user add` take no lock. SQLite needs none: its file is the server's own.

use std::time::{Duration, Instant};

use sqlx::{Acquire, AnyConnection};

use crate::server::store::{Backend, Store, StoreError};

/// The lock's key: any constant other programs on the database are unlikely to use.
const LOCK_KEY: i64 = 0x6e65_7470_756c_7365; // "netpulse"

/// How long a starting server waits for another to let go.
pub const WAIT_FOR_OTHER: Duration = Duration::from_secs(10);

/// The lock's connection: dropping it closes the session, which lets go of the lock.
pub struct ServerLock {
    _connection: Option<AnyConnection>,
}

impl Store {
    /// Takes the database for this server, waiting up to [`WAIT_FOR_OTHER`] for another to stop.
    pub async fn lock_for_server(&self) -> Result<ServerLock, StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(ServerLock { _connection: None });
        }
        let mut connection = self.pool().acquire().await?.detach();
        let started = Instant::now();
        loop {
            let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(connection.acquire().await?).await?;
            if taken {
                return Ok(ServerLock { _connection: Some(connection) });
            }
            if started.elapsed() >= WAIT_FOR_OTHER {
                return Err(StoreError::InUse);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
