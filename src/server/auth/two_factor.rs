//! Two-factor sign-in with one-time codes: setting it up and turning it off
//! (the API here, the account page through the same steps), the code step of
//! a sign-in, and the short-lived sign-ins waiting between password and code.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::{
    auth::{
        access::Caller,
        routes::{audit, json_body},
        secrets, session,
        totp::{self, Enrolment},
        users::admin_only,
    },
    clock::now_ms,
    http::{client_address::ClientAddress, error::ApiError},
    AppState,
};

/// How long a sign-in waits for its code after the right password.
const PENDING_FOR: Duration = Duration::from_secs(300);
/// Codes one waiting sign-in may try before it must start again.
const MOST_TRIES: u32 = 5;
pub const WRONG_CODE: &str = "wrong, expired or already used one-time code";
pub const CODE_NEEDED: &str = "this account signs in with a one-time code too: send it as code";

struct Pending {
    user: String,
    replaces: Option<i64>,
    expires: Instant,
    tries: u32,
}

/// Sign-ins whose password was right, waiting for their code; keyed by the
/// SHA-256 of a random key the code form carries.
#[derive(Default)]
pub struct PendingLogins {
    waiting: Mutex<HashMap<Vec<u8>, Pending>>,
}

impl PendingLogins {
    /// Starts waiting for `user`'s code; returns the key for the code form.
    pub fn start(&self, user: &str, replaces: Option<i64>) -> String {
        let key = secrets::random_secret();
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        waiting.retain(|_, pending| pending.expires > now);
        waiting.insert(secrets::digest(&key), Pending { user: user.to_owned(), replaces, expires: now + PENDING_FOR, tries: 0 });
        key
    }

    /// The user of a waiting sign-in, without counting a try.
    pub fn user_of(&self, key: &str) -> Option<String> {
        let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        waiting.get(&secrets::digest(key)).filter(|pending| pending.expires > Instant::now()).map(|pending| pending.user.clone())
    }

    /// The user and replaced session of a waiting sign-in, counting a try; none once expired or tried too often.
    pub fn attempt(&self, key: &str) -> Option<(String, Option<i64>)> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let digest = secrets::digest(key);
        let pending = waiting.get_mut(&digest)?;
        pending.tries += 1;
        if pending.expires <= Instant::now() || pending.tries > MOST_TRIES {
            waiting.remove(&digest);
            return None;
        }
        Some((pending.user.clone(), pending.replaces))
    }

    pub fn finish(&self, key: &str) {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&secrets::digest(key));
    }
}

fn unix_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

/// Checks `code` against the user's secret and uses up its time step.
pub async fn check_code(state: &AppState, name: &str, secret: &str, last_step: i64, code: &str) -> Result<(), ApiError> {
    let step = totp::verify(secret, code, unix_secs(), last_step).ok_or_else(|| ApiError::Unauthorized(WRONG_CODE.to_owned()))?;
    if state.store.use_totp_step(name, step).await.map_err(|_| session::store_down())? {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(WRONG_CODE.to_owned()))
    }
}

/// Why the code step of a form sign-in failed.
pub enum CodeStepError {
    /// The sign-in still waits: the code form again, saying why (a wrong code, too many tries for now).
    TryAgain(ApiError),
    /// It expired, was used up or never existed: start again from the password.
    Over(ApiError),
}

/// The code step of a form sign-in: the session's cookie once the code is right.
pub async fn finish_sign_in(state: &AppState, client: ClientAddress, key: &str, code: &str) -> Result<String, CodeStepError> {
    let over = || CodeStepError::Over(ApiError::Unauthorized("this sign-in has expired; enter your name and password again".to_owned()));
    // The limiter first: a refused try costs the waiting sign-in nothing.
    let user = state.auth.pending_logins.user_of(key).ok_or_else(over)?;
    state.auth.limiter.admit(client.0, &user).map_err(CodeStepError::TryAgain)?;
    let (user, replaces) = state.auth.pending_logins.attempt(key).ok_or_else(over)?;
    finish_with_code(state, client, key, &user, replaces, code).await
}

