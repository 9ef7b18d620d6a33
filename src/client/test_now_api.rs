//! `POST /api/speed/test-now`, as the dashboard's "Test now" asks it.

use crate::model::{test_now::TestNowAnswer, ApiErrorBody};

/// Asks for a test of every target on every node; what to tell the person.
pub async fn ask() -> String {
    let sent = match gloo_net::http::Request::post("/api/speed/test-now").header("content-type", "application/json").body("{}") {
        Ok(request) => request.send().await,
        Err(error) => return format!("Cannot test now: {error}"),
    };
    match sent {
        Ok(response) if response.ok() => response.json::<TestNowAnswer>().await.map(|answer| answer.summary()).unwrap_or_else(|error| error.to_string()),
        Ok(response) => match response.json::<ApiErrorBody>().await {
            Ok(body) => format!("Cannot test now: {}", body.error),
            Err(_) => format!("Cannot test now: the server answered {}", response.status()),
        },
        Err(error) => format!("Cannot test now: {error}"),
    }
}
