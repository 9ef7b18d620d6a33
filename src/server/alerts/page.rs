//! `/alerts`, the server-rendered alerts page, and the plain form posts its
//! buttons make. Every action asks the same access check and runs the same
//! code as its JSON route; a bad form gets the page back with a 4xx and the reason.

use std::collections::HashMap;

use axum::{
    extract::{rejection::FormRejection, Form, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::alerts_document,
    model::alerts_page::{AlertsPageData, ChannelSummary, Notice},
    model::ALERT_TOPIC,
    server::{
        alerts::{
            routes::send_test,
            silence_routes::{end_silence, set_silence, NewSilence},
        },
        auth::{
            access::{Action, Caller},
            guard::{form_caller, require, require_operate},
        },
        clock::now_ms,
        http::{client_address::ClientAddress, error::ApiError},
        AppState,
    },
};

/// Incidents per page, and deliveries shown.
const PAGE_ROWS: i64 = 50;
/// The year 9999, the same bound as the history API's.
const LATEST_MS: i64 = 253_402_300_799_999;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show)).routes(routes!(silence)).routes(routes!(end)).routes(routes!(test))
}

/// The page's fixed confirmations, named in the address after a redirect.
fn done_text(done: &str) -> Option<&'static str> {
    match done {
        "silenced" => Some("Silence set. Transitions it covers are recorded, not sent."),
        "ended" => Some("Silence ended."),
        _ => None,
    }
}

/// Where a page of incidents starts: before `to_ms`, or at it with an id below `before_id`.
#[derive(Clone, Copy)]
struct Cursor {
    to_ms: i64,
    before_id: i64,
}

impl Cursor {
    fn newest() -> Self {
        Self { to_ms: now_ms().saturating_add(1), before_id: i64::MAX }
    }
}

/// A whole number in `range` from the query, or the reason it is not.
fn whole(raw: &str, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| ApiError::bad_request(format!("{name} must be a whole number from {} to {}, got {raw:?}", range.start(), range.end())))
}

fn parse_query(params: &HashMap<String, String>) -> Result<(Cursor, Option<Notice>), ApiError> {
    if let Some(name) = params.keys().find(|name| !matches!(name.as_str(), "to" | "before" | "done")) {
        return Err(ApiError::bad_request(format!("unknown parameter {name:?}; use to, before or done")));
    }
    let mut cursor = Cursor::newest();
    if let Some(raw) = params.get("to") {
        cursor = Cursor { to_ms: whole(raw, "to", 1..=LATEST_MS)?, before_id: i64::MAX };
    }
    if let Some(raw) = params.get("before") {
        cursor.before_id = whole(raw, "before", 1..=i64::MAX)?;
    }
    let notice = match params.get("done") {
        None => None,
        Some(done) => Some(done_text(done).ok_or_else(|| ApiError::bad_request(format!("done must be silenced or ended, got {done:?}")))?),
    };
    Ok((cursor, notice.map(|text| Notice { ok: true, text: text.to_owned() })))
}

/// The alerts page: rule states, incidents (paged by `to` and `before`), deliveries, silences and channels.
#[utoipa::path(
    get,
    path = "/alerts",
    operation_id = "alerts_page",
    tag = "pages",
    params(
        ("to" = Option<i64>, Query, description = "Older incidents: those that started before this ms time", minimum = 1),
        ("before" = Option<i64>, Query, description = "With `to`: and those at it with a lower id", minimum = 0),
        ("done" = Option<String>, Query, description = "A confirmation to show: silenced or ended"),
    ),
    responses(
        (status = 200, description = "The page", content_type = "text/html; charset=utf-8", body = String),
        (status = 303, description = "A visitor who may not read alerts: to the sign-in page"),
        (status = 400, description = "The page, saying which parameter is wrong", content_type = "text/html; charset=utf-8", body = String),
        (status = 401, description = "The page, saying the session or token no longer works", content_type = "text/html; charset=utf-8", body = String),
        (status = 403, description = "The page, saying the caller may not read alerts", content_type = "text/html; charset=utf-8", body = String),
        (status = 503, description = "The page, saying the alerts database cannot be read", content_type = "text/html; charset=utf-8", body = String),
    )
)]
async fn show(State(state): State<AppState>, caller: Result<Caller, ApiError>, Query(params): Query<HashMap<String, String>>) -> Response {
    let caller = match caller {
        Ok(caller) => caller,
        Err(_) => Caller::Anonymous,
    };
    if caller == Caller::Anonymous && !state.auth.access().may_read(&caller, ALERT_TOPIC) {
        return Redirect::to("/login?next=/alerts").into_response();
    }
    match parse_query(&params) {
        Ok((cursor, notice)) => render(&state, &caller, cursor, notice, StatusCode::OK).await,
        Err(error) => failed(&state, &caller, error).await,
    }
}

