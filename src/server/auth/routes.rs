//! Sign-in for programs and pages alike: `POST /api/auth/login`, `/logout`,
//! `/setup` and `GET /api/auth/session`, and the shared steps behind the
//! sign-in and setup forms.

use axum::{
    extract::{rejection::JsonRejection, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::{
    auth::{
        access::{Caller, Role},
        audit_log::AuditEntry,
        secrets, session,
    },
    clock::now_ms,
    http::{client_address::ClientAddress, error::ApiError},
    AppState,
};

pub const WRONG_LOGIN: &str = "wrong name or password";

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Login {
    name: String,
    password: String,
    /// The one-time code, for an account with two-factor sign-in.
    code: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Setup {
    /// The one-time key from the server's log.
    key: String,
    name: String,
    password: String,
}

/// Who the caller is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    /// `anonymous`, `user:<name>` or `token:<name>`.
    caller: String,
    role: Option<String>,
    /// Whether netpulse still waits for its first admin.
    setup_needed: bool,
}

/// Writes an audit entry; a failure is logged, never in the way.
pub async fn audit(state: &AppState, actor: &str, action: &str, detail: &str, address: ClientAddress) {
    let entry = AuditEntry { at_ms: now_ms(), actor: actor.to_owned(), action: action.to_owned(), detail: detail.to_owned(), address: address.0.to_string() };
    if let Err(error) = state.store.audit(&entry).await {
        tracing::warn!(%error, action, "cannot write the audit log");
    }
}

/// The session a request's cookie names, if any, so sign-in can replace it.
pub fn current_session(caller: &Caller) -> Option<i64> {
    match caller {
        Caller::User { session, .. } => *session,
        _ => None,
    }
}

/// Checks a name, password and, if the account has one, its one-time code,
/// and starts a session; the same answer, after the same work, for an
/// unknown name and a wrong password.
pub async fn sign_in(
    state: &AppState,
    address: ClientAddress,
    name: &str,
    password: &str,
    code: Option<&str>,
    replaces: Option<i64>,
) -> Result<SignedIn, ApiError> {
    // A name no account can have is an unknown one: the same work, and nothing of it is kept.
    let known_form = super::access::valid_name(name);
    let shown = if known_form { name } else { "(not a valid name)" };
    state.auth.limiter.admit(address.0, shown)?;
    let lookup = known_form && password.len() <= secrets::MAX_PASSWORD;
    let stored = if lookup { state.store.user_password(name).await.map_err(|_| session::store_down())? } else { None };
    // A single sign-on account has no password: the decoy's work, and the answer an unknown name gets.
    let hash = stored.as_ref().map(|(hash, _)| hash.clone()).filter(|hash| !hash.is_empty());
    let typed = password.to_owned();
    // Hashing takes tens of milliseconds: off the async workers.
    let matched = tokio::task::spawn_blocking(move || secrets::verify_password(&typed, hash.as_deref())).await.unwrap_or(false);
    if !matched {
        audit(state, &format!("user:{shown}"), "login-failed", "", address).await;
        return Err(ApiError::Unauthorized(WRONG_LOGIN.to_owned()));
    }
    if let Some((secret, last_step)) = state.store.totp_secret(name).await.map_err(|_| session::store_down())? {
        let Some(code) = code.map(str::trim).filter(|code| !code.is_empty()) else { return Ok(SignedIn::NeedsCode) };
        if let Err(error) = super::two_factor::check_code(state, name, &secret, last_step, code).await {
            audit(state, &format!("user:{name}"), "login-failed", "wrong one-time code", address).await;
            return Err(error);
        }
    }
    let cookie = session::start(state, name, &address.0.to_string(), replaces).await?;
    audit(state, &format!("user:{name}"), "login", "", address).await;
    Ok(SignedIn::Cookie(cookie))
}

/// What a right password leads to.
pub enum SignedIn {
    /// A new session: the `Set-Cookie` value.
    Cookie(String),
    /// The account has two-factor sign-in on and no code was sent.
    NeedsCode,
}

/// Creates the first admin with the one-time key, then signs them in.
pub async fn set_up(state: &AppState, address: ClientAddress, key: &str, name: &str, password: &str) -> Result<String, ApiError> {
    if !super::setup::still_needed(state).await {
        return Err(ApiError::NotFound("netpulse already has an admin; sign in instead".to_owned()));
    }
    let Some(taken) = state.auth.take_setup_key(key) else {
        audit(state, "anonymous", "setup-refused", "wrong setup key", address).await;
        return Err(ApiError::Forbidden("the setup key is wrong; copy the setup address from the server's log".to_owned()));
    };
    if let Err(error) = super::users::create_user(state, name, password, Role::Admin).await {
        // Still no admin: the address keeps working.
        state.auth.set_setup_key(Some(taken));
        return Err(error);
    }
    audit(state, &format!("user:{name}"), "setup", "first admin created", address).await;
    session::start(state, name, &address.0.to_string(), None).await
}

/// Ends the caller's session, and the streams it opened.
pub async fn sign_out(state: &AppState, caller: &Caller, address: ClientAddress) -> Result<(), ApiError> {
    if let Caller::User { name, session: Some(id), .. } = caller {
        state.store.delete_session(*id).await.map_err(|_| session::store_down())?;
        state.auth.revoke(super::Revoked::Session(*id));
        audit(state, &format!("user:{name}"), "logout", "", address).await;
    }
    Ok(())
}

fn with_cookie(status: StatusCode, cookie: String) -> Response {
    (status, [(header::SET_COOKIE, cookie)]).into_response()
}

pub fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value).map_err(ApiError::from)
}

