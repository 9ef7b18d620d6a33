//! One server per PostgreSQL database, until replicas share it safely: the
//! server holds a session advisory lock on a connection of its own for as
//! long as it runs, and a second server waits for it (a restart overlapping
//! the old process) and then refuses to start. The session asks PostgreSQL
//! to probe it every 30 s, so a server whose host died lets go within about
//! a minute; a server whose lock session fails stops, since another may
//! take over. Commands such as `netpulse user add` take no lock. SQLite
//! needs none: its file is the server's own.

use std::time::{Duration, Instant};

use sqlx::{Acquire, AnyConnection, Executor};
use tokio_util::sync::CancellationToken;

use crate::server::store::{Backend, Store, StoreError};

/// The lock's key: any constant other programs on the database are unlikely to use.
const LOCK_KEY: i64 = 0x6e65_7470_756c_7365; // "netpulse"

/// How long a starting server waits for another to let go.
pub const WAIT_FOR_OTHER: Duration = Duration::from_secs(10);

/// How often the lock's session is checked.
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Held while the server runs. Dropping it closes the lock's session, which lets go of the lock.
pub struct ServerLock {
    lost: CancellationToken,
    released: CancellationToken,
}

impl ServerLock {
    /// Cancelled when the lock's session failed: the server must stop.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }
}

impl Drop for ServerLock {
    fn drop(&mut self) {
        self.released.cancel();
    }
}

impl Store {
    /// Takes the database for this server, waiting up to [`WAIT_FOR_OTHER`] for another to stop.
    pub async fn lock_for_server(&self) -> Result<ServerLock, StoreError> {
        let lock = ServerLock { lost: CancellationToken::new(), released: CancellationToken::new() };
        if self.backend() != Backend::Postgres {
            return Ok(lock);
        }
        let mut connection = self.pool().acquire().await?.detach();
        connection.execute("SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3").await?;
        let started = Instant::now();
        loop {
            let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(connection.acquire().await?).await?;
            if taken {
                tokio::spawn(watch(connection, lock.lost.clone(), lock.released.clone()));
                return Ok(lock);
            }
            if started.elapsed() >= WAIT_FOR_OTHER {
                return Err(StoreError::InUse);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Checks the lock's session until the lock is released; cancels `lost` if it fails.
async fn watch(mut connection: AnyConnection, lost: CancellationToken, released: CancellationToken) {
    loop {
        tokio::select! {
            _ = released.cancelled() => return,
            _ = tokio::time::sleep(CHECK_EVERY) => {}
        }
        let check = tokio::time::timeout(CHECK_EVERY, sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&mut connection)).await;
        if !matches!(check, Ok(Ok(1))) {
            tracing::error!("the session holding this server's lock on the database failed; stopping, since another server may take over");
            lost.cancel();
            return;
        }
    }
}
