//! The accounts single sign-on makes and keeps up to date. An account belongs
//! to the provider's person (issuer and subject), not to the name they send:
//! a renamed person keeps their account, and nobody can take another's name,
//! nor a password account's. The provider sets the role at every sign-in.

use crate::server::{
    auth::{access::Role, accounts::is_conflict, session, Revoked},
    clock::now_ms,
    http::error::ApiError,
    store::{Store, StoreError},
    AppState,
};

/// How `account_user.signs_in_with` marks an account made by single sign-on.
pub const OIDC: &str = "oidc";

/// What the store found or made for a person.
#[derive(Debug, PartialEq, Eq)]
pub enum Kept {
    /// Their account, by name, and whether its role just changed.
    Account { name: String, role_changed: bool },
    /// The name they send belongs to another account here.
    NameTaken(String),
    /// The provider took their admin role, and they are the last admin.
    LastAdmin,
}

impl Store {
    /// Finds `person`'s account, or makes one called `name`, with `role`.
    pub async fn keep_sso_account(&self, person: &str, name: &str, role: Role, now_ms: i64) -> Result<Kept, StoreError> {
        let found = self.sso_account_of(person).await?;
        let Some((name, stored)) = found else {
            // One statement: a name already taken (by a password account or another person) is refused, never joined.
            let insert =
                sqlx::query("INSERT INTO account_user (name, password_hash, role, created_ms, signs_in_with, oidc_subject) VALUES ($1, '', $2, $3, $4, $5)")
                    .bind(name)
                    .bind(role.as_str())
                    .bind(now_ms)
                    .bind(OIDC)
                    .bind(person)
                    .execute(self.pool())
                    .await;
            return match insert {
                Ok(_) => Ok(Kept::Account { name: name.to_owned(), role_changed: false }),
                // The same person's other sign-in, at the same moment, made the account first.
                Err(error) if is_conflict(&error) => Ok(match self.sso_account_of(person).await? {
                    Some((name, _)) => Kept::Account { name, role_changed: false },
                    None => Kept::NameTaken(name.to_owned()),
                }),
                Err(error) => Err(error.into()),
            };
        };
        if stored == role.as_str() {
            return Ok(Kept::Account { name, role_changed: false });
        }
        if !self.set_role(&name, role).await? {
            return Ok(Kept::LastAdmin);
        }
        Ok(Kept::Account { name, role_changed: true })
    }

    /// The name and role of the provider's person's account.
    async fn sso_account_of(&self, person: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT name, role FROM account_user WHERE oidc_subject = $1").bind(person).fetch_optional(self.pool()).await?)
    }

    /// Whether the account was made by single sign-on, so it has no password here.
    pub async fn is_sso_account(&self, name: &str) -> Result<bool, StoreError> {
        let kind: Option<String> = sqlx::query_scalar("SELECT signs_in_with FROM account_user WHERE name = $1").bind(name).fetch_optional(self.pool()).await?;
        Ok(kind.as_deref() == Some(OIDC))
    }
}

/// The account of the provider's `person` (`iss` and `sub`), made or updated with the role the claims give; its name.
pub async fn keep_account(state: &AppState, person: &str, name: &str, role: Role) -> Result<String, ApiError> {
    match state.store.keep_sso_account(person, name, role, now_ms()).await.map_err(|_| session::store_down())? {
        Kept::Account { name, role_changed } => {
            if role_changed {
                // Streams opened under the old role close; sessions read the role afresh.
                state.auth.revoke(Revoked::User(name.clone()));
            }
            Ok(name)
        }
        Kept::NameTaken(name) => {
            Err(ApiError::Forbidden(format!("the name {name:?} belongs to another account here; an admin can remove that account if it should be yours")))
        }
        Kept::LastAdmin => {
            Err(ApiError::Forbidden("the provider no longer gives you the admin role, and you are netpulse's last admin; make another admin first".to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_account_belongs_to_the_person_not_to_the_name_they_send() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 0).await.unwrap();
        store.add_user("root", "$argon2id$stand-in", Role::Admin, 0).await.unwrap();
        let ada = "https://id.example.com 0f3a";
        assert_eq!(store.keep_sso_account(ada, "ada", Role::Viewer, 1).await.unwrap(), Kept::Account { name: "ada".into(), role_changed: false });
        assert!(store.is_sso_account("ada").await.unwrap() && !store.is_sso_account("root").await.unwrap());
        // Renamed at the provider: still her account, under the name it has here.
        let renamed = store.keep_sso_account(ada, "ada.lovelace", Role::Editor, 2).await.unwrap();
        assert_eq!(renamed, Kept::Account { name: "ada".into(), role_changed: true });
        // Someone else sending her name, or a password account's: refused.
        assert_eq!(store.keep_sso_account("https://id.example.com 9c1e", "ada", Role::Admin, 3).await.unwrap(), Kept::NameTaken("ada".into()));
        assert_eq!(store.keep_sso_account("https://id.example.com 9c1e", "root", Role::Admin, 3).await.unwrap(), Kept::NameTaken("root".into()));
        // The same subject at another provider is another person.
        assert_eq!(store.keep_sso_account("https://other.example 0f3a", "ada", Role::Viewer, 4).await.unwrap(), Kept::NameTaken("ada".into()));
        // The last admin is never demoted by the provider.
        let boss = "https://id.example.com b055";
        store.keep_sso_account(boss, "boss", Role::Admin, 5).await.unwrap();
        assert!(store.delete_user("root").await.unwrap());
        assert_eq!(store.keep_sso_account(boss, "boss", Role::Viewer, 6).await.unwrap(), Kept::LastAdmin);
    }
}
