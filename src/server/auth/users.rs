//! The admin's API: users (`/api/users`) and scoped tokens (`/api/tokens`).
//! A change that takes access away ends the streams it opened.

use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::{
    auth::{
        access::{valid_name, Caller, Role, Scopes},
        accounts::{AddError, UserRow},
        routes::{audit, json_body},
        secrets, session,
        token_store::TokenRow,
        Revoked,
    },
    clock::now_ms,
    http::{client_address::ClientAddress, error::ApiError},
    AppState,
};

pub fn admin_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else if *caller == Caller::Anonymous {
        Err(ApiError::Unauthorized("sign in as an admin, or send an admin token".to_owned()))
    } else {
        Err(ApiError::Forbidden("only an admin may do this".to_owned()))
    }
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad_request("a name has 1 to 64 letters, digits, '.', '_', '-' or '@'"))
    }
}

/// Adds an account, hashing its password off the async workers.
pub async fn create_user(state: &AppState, name: &str, password: &str, role: Role) -> Result<(), ApiError> {
    check_name(name)?;
    secrets::check_password_rules(password).map_err(ApiError::BadRequest)?;
    let typed = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || secrets::hash_password(&typed)).await.map_err(|_| session::store_down())?;
    state.store.add_user(name, &hash, role, now_ms()).await.map_err(|error| match error {
        AddError::Taken => ApiError::Conflict(format!("there is already a user called {name:?}")),
        AddError::Store(_) => session::store_down(),
    })?;
    // With an admin, the setup address has done its work.
    if role == Role::Admin {
        state.auth.set_setup_key(None);
    }
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    name: String,
    /// admin, editor or viewer.
    role: String,
    password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    role: Option<String>,
    password: Option<String>,
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    raw.parse().map_err(ApiError::BadRequest)
}

