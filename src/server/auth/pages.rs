//! The sign-in and setup pages (`/login`, `/login/code`, `/setup`) and their
//! forms, and `POST /logout`: plain HTML, so they work before any WASM loads.

use std::collections::HashMap;

use axum::{
    extract::{rejection::FormRejection, Query, State},
    http::{header, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::auth_document,
    model::auth_page::{AuthForm, AuthPageData, SsoButton},
    server::{
        auth::{
            access::Caller,
            routes::{self as auth_routes, SignedIn},
            setup,
            two_factor::{self, CodeStepError},
        },
        http::{client_address::ClientAddress, error::ApiError},
        AppState,
    },
};

/// A path on this server to return to after signing in; anything else goes home.
/// Only visible ASCII is kept, so no tab or line break can turn `/\t/host` into
/// `//host` in the browser, and no header value can be refused after sign-in.
pub fn safe_next(next: Option<&str>) -> String {
    let Some(path) = next else { return "/".to_owned() };
    let visible = path.bytes().all(|b| (0x21..=0x7e).contains(&b));
    let second = path.as_bytes().get(1).copied();
    let local = path.starts_with('/') && !matches!(second, Some(b'/' | b'\\')) && !path.contains('\\') && !path.starts_with("/login");
    if visible && local && path.parse::<axum::http::uri::PathAndQuery>().is_ok() {
        path.to_owned()
    } else {
        "/".to_owned()
    }
}

/// A sign-in, code or setup page; the sign-in form offers single sign-on when it is set up.
pub fn page(state: &AppState, status: StatusCode, data: AuthPageData) -> Response {
    let sso_button = state.auth.oidc.as_ref().map(|oidc| {
        let next = percent_encoding::utf8_percent_encode(&data.next, percent_encoding::NON_ALPHANUMERIC);
        SsoButton { label: oidc.config.button.clone(), href: format!("/login/oidc?next={next}") }
    });
    let data = AuthPageData { node: state.config.node.clone(), sso_button, ..data };
    (status, [(header::CACHE_CONTROL, "no-store")], Html(auth_document(&state.leptos_options, data))).into_response()
}

/// The sign-in page; while netpulse has no admin it says where the setup address is.
#[utoipa::path(get, path = "/login", tag = "pages", params(("next" = Option<String>, Query, description = "Where to go after signing in")),
    responses((status = 200, description = "The sign-in page", content_type = "text/html; charset=utf-8", body = String)))]
async fn login_page(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let next = safe_next(params.get("next").map(String::as_str));
    if !setup::still_needed(&state).await {
        return page(&state, StatusCode::OK, AuthPageData { form: AuthForm::SignIn, next, ..AuthPageData::default() });
    }
    // No admin yet: accounts made with `netpulse user add` can still sign in, and are told where setup is.
    if state.store.user_count().await.is_ok_and(|count| count > 0) {
        let error = Some("netpulse has no admin yet: the server's log has the one-time setup address".to_owned());
        return page(&state, StatusCode::OK, AuthPageData { form: AuthForm::SignIn, next, error, ..AuthPageData::default() });
    }
    page(&state, StatusCode::OK, AuthPageData { form: AuthForm::AwaitingSetup, next, ..AuthPageData::default() })
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// The sign-in form: on success a redirect with the session cookie, else the page again with why.
#[utoipa::path(post, path = "/login", tag = "pages", request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Signed in; to the page asked for"), (status = 400, description = "The page, saying the form is unreadable", content_type = "text/html; charset=utf-8", body = String),
        (status = 401, description = "The page, saying the name or password is wrong", content_type = "text/html; charset=utf-8", body = String),
        (status = 403, description = "A cross-site form", body = crate::model::ApiErrorBody),
        (status = 415, description = "The page, saying the body is not a form", content_type = "text/html; charset=utf-8", body = String),
        (status = 429, description = "The page, saying to wait", content_type = "text/html; charset=utf-8", body = String),
        (status = 503, description = "The page, saying the database is unavailable", content_type = "text/html; charset=utf-8", body = String)))]
async fn login_form(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Result<Caller, ApiError>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return failed(&state, ApiError::from(rejection), String::new(), "/".to_owned()),
    };
    let next = safe_next(form.next.as_deref());
    let replaces = caller.ok().as_ref().and_then(auth_routes::current_session);
    match auth_routes::sign_in(&state, client, &form.name, &form.password, None, replaces).await {
        Ok(SignedIn::Cookie(cookie)) => ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response(),
        Ok(SignedIn::NeedsCode) => {
            let pending = state.auth.pending_logins.start(&form.name, replaces);
            page(&state, StatusCode::OK, AuthPageData { form: AuthForm::Code, next, pending, ..AuthPageData::default() })
        }
        Err(error) => failed(&state, error, form.name, next),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CodeForm {
    #[serde(default)]
    pending: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// The one-time code form, after a right password: on success a redirect with the
/// session cookie; a wrong code shows the form again; an expired sign-in, the sign-in page.
#[utoipa::path(post, path = "/login/code", tag = "pages", request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Signed in; to the page asked for"),
        (status = 401, description = "The code form again (a wrong code), or the sign-in page (expired)", content_type = "text/html; charset=utf-8", body = String),
        (status = 403, description = "A cross-site form", body = crate::model::ApiErrorBody),
        (status = 415, description = "The page, saying the body is not a form", content_type = "text/html; charset=utf-8", body = String),
        (status = 429, description = "The page, saying to wait", content_type = "text/html; charset=utf-8", body = String),
        (status = 503, description = "The page, saying the database is unavailable", content_type = "text/html; charset=utf-8", body = String)))]
