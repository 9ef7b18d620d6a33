//! `/api/alerts/silences`: list the running silences; set one with an expiry
//! or end one early (both token-gated).

use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::alert::Silence,
    model::ALERT_TOPIC,
    server::{
        alerts::condition::parse_duration,
        auth::{
            access::{Action, Caller},
            guard::{require, require_operate},
            routes::audit,
        },
        clock::now_ms,
        http::{client_address::ClientAddress, error::ApiError},
        store::StoreError,
        AppState,
    },
};

/// The longest a silence may last.
const MOST_DAYS: i64 = 90;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(end))
}

fn unavailable(error: StoreError) -> ApiError {
    tracing::error!(%error, "cannot reach the alerts database");
    ApiError::Unavailable("the alerts database cannot be reached right now".into())
}

#[derive(Serialize, utoipa::ToSchema)]
struct Silences {
    silences: Vec<Silence>,
}

/// The running silences.
#[utoipa::path(get, path = "/api/alerts/silences", operation_id = "silences", tag = "alerts", responses((status = 200, description = "Running silences", body = Silences), (status = 401, description = "Not signed in, and visitors may not read alerts", body = crate::model::ApiErrorBody), (status = 403, description = "The caller may not read alerts", body = crate::model::ApiErrorBody), (status = 503, description = "The database cannot be reached, or netpulse is shutting down", body = crate::model::ApiErrorBody)))]
async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Silences>, ApiError> {
    require(&state, &caller, ALERT_TOPIC, Action::Read)?;
    Ok(Json(Silences { silences: state.store.silences(now_ms()).await.map_err(unavailable)? }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    /// A rule's name; every rule when absent.
    pub rule: Option<String>,
    /// A speed target, a monitor or a topic; every subject when absent.
    pub subject: Option<String>,
    /// How long from now, such as "2h".
    #[serde(rename = "for")]
    pub lasting: String,
    pub reason: Option<String>,
}

/// Silences a rule, a subject or everything for a while (an editor, an admin, or a token with `operate`).
#[utoipa::path(
    post,
    path = "/api/alerts/silences",
    operation_id = "create_silence",
    tag = "alerts",
    request_body = NewSilence,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The silence", body = Silence),
        (status = 400, description = "A bad body or duration", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in, or a session or token that no longer works", body = crate::model::ApiErrorBody),
        (status = 403, description = "Signed in, but this caller may not do this", body = crate::model::ApiErrorBody),
        (status = 415, description = "The body is not JSON", body = crate::model::ApiErrorBody),
        (status = 422, description = "No such rule", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database cannot be reached, or netpulse is shutting down", body = crate::model::ApiErrorBody),
    )
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientAddress,
    body: Result<Json<NewSilence>, JsonRejection>,
) -> Result<(StatusCode, Json<Silence>), ApiError> {
    require_operate(&caller)?;
    let Json(request) = body?;
    Ok((StatusCode::CREATED, Json(set_silence(&state, &caller, client, request).await?)))
}

/// Checks and stores a silence, and writes it to the audit log; the API and
/// the alerts page both set them here.
pub async fn set_silence(state: &AppState, by: &Caller, client: ClientAddress, request: NewSilence) -> Result<Silence, ApiError> {
    if let Some(rule) = &request.rule {
        if !state.alerts.board.has_rule(rule) {
            return Err(ApiError::Unprocessable(format!("no [[alert]] rule is named {rule:?}")));
        }
    }
    let lasting = parse_duration(&request.lasting).map_err(|reason| ApiError::bad_request(format!("for: {reason}")))?;
    let lasting_ms = i64::try_from(lasting.as_millis()).unwrap_or(i64::MAX);
    if !(1000..=MOST_DAYS * 86_400_000).contains(&lasting_ms) {
        return Err(ApiError::bad_request(format!("for must be 1s to {MOST_DAYS} days, got {:?}", request.lasting)));
    }
    if request.subject.as_ref().is_some_and(|subject| subject.len() > 2048) {
        return Err(ApiError::bad_request("subject must be at most 2048 bytes"));
    }
    let reason = request.reason.unwrap_or_default();
    if reason.len() > 500 {
        return Err(ApiError::bad_request("reason must be at most 500 bytes"));
    }
    // PostgreSQL's text cannot hold NUL, and no reason needs it.
    if reason.contains('\0') || request.subject.as_ref().is_some_and(|subject| subject.contains('\0')) {
        return Err(ApiError::bad_request("reason and subject must not contain NUL characters"));
    }
    let now = now_ms();
    let silence = state.store.create_silence(request.rule.as_deref(), request.subject.as_deref(), now, now + lasting_ms, &reason).await.map_err(unavailable)?;
    let detail = format!(
        "silence {} of {} for {}{}",
        silence.id,
        silenced_what(request.rule.as_deref(), request.subject.as_deref()),
        request.lasting.trim(),
        if reason.is_empty() { String::new() } else { format!(": {reason}") }
    );
    audit(state, &by.label(), "silence-set", &detail, client).await;
    Ok(silence)
}

/// What a silence covers, for the audit log.
fn silenced_what(rule: Option<&str>, subject: Option<&str>) -> String {
    match (rule, subject) {
        (None, None) => "every alert".to_owned(),
        (Some(rule), None) => format!("rule {rule}"),
        (None, Some(subject)) => format!("{subject} under every rule"),
        (Some(rule), Some(subject)) => format!("{subject} under rule {rule}"),
    }
}

/// Ends a running silence early (an editor, an admin, or a token with `operate`).
#[utoipa::path(
    delete,
    path = "/api/alerts/silences/{id}",
    operation_id = "end_silence",
    tag = "alerts",
    params(("id" = i64, Path, description = "The silence's id")),
    security(("bearer" = [])),
    responses((status = 204, description = "Ended"), (status = 400, description = "Not a whole number", body = crate::model::ApiErrorBody), (status = 401, description = "Not signed in, or a session or token that no longer works", body = crate::model::ApiErrorBody), (status = 403, description = "Signed in, but this caller may not do this", body = crate::model::ApiErrorBody), (status = 404, description = "No running silence has this id", body = crate::model::ApiErrorBody), (status = 503, description = "The database cannot be reached, or netpulse is shutting down", body = crate::model::ApiErrorBody))
)]
async fn end(State(state): State<AppState>, caller: Caller, client: ClientAddress, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    require_operate(&caller)?;
    end_silence(&state, &caller, client, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a running silence by its id, given as text, and writes it to the audit log.
pub async fn end_silence(state: &AppState, by: &Caller, client: ClientAddress, id: &str) -> Result<(), ApiError> {
    let id: i64 = id.trim().parse().map_err(|_| ApiError::bad_request(format!("a silence id is a whole number, got {id:?}")))?;
    if state.store.end_silence(id, now_ms()).await.map_err(unavailable)? {
        audit(state, &by.label(), "silence-ended", &format!("silence {id}"), client).await;
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("no running silence has id {id}")))
    }
}
