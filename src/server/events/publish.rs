//! `POST /api/publish/{topic}`: custom topics, by editors, admins and tokens with `publish:<pattern>`.

use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use crate::server::{
    events::{limits, topics},
    http::error::ApiError,
    AppState,
};

/// Largest body a publisher may send.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Serialize, utoipa::ToSchema)]
struct Published {
    id: u64,
    topic: String,
}

/// Publishes one JSON object on a custom topic (an editor, an admin, or a token with `publish:topic:<name>`).
#[utoipa::path(
    post,
    path = "/api/publish/{topic}",
    tag = "stream",
    params(("topic" = String, Path, description = "A custom topic: 1-64 letters, digits, - _ or .")),
    request_body(content = Object, content_type = "application/json", description = "Any JSON object, at most 64 KiB"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Published; the event's id", body = Published),
        (status = 400, description = "A reserved or malformed topic, or a body that is not one JSON object", body = crate::model::ApiErrorBody),
        (status = 403, description = "Signed in, but this caller may not do this", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in, or a session or token that no longer works", body = crate::model::ApiErrorBody),
        (status = 413, description = "The body is over 64 KiB", body = crate::model::ApiErrorBody),
        (status = 422, description = "Past a configured limit on topics or fields", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database cannot be reached, or netpulse is shutting down", body = crate::model::ApiErrorBody),
    )
)]
pub async fn publish(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    caller: crate::server::auth::access::Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    crate::server::auth::guard::require(&state, &caller, &crate::server::auth::access::series_of(&topic, ""), crate::server::auth::access::Action::Publish)?;
    topics::check_publishable(&topic)?;
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(format!("the body must be at most {MAX_BODY} bytes")),
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    let data = json_object_text(&body)?;
    let check = || limits::check_publish(&state.config.limits, &state.config.topics, &state.hub, &state.store, &topic, &data);
    let adds_something = check().await?;
    // What adds a topic or fields is checked again and written alone, so limits hold under concurrent publishes.
    let _alone = if adds_something {
        let turn = state.publish_gate.lock().await;
        check().await?;
        Some(turn)
    } else {
        None
    };
    let event = state.writer.publish(&topic, "", data).await.map_err(|err| ApiError::Unavailable(err.to_string()))?;
    Ok((StatusCode::ACCEPTED, Json(Published { id: event.id, topic })).into_response())
}

/// The body as it was sent, once it is known to be one JSON object. A raw CR
/// can only be whitespace in valid JSON, and SSE cannot carry one, so it goes.
fn json_object_text(body: &[u8]) -> Result<String, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body must be UTF-8 JSON"))?;
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(if text.contains('\r') { text.replace('\r', "") } else { text.to_owned() }),
        Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
        Err(err) => Err(ApiError::bad_request(format!("the body is not valid JSON: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_objects_pass_and_pass_verbatim() {
        assert_eq!(json_object_text(br#"{"b":1, "a":[2]}"#).unwrap(), r#"{"b":1, "a":[2]}"#);
        assert_eq!(json_object_text(b"{\r\n\"a\":1}").unwrap(), "{\n\"a\":1}");
        for bad in [&b"[1,2]"[..], b"42", b"{", b"\xff"] {
            assert!(json_object_text(bad).is_err());
        }
    }
}