/// The page with the error's status and its message in the notice.
async fn failed(state: &AppState, caller: &Caller, error: ApiError) -> Response {
    let status = error.status();
    render(state, caller, Cursor::newest(), Some(Notice { ok: false, text: error.to_string() }), status).await
}

/// The page, with what it shows only for a caller who may read alerts.
async fn render(state: &AppState, caller: &Caller, cursor: Cursor, notice: Option<Notice>, status: StatusCode) -> Response {
    let gathered = match require(state, caller, ALERT_TOPIC, Action::Read) {
        Ok(()) => gather(state, caller, cursor, notice).await,
        Err(refused) if notice.is_none() => Err(refused),
        Err(_) => Ok(AlertsPageData { node: state.config.node.clone(), notice, ..AlertsPageData::default() }),
    };
    let (status, data) = match gathered {
        Ok(data) => (status, data),
        // Still a page: a person reads it, not a program.
        Err(error) => (
            error.status(),
            AlertsPageData { node: state.config.node.clone(), notice: Some(Notice { ok: false, text: error.to_string() }), ..AlertsPageData::default() },
        ),
    };
    (status, Html(alerts_document(&state.leptos_options, data))).into_response()
}

async fn gather(state: &AppState, caller: &Caller, cursor: Cursor, notice: Option<Notice>) -> Result<AlertsPageData, ApiError> {
    let unavailable = |error| {
        tracing::error!(%error, "cannot read alerts for the alerts page");
        ApiError::Unavailable("the alerts database cannot be read right now".into())
    };
    let store = &state.store;
    let incidents = store.incidents_before(cursor.to_ms, cursor.before_id, PAGE_ROWS).await.map_err(unavailable)?;
    // A full page may have older ones behind it.
    let older = (incidents.len() as i64 == PAGE_ROWS).then(|| incidents.last().map(|i| (i.started_ms, i.id))).flatten();
    let mut channels: Vec<ChannelSummary> =
        state.alerts.channels.values().map(|c| ChannelSummary { name: c.name.clone(), kind: c.kind.label().to_owned() }).collect();
    channels.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(AlertsPageData {
        node: state.config.node.clone(),
        states: state.alerts.board.list(),
        incidents,
        older,
        deliveries: store.deliveries(PAGE_ROWS).await.map_err(unavailable)?,
        silences: store.silences(now_ms()).await.map_err(unavailable)?,
        rules: state.alerts.rules.iter().map(|rule| rule.name.clone()).collect(),
        channels,
        // A token typed into the forms works as well as an editor's session.
        needs_token: !caller.may_operate(),
        notice,
    })
}

