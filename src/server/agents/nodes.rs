//! Enrolled agents in the store: single-use join tokens and node credentials,
//! both kept only as SHA-256; revocation; and what each node's last batch
//! said (last seen, clock offset, outbox backlog, acknowledgement).

use crate::server::{
    auth::accounts::is_conflict,
    store::{sql, Store, StoreError},
};

/// A node as the store holds it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct NodeRow {
    pub id: i64,
    pub name: String,
    pub joined_ms: i64,
    pub revoked_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    pub clock_offset_ms: Option<i64>,
    pub version: String,
    pub backlog: i64,
    pub dropped: i64,
    pub acknowledged: i64,
    /// Where it serves `/speedtest` for other nodes, as it last said.
    pub speedtest_url: Option<String>,
}

/// Why a join failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("the join token is unknown, used or expired")]
    TokenRefused,
    #[error("a node with this name is enrolled")]
    NameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for JoinError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

/// What a batch reported, saved on the node after its results are stored.
#[derive(Clone, Debug)]
pub struct BatchReport {
    pub seen_ms: i64,
    pub clock_offset_ms: i64,
    pub backlog: u64,
    pub dropped: u64,
    pub acknowledged: u64,
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    pub async fn create_join_token(&self, secret_hash: &[u8], created_by: &str, now_ms: i64, expires_ms: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("INSERT INTO agent_join_token (secret_hash, created_by, created_ms, expires_ms) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(secret_hash)
            .bind(created_by)
            .bind(now_ms)
            .bind(expires_ms)
            .fetch_one(self.pool())
            .await?)
    }

    /// Uses the token and enrols the node, in one transaction: a token works
    /// once, and a refused name leaves it unused. A revoked node's name may
    /// join again; it starts a new sequence, its history stays.
    pub async fn join_node(&self, token_hash: &[u8], name: &str, credential_hash: &[u8], version: &str, now_ms: i64) -> Result<i64, JoinError> {
        let mut transaction = self.pool().begin().await?;
        let used = sqlx::query("UPDATE agent_join_token SET used_ms = $1, used_by_node = $2 WHERE secret_hash = $3 AND used_ms IS NULL AND expires_ms > $4")
            .bind(now_ms)
            .bind(name)
            .bind(token_hash)
            .bind(now_ms)
            .execute(&mut *transaction)
            .await?;
        if used.rows_affected() != 1 {
            return Err(JoinError::TokenRefused);
        }
        let revoked: Option<i64> =
            sqlx::query_scalar("SELECT id FROM agent_node WHERE name = $1 AND revoked_ms IS NOT NULL").bind(name).fetch_optional(&mut *transaction).await?;
        let id = match revoked {
            Some(id) => {
                sqlx::query("UPDATE agent_node SET credential_hash = $1, joined_ms = $2, revoked_ms = NULL, version = $3, backlog = 0, dropped = 0, acknowledged = 0, speedtest_url = NULL WHERE id = $4")
                    .bind(credential_hash)
                    .bind(now_ms)
                    .bind(version)
                    .bind(id)
                    .execute(&mut *transaction)
                    .await?;
                sqlx::query("DELETE FROM agent_result WHERE node_id = $1").bind(id).execute(&mut *transaction).await?;
                id
            }
            None => sqlx::query_scalar("INSERT INTO agent_node (name, credential_hash, joined_ms, version) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(name)
                .bind(credential_hash)
                .bind(now_ms)
                .bind(version)
                .fetch_one(&mut *transaction)
                .await
                .map_err(|error| if is_conflict(&error) { JoinError::NameTaken } else { error.into() })?,
        };
        transaction.commit().await?;
        Ok(id)
    }

    /// The node a credential belongs to: its id, name and whether it was revoked.
    pub async fn node_by_credential(&self, credential_hash: &[u8]) -> Result<Option<(i64, String, bool)>, StoreError> {
        let row: Option<(i64, String, Option<i64>)> =
            sqlx::query_as("SELECT id, name, revoked_ms FROM agent_node WHERE credential_hash = $1").bind(credential_hash).fetch_optional(self.pool()).await?;
        Ok(row.map(|(id, name, revoked)| (id, name, revoked.is_some())))
    }

    pub async fn nodes(&self) -> Result<Vec<NodeRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, joined_ms, revoked_ms, last_seen_ms, clock_offset_ms, version, backlog, dropped, acknowledged, speedtest_url FROM agent_node ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Where a node serves `/speedtest` (`None`: nowhere), as it said when it opened its stream;
    /// false when it has been revoked since.
    pub async fn set_node_speedtest(&self, node_id: i64, url: Option<&str>) -> Result<bool, StoreError> {
        let updated =
            sqlx::query("UPDATE agent_node SET speedtest_url = $1 WHERE id = $2 AND revoked_ms IS NULL").bind(url).bind(node_id).execute(self.pool()).await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Revokes a node; false if there is none of that name, or it was revoked already.
    pub async fn revoke_node(&self, name: &str, now_ms: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("UPDATE agent_node SET revoked_ms = $1, speedtest_url = NULL WHERE name = $2 AND revoked_ms IS NULL RETURNING id")
            .bind(now_ms)
            .bind(name)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Where a node's sequence stands: its acknowledgement and the numbers stored past it.
    pub async fn node_progress(&self, node_id: i64) -> Result<(u64, Vec<u64>), StoreError> {
        let acknowledged: i64 = sqlx::query_scalar("SELECT acknowledged FROM agent_node WHERE id = $1").bind(node_id).fetch_one(self.pool()).await?;
        let ahead: Vec<i64> = sqlx::query_scalar("SELECT seq FROM agent_result WHERE node_id = $1 AND seq > $2 ORDER BY seq")
            .bind(node_id)
            .bind(acknowledged)
            .fetch_all(self.pool())
            .await?;
        let to_u64 = |n: i64| u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("agent sequence number {n}")));
        Ok((to_u64(acknowledged)?, ahead.into_iter().map(to_u64).collect::<Result<_, _>>()?))
    }

    /// Results refused for their content: done, with no event, so a retry is a duplicate.
    pub async fn record_refused(&self, node_id: i64, seqs: &[u64]) -> Result<(), StoreError> {
        for chunk in seqs.chunks(sql::ROWS_PER_INSERT) {
            let statement = sql::insert_rows(self.backend(), "INSERT INTO agent_result (node_id, seq, event_id)", chunk.len(), 3, "");
            let mut insert = sqlx::query(&statement);
            for seq in chunk {
                insert = insert.bind(node_id).bind(as_i64(*seq)).bind(None::<i64>);
            }
            insert.execute(self.pool()).await?;
        }
        Ok(())
    }

    /// Saves what a batch reported, and forgets the numbers the acknowledgement now covers.
    pub async fn report_batch(&self, node_id: i64, report: &BatchReport) -> Result<(), StoreError> {
        let mut transaction = self.pool().begin().await?;
        sqlx::query("UPDATE agent_node SET last_seen_ms = $1, clock_offset_ms = $2, backlog = $3, dropped = $4, acknowledged = CASE WHEN acknowledged > $5 THEN acknowledged ELSE $5 END WHERE id = $6")
            .bind(report.seen_ms)
            .bind(report.clock_offset_ms)
            .bind(as_i64(report.backlog))
            .bind(as_i64(report.dropped))
            .bind(as_i64(report.acknowledged))
            .bind(node_id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM agent_result WHERE node_id = $1 AND seq <= $2")
            .bind(node_id)
            .bind(as_i64(report.acknowledged))
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }
}