async fn finish_with_code(state: &AppState, client: ClientAddress, key: &str, user: &str, replaces: Option<i64>, code: &str) -> Result<String, CodeStepError> {
    let down = |_| CodeStepError::TryAgain(session::store_down());
    let Some((secret, last_step)) = state.store.totp_secret(user).await.map_err(down)? else {
        return Err(CodeStepError::Over(ApiError::Unauthorized("two-factor sign-in was turned off meanwhile; sign in again".to_owned())));
    };
    if let Err(error) = check_code(state, user, &secret, last_step, code).await {
        audit(state, &format!("user:{user}"), "login-failed", "wrong one-time code", client).await;
        return Err(CodeStepError::TryAgain(error));
    }
    state.auth.pending_logins.finish(key);
    let cookie = session::start(state, user, &client.0.to_string(), replaces).await.map_err(CodeStepError::TryAgain)?;
    audit(state, &format!("user:{user}"), "login", "with a one-time code", client).await;
    Ok(cookie)
}

/// The account a caller may set a second factor up for: their own, signed in with a password.
pub fn own_account(caller: &Caller) -> Result<&str, ApiError> {
    match caller {
        Caller::User { name, session: Some(_), .. } => Ok(name),
        Caller::User { session: None, .. } => Err(ApiError::bad_request("signed in through a proxy: a second factor is the proxy's to ask for")),
        Caller::Anonymous => Err(ApiError::Unauthorized("sign in to set up two-factor sign-in".to_owned())),
        Caller::Token { .. } => Err(ApiError::Forbidden("a token has no password to add a second factor to".to_owned())),
    }
}

/// A new secret for `name`, kept as the one being set up until a code confirms it.
/// Refused while a second factor is on: replacing it must take its current code
/// (by turning it off first), or a stolen session could move it to another app.
pub async fn start_enrolment(state: &AppState, name: &str) -> Result<Enrolment, ApiError> {
    if state.store.totp_secret(name).await.map_err(|_| session::store_down())?.is_some() {
        return Err(ApiError::Conflict("two-factor sign-in is already on; turn it off with a current code first".to_owned()));
    }
    let secret = totp::new_secret();
    state.store.set_totp_pending(name, &secret).await.map_err(|_| session::store_down())?;
    totp::enrolment(&secret, &issuer(state), name).ok_or_else(|| ApiError::Unavailable("cannot make the QR code".to_owned()))
}

/// The secret being set up, again, for another try after a wrong code.
pub async fn pending_enrolment(state: &AppState, name: &str) -> Option<Enrolment> {
    let secret = state.store.totp_pending(name).await.ok()??;
    totp::enrolment(&secret, &issuer(state), name)
}

/// How authenticator apps label this netpulse.
fn issuer(state: &AppState) -> String {
    format!("netpulse {}", state.config.node)
}

/// Turns the secret being set up on, once a code from the app proves the app has it.
pub async fn confirm(state: &AppState, client: ClientAddress, name: &str, code: &str) -> Result<(), ApiError> {
    let Some(secret) = state.store.totp_pending(name).await.map_err(|_| session::store_down())? else {
        return Err(ApiError::bad_request("start setting up two-factor sign-in first"));
    };
    // Codes are guessed no faster here than at sign-in.
    state.auth.limiter.admit(client.0, name)?;
    let Some(step) = totp::verify(&secret, code, unix_secs(), 0) else {
        audit(state, &format!("user:{name}"), "totp-on-failed", "wrong one-time code", client).await;
        return Err(ApiError::bad_request(WRONG_CODE));
    };
    if !state.store.enable_totp(name, &secret, step).await.map_err(|_| session::store_down())? {
        return Err(ApiError::Conflict("two-factor sign-in was set up again meanwhile; use the newest QR code".to_owned()));
    }
    audit(state, &format!("user:{name}"), "totp-on", "", client).await;
    Ok(())
}

/// Turns two-factor sign-in off, given a current code.
pub async fn turn_off(state: &AppState, client: ClientAddress, name: &str, code: &str) -> Result<(), ApiError> {
    let Some((secret, last_step)) = state.store.totp_secret(name).await.map_err(|_| session::store_down())? else {
        return Err(ApiError::bad_request("two-factor sign-in is not on"));
    };
    state.auth.limiter.admit(client.0, name)?;
    if let Err(error) = check_code(state, name, &secret, last_step, code).await {
        audit(state, &format!("user:{name}"), "totp-off-failed", "wrong one-time code", client).await;
        return Err(error);
    }
    state.store.disable_totp(name).await.map_err(|_| session::store_down())?;
    audit(state, &format!("user:{name}"), "totp-off", "", client).await;
    Ok(())
}