async fn code_form(State(state): State<AppState>, client: ClientAddress, form: Result<Form<CodeForm>, FormRejection>) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return failed(&state, ApiError::from(rejection), String::new(), "/".to_owned()),
    };
    let next = safe_next(form.next.as_deref());
    match two_factor::finish_sign_in(&state, client, &form.pending, &form.code).await {
        Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response(),
        // A wrong code, or too many tries for now: the code form again, while the sign-in waits.
        Err(CodeStepError::TryAgain(error)) => {
            let retry = if let ApiError::TooManyRequests { retry_after_secs, .. } = &error { Some(*retry_after_secs) } else { None };
            let data = AuthPageData { form: AuthForm::Code, next, pending: form.pending, error: Some(error.to_string()), ..AuthPageData::default() };
            let mut response = page(&state, error.status(), data);
            if let Some(seconds) = retry {
                response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
            }
            response
        }
        Err(CodeStepError::Over(error)) => failed(&state, error, String::new(), next),
    }
}

fn failed(state: &AppState, error: ApiError, name: String, next: String) -> Response {
    let mut response =
        page(state, error.status(), AuthPageData { form: AuthForm::SignIn, next, name, error: Some(error.to_string()), ..AuthPageData::default() });
    if let ApiError::TooManyRequests { retry_after_secs, .. } = error {
        response.headers_mut().insert(header::RETRY_AFTER, retry_after_secs.into());
    }
    response
}

/// The first admin's form, reached through the address the server logs.
#[utoipa::path(get, path = "/setup", tag = "pages", params(("key" = Option<String>, Query, description = "The one-time setup key from the log")),
    responses((status = 200, description = "The setup form", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, description = "The page, saying netpulse has an admin already", content_type = "text/html; charset=utf-8", body = String)))]
async fn setup_page(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    if !setup::still_needed(&state).await {
        let error = Some("netpulse already has an admin; sign in instead".to_owned());
        return page(&state, StatusCode::NOT_FOUND, AuthPageData { form: AuthForm::SignIn, next: "/".into(), error, ..AuthPageData::default() });
    }
    let key = params.get("key").cloned().unwrap_or_default();
    page(&state, StatusCode::OK, AuthPageData { form: AuthForm::Setup, setup_key: key, ..AuthPageData::default() })
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SetupForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// Creates the first admin and signs them in.
#[utoipa::path(post, path = "/setup", tag = "pages", request_body(content = SetupForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Created and signed in; to the dashboard"),
        (status = 400, description = "The form again, saying what is wrong", content_type = "text/html; charset=utf-8", body = String),
        (status = 403, description = "The form again: the key is wrong", content_type = "text/html; charset=utf-8", body = String),
        (status = 404, description = "There is an admin already", content_type = "text/html; charset=utf-8", body = String),
        (status = 409, description = "The form again: the name is taken", content_type = "text/html; charset=utf-8", body = String),
        (status = 415, description = "The page, saying the body is not a form", content_type = "text/html; charset=utf-8", body = String),
        (status = 503, description = "The database is unavailable", content_type = "text/html; charset=utf-8", body = String)))]
async fn setup_form(State(state): State<AppState>, client: ClientAddress, form: Result<Form<SetupForm>, FormRejection>) -> Response {
    let form = match form {
        Ok(Form(form)) => form,
        Err(rejection) => return failed(&state, ApiError::from(rejection), String::new(), "/".to_owned()),
    };
    match auth_routes::set_up(&state, client, &form.key, &form.name, &form.password).await {
        Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response(),
        Err(error) => {
            let form_kind = if state.auth.in_setup() { AuthForm::Setup } else { AuthForm::SignIn };
            let data = AuthPageData { form: form_kind, setup_key: form.key, name: form.name, error: Some(error.to_string()), ..AuthPageData::default() };
            page(&state, error.status(), data)
        }
    }
}

/// Signs out and returns to the sign-in page.
#[utoipa::path(post, path = "/logout", tag = "pages",
    responses((status = 303, description = "Signed out; to the sign-in page"), (status = 403, description = "A cross-site form", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn logout_form(State(state): State<AppState>, client: ClientAddress, caller: Result<Caller, ApiError>) -> Result<Response, ApiError> {
    if let Ok(caller) = caller {
        auth_routes::sign_out(&state, &caller, client).await?;
    }
    let cleared = crate::server::auth::session::cleared_cookie(state.auth.config.behind_tls);
    Ok(([(header::SET_COOKIE, cleared)], Redirect::to("/login")).into_response())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login_page, login_form)).routes(routes!(code_form)).routes(routes!(setup_page, setup_form)).routes(routes!(logout_form))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn sign_in_returns_only_to_this_server() {
        assert_eq!(safe_next(Some("/alerts?x=1")), "/alerts?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/", "browsers drop the tab and go to //evil.example");
        assert_eq!(safe_next(Some("/\n")), "/");
        assert_eq!(safe_next(Some("/\r/x")), "/");
        assert_eq!(safe_next(Some("/ok path")), "/", "a space is not sent raw either");
    }
}
