//! Scoped API tokens in the store: made, found by their secret (kept only
//! as its SHA-256), listed and revoked.

use serde::Serialize;

use crate::server::{
    auth::{
        access::Scopes,
        accounts::{is_conflict, AddError},
    },
    store::{Store, StoreError},
};

/// A stored token, without its secret.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    /// Space-separated scopes.
    pub scopes: String,
    pub created_by: String,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub last_used_ms: Option<i64>,
}

/// A token's row as the query returns it.
type TokenRowTuple = (i64, String, String, String, i64, Option<i64>, Option<i64>);

/// A token found by its secret.
#[derive(Clone, Debug)]
pub struct FoundToken {
    pub id: i64,
    pub name: String,
    pub scopes: Scopes,
    pub expires_ms: Option<i64>,
}

impl Store {
    /// Whether an unexpired token has this row id.
    pub async fn token_exists(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM account_token WHERE id = $1 AND (expires_ms IS NULL OR expires_ms > $2)")
            .bind(id)
            .bind(now_ms)
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    pub async fn add_token(
        &self,
        name: &str,
        secret_hash: &[u8],
        scopes: &Scopes,
        created_by: &str,
        now_ms: i64,
        expires_ms: Option<i64>,
    ) -> Result<i64, AddError> {
        let insert = sqlx::query_scalar(
            "INSERT INTO account_token (name, secret_hash, scopes, created_by, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(name)
        .bind(secret_hash)
        .bind(scopes.to_string())
        .bind(created_by)
        .bind(now_ms)
        .bind(expires_ms)
        .fetch_one(self.pool())
        .await;
        match insert {
            Ok(id) => Ok(id),
            Err(error) if is_conflict(&error) => Err(AddError::Taken),
            Err(error) => Err(AddError::Store(error.into())),
        }
    }

    /// The unexpired token with this secret; its last use is noted.
    pub async fn token(&self, secret_hash: &[u8], now_ms: i64) -> Result<Option<FoundToken>, StoreError> {
        let row: Option<(i64, String, String, Option<i64>)> = sqlx::query_as(
            "UPDATE account_token SET last_used_ms = $2 WHERE secret_hash = $1 AND (expires_ms IS NULL OR expires_ms > $2) \
             RETURNING id, name, scopes, expires_ms",
        )
        .bind(secret_hash)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        row.map(|(id, name, scopes, expires_ms)| Ok(FoundToken { id, name, scopes: Scopes::parse(&scopes).map_err(StoreError::Corrupt)?, expires_ms }))
            .transpose()
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let rows: Vec<TokenRowTuple> =
            sqlx::query_as("SELECT id, name, scopes, created_by, created_ms, expires_ms, last_used_ms FROM account_token ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, scopes, created_by, created_ms, expires_ms, last_used_ms)| TokenRow {
                id,
                name,
                scopes,
                created_by,
                created_ms,
                expires_ms,
                last_used_ms,
            })
            .collect())
    }

    /// Deletes a token by name, returning its id; `None` when there is none.
    pub async fn revoke_token(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("DELETE FROM account_token WHERE name = $1 RETURNING id").bind(name).fetch_optional(self.pool()).await?)
    }
}
