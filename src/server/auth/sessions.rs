//! `/api/sessions`: the signed-in sessions, an account's own or, for an admin,
//! everyone's, and ending one, which closes its streams.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::{
    auth::{access::Caller, accounts::SessionEntry, routes::audit, session, Revoked},
    clock::now_ms,
    http::{client_address::ClientAddress, error::ApiError},
    AppState,
};

/// Whose sessions the caller may see and end: everyone's for an admin, else its own account's.
fn scope(caller: &Caller) -> Result<Option<String>, ApiError> {
    match caller {
        _ if caller.is_admin() => Ok(None),
        Caller::User { name, .. } => Ok(Some(name.clone())),
        Caller::Anonymous => Err(ApiError::Unauthorized("sign in to see your sessions".to_owned())),
        Caller::Token { .. } => Err(ApiError::Forbidden("only an account or an admin token has sessions to see".to_owned())),
    }
}

/// The unexpired sessions, newest first: the caller's own, or everyone's for an admin.
#[utoipa::path(get, path = "/api/sessions", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "The sessions", body = Vec<SessionEntry>), (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody),
        (status = 403, description = "A token that is not an admin's", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<SessionEntry>>, ApiError> {
    let whose = scope(&caller)?;
    Ok(Json(state.store.sessions(whose.as_deref(), now_ms()).await.map_err(|_| session::store_down())?))
}

/// Ends a session (one's own, or any for an admin); its streams close at once.
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "admin", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204, description = "Ended"), (status = 400, description = "Not a whole number", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "A token that is not an admin's", body = crate::model::ApiErrorBody),
        (status = 404, description = "No such session of the caller's", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn end(State(state): State<AppState>, client: ClientAddress, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    end_session_as(&state, &caller, client, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a session the caller may end, given its id as text; the API and the admin page both do it here.
pub async fn end_session_as(state: &AppState, caller: &Caller, client: ClientAddress, id: &str) -> Result<(), ApiError> {
    let whose = scope(caller)?;
    let id: i64 = id.trim().parse().map_err(|_| ApiError::bad_request(format!("a session id is a whole number, got {id:?}")))?;
    let Some(user) = state.store.end_session(id, whose.as_deref()).await.map_err(|_| session::store_down())? else {
        return Err(ApiError::NotFound(format!("no session {id} of yours is open")));
    };
    state.auth.revoke(Revoked::Session(id));
    audit(state, &caller.label(), "session-ended", &format!("session {id} of {user}"), client).await;
    Ok(())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(end))
}
