//! Write transactions, one at a time: SQLite's `BEGIN IMMEDIATE`, or on
//! PostgreSQL a `BEGIN` that then takes [`sql::WRITE_LOCK`]. Begun by hand
//! rather than with sqlx's `Transaction`: when SQLite fails a COMMIT (a full
//! disk) it may end the transaction itself, sqlx's own ROLLBACK then fails,
//! and the connection it returns to the pool refuses every later `begin`.
//! One dropped without a commit (an error, a cancelled task) closes its
//! connection, which ends the transaction, instead of handing it on open.

use std::ops::{Deref, DerefMut};

use sqlx::{pool::PoolConnection, Any, AnyConnection};

use crate::server::store::{sql, Backend, Store, StoreError};

pub struct WriteTransaction {
    connection: Option<PoolConnection<Any>>,
}

impl Store {
    /// Begins a write transaction; see the module's notes.
    pub(crate) async fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        let mut transaction = WriteTransaction { connection: Some(self.pool().acquire().await?) };
        sqlx::query(sql::begin_write(self.backend())).execute(&mut *transaction).await?;
        if self.backend() == Backend::Postgres {
            // The function returns void, which the Any driver cannot carry: count its one row instead.
            sqlx::query("SELECT count(*) FROM (SELECT pg_advisory_xact_lock($1)) AS locked").bind(sql::WRITE_LOCK).execute(&mut *transaction).await?;
        }
        Ok(transaction)
    }
}

impl WriteTransaction {
    /// Commits; a failed commit is rolled back and the connection kept.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let Some(mut connection) = self.connection.take() else { return Ok(()) };
        if let Err(error) = sqlx::query("COMMIT").execute(&mut *connection).await {
            let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
            return Err(error.into());
        }
        Ok(())
    }
}

impl Deref for WriteTransaction {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        self.connection.as_ref().expect("a transaction has its connection until it is committed")
    }
}

impl DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.connection.as_mut().expect("a transaction has its connection until it is committed")
    }
}

impl Drop for WriteTransaction {
    fn drop(&mut self) {
        // Taken out of the pool and dropped, the connection closes; the database rolls back.
        if let Some(connection) = self.connection.take() {
            drop(connection.detach());
        }
    }
}