/// The caller of a form may act: an editor's or admin's session, or a token typed into the form.
/// The caller a form acts as (its session, or the token typed into it), if it may operate.
async fn authorise(state: &AppState, session: Result<Caller, ApiError>, token: Option<&str>) -> Result<Caller, ApiError> {
    let caller = form_caller(state, session, token).await?;
    require_operate(&caller)?;
    Ok(caller)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SilenceForm {
    #[serde(default)]
    rule: String,
    #[serde(default)]
    subject: String,
    #[serde(rename = "for")]
    lasting: String,
    #[serde(default)]
    reason: String,
    token: Option<String>,
}

/// An empty field means "every": the form cannot leave a field out.
fn given(text: String) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The page's silence form.
#[utoipa::path(
    post,
    path = "/alerts/silences",
    operation_id = "alerts_page_silence",
    tag = "pages",
    request_body(content = SilenceForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Set; on to the page's confirmation"), (status = "4XX", description = "The page, saying what is wrong", content_type = "text/html; charset=utf-8", body = String), (status = 503, description = "The page, saying the alerts database cannot be reached", content_type = "text/html; charset=utf-8", body = String))
)]
async fn silence(
    State(state): State<AppState>,
    session: Result<Caller, ApiError>,
    client: ClientAddress,
    form: Result<Form<SilenceForm>, FormRejection>,
) -> Response {
    let caller = session.as_ref().cloned().unwrap_or(Caller::Anonymous);
    let outcome = async {
        let Form(form) = form.map_err(ApiError::from)?;
        let by = authorise(&state, session, form.token.as_deref()).await?;
        let request = NewSilence { rule: given(form.rule), subject: given(form.subject), lasting: form.lasting, reason: given(form.reason) };
        set_silence(&state, &by, client, request).await
    };
    match outcome.await {
        Ok(_) => Redirect::to("/alerts?done=silenced").into_response(),
        Err(error) => failed(&state, &caller, error).await,
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct EndForm {
    id: String,
    token: Option<String>,
}

/// The page's button that ends a silence.
#[utoipa::path(
    post,
    path = "/alerts/silences/end",
    operation_id = "alerts_page_end_silence",
    tag = "pages",
    request_body(content = EndForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Ended; on to the page's confirmation"), (status = "4XX", description = "The page, saying what is wrong", content_type = "text/html; charset=utf-8", body = String), (status = 503, description = "The page, saying the alerts database cannot be reached", content_type = "text/html; charset=utf-8", body = String))
)]
async fn end(State(state): State<AppState>, session: Result<Caller, ApiError>, client: ClientAddress, form: Result<Form<EndForm>, FormRejection>) -> Response {
    let caller = session.as_ref().cloned().unwrap_or(Caller::Anonymous);
    let outcome = async {
        let Form(form) = form.map_err(ApiError::from)?;
        let by = authorise(&state, session, form.token.as_deref()).await?;
        end_silence(&state, &by, client, &form.id).await
    };
    match outcome.await {
        Ok(()) => Redirect::to("/alerts?done=ended").into_response(),
        Err(error) => failed(&state, &caller, error).await,
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TestForm {
    channel: String,
    token: Option<String>,
}

/// Answers with the page itself, which says what the channel did: the
/// result is not one a later visit should show again.
#[utoipa::path(
    post,
    path = "/alerts/test",
    operation_id = "alerts_page_test",
    tag = "pages",
    request_body(content = TestForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The page, saying what the channel did", content_type = "text/html; charset=utf-8", body = String), (status = "4XX", description = "The page, saying what is wrong", content_type = "text/html; charset=utf-8", body = String), (status = 503, description = "The page, saying the alerts database cannot be reached", content_type = "text/html; charset=utf-8", body = String))
)]
async fn test(State(state): State<AppState>, session: Result<Caller, ApiError>, form: Result<Form<TestForm>, FormRejection>) -> Response {
    let caller = session.as_ref().cloned().unwrap_or(Caller::Anonymous);
    let outcome = async {
        let Form(form) = form.map_err(ApiError::from)?;
        authorise(&state, session, form.token.as_deref()).await?;
        send_test(&state, form.channel).await
    };
    match outcome.await {
        Ok(result) => {
            let notice = match result.error {
                None => Notice { ok: true, text: format!("Test message delivered on {} (delivery id {}).", result.channel, result.delivery_id) },
                Some(error) => Notice { ok: false, text: format!("The test message on {} failed: {error}", result.channel) },
            };
            render(&state, &caller, Cursor::newest(), Some(notice), StatusCode::OK).await
        }
        Err(error) => failed(&state, &caller, error).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_confirmations_are_shown() {
        assert!(done_text("silenced").is_some());
        assert!(done_text("<script>").is_none(), "the address cannot put words on the page");
    }
}
