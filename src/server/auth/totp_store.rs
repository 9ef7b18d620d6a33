//! The second factor's rows: each user's TOTP secret, the one being set up,
//! and the last time step a code was used for.

use crate::server::store::{Store, StoreError};

impl Store {
    /// The user's TOTP secret and the last step used, when two-factor sign-in is on.
    pub async fn totp_secret(&self, name: &str) -> Result<Option<(String, i64)>, StoreError> {
        let row: Option<(Option<String>, i64)> =
            sqlx::query_as("SELECT totp_secret, totp_last_step FROM account_user WHERE name = $1").bind(name).fetch_optional(self.pool()).await?;
        Ok(row.and_then(|(secret, step)| secret.map(|secret| (secret, step))))
    }

    /// Keeps `secret` as the one being set up, replacing any earlier one.
    pub async fn set_totp_pending(&self, name: &str, secret: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE account_user SET totp_pending = $1 WHERE name = $2").bind(secret).bind(name).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn totp_pending(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT totp_pending FROM account_user WHERE name = $1").bind(name).fetch_optional(self.pool()).await?;
        Ok(row.flatten())
    }

    /// Turns on the secret being set up, if it is still `secret` and no other is on, with `step` as used.
    pub async fn enable_totp(&self, name: &str, secret: &str, step: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE account_user SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1 WHERE name = $2 AND totp_pending = $3 AND totp_secret IS NULL")
                .bind(step)
                .bind(name)
                .bind(secret)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks `step` used, in one statement, so two requests with the same code cannot both pass.
    pub async fn use_totp_step(&self, name: &str, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE account_user SET totp_last_step = $1 WHERE name = $2 AND totp_secret IS NOT NULL AND totp_last_step < $1")
            .bind(step)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Turns two-factor sign-in off; false when it was not on.
    pub async fn disable_totp(&self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE account_user SET totp_secret = NULL, totp_pending = NULL WHERE name = $1 AND totp_secret IS NOT NULL")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
