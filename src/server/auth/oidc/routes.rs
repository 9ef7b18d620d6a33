//! `GET /login/oidc`, which sends the browser to the provider, and
//! `GET /login/oidc/callback`, where it comes back: the sign-in is bound to
//! the browser that started it by a short-lived cookie carrying its `state`.

use std::collections::HashMap;

use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use axum_extra::extract::cookie::CookieJar;
use subtle::ConstantTimeEq;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::auth_page::{AuthForm, AuthPageData},
    server::{
        auth::{
            access::{Caller, Role},
            oidc::{account::keep_account, OidcError},
            pages::{page, safe_next},
            routes::{audit, current_session},
            session, setup,
        },
        http::{client_address::ClientAddress, error::ApiError},
        AppState,
    },
};

const COOKIE: &str = "netpulse_oidc";

/// The error codes of RFC 6749 (4.1.2.1) and OpenID Connect Core (3.1.2.6) an authorization answer may carry.
const KNOWN_ERRORS: [&str; 16] = [
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
];

/// The cookie that ties the provider's answer to this browser, only sent back to `/login/oidc`.
fn binding_cookie(state: &str, secure: bool, max_age_secs: u32) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={state}; Max-Age={max_age_secs}; Path=/login/oidc; HttpOnly; SameSite=Lax{secure}")
}

fn status_of(error: &OidcError) -> StatusCode {
    match error {
        OidcError::Unreachable => StatusCode::SERVICE_UNAVAILABLE,
        OidcError::Expired => StatusCode::BAD_REQUEST,
        OidcError::Refused(_) => StatusCode::UNAUTHORIZED,
        OidcError::BadAnswer => StatusCode::BAD_GATEWAY,
        OidcError::Claims(_) => StatusCode::FORBIDDEN,
    }
}

/// The sign-in page with `error` on top, and the binding cookie cleared.
fn refused(state: &AppState, status: StatusCode, error: String, next: String) -> Response {
    let mut response = page(state, status, AuthPageData { form: AuthForm::SignIn, next, error: Some(error), ..AuthPageData::default() });
    if let Ok(cleared) = HeaderValue::from_str(&binding_cookie("", state.auth.config.behind_tls, 0)) {
        response.headers_mut().append(header::SET_COOKIE, cleared);
    }
    response
}

fn not_set_up(state: &AppState) -> Response {
    refused(state, StatusCode::NOT_FOUND, "single sign-on is not set up on this netpulse".to_owned(), "/".to_owned())
}

/// Sends the browser to the provider's sign-in, with PKCE and a fresh `state` and nonce.
#[utoipa::path(get, path = "/login/oidc", tag = "pages", params(("next" = Option<String>, Query, description = "Where to go after signing in")),
    responses((status = 303, description = "To the provider's sign-in"),
        (status = 404, description = "The sign-in page: single sign-on is not set up", content_type = "text/html; charset=utf-8", body = String),
        (status = 503, description = "The sign-in page: the provider cannot be reached", content_type = "text/html; charset=utf-8", body = String)))]
