//! Accounts in the store: users and sessions (tokens are in `token_store`).
//! Session secrets are kept only as their SHA-256.

use serde::Serialize;

use crate::server::{
    auth::access::Role,
    store::{Store, StoreError},
};

/// A stored user, without the password.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    pub created_ms: i64,
    /// Whether two-factor sign-in is on.
    pub totp: bool,
    /// `password`, or `oidc` for an account made by single sign-on.
    pub signs_in_with: String,
}

/// A session found by its secret.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id: i64,
    pub user: String,
    pub role: Role,
    pub expires_ms: i64,
}

/// A session as the sessions list shows it, without its secret.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SessionEntry {
    pub id: i64,
    pub user: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    /// Updated at most once a minute.
    pub last_seen_ms: i64,
    pub address: String,
}

/// How often a session's last use is written: once a minute is exact enough, and spares a write per request.
const LAST_SEEN_EVERY_MS: i64 = 60_000;

/// Whether an insert broke a uniqueness rule: the name is taken.
pub fn is_conflict(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// What adding a row can meet besides a database fault.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("the name is taken")]
    Taken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn role_of(raw: &str) -> Result<Role, StoreError> {
    raw.parse().map_err(StoreError::Corrupt)
}

impl Store {
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM account_user").fetch_one(self.pool()).await?)
    }

    pub async fn add_user(&self, name: &str, password_hash: &str, role: Role, now_ms: i64) -> Result<(), AddError> {
        let insert = sqlx::query("INSERT INTO account_user (name, password_hash, role, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(name)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now_ms)
            .execute(self.pool())
            .await;
        match insert {
            Ok(_) => Ok(()),
            Err(error) if is_conflict(&error) => Err(AddError::Taken),
            Err(error) => Err(AddError::Store(error.into())),
        }
    }

    /// The user's password hash and role.
    pub async fn user_password(&self, name: &str) -> Result<Option<(String, Role)>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT password_hash, role FROM account_user WHERE name = $1").bind(name).fetch_optional(self.pool()).await?;
        row.map(|(hash, role)| Ok((hash, role_of(&role)?))).transpose()
    }

    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows: Vec<(String, String, i64, i64, String)> =
            sqlx::query_as("SELECT name, role, created_ms, CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END, signs_in_with FROM account_user ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(name, role, created_ms, totp, signs_in_with)| UserRow { name, role, created_ms, totp: totp != 0, signs_in_with }).collect())
    }

    /// Changes a user's role, in one statement that never demotes the last
    /// admin, inside the write lock (so two admins demoting each other at once
    /// cannot leave none, on PostgreSQL too); false when nothing changed
    /// because there is no such user or it is the last admin.
    pub async fn set_role(&self, name: &str, role: Role) -> Result<bool, StoreError> {
        let mut transaction = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE account_user SET role = $1 WHERE name = $2 \
             AND ($1 = 'admin' OR role <> 'admin' OR (SELECT count(*) FROM account_user WHERE role = 'admin') > 1)",
        )
        .bind(role.as_str())
        .bind(name)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets a password account's password; false for a single sign-on account, which has none.
    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE account_user SET password_hash = $1 WHERE name = $2 AND signs_in_with = 'password'")
            .bind(password_hash)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a user and, with it, their sessions, never the last admin (in
    /// one statement, inside the write lock); false when there is no such user or it is the last admin.
    pub async fn delete_user(&self, name: &str) -> Result<bool, StoreError> {
        let mut transaction = self.begin_write().await?;
        let done =
            sqlx::query("DELETE FROM account_user WHERE name = $1 AND (role <> 'admin' OR (SELECT count(*) FROM account_user WHERE role = 'admin') > 1)")
                .bind(name)
                .execute(&mut *transaction)
                .await?;
        transaction.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn admin_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM account_user WHERE role = 'admin'").fetch_one(self.pool()).await?)
    }

    pub async fn create_session(&self, secret_hash: &[u8], user: &str, now_ms: i64, expires_ms: i64, address: &str) -> Result<i64, StoreError> {
        let id = sqlx::query_scalar(
            "INSERT INTO account_session (secret_hash, \"user\", created_ms, expires_ms, last_seen_ms, address) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(secret_hash)
        .bind(user)
        .bind(now_ms)
        .bind(expires_ms)
        .bind(now_ms)
        .bind(address)
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    /// The unexpired session with this secret; its last use is noted now and then.
    pub async fn session(&self, secret_hash: &[u8], now_ms: i64) -> Result<Option<SessionRow>, StoreError> {
        let row: Option<(i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT s.id, s.\"user\", u.role, s.expires_ms, s.last_seen_ms FROM account_session s JOIN account_user u ON u.name = s.\"user\" \
             WHERE s.secret_hash = $1 AND s.expires_ms > $2",
        )
        .bind(secret_hash)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        let Some((id, user, role, expires_ms, last_seen_ms)) = row else { return Ok(None) };
        if now_ms - last_seen_ms >= LAST_SEEN_EVERY_MS {
            sqlx::query("UPDATE account_session SET last_seen_ms = $1 WHERE id = $2").bind(now_ms).bind(id).execute(self.pool()).await?;
        }
        Ok(Some(SessionRow { id, user, role: role_of(&role)?, expires_ms }))
    }

    /// The unexpired sessions, of one user or of everyone, newest first.
    pub async fn sessions(&self, user: Option<&str>, now_ms: i64) -> Result<Vec<SessionEntry>, StoreError> {
        let rows: Vec<(i64, String, i64, i64, i64, String)> = sqlx::query_as(
            "SELECT id, \"user\", created_ms, expires_ms, last_seen_ms, address FROM account_session \
             WHERE expires_ms > $1 AND ($2 IS NULL OR \"user\" = $2) ORDER BY id DESC",
        )
        .bind(now_ms)
        .bind(user)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, user, created_ms, expires_ms, last_seen_ms, address)| SessionEntry { id, user, created_ms, expires_ms, last_seen_ms, address })
            .collect())
    }

    /// Ends a session if it belongs to `user` (any session when `None`); whose it was, or `None` when there was none.
    pub async fn end_session(&self, id: i64, user: Option<&str>) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(r#"DELETE FROM account_session WHERE id = $1 AND ($2 IS NULL OR "user" = $2) RETURNING "user""#)
            .bind(id)
            .bind(user)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The role behind an unexpired session of `user`, by its row id (ids can be reused, so the user is matched too).
    pub async fn session_role(&self, id: i64, user: &str, now_ms: i64) -> Result<Option<Role>, StoreError> {
        let role: Option<String> = sqlx::query_scalar(
            r#"SELECT u.role FROM account_session s JOIN account_user u ON u.name = s."user" WHERE s.id = $1 AND s."user" = $2 AND s.expires_ms > $3"#,
        )
        .bind(id)
        .bind(user)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        role.map(|role| role_of(&role)).transpose()
    }

    pub async fn delete_session(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM account_session WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// Ends every session of a user, say after a password or role change.
    pub async fn delete_sessions_of(&self, user: &str) -> Result<(), StoreError> {
        sqlx::query(r#"DELETE FROM account_session WHERE "user" = $1"#).bind(user).execute(self.pool()).await?;
        Ok(())
    }
}
