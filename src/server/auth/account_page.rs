//! `/account`: the signed-in user's page, and its forms that set two-factor
//! sign-in up, confirm it and turn it off, through the same steps as the API.

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
    app::account_document,
    model::account_page::AccountPageData,
    server::{
        auth::{access::Caller, session, two_factor},
        http::{client_address::ClientAddress, error::ApiError},
        AppState,
    },
};

/// The page for `caller`, or the sign-in page for a visitor.
async fn render(state: &AppState, caller: &Caller, status: StatusCode, extra: AccountPageData) -> Response {
    let Caller::User { name, role, session: own_session, .. } = caller else {
        return Redirect::to("/login?next=/account").into_response();
    };
    let totp_on = match state.store.totp_secret(name).await {
        Ok(found) => found.is_some(),
        Err(_) => return session::store_down().into_response(),
    };
    let data =
        AccountPageData { node: state.config.node.clone(), name: name.clone(), role: role.to_string(), via_proxy: own_session.is_none(), totp_on, ..extra };
    (status, [(header::CACHE_CONTROL, "no-store")], Html(account_document(&state.leptos_options, data))).into_response()
}

fn done_text(done: &str) -> Option<&'static str> {
    match done {
        "totp-on" => Some("Two-factor sign-in is on. Keep your authenticator app: signing in now asks for its code."),
        "totp-off" => Some("Two-factor sign-in is off."),
        _ => None,
    }
}

/// The signed-in user's account page.
#[utoipa::path(get, path = "/account", operation_id = "account_page", tag = "pages", params(("done" = Option<String>, Query, description = "A confirmation to show: totp-on or totp-off")),
    responses((status = 200, description = "The page", content_type = "text/html; charset=utf-8", body = String), (status = 303, description = "Not signed in: to the sign-in page")))]
async fn show(State(state): State<AppState>, caller: Result<Caller, ApiError>, Query(params): Query<HashMap<String, String>>) -> Response {
    let caller = caller.unwrap_or(Caller::Anonymous);
    let notice = params.get("done").and_then(|done| done_text(done)).map(str::to_owned);
    render(&state, &caller, StatusCode::OK, AccountPageData { notice, ..AccountPageData::default() }).await
}

/// The page again, saying why a form failed.
async fn failed(state: &AppState, caller: &Caller, error: ApiError) -> Response {
    render(state, caller, error.status(), AccountPageData { error: Some(error.to_string()), ..AccountPageData::default() }).await
}

/// Starts setting up: the page with the QR code and the confirm form.
#[utoipa::path(post, path = "/account/totp/start", operation_id = "account_totp_start", tag = "pages",
    responses((status = 200, description = "The page with the new key and its QR code", content_type = "text/html; charset=utf-8", body = String),
        (status = 303, description = "Not signed in: to the sign-in page"), (status = "4XX", description = "The page, saying what is wrong", content_type = "text/html; charset=utf-8", body = String)))]
async fn start(State(state): State<AppState>, caller: Result<Caller, ApiError>) -> Response {
    let caller = caller.unwrap_or(Caller::Anonymous);
    let name = match two_factor::own_account(&caller) {
        Ok(name) => name.to_owned(),
        Err(ApiError::Unauthorized(_)) => return Redirect::to("/login?next=/account").into_response(),
        Err(error) => return failed(&state, &caller, error).await,
    };
    match two_factor::start_enrolment(&state, &name).await {
        Ok(enrolment) => {
            let data = AccountPageData { enrolment: Some((enrolment.secret, enrolment.qr_svg)), ..AccountPageData::default() };
            render(&state, &caller, StatusCode::OK, data).await
        }
        Err(error) => failed(&state, &caller, error).await,
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// What a code form does once the caller and code are read.
enum CodeAction {
    Confirm,
    TurnOff,
}

async fn with_code(
    state: &AppState,
    caller: Result<Caller, ApiError>,
    client: ClientAddress,
    form: Result<Form<CodeForm>, FormRejection>,
    action: CodeAction,
) -> Response {
    let caller = caller.unwrap_or(Caller::Anonymous);
    let outcome = async {
        let Form(form) = form.map_err(ApiError::from)?;
        let name = two_factor::own_account(&caller)?;
        match action {
            CodeAction::Confirm => two_factor::confirm(state, client, name, &form.code).await.map(|()| "totp-on"),
            CodeAction::TurnOff => two_factor::turn_off(state, client, name, &form.code).await.map(|()| "totp-off"),
        }
    };
    let retry = matches!(action, CodeAction::Confirm);
    match outcome.await {
        Ok(done) => Redirect::to(&format!("/account?done={done}")).into_response(),
        Err(ApiError::Unauthorized(_)) if caller == Caller::Anonymous => Redirect::to("/login?next=/account").into_response(),
        Err(error) => {
            // A mistyped code while setting up: the same QR code again, to try once more.
            let enrolment = match (&caller, retry) {
                (Caller::User { name, .. }, true) => two_factor::pending_enrolment(state, name).await.map(|e| (e.secret, e.qr_svg)),
                _ => None,
            };
            render(state, &caller, error.status(), AccountPageData { error: Some(error.to_string()), enrolment, ..AccountPageData::default() }).await
        }
    }
}

/// Turns the key being set up on, with a code from the app.
#[utoipa::path(post, path = "/account/totp/confirm", operation_id = "account_totp_confirm", tag = "pages", request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "On; to the page's confirmation"), (status = "4XX", description = "The page, saying what is wrong", content_type = "text/html; charset=utf-8", body = String)))]
async fn confirm(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    client: ClientAddress,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    with_code(&state, caller, client, form, CodeAction::Confirm).await
}

/// Turns two-factor sign-in off, with a current code.
#[utoipa::path(post, path = "/account/totp/off", operation_id = "account_totp_off", tag = "pages", request_body(content = CodeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Off; to the page's confirmation"), (status = "4XX", description = "The page, saying what is wrong", content_type = "text/html; charset=utf-8", body = String)))]
async fn off(State(state): State<AppState>, caller: Result<Caller, ApiError>, client: ClientAddress, form: Result<Form<CodeForm>, FormRejection>) -> Response {
    with_code(&state, caller, client, form, CodeAction::TurnOff).await
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show)).routes(routes!(start)).routes(routes!(confirm)).routes(routes!(off))
}