async fn start(State(state): State<AppState>, client: ClientAddress, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(oidc) = &state.auth.oidc else { return not_set_up(&state) };
    let next = safe_next(params.get("next").map(String::as_str));
    match oidc.start(client.0, next.clone()).await {
        Ok((url, binding)) => {
            let cookie = binding_cookie(&binding, state.auth.config.behind_tls, 600);
            ([(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".to_owned())], Redirect::to(&url)).into_response()
        }
        Err(error) => refused(&state, status_of(&error), error.to_string(), next),
    }
}

/// Where the provider sends the browser back: checks the answer, makes or
/// updates the account with the mapped role, and signs it in.
#[utoipa::path(get, path = "/login/oidc/callback", tag = "pages",
    params(("code" = Option<String>, Query, description = "The provider's authorization code"), ("state" = Option<String>, Query, description = "The state sent with the sign-in"),
        ("iss" = Option<String>, Query, description = "The provider's issuer (RFC 9207)"), ("error" = Option<String>, Query, description = "The provider's refusal"), ("error_description" = Option<String>, Query, description = "Its reason")),
    responses((status = 303, description = "Signed in; to the page asked for"),
        (status = 200, description = "The one-time code form, for an account with two-factor sign-in", content_type = "text/html; charset=utf-8", body = String),
        (status = 400, description = "The sign-in page: the sign-in expired, was started in another browser, or the answer is incomplete", content_type = "text/html; charset=utf-8", body = String),
        (status = 401, description = "The sign-in page: the provider refused", content_type = "text/html; charset=utf-8", body = String),
        (status = 403, description = "The sign-in page: no role for this account, its name belongs to another account, the provider took the last admin's admin role, or netpulse has no admin yet", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, description = "The sign-in page: single sign-on is not set up", content_type = "text/html; charset=utf-8", body = String),
        (status = 502, description = "The sign-in page: the provider's answer did not check", content_type = "text/html; charset=utf-8", body = String),
        (status = 503, description = "The sign-in page: the provider or the database cannot be reached", content_type = "text/html; charset=utf-8", body = String)))]
async fn callback(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(oidc) = &state.auth.oidc else { return not_set_up(&state) };
    let replaces = caller.ok().as_ref().and_then(current_session);
    let given = |key: &str| params.get(key).map(String::as_str).filter(|value| !value.is_empty());
    // Only the browser that started this sign-in carries its state in the cookie.
    let jar = CookieJar::from_headers(&headers);
    let returned = given("state");
    let bound = returned.is_some_and(|returned| jar.get(COOKIE).is_some_and(|cookie| bool::from(cookie.value().as_bytes().ct_eq(returned.as_bytes()))));
    if let Some(error) = given("error") {
        // Only a code OAuth and OpenID Connect define, and the provider's description only for a
        // sign-in this browser started and netpulse issued: a crafted link cannot put text on the page.
        let code = KNOWN_ERRORS.iter().find(|known| **known == error).copied();
        let issued = returned.filter(|_| bound).is_some_and(|returned| oidc.forget(returned));
        let reason = match (code, given("error_description").filter(|_| issued)) {
            (Some(code), Some(text)) => format!("{code}: {}", text.chars().take(300).collect::<String>()),
            (Some(code), None) => code.to_owned(),
            (None, _) => "the sign-in was not completed".to_owned(),
        };
        return refused(&state, StatusCode::UNAUTHORIZED, OidcError::Refused(reason).to_string(), "/".to_owned());
    }
    // RFC 9207: a provider that names itself must be the one configured, so another provider's code is never sent to it.
    if given("iss").is_some_and(|iss| iss != oidc.config.issuer) {
        return refused(&state, StatusCode::BAD_REQUEST, "the answer came from another sign-in provider than the one configured".to_owned(), "/".to_owned());
    }
    let (Some(code), Some(returned)) = (given("code"), returned) else {
        return refused(&state, StatusCode::BAD_REQUEST, "the provider's answer has no code or state; start again".to_owned(), "/".to_owned());
    };
    if !bound {
        return refused(&state, StatusCode::BAD_REQUEST, OidcError::Expired.to_string(), "/".to_owned());
    }
    let finished = match oidc.finish(returned, code).await {
        Ok(finished) => finished,
        Err(error) => return refused(&state, status_of(&error), error.to_string(), "/".to_owned()),
    };
    let next = finished.next;
    let (name, role) = match oidc.rules.account(&finished.claims) {
        Ok(account) => account,
        Err(error) => {
            audit(&state, "anonymous", "login-failed", &format!("single sign-on: {error}"), client).await;
            return refused(&state, StatusCode::FORBIDDEN, error.to_string(), next);
        }
    };
    match signed_in(&state, client, replaces, &finished.person, &name, role).await {
        Ok(SignedIn::Cookie(cookie)) => {
            let mut response = Redirect::to(&next).into_response();
            for value in [cookie, binding_cookie("", state.auth.config.behind_tls, 0)] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Ok(SignedIn::NeedsCode(account)) => {
            let pending = state.auth.pending_logins.start(&account, replaces);
            page(&state, StatusCode::OK, AuthPageData { form: AuthForm::Code, next, pending, ..AuthPageData::default() })
        }
        Err(error) => {
            audit(&state, &format!("user:{name}"), "login-failed", &format!("single sign-on: {error}"), client).await;
            refused(&state, error.status(), error.to_string(), next)
        }
    }
}

/// What a vouched-for sign-in leads to.
enum SignedIn {
    /// A new session: the `Set-Cookie` value.
    Cookie(String),
    /// The account, whose one-time code comes next.
    NeedsCode(String),
}

/// The account of `person` kept up to date and a session started.
async fn signed_in(state: &AppState, client: ClientAddress, replaces: Option<i64>, person: &str, name: &str, role: Role) -> Result<SignedIn, ApiError> {
    if setup::still_needed(state).await {
        return Err(ApiError::Forbidden("netpulse has no admin yet: create the first admin with the setup address from the server's log".to_owned()));
    }
    let account = keep_account(state, person, name, role).await?;
    if state.store.totp_secret(&account).await.map_err(|_| session::store_down())?.is_some() {
        return Ok(SignedIn::NeedsCode(account));
    }
    let cookie = session::start(state, &account, &client.0.to_string(), replaces).await?;
    audit(state, &format!("user:{account}"), "login", &format!("single sign-on as {role}"), client).await;
    Ok(SignedIn::Cookie(cookie))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start)).routes(routes!(callback))
}
