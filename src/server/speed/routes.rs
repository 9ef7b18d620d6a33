//! `/speedtest/*`: the target endpoints another netpulse, a LibreSpeed client or a
//! Cloudflare-style client measures against.

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    extract::{FromRef, Query, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    routing::{get, MethodRouter},
    Json,
};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::{
    http::{client_address::ClientAddress, error::ApiError},
    speed::{
        budget::{OverBudget, ServeBudget, UploadMeter},
        payload,
    },
};

/// What the endpoints need: on a server part of its state, on an agent all of it.
#[derive(Clone)]
pub struct SpeedtestState {
    /// The random block download responses are cut from.
    pub payload: Bytes,
    pub serve_budget: Arc<ServeBudget>,
}

/// LibreSpeed's own cap for `ckSize`, in MiB.
pub const MAX_CHUNKS: u64 = 1024;
/// Largest `__down?bytes=` one request may ask for.
pub const MAX_DOWN_BYTES: u64 = 1 << 30;
/// Pieces handed to the socket; small enough to keep memory flat, large enough to be cheap.
const PIECE: usize = 256 * 1024;

/// Paths other clients know these endpoints by (LibreSpeed's `.php`, Cloudflare's
/// `__up`), each answered as its original; the API document lists them alike.
pub const ALIASES: &[(&str, &str)] = &[("/garbage", "/garbage.php"), ("/empty", "/empty.php"), ("/empty", "/__up"), ("/getIP", "/getIP.php")];

pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    SpeedtestState: FromRef<S>,
{
    let documented = OpenApiRouter::new()
        .routes(routes!(garbage))
        .routes(routes!(empty, preflight))
        .routes(routes!(client_ip))
        .routes(routes!(down))
        .fallback(unknown_speedtest_route);
    ALIASES.iter().fold(documented, |router, (path, alias)| router.route(alias, answered_as(path)))
}

/// The handlers of a documented path, for its aliases.
fn answered_as<S>(path: &str) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    SpeedtestState: FromRef<S>,
{
    match path {
        "/garbage" => get(garbage),
        "/getIP" => get(client_ip),
        _ => get(empty).post(empty).options(preflight),
    }
}

async fn unknown_speedtest_route() -> ApiError {
    ApiError::NotFound("no such speed-test endpoint; see the README for the list".to_owned())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TargetQuery {
    /// MiB of data for `garbage` (default 4, at most 1024).
    #[serde(rename = "ckSize")]
    ck_size: Option<String>,
    /// Bytes of data for `__down` (at most 1 GiB).
    bytes: Option<String>,
    /// Present: answer with CORS headers, for a browser client on another origin.
    cors: Option<String>,
}

fn parse_count(name: &str, raw: Option<&str>, default: u64, max: u64) -> Result<u64, ApiError> {
    let Some(raw) = raw else { return Ok(default) };
    let value: u64 = raw.trim().parse().map_err(|_| ApiError::bad_request(format!("{name} must be a whole number from 0 to {max}, got {raw:?}")))?;
    if value > max {
        return Err(ApiError::bad_request(format!("{name} must be at most {max}, got {value}")));
    }
    Ok(value)
}

/// Headers that keep proxies and browsers from caching or compressing test data.
fn no_store(headers: &mut HeaderMap, cors: bool) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("identity"));
    if cors {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Encoding, Content-Type"));
    }
}

/// The 429 for a client past its hourly budget.
fn over_budget(refusal: OverBudget, cors: bool) -> Response {
    let error = match refusal {
        OverBudget::Wait(wait) => ApiError::TooManyRequests {
            message: "this address has used its speed-test budget for now; try again later".to_owned(),
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        },
        // Waiting never helps this one.
        OverBudget::TooLarge { budget_mb } => {
            ApiError::bad_request(format!("one request may move at most this server's hourly budget of {budget_mb} MB per address"))
        }
    };
    let mut response = error.into_response();
    no_store(response.headers_mut(), cors);
    response
}

