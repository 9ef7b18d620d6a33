//! `/admin`: accounts, tokens, sessions, access rules, agent nodes and the audit log for an admin, with
//! one form route whose `action` picks the change, made through the same
//! steps as the API's.

use std::collections::HashMap;

use axum::{
    extract::{rejection::FormRejection, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::admin_document,
    model::admin_page::{AdminAudit, AdminNode, AdminPageData, AdminRule, AdminSession, AdminToken, AdminUser, NewJoinToken, RuleAdded},
    server::{
        agents::admin_routes::{make_join_token_as, node_statuses, revoke_node_as, JoinToken},
        auth::{access::Caller, oidc, rules, session, sessions::end_session_as, two_factor, users},
        clock::now_ms,
        http::{client_address::ClientAddress, error::ApiError},
        AppState,
    },
};

/// Everything the page lists, read fresh.
async fn listed(state: &AppState, caller: &Caller) -> Result<AdminPageData, ApiError> {
    let store = &state.store;
    let down = |_| session::store_down();
    let users = store.users().await.map_err(down)?;
    let tokens = store.tokens().await.map_err(down)?;
    let sessions = store.sessions(None, now_ms()).await.map_err(down)?;
    let audit = store.audit_log(100).await.map_err(down)?;
    let rules = rules::list(state).await?;
    let nodes = node_statuses(state).await?;
    let (viewer, own_session) = match caller {
        Caller::User { name, session, .. } => (name.clone(), *session),
        _ => (String::new(), None),
    };
    Ok(AdminPageData {
        node: state.config.node.clone(),
        viewer,
        own_session,
        users: users
            .into_iter()
            .map(|u| AdminUser { single_sign_on: u.signs_in_with == oidc::account::OIDC, name: u.name, role: u.role, created_ms: u.created_ms, totp: u.totp })
            .collect(),
        tokens: tokens
            .into_iter()
            .map(|t| AdminToken {
                name: t.name,
                scopes: t.scopes,
                created_by: t.created_by,
                created_ms: t.created_ms,
                expires_ms: t.expires_ms,
                last_used_ms: t.last_used_ms,
            })
            .collect(),
        sessions: sessions
            .into_iter()
            .map(|s| AdminSession { id: s.id, user: s.user, created_ms: s.created_ms, last_seen_ms: s.last_seen_ms, address: s.address })
            .collect(),
        rules: rules
            .into_iter()
            .map(|r| AdminRule {
                id: r.id,
                who: r.who,
                series: r.series,
                allow: r.allow,
                added: r.created_by.zip(r.created_ms).map(|(by, at_ms)| RuleAdded { by, at_ms }),
            })
            .collect(),
        nodes: nodes.into_iter().map(|n| AdminNode { joined_ms: n.joined_ms, revoked: n.revoked, report: n.report() }).collect(),
        audit: audit.into_iter().map(|a| AdminAudit { at_ms: a.at_ms, actor: a.actor, action: a.action, detail: a.detail, address: a.address }).collect(),
        ..AdminPageData::default()
    })
}

/// The page for an admin, with `shown` (a notice, an error, a new token) on top; a visitor is sent to sign in.
async fn render(state: &AppState, caller: &Caller, status: StatusCode, shown: AdminPageData) -> Response {
    if *caller == Caller::Anonymous {
        return Redirect::to("/login?next=/admin").into_response();
    }
    if let Err(error) = users::admin_only(caller) {
        return error.into_response();
    }
    match listed(state, caller).await {
        Ok(data) => {
            let data = AdminPageData { notice: shown.notice, error: shown.error, new_token: shown.new_token, new_join_token: shown.new_join_token, ..data };
            (status, [(header::CACHE_CONTROL, "no-store")], Html(admin_document(&state.leptos_options, data))).into_response()
        }
        Err(error) => error.into_response(),
    }
}

fn done_text(done: &str) -> Option<&'static str> {
    Some(match done {
        "add-user" => "User added.",
        "set-role" => "Role changed; the user's sessions ended, so they sign in again with it.",
        "remove-user" => "User removed; their sessions ended.",
        "reset-totp" => "Two-factor sign-in turned off for the user.",
        "revoke-token" => "Token revoked; its streams closed.",
        "end-session" => "Session ended; its streams closed.",
        "add-rule" => "Rule added; pages, the API and open streams follow it now.",
        "remove-rule" => "Rule removed; pages, the API and open streams follow it now.",
        "revoke-node" => "Node revoked: it is refused from now on; its history stays.",
        _ => return None,
    })
}