/// The secret for an authenticator app, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NewSecret {
    /// Base32, for typing in by hand.
    secret: String,
    /// The `otpauth://totp/…` address, as the QR code holds it.
    url: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    /// The six digits the app shows now.
    code: String,
}

/// Starts setting up two-factor sign-in for the signed-in user: a new secret, on once confirmed.
#[utoipa::path(post, path = "/api/auth/totp", operation_id = "totp_begin", tag = "auth",
    responses((status = 200, description = "The new secret", body = NewSecret), (status = 400, description = "Signed in through a proxy", body = crate::model::ApiErrorBody),
        (status = 409, description = "Two-factor sign-in is on already; turn it off first", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "A token, not a user", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn begin(State(state): State<AppState>, caller: Caller) -> Result<Json<NewSecret>, ApiError> {
    let enrolment = start_enrolment(&state, own_account(&caller)?).await?;
    Ok(Json(NewSecret { secret: enrolment.secret, url: enrolment.url }))
}

/// Turns two-factor sign-in on with a code from the app.
#[utoipa::path(post, path = "/api/auth/totp/confirm", operation_id = "totp_confirm", tag = "auth", request_body = CodeBody,
    responses((status = 204, description = "On: sign-ins now ask for a code"), (status = 400, description = "A wrong code, or nothing being set up", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "A token, not a user", body = crate::model::ApiErrorBody),
        (status = 409, description = "Set up again meanwhile", body = crate::model::ApiErrorBody), (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody),
        (status = 429, description = "Too many tries; see Retry-After", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn confirm_route(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Caller,
    body: Result<Json<CodeBody>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let name = own_account(&caller)?;
    confirm(&state, client, name, &json_body(body)?.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns two-factor sign-in off with a current code.
#[utoipa::path(post, path = "/api/auth/totp/off", operation_id = "totp_off", tag = "auth", request_body = CodeBody,
    responses((status = 204, description = "Off"), (status = 400, description = "It was not on", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in, or a wrong code", body = crate::model::ApiErrorBody), (status = 403, description = "A token, not a user", body = crate::model::ApiErrorBody),
        (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody), (status = 429, description = "Too many tries; see Retry-After", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn off_route(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Caller,
    body: Result<Json<CodeBody>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let name = own_account(&caller)?;
    turn_off(&state, client, name, &json_body(body)?.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An admin turns a user's second factor off, for a user who lost their app.
#[utoipa::path(delete, path = "/api/users/{name}/totp", operation_id = "totp_reset", tag = "admin", params(("name" = String, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Off; the user signs in with the password alone"), (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody),
        (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody), (status = 404, description = "No such user, or it was not on", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn reset(State(state): State<AppState>, client: ClientAddress, caller: Caller, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    reset_as(&state, &caller, client, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An admin turns a user's second factor off; the API and the admin page both do it here.
pub async fn reset_as(state: &AppState, caller: &Caller, client: ClientAddress, name: &str) -> Result<(), ApiError> {
    admin_only(caller)?;
    if !state.store.disable_totp(name).await.map_err(|_| session::store_down())? {
        return Err(ApiError::NotFound(format!("{name:?} has no second factor")));
    }
    audit(state, &caller.label(), "totp-reset", name, client).await;
    Ok(())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(begin)).routes(routes!(confirm_route)).routes(routes!(off_route)).routes(routes!(reset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiting_sign_in_allows_a_few_tries() {
        let pending = PendingLogins::default();
        let key = pending.start("ada", Some(7));
        for _ in 0..MOST_TRIES {
            assert_eq!(pending.attempt(&key), Some(("ada".to_owned(), Some(7))));
        }
        assert_eq!(pending.attempt(&key), None, "one try too many ends it");
        assert_eq!(pending.attempt(&key), None);
        let other = pending.start("ed", None);
        pending.finish(&other);
        assert_eq!(pending.attempt(&other), None, "a finished sign-in cannot be used again");
        assert_eq!(pending.attempt("made-up"), None);
    }
}