/// `total` random bytes, charged to the client's budget piece by piece as the
/// socket takes them: a client that aborts (LibreSpeed's streams do, and so
/// does an early-stopped test) pays for what it got, not for what it asked.
/// Past the budget mid-way the body ends with an error, so the client sees a
/// cut-off transfer, and its next request the 429.
fn random_body(state: &SpeedtestState, client: ClientAddress, total: u64, cors: bool) -> Response {
    if !state.serve_budget.fits(total) {
        return over_budget(OverBudget::TooLarge { budget_mb: state.serve_budget.budget_mb() }, cors);
    }
    let first = total.min(PIECE as u64);
    if let Err(refusal) = state.serve_budget.take(client.0, first) {
        return over_budget(refusal, cors);
    }
    let budget = state.serve_budget.clone();
    let pieces = payload::slices(&state.payload, total, PIECE).enumerate().map(move |(n, piece)| {
        if n > 0 && budget.take(client.0, piece.len() as u64).is_err() {
            return Err(std::io::Error::other("the client's speed-test budget ran out"));
        }
        Ok(piece)
    });
    let mut response = Body::from_stream(futures_util::stream::iter(pieces)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    no_store(headers, cors);
    response
}

/// `ckSize` MiB of random data (default 4, at most 1024).
#[utoipa::path(get, path = "/garbage", tag = "speedtest", params(TargetQuery), responses(
    (status = 200, description = "Random bytes, never compressed", content_type = "application/octet-stream", body = Vec<u8>),
    (status = 400, description = "ckSize is not a whole number up to 1024, or asks for more than a whole hour's budget", body = crate::model::ApiErrorBody),
    (status = 429, description = "The client's hourly byte budget is used up; a transfer that runs past it mid-way is cut off", body = crate::model::ApiErrorBody),
))]
async fn garbage(
    State(state): State<SpeedtestState>,
    client: ClientAddress,
    query: Result<Query<TargetQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let chunks = parse_count("ckSize", query.ck_size.as_deref(), 4, MAX_CHUNKS)?;
    Ok(random_body(&state, client, chunks << 20, query.cors.is_some()))
}

/// Exactly `bytes` bytes of random data.
#[utoipa::path(get, path = "/__down", tag = "speedtest", params(TargetQuery), responses(
    (status = 200, description = "Random bytes, never compressed", content_type = "application/octet-stream", body = Vec<u8>),
    (status = 400, description = "bytes is not a whole number up to 1 GiB, or asks for more than a whole hour's budget", body = crate::model::ApiErrorBody),
    (status = 429, description = "The client's hourly byte budget is used up", body = crate::model::ApiErrorBody),
))]
async fn down(
    State(state): State<SpeedtestState>,
    client: ClientAddress,
    query: Result<Query<TargetQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let bytes = parse_count("bytes", query.bytes.as_deref(), 0, MAX_DOWN_BYTES)?;
    Ok(random_body(&state, client, bytes, query.cors.is_some()))
}

/// Reads and discards the request body, then answers with no body: both the
/// upload sink and the ping endpoint.
#[utoipa::path(method(get, post), path = "/empty", tag = "speedtest", params(("cors" = Option<String>, Query, description = "Present: answer with CORS headers")), request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "Anything; read and discarded"), responses((status = 200, description = "Empty"), (status = 429, description = "The client's hourly byte budget is used up; the rest of the body was not read", body = crate::model::ApiErrorBody)))]
async fn empty(
    State(state): State<SpeedtestState>,
    client: ClientAddress,
    query: Result<Query<TargetQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Response {
    let cors = query.map(|Query(q)| q.cors.is_some()).unwrap_or(false);
    let mut meter = UploadMeter::new(&state.serve_budget, client.0);
    let mut chunks = body.into_data_stream();
    // A client that aborts mid-upload ends the stream with an error; either way we are done.
    while let Some(Ok(chunk)) = chunks.next().await {
        if let Err(refusal) = meter.received(chunk.len()) {
            // Not reading on: the connection closes rather than drain an unwanted upload.
            let mut response = over_budget(refusal, cors);
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    }
    if let Err(refusal) = meter.finish() {
        return over_budget(refusal, cors);
    }
    let mut response = ().into_response();
    no_store(response.headers_mut(), cors);
    response
}

/// CORS preflight for browser clients on another origin.
#[utoipa::path(options, path = "/empty", tag = "speedtest", responses((status = 200, description = "Empty, with CORS headers")))]
async fn preflight() -> Response {
    let mut response = ().into_response();
    no_store(response.headers_mut(), true);
    response
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct ClientIp {
    #[serde(rename = "processedString")]
    processed: String,
    #[serde(rename = "rawIspInfo")]
    raw_isp_info: String,
}

/// The caller's address, in the JSON shape LibreSpeed clients parse.
#[utoipa::path(get, path = "/getIP", tag = "speedtest", params(("cors" = Option<String>, Query, description = "Present: answer with CORS headers")), responses((status = 200, description = "The caller's address", body = ClientIp)))]
async fn client_ip(client: ClientAddress, query: Result<Query<TargetQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let cors = query.map(|Query(q)| q.cors.is_some()).unwrap_or(false);
    let mut response = Json(ClientIp { processed: client.0.to_string(), raw_isp_info: String::new() }).into_response();
    no_store(response.headers_mut(), cors);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse_with_defaults_and_caps() {
        assert_eq!(parse_count("ckSize", None, 4, 1024).unwrap(), 4);
        assert_eq!(parse_count("ckSize", Some("1024"), 4, 1024).unwrap(), 1024);
        assert!(parse_count("ckSize", Some("1025"), 4, 1024).unwrap_err().to_string().contains("at most 1024"));
        assert!(parse_count("ckSize", Some("-1"), 4, 1024).is_err());
        assert!(parse_count("ckSize", Some("lots"), 4, 1024).is_err());
    }
}