/// The admin page.
#[utoipa::path(get, path = "/admin", operation_id = "admin_page", tag = "pages", params(("done" = Option<String>, Query, description = "A confirmation to show, named by the action done")),
    responses((status = 200, description = "The page", content_type = "text/html; charset=utf-8", body = String), (status = 303, description = "Not signed in: to the sign-in page"),
        (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn show(State(state): State<AppState>, caller: Result<Caller, ApiError>, Query(params): Query<HashMap<String, String>>) -> Response {
    let caller = caller.unwrap_or(Caller::Anonymous);
    let notice = params.get("done").and_then(|done| done_text(done)).map(str::to_owned);
    render(&state, &caller, StatusCode::OK, AdminPageData { notice, ..AdminPageData::default() }).await
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AdminForm {
    /// add-user, set-role, remove-user, reset-totp, add-token, revoke-token, end-session, add-rule, remove-rule, add-join-token or revoke-node.
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    expires_days: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    series: String,
    #[serde(default)]
    allow: String,
    /// How long a join token works.
    #[serde(default)]
    hours: String,
}

/// What a form did: a confirmation to redirect to, or a new token to show once.
enum Done {
    Redirect(&'static str),
    Token(String, String),
    JoinToken(JoinToken),
}

/// A number the admin may leave empty, or why it is not one.
fn optional_number(text: &str, label: &str) -> Result<Option<f64>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>().map(Some).map_err(|_| ApiError::bad_request(format!("{label} must be a number, got {text:?}")))
}

async fn act(state: &AppState, caller: &Caller, client: ClientAddress, form: AdminForm) -> Result<Done, ApiError> {
    users::admin_only(caller)?;
    match form.action.as_str() {
        "add-user" => users::add_account(state, caller, client, form.name.trim(), &form.password, &form.role).await.map(|()| Done::Redirect("add-user")),
        "set-role" => users::change_account(state, caller, client, &form.name, Some(&form.role), None).await.map(|()| Done::Redirect("set-role")),
        "remove-user" => users::remove_account(state, caller, client, &form.name).await.map(|()| Done::Redirect("remove-user")),
        "reset-totp" => two_factor::reset_as(state, caller, client, &form.name).await.map(|()| Done::Redirect("reset-totp")),
        "add-token" => {
            let expires_days = optional_number(&form.expires_days, "expires after days")?;
            let made = users::add_token_as(state, caller, client, form.name.trim(), &form.scopes, expires_days).await?;
            Ok(Done::Token(made.name, made.token))
        }
        "revoke-token" => users::revoke_token_as(state, caller, client, &form.name).await.map(|()| Done::Redirect("revoke-token")),
        "end-session" => end_session_as(state, caller, client, &form.id).await.map(|()| Done::Redirect("end-session")),
        "add-rule" => rules::add_as(state, caller, client, &form.who, &form.series, &form.allow).await.map(|_| Done::Redirect("add-rule")),
        "remove-rule" => rules::remove_as(state, caller, client, &form.id).await.map(|()| Done::Redirect("remove-rule")),
        "add-join-token" => make_join_token_as(state, caller, client, optional_number(&form.hours, "hours")?).await.map(Done::JoinToken),
        "revoke-node" => revoke_node_as(state, caller, client, &form.name).await.map(|()| Done::Redirect("revoke-node")),
        other => Err(ApiError::bad_request(format!("unknown action {other:?}"))),
    }
}

/// The page's forms: each names its `action`.
#[utoipa::path(post, path = "/admin", operation_id = "admin_page_action", tag = "pages", request_body(content = AdminForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "A token made: the page showing it once", content_type = "text/html; charset=utf-8", body = String),
        (status = 303, description = "Done; to the page's confirmation, or to sign in"),
        (status = "4XX", description = "The page, saying what is wrong", content_type = "text/html; charset=utf-8", body = String)))]
async fn action(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    client: ClientAddress,
    headers: HeaderMap,
    form: Result<Form<AdminForm>, FormRejection>,
) -> Response {
    let caller = caller.unwrap_or(Caller::Anonymous);
    if caller == Caller::Anonymous {
        return Redirect::to("/login?next=/admin").into_response();
    }
    let outcome = match form {
        Ok(Form(form)) => act(&state, &caller, client, form).await,
        Err(rejection) => Err(ApiError::from(rejection)),
    };
    match outcome {
        Ok(Done::Redirect(done)) => Redirect::to(&format!("/admin?done={done}")).into_response(),
        // Shown in the answer, never in a URL or a log.
        Ok(Done::Token(name, token)) => {
            render(&state, &caller, StatusCode::OK, AdminPageData { new_token: Some((name, token)), ..AdminPageData::default() }).await
        }
        Ok(Done::JoinToken(JoinToken { token, expires_ms })) => {
            let made = NewJoinToken { token, expires_ms, server_url: server_url(&headers) };
            render(&state, &caller, StatusCode::OK, AdminPageData { new_join_token: Some(made), ..AdminPageData::default() }).await
        }
        Err(error) => render(&state, &caller, error.status(), AdminPageData { error: Some(error.to_string()), ..AdminPageData::default() }).await,
    }
}

/// This server's address as the admin's browser reached it, for the join command:
/// the form's `Origin`, else `Host` over plain HTTP.
fn server_url(headers: &HeaderMap) -> String {
    let header = |name| headers.get(name).and_then(|value| value.to_str().ok()).filter(|value| !value.is_empty() && *value != "null");
    match (header(header::ORIGIN), header(header::HOST)) {
        (Some(origin), _) => origin.to_owned(),
        (None, Some(host)) => format!("http://{host}"),
        (None, None) => "URL".to_owned(),
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, action))
}
