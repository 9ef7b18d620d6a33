//! What every answer carries for the browser's protection (a Content-Security-
//! Policy, no sniffing, no framing, no referrer, HSTS behind TLS), and the
//! refusal of state-changing requests sent from another site.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::Response,
};

use crate::server::{auth::secrets::script_hash, http::error::ApiError, AppState};

/// The inline scripts pages carry, allowed by their hashes.
pub fn inline_script_hashes() -> String {
    crate::inline_scripts::ALL.iter().map(|script| script_hash(script)).collect::<Vec<_>>().join(" ")
}

/// The policy of a page: its own files, the WASM, the hashed inline scripts and,
/// for the dashboard, the hydration script with this response's `nonce`.
pub fn page_policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {}{nonce}; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        inline_script_hashes()
    )
}

/// Whether a request is a write sent by a page of another site (or another
/// port: browsers call that same-site). Browsers say where a request comes
/// from in `Sec-Fetch-Site`, older ones in `Origin`; scripts and `curl` send
/// neither and carry their token instead of a cookie.
pub fn is_cross_site_write(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    origin.split_once("://").map(|(_, authority)| authority) != Some(host)
}

pub fn refuse_cross_site(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if is_cross_site_write(method, headers) {
        Err(ApiError::Forbidden("cross-site request refused: change things from netpulse's own pages, or send a bearer token".to_owned()))
    } else {
        Ok(())
    }
}

/// Adds the protective headers, leaving a page's own policy (with its nonce) in place.
pub async fn protective_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(policy) = HeaderValue::from_str(&page_policy(None)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if state.auth.config.behind_tls {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (header::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn writes_from_other_sites_are_told_apart() {
        let post = Method::POST;
        assert!(!is_cross_site_write(&Method::GET, &headers(&[("sec-fetch-site", "cross-site")])), "reads are never refused");
        assert!(!is_cross_site_write(&post, &headers(&[("sec-fetch-site", "same-origin")])));
        assert!(is_cross_site_write(&post, &headers(&[("sec-fetch-site", "same-site")])), "another port of localhost");
        assert!(is_cross_site_write(&post, &headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_cross_site_write(&post, &headers(&[])), "curl with a token");
        assert!(!is_cross_site_write(&post, &headers(&[("origin", "http://np.lan:3000"), ("host", "np.lan:3000")])));
        assert!(is_cross_site_write(&post, &headers(&[("origin", "http://evil.example"), ("host", "np.lan:3000")])));
        assert!(is_cross_site_write(&post, &headers(&[("origin", "null"), ("host", "np.lan:3000")])));
    }

    #[test]
    fn the_policy_allows_only_our_scripts() {
        let policy = page_policy(Some("abc"));
        assert!(policy.contains("'nonce-abc'") && policy.contains("'wasm-unsafe-eval'") && policy.contains("frame-ancestors 'none'"));
        assert!(!policy.contains("unsafe-inline"));
        assert_eq!(policy.matches("'sha256-").count(), crate::inline_scripts::ALL.len());
    }
}
