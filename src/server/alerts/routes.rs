//! The alerts API: current states, incident history, the delivery log, a
//! template preview, and a test message on a channel (token-gated).

use std::collections::HashMap;

use axum::{
    extract::{rejection::JsonRejection, Path, Query, State},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::alert::{AlertState, Delivery, Incident},
    model::ALERT_TOPIC,
    server::{
        alerts::{
            evaluate::delivery_id,
            send::{send, Outgoing},
            template::{self, MessageContext},
        },
        auth::{
            access::{Action, Caller},
            guard::{require, require_operate},
        },
        clock::now_ms,
        http::error::ApiError,
        store::StoreError,
        AppState,
    },
};

const DAY_MS: i64 = 86_400_000;
/// Most incidents or deliveries one answer carries.
const MAX_LIMIT: i64 = 1000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(states)).routes(routes!(history)).routes(routes!(deliveries)).routes(routes!(preview)).routes(routes!(test_channel))
}

fn unavailable(error: StoreError) -> ApiError {
    tracing::error!(%error, "cannot read alerts from the database");
    ApiError::Unavailable("the alerts database cannot be read right now".into())
}

#[derive(Serialize, utoipa::ToSchema)]
struct States {
    alerts: Vec<AlertState>,
}

/// Every rule's state per subject.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts", responses((status = 200, description = "Rule states", body = States), (status = 401, description = "Not signed in, and visitors may not read alerts", body = crate::model::ApiErrorBody), (status = 403, description = "The caller may not read alerts", body = crate::model::ApiErrorBody)))]
async fn states(State(state): State<AppState>, caller: Caller) -> Result<Json<States>, ApiError> {
    require(&state, &caller, ALERT_TOPIC, Action::Read)?;
    Ok(Json(States { alerts: state.alerts.board.list() }))
}

/// A whole number query parameter within `range`, or `default`.
fn number(params: &HashMap<String, String>, name: &str, default: i64, range: std::ops::RangeInclusive<i64>) -> Result<i64, ApiError> {
    let Some(raw) = params.get(name) else { return Ok(default) };
    let value: i64 = raw.trim().parse().map_err(|_| ApiError::bad_request(format!("{name} must be a whole number, got {raw:?}")))?;
    if !range.contains(&value) {
        return Err(ApiError::bad_request(format!("{name} must be {} to {}, got {value}", range.start(), range.end())));
    }
    Ok(value)
}

fn check_names(params: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|name| !allowed.contains(&name.as_str())) {
        Some(name) => Err(ApiError::bad_request(format!("unknown parameter {name:?}; use {}", allowed.join(", ")))),
        None => Ok(()),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = IncidentHistory)]
struct History {
    from_ms: i64,
    to_ms: i64,
    incidents: Vec<Incident>,
}

