//! Browser sessions: a random cookie, HttpOnly and SameSite, `Secure` behind
//! TLS, whose SHA-256 names a row in the database so sign-ins survive restarts.

use crate::server::{auth::secrets, clock::now_ms, http::error::ApiError, AppState};

pub const COOKIE: &str = "netpulse_session";

fn attributes(secure: bool) -> &'static str {
    // Lax keeps the session on a link followed from an alert e-mail; writes
    // from other sites are refused by the cross-site check instead.
    if secure {
        "Path=/; HttpOnly; SameSite=Lax; Secure"
    } else {
        "Path=/; HttpOnly; SameSite=Lax"
    }
}

pub fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    format!("{COOKIE}={value}; Max-Age={max_age_secs}; {}", attributes(secure))
}

pub fn cleared_cookie(secure: bool) -> String {
    format!("{COOKIE}=; Max-Age=0; {}", attributes(secure))
}

/// A signed-in session for `user`: a new id every time, so a cookie planted
/// before sign-in is worthless after it. Returns the `Set-Cookie` value.
pub async fn start(state: &AppState, user: &str, address: &str, replaces: Option<i64>) -> Result<String, ApiError> {
    if let Some(old) = replaces {
        state.store.delete_session(old).await.map_err(|_| store_down())?;
        state.auth.revoke(crate::server::auth::Revoked::Session(old));
    }
    let secret = secrets::random_secret();
    let now = now_ms();
    let lifetime = state.auth.config.session_ms();
    state.store.create_session(&secrets::digest(&secret), user, now, now + lifetime, address).await.map_err(|_| store_down())?;
    Ok(session_cookie(&secret, lifetime / 1000, state.auth.config.behind_tls))
}

pub fn store_down() -> ApiError {
    ApiError::Unavailable("the database is unavailable; try again".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_and_secure_behind_tls() {
        let plain = session_cookie("abc", 60, false);
        assert_eq!(plain, "netpulse_session=abc; Max-Age=60; Path=/; HttpOnly; SameSite=Lax");
        assert!(session_cookie("abc", 60, true).ends_with("; Secure"));
        assert!(cleared_cookie(false).starts_with("netpulse_session=; Max-Age=0;"));
    }
}
