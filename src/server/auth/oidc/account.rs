//! The accounts single sign-on makes and keeps up to date: the provider sets
//! their role at every sign-in, and never takes over a password account's name.

use crate::server::{
    auth::{access::Role, session, Revoked},
    clock::now_ms,
    http::error::ApiError,
    store::{Store, StoreError},
    AppState,
};

/// How `account_user.signs_in_with` marks an account made by single sign-on.
pub const OIDC: &str = "oidc";

impl Store {
    /// How an account signs in, and its role.
    async fn sign_in_kind(&self, name: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT signs_in_with, role FROM account_user WHERE name = ?").bind(name).fetch_optional(self.pool()).await?)
    }

    /// Adds a single sign-on account: no password, so it cannot sign in any other way.
    async fn add_sso_user(&self, name: &str, role: Role, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO account_user (name, password_hash, role, created_ms, signs_in_with) VALUES (?, '', ?, ?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(role.as_str())
            .bind(now_ms)
            .bind(OIDC)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// Makes or updates the account for `name` with the role the provider's claims give.
pub async fn keep_account(state: &AppState, name: &str, role: Role) -> Result<(), ApiError> {
    let store = &state.store;
    let down = |_| session::store_down();
    match store.sign_in_kind(name).await.map_err(down)? {
        None => store.add_sso_user(name, role, now_ms()).await.map_err(down),
        Some((kind, _)) if kind != OIDC => Err(ApiError::Forbidden(format!(
            "an account called {name:?} signs in with a password here; an admin can remove it so that single sign-on may use the name"
        ))),
        Some((_, stored)) if stored == role.as_str() => Ok(()),
        Some(_) => {
            if !store.set_role(name, role).await.map_err(down)? {
                return Err(ApiError::Forbidden(
                    "the provider no longer gives you the admin role, and you are netpulse's last admin; make another admin first".to_owned(),
                ));
            }
            // Streams opened under the old role close; sessions read the role afresh.
            state.auth.revoke(Revoked::User(name.to_owned()));
            Ok(())
        }
    }
}
