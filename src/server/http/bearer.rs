//! The operator's bearer token (`publish_token`), which gates publishing and
//! every write action until accounts arrive.

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

use crate::server::http::error::ApiError;

pub fn authorise(configured: Option<&str>, headers: &HeaderMap) -> Result<(), ApiError> {
    let presented = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(|value| value.strip_prefix("Bearer "));
    check(configured, presented, "send the publish token as 'Authorization: Bearer <token>'")
}

/// The one access decision behind every token-gated route, whether the token
/// came in a header or in a form; `missing` says how to send it.
pub fn check(configured: Option<&str>, presented: Option<&str>, missing: &str) -> Result<(), ApiError> {
    let Some(expected) = configured else {
        return Err(ApiError::Forbidden("publishing and alert actions are off: set publish_token in the config or --publish-token".to_owned()));
    };
    let presented = presented.map(str::trim).filter(|token| !token.is_empty()).ok_or_else(|| ApiError::Unauthorized(missing.to_owned()))?;
    // Compared in constant time so the token cannot be guessed byte by byte.
    if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("the publish token is wrong".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
        headers
    }

    #[test]
    fn tokens_are_required_and_checked() {
        assert!(matches!(authorise(None, &bearer("x")), Err(ApiError::Forbidden(_))));
        assert!(matches!(authorise(Some("s3cret"), &HeaderMap::new()), Err(ApiError::Unauthorized(_))));
        assert!(matches!(authorise(Some("s3cret"), &bearer("s3cre")), Err(ApiError::Unauthorized(_))));
        assert!(authorise(Some("s3cret"), &bearer("s3cret")).is_ok());
    }
}
