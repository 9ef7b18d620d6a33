//! Who a request comes from: its bearer token or session cookie checked once
//! by a layer in front of every route, then read by handlers as [`Caller`].
//! Credentials that stopped working are refused, never taken as anonymous.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::CookieJar;
use subtle::ConstantTimeEq;

use crate::server::{
    auth::{
        access::{valid_name, Caller, Scopes},
        headers, secrets, session,
    },
    clock::now_ms,
    config::networks,
    http::error::ApiError,
    AppState,
};

/// What the layer found.
#[derive(Clone, Debug)]
pub enum Credentials {
    Valid(Caller),
    /// A token or cookie was sent but no longer works; says what to do.
    Stale(&'static str),
}

pub const STALE_TOKEN: &str = "the bearer token is unknown, revoked or expired";
pub const STALE_SESSION: &str = "your session has ended; sign in again";
const BAD_SCHEME: &str = "send a token as 'Authorization: Bearer <token>'";
const BAD_PROXY_NAME: &str = "the proxy's user name is not a netpulse name (letters, digits, '.', '_', '-', '@')";

/// The caller behind `headers`, sent from `peer`; `Err` only when the store cannot be asked.
pub async fn resolve(state: &AppState, headers: &HeaderMap, peer: Option<IpAddr>) -> Result<Credentials, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let Some(token) = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Credentials::Stale(BAD_SCHEME));
        };
        return token_caller(state, token).await;
    }
    // A proxy's header counts only from a trusted proxy; from anyone else it is as if unsent.
    let from_trusted_proxy = peer.is_some_and(|peer| networks::contains(&state.auth.trusted_proxies, peer));
    if let Some(proxy) = state.auth.proxy.as_ref().filter(|_| from_trusted_proxy) {
        if let Some(value) = headers.get(&proxy.header) {
            let Some(name) = value.to_str().ok().map(str::trim).filter(|name| valid_name(name)) else {
                return Ok(Credentials::Stale(BAD_PROXY_NAME));
            };
            let role = state.store.user_password(name).await.map_err(unavailable)?.map_or(proxy.role, |(_, role)| role);
            return Ok(Credentials::Valid(Caller::User { name: name.to_owned(), role, session: None, expires_ms: None }));
        }
    }
    let jar = CookieJar::from_headers(headers);
    let Some(cookie) = jar.get(session::COOKIE) else {
        return Ok(Credentials::Valid(Caller::Anonymous));
    };
    let found = state.store.session(&secrets::digest(cookie.value()), now_ms()).await.map_err(unavailable)?;
    Ok(match found {
        Some(row) => Credentials::Valid(Caller::User { name: row.user, role: row.role, session: Some(row.id), expires_ms: Some(row.expires_ms) }),
        None => Credentials::Stale(STALE_SESSION),
    })
}

/// The caller a bearer token stands for: the old `publish_token`, or a stored token.
pub async fn token_caller(state: &AppState, token: &str) -> Result<Credentials, ApiError> {
    if let Some(legacy) = state.auth.legacy_token() {
        // Compared in constant time so the token cannot be guessed byte by byte.
        if bool::from(token.as_bytes().ct_eq(legacy.expose().as_bytes())) {
            return Ok(Credentials::Valid(legacy_caller()));
        }
    }
    let found = state.store.token(&secrets::digest(token), now_ms()).await.map_err(unavailable)?;
    Ok(match found {
        Some(row) => Credentials::Valid(Caller::Token { id: row.id, name: row.name, scopes: row.scopes, expires_ms: row.expires_ms }),
        None => Credentials::Stale(STALE_TOKEN),
    })
}

/// `publish_token` as it has always worked: publishing on every topic and the alert actions.
pub fn legacy_caller() -> Caller {
    Caller::Token { id: 0, name: "publish_token".to_owned(), scopes: Scopes::parse("publish:* operate").unwrap_or_default(), expires_ms: None }
}

fn unavailable(error: impl std::fmt::Display) -> ApiError {
    tracing::warn!(%error, "cannot check a session or token");
    ApiError::Unavailable("sign-in cannot be checked right now: the database is unavailable".to_owned())
}

/// Paths that never consult access: the bundle, speed-test transfers, push
/// monitors (whose secret is their key), agents (whose node credential is checked
/// by their routes) and public status pages (which a shared
/// cache may keep, so they must never carry a cookie change).
fn needs_no_caller(path: &str) -> bool {
    ["/pkg/", "/speedtest", "/api/push/", "/api/agent/", "/icons/", "/status"].iter().any(|prefix| path.starts_with(prefix))
}

/// The layer: refuses cross-site writes, then finds the caller for the handlers.
/// A page asked for with a stale cookie is rendered for a visitor, and the cookie cleared.
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Speed-test transfers (LibreSpeed clients may run from other origins, `cors=true`) and
    // push calls carry no cookie's authority, so only the rest is guarded against other sites.
    if needs_no_caller(request.uri().path()) {
        return next.run(request).await;
    }
    if let Err(error) = headers::refuse_cross_site(request.method(), request.headers()) {
        return error.into_response();
    }
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let credentials = match resolve(&state, request.headers(), peer).await {
        Ok(credentials) => credentials,
        Err(error) => return error.into_response(),
    };
    let stale_cookie = matches!(credentials, Credentials::Stale(STALE_SESSION));
    // API answers keep the stale cookie, so the dashboard can still learn from a 401 that it was signed out.
    let clear_cookie = stale_cookie && !request.uri().path().starts_with("/api/");
    // The dashboard for a visitor who may read nothing is the sign-in page (which, in setup mode, says where the setup address is).
    let visitor = matches!(credentials, Credentials::Valid(Caller::Anonymous)) || stale_cookie;
    if request.uri().path() == "/" && request.method() == axum::http::Method::GET && visitor && !state.auth.access().anonymous_reads_anything() {
        let mut response = axum::response::Redirect::to("/login").into_response();
        if clear_cookie {
            if let Ok(value) = HeaderValue::from_str(&session::cleared_cookie(state.auth.config.behind_tls)) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        return response;
    }
    let mut request = request;
    request.extensions_mut().insert(credentials);
    let mut response = next.run(request).await;
    if clear_cookie {
        if let Ok(value) = HeaderValue::from_str(&session::cleared_cookie(state.auth.config.behind_tls)) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Credentials>() {
            Some(Credentials::Valid(caller)) => Ok(caller.clone()),
            Some(Credentials::Stale(reason)) => Err(ApiError::Unauthorized((*reason).to_owned())),
            None => Ok(Caller::Anonymous),
        }
    }
}

/// The caller a page is rendered for, from the request parts Leptos provides;
/// a stale session renders as a visitor who is told they were signed out.
pub fn page_caller(parts: Option<&Parts>) -> (Caller, bool) {
    match parts.and_then(|p| p.extensions.get::<Credentials>()) {
        Some(Credentials::Valid(caller)) => (caller.clone(), false),
        Some(Credentials::Stale(_)) => (Caller::Anonymous, true),
        None => (Caller::Anonymous, false),
    }
}