/// Every account, without passwords.
#[utoipa::path(get, path = "/api/users", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "The users", body = Vec<UserRow>), (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody),
        (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn list_users(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<UserRow>>, ApiError> {
    admin_only(&caller)?;
    Ok(Json(state.store.users().await.map_err(|_| session::store_down())?))
}

/// Adds an account.
#[utoipa::path(post, path = "/api/users", tag = "admin", request_body = NewUser, security(("bearer" = [])),
    responses((status = 201, description = "Created"), (status = 400, description = "A bad name, role or password", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody),
        (status = 409, description = "The name is taken", body = crate::model::ApiErrorBody), (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn add_user(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Caller,
    body: Result<Json<NewUser>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    admin_only(&caller)?;
    let user = json_body(body)?;
    add_account(&state, &caller, client, &user.name, &user.password, &user.role).await?;
    Ok(StatusCode::CREATED)
}

/// An admin adds an account; the API and the admin page both do it here.
pub async fn add_account(state: &AppState, by: &Caller, client: ClientAddress, name: &str, password: &str, role: &str) -> Result<(), ApiError> {
    admin_only(by)?;
    let role = parse_role(role)?;
    create_user(state, name, password, role).await?;
    audit(state, &by.label(), "user-added", &format!("{name} as {role}"), client).await;
    Ok(())
}

/// Changes a user's role or password; their sessions and streams end, so they sign in again with the new rights.
#[utoipa::path(patch, path = "/api/users/{name}", tag = "admin", request_body = UserChange, params(("name" = String, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Changed"), (status = 400, description = "A bad role or password, or the last admin demoted", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody),
        (status = 404, description = "No such user", body = crate::model::ApiErrorBody), (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn change_user(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<Json<UserChange>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    admin_only(&caller)?;
    let change = json_body(body)?;
    change_account(&state, &caller, client, &name, change.role.as_deref(), change.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An admin changes an account's role or password; the API and the admin page both do it here.
pub async fn change_account(
    state: &AppState,
    caller: &Caller,
    client: ClientAddress,
    name: &str,
    role: Option<&str>,
    password: Option<String>,
) -> Result<(), ApiError> {
    admin_only(caller)?;
    let name = name.to_owned();
    // Everything is checked before anything is written, so a change never half-applies.
    let role = role.map(parse_role).transpose()?;
    if let Some(password) = &password {
        secrets::check_password_rules(password).map_err(ApiError::BadRequest)?;
    }
    let store = &state.store;
    if store.user_password(&name).await.map_err(|_| session::store_down())?.is_none() {
        return Err(ApiError::NotFound(format!("no user is called {name:?}")));
    }
    if password.is_some() && store.is_sso_account(&name).await.map_err(|_| session::store_down())? {
        return Err(ApiError::bad_request(format!("{name:?} signs in with single sign-on and has no password here")));
    }
    if let Some(role) = role {
        if !store.set_role(&name, role).await.map_err(|_| session::store_down())? {
            return Err(ApiError::bad_request("this is the last admin; make another admin first"));
        }
        audit(state, &caller.label(), "role-changed", &format!("{name} to {role}"), client).await;
    }
    let password_written = match password {
        Some(password) => {
            let hash = tokio::task::spawn_blocking(move || secrets::hash_password(&password)).await.map_err(|_| session::store_down())?;
            store.set_password(&name, &hash).await
        }
        None => Ok(false),
    };
    // Sessions end, then streams are told: a stream opening in between finds its session gone.
    // Both happen whatever became of the password, since the role may have changed already.
    let ended = store.delete_sessions_of(&name).await;
    state.auth.revoke(Revoked::User(name.clone()));
    if password_written.map_err(|_| session::store_down())? {
        audit(state, &caller.label(), "password-changed", &name, client).await;
    }
    ended.map_err(|_| session::store_down())?;
    Ok(())
}

/// Removes a user; their sessions and streams end.
#[utoipa::path(delete, path = "/api/users/{name}", tag = "admin", params(("name" = String, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 400, description = "The last admin", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody),
        (status = 404, description = "No such user", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn remove_user(State(state): State<AppState>, client: ClientAddress, caller: Caller, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    remove_account(&state, &caller, client, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An admin removes an account, never the last admin; the API and the admin page both do it here.
pub async fn remove_account(state: &AppState, caller: &Caller, client: ClientAddress, name: &str) -> Result<(), ApiError> {
    admin_only(caller)?;
    let store = &state.store;
    if store.user_password(name).await.map_err(|_| session::store_down())?.is_none() {
        return Err(ApiError::NotFound(format!("no user is called {name:?}")));
    }
    if !store.delete_user(name).await.map_err(|_| session::store_down())? {
        return Err(ApiError::bad_request("this is the last admin; make another admin first"));
    }
    state.auth.revoke(Revoked::User(name.to_owned()));
    audit(state, &caller.label(), "user-removed", name, client).await;
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    name: String,
    /// Space-separated: `read:<pattern>`, `publish:<pattern>`, `operate`, `admin`.
    scopes: String,
    /// Days until it stops working; never when absent.
    expires_days: Option<f64>,
}

/// The token's secret, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub name: String,
    pub token: String,
    pub scopes: String,
    pub expires_ms: Option<i64>,
}

/// Makes a scoped token: stored hashed, the token is in the answer and nowhere else.
pub async fn create_token(
    state: &AppState,
    creator: &str,
    name: &str,
    scopes: &str,
    expires_days: Option<f64>,
) -> Result<(String, Scopes, Option<i64>), ApiError> {
    check_name(name)?;
    let scopes = Scopes::parse(scopes).map_err(ApiError::BadRequest)?;
    let expires_ms = secrets::token_expiry(expires_days, now_ms()).map_err(|reason| ApiError::bad_request(format!("expires_days {reason}")))?;
    let token = secrets::new_token();
    state.store.add_token(name, &secrets::digest(&token), &scopes, creator, now_ms(), expires_ms).await.map_err(|error| match error {
        AddError::Taken => ApiError::Conflict(format!("there is already a token called {name:?}")),
        AddError::Store(_) => session::store_down(),
    })?;
    Ok((token, scopes, expires_ms))
}

/// Every token, without secrets, with its last use.
#[utoipa::path(get, path = "/api/tokens", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "The tokens", body = Vec<TokenRow>), (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody),
        (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<TokenRow>>, ApiError> {
    admin_only(&caller)?;
    Ok(Json(state.store.tokens().await.map_err(|_| session::store_down())?))
}

/// Makes a scoped token; its secret is shown once.
#[utoipa::path(post, path = "/api/tokens", tag = "admin", request_body = NewToken, security(("bearer" = [])),
    responses((status = 201, description = "Created; keep the token now", body = CreatedToken), (status = 400, description = "A bad name, scope or expiry", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody),
        (status = 409, description = "The name is taken", body = crate::model::ApiErrorBody), (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn add_token(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Caller,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    admin_only(&caller)?;
    let new = json_body(body)?;
    Ok((StatusCode::CREATED, Json(add_token_as(&state, &caller, client, &new.name, &new.scopes, new.expires_days).await?)))
}

/// An admin makes a token, written to the audit log; the API and the admin page both do it here.
pub async fn add_token_as(
    state: &AppState,
    caller: &Caller,
    client: ClientAddress,
    name: &str,
    scopes: &str,
    expires_days: Option<f64>,
) -> Result<CreatedToken, ApiError> {
    admin_only(caller)?;
    let (token, scopes, expires_ms) = create_token(state, &caller.label(), name, scopes, expires_days).await?;
    audit(state, &caller.label(), "token-added", &format!("{name} with {scopes}"), client).await;
    Ok(CreatedToken { name: name.to_owned(), token, scopes: scopes.to_string(), expires_ms })
}

/// Revokes a token; streams opened with it close.
#[utoipa::path(delete, path = "/api/tokens/{name}", tag = "admin", params(("name" = String, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Revoked"), (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody),
        (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody), (status = 404, description = "No such token", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn revoke_token(State(state): State<AppState>, client: ClientAddress, caller: Caller, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    revoke_token_as(&state, &caller, client, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An admin revokes a token, and its streams close; the API and the admin page both do it here.
pub async fn revoke_token_as(state: &AppState, caller: &Caller, client: ClientAddress, name: &str) -> Result<(), ApiError> {
    admin_only(caller)?;
    let Some(id) = state.store.revoke_token(name).await.map_err(|_| session::store_down())? else {
        return Err(ApiError::NotFound(format!("no token is called {name:?}")));
    };
    state.auth.revoke(Revoked::Token(id));
    audit(state, &caller.label(), "token-revoked", name, client).await;
    Ok(())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, add_user))
        .routes(routes!(change_user, remove_user))
        .routes(routes!(list_tokens, add_token))
        .routes(routes!(revoke_token))
}