/// Signs in with a name and password; the session cookie comes back in `Set-Cookie`.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = Login,
    responses((status = 204, description = "Signed in; the cookie is set"), (status = 400, description = "Not a sign-in body", body = crate::model::ApiErrorBody),
        (status = 401, description = "Wrong name or password, or a one-time code missing or wrong", body = crate::model::ApiErrorBody), (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody),
        (status = 429, description = "Too many attempts; see Retry-After", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn login(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Result<Caller, ApiError>,
    body: Result<Json<Login>, JsonRejection>,
) -> Result<Response, ApiError> {
    let login = json_body(body)?;
    let replaces = caller.ok().as_ref().and_then(current_session);
    match sign_in(&state, client, &login.name, &login.password, login.code.as_deref(), replaces).await? {
        SignedIn::Cookie(cookie) => Ok(with_cookie(StatusCode::NO_CONTENT, cookie)),
        SignedIn::NeedsCode => Err(ApiError::Unauthorized(super::two_factor::CODE_NEEDED.to_owned())),
    }
}

/// Ends the session; its streams close.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out; the cookie is cleared"), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn logout(State(state): State<AppState>, client: ClientAddress, caller: Result<Caller, ApiError>) -> Result<Response, ApiError> {
    if let Ok(caller) = caller {
        sign_out(&state, &caller, client).await?;
    }
    Ok(with_cookie(StatusCode::NO_CONTENT, session::cleared_cookie(state.auth.config.behind_tls)))
}

/// Creates the first admin with the one-time key from the server's log.
#[utoipa::path(post, path = "/api/auth/setup", tag = "auth", request_body = Setup,
    responses((status = 204, description = "Created and signed in"), (status = 400, description = "A bad name or password", body = crate::model::ApiErrorBody),
        (status = 403, description = "The key is wrong", body = crate::model::ApiErrorBody), (status = 404, description = "There is an admin already", body = crate::model::ApiErrorBody),
        (status = 409, description = "The name is taken", body = crate::model::ApiErrorBody), (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn setup(State(state): State<AppState>, client: ClientAddress, body: Result<Json<Setup>, JsonRejection>) -> Result<Response, ApiError> {
    let form = json_body(body)?;
    let cookie = set_up(&state, client, &form.key, &form.name, &form.password).await?;
    Ok(with_cookie(StatusCode::NO_CONTENT, cookie))
}

/// Who the request's cookie or token stands for; 401 when it stopped working.
#[utoipa::path(get, path = "/api/auth/session", tag = "auth",
    responses((status = 200, description = "The caller", body = SessionInfo), (status = 401, description = "The session or token no longer works", body = crate::model::ApiErrorBody)))]
async fn session_info(State(state): State<AppState>, caller: Caller) -> Json<SessionInfo> {
    let role = match &caller {
        Caller::User { role, .. } => Some(role.to_string()),
        _ => None,
    };
    Json(SessionInfo { caller: caller.label(), role, setup_needed: super::setup::still_needed(&state).await })
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(setup)).routes(routes!(session_info))
}