/// Incidents overlapping `from..to` (milliseconds; the last 30 days by default), newest first.
#[utoipa::path(
    get,
    path = "/api/alerts/history",
    operation_id = "alert_history",
    tag = "alerts",
    params(
        ("from" = Option<i64>, Query, description = "ms since the Unix epoch; 30 days before `to` by default", minimum = 0),
        ("to" = Option<i64>, Query, description = "ms since the Unix epoch; now by default", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Most incidents (1-1000, default 100)", minimum = 1, maximum = 1000),
    ),
    responses((status = 200, description = "Incidents, newest first", body = History), (status = 400, description = "A parameter is unknown or out of range", body = crate::model::ApiErrorBody), (status = 401, description = "Not signed in, and visitors may not read alerts", body = crate::model::ApiErrorBody), (status = 403, description = "The caller may not read alerts", body = crate::model::ApiErrorBody), (status = 503, description = "The database cannot be reached, or netpulse is shutting down", body = crate::model::ApiErrorBody))
)]
async fn history(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<History>, ApiError> {
    require(&state, &caller, ALERT_TOPIC, Action::Read)?;
    check_names(&params, &["from", "to", "limit"])?;
    // The same bounds as /api/history: years 1970 to 9999.
    const LATEST: i64 = 253_402_300_799_999;
    let now = now_ms();
    let to_ms = number(&params, "to", now, 0..=LATEST)?;
    let from_ms = number(&params, "from", to_ms.saturating_sub(30 * DAY_MS).max(0), 0..=LATEST)?;
    if from_ms >= to_ms {
        return Err(ApiError::bad_request(format!("from ({from_ms}) must be before to ({to_ms})")));
    }
    let limit = number(&params, "limit", 100, 1..=MAX_LIMIT)?;
    let incidents = state.store.incidents(from_ms, to_ms, limit).await.map_err(unavailable)?;
    Ok(Json(History { from_ms, to_ms, incidents }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Deliveries {
    deliveries: Vec<Delivery>,
}

/// The delivery log, newest first.
#[utoipa::path(
    get,
    path = "/api/alerts/deliveries",
    tag = "alerts",
    params(("limit" = Option<i64>, Query, description = "Most deliveries (1-1000, default 100)", minimum = 1, maximum = 1000)),
    responses((status = 200, description = "Delivery attempts", body = Deliveries), (status = 400, description = "A parameter is unknown or out of range", body = crate::model::ApiErrorBody), (status = 401, description = "Not signed in, and visitors may not read alerts", body = crate::model::ApiErrorBody), (status = 403, description = "The caller may not read alerts", body = crate::model::ApiErrorBody), (status = 503, description = "The database cannot be reached, or netpulse is shutting down", body = crate::model::ApiErrorBody))
)]
async fn deliveries(State(state): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> Result<Json<Deliveries>, ApiError> {
    require(&state, &caller, ALERT_TOPIC, Action::Read)?;
    check_names(&params, &["limit"])?;
    let limit = number(&params, "limit", 100, 1..=MAX_LIMIT)?;
    Ok(Json(Deliveries { deliveries: state.store.deliveries(limit).await.map_err(unavailable)? }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PreviewRequest {
    /// A template to try; the default for `kind` when absent.
    template: Option<String>,
    /// `firing` (default), `resolved`, `flapping` or `settled`.
    kind: Option<String>,
    /// Values that replace the sample's: `{"value": "12.5", "subject": "nas"}`.
    #[serde(default)]
    values: HashMap<String, String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Preview {
    text: String,
}

/// Renders a template against a sample, so a rule's text can be tried before it is configured.
#[utoipa::path(
    post,
    path = "/api/alerts/preview",
    tag = "alerts",
    request_body = PreviewRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The rendered text", body = Preview),
        (status = 400, description = "A bad body, kind or value name", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in, or a session or token that no longer works", body = crate::model::ApiErrorBody),
        (status = 403, description = "Signed in, but this caller may not do this", body = crate::model::ApiErrorBody),
        (status = 422, description = "The template does not render (or ran out of fuel)", body = crate::model::ApiErrorBody),
    )
)]
async fn preview(caller: Caller, body: Result<Json<PreviewRequest>, JsonRejection>) -> Result<Json<Preview>, ApiError> {
    require_operate(&caller)?;
    let Json(request) = body.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let mut sample = serde_json::to_value(template::sample()).unwrap_or_default();
    if let Some(kind) = request.kind {
        if !matches!(kind.as_str(), "firing" | "resolved" | "flapping" | "settled") {
            return Err(ApiError::bad_request(format!("kind must be firing, resolved, flapping or settled, got {kind:?}")));
        }
        sample["kind"] = kind.into();
    }
    for (name, value) in request.values {
        if sample.get(&name).is_none() {
            return Err(ApiError::bad_request(format!("{name:?} is not a template value")));
        }
        sample[name] = value.into();
    }
    let context: MessageContext = serde_json::from_value(sample).map_err(|err| ApiError::bad_request(err.to_string()))?;
    let text = template::render(request.template.as_deref(), &context).map_err(|err| ApiError::Unprocessable(err.to_string()))?;
    Ok(Json(Preview { text }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub channel: String,
    pub delivery_id: String,
    pub delivered: bool,
    /// The exact error when it was not.
    pub error: Option<String>,
}

/// Sends a test message on a `[[notify]]` channel now (an editor, an admin, or a token with `operate`).
#[utoipa::path(
    post,
    path = "/api/notify/{channel}/test",
    tag = "alerts",
    params(("channel" = String, Path, description = "A [[notify]] channel's name")),
    security(("bearer" = [])),
    responses((status = 200, description = "What happened; `delivered: false` carries the receiver's error", body = TestResult), (status = 401, description = "Not signed in, or a session or token that no longer works", body = crate::model::ApiErrorBody), (status = 403, description = "Signed in, but this caller may not do this", body = crate::model::ApiErrorBody), (status = 404, description = "No such channel", body = crate::model::ApiErrorBody))
)]
async fn test_channel(State(state): State<AppState>, Path(channel): Path<String>, caller: Caller) -> Result<Json<TestResult>, ApiError> {
    require_operate(&caller)?;
    Ok(Json(send_test(&state, channel).await?))
}

/// Sends a test message on a channel now, outside the outbox, and says what
/// happened; the API and the alerts page both test here.
pub async fn send_test(state: &AppState, channel: String) -> Result<TestResult, ApiError> {
    let target = state.alerts.channels.get(&channel).ok_or_else(|| ApiError::NotFound(format!("no [[notify]] channel is named {channel:?}")))?;
    let note = test_message(&state.config.node);
    let outcome = send(target, &note, &state.alerts.http).await;
    Ok(TestResult { channel, delivery_id: note.delivery_id, delivered: outcome.is_ok(), error: outcome.err().map(|err| err.to_string()) })
}

/// What `notify-test` and the test button send.
pub fn test_message(node: &str) -> Outgoing {
    Outgoing {
        delivery_id: delivery_id(),
        rule: "test".into(),
        subject: node.to_owned(),
        kind: "test".into(),
        title: "netpulse test notification".into(),
        message: format!("If you can read this, netpulse on {node} can reach you here."),
        facts: serde_json::json!({ "kind": "test", "node": node }),
    }
}
