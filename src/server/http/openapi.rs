//! The OpenAPI 3.1 document at `/api/openapi.json`: each route's operations as
//! its handler declares them (utoipa), joined from the same routers that serve
//! them, so a route cannot be served without being documented.

use std::sync::OnceLock;

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use utoipa::{
    openapi::{
        path::{HttpMethod, Operation, OperationBuilder, PathItem},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, OpenApi as Document, ResponseBuilder,
    },
    OpenApi, PartialSchema,
};

use crate::{
    model::{ApiErrorBody, HistoryStats},
    server::speed::routes::ALIASES,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "netpulse",
        description = "A self-hosted, real-time network monitor: speed tests, endpoint monitors, a resumable event stream, history and alerts. \
                       Errors are JSON `{\"error\": \"…\"}` with a 4xx or 5xx status."
    ),
    tags(
        (name = "dashboard", description = "The snapshot a page renders from"),
        (name = "stream", description = "Server-Sent Events, custom topics and the stream's state"),
        (name = "history", description = "Stored series with rollups"),
        (name = "monitors", description = "Push (heartbeat) monitors"),
        (name = "alerts", description = "Rule states, incidents, deliveries, silences and channel tests"),
        (name = "speedtest", description = "Speed-test target endpoints, LibreSpeed and Cloudflare compatible"),
        (name = "metrics", description = "Prometheus"),
        (name = "operations", description = "Liveness and readiness, for a load balancer"),
        (name = "pages", description = "Server-rendered HTML pages and their forms"),
        (name = "agents", description = "Agent nodes: join tokens, enrolment, result batches and the node list"),
        (name = "meta", description = "This document"),
    ),
    components(schemas(ApiErrorBody, HistoryStats)),
    modifiers(&BearerToken)
)]
struct Base;

/// `Authorization: Bearer <publish_token>`, which publishing and alert actions ask for.
struct BearerToken;

impl utoipa::Modify for BearerToken {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The document's starting point: its title, tags and shared parts.
pub fn base() -> Document {
    let mut doc = Base::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// What the routers gathered, finished: the speed-test aliases and the dashboard.
pub fn finish(mut doc: Document) -> Document {
    for (path, alias) in ALIASES {
        let Some(item) = doc.paths.paths.get(&format!("/speedtest{path}")).cloned() else { continue };
        let mut item = item;
        let name = alias.trim_start_matches('/').replace(['.', '_'], "");
        for operation in operations(&mut item) {
            operation.operation_id = operation.operation_id.as_ref().map(|id| format!("{id}_{name}"));
        }
        doc.paths.paths.insert(format!("/speedtest{alias}"), item);
    }
    let html = |description: &str| {
        ResponseBuilder::new().description(description).content("text/html; charset=utf-8", ContentBuilder::new().schema(Some(String::schema())).build())
    };
    let dashboard = OperationBuilder::new()
        .operation_id(Some("dashboard"))
        .tag("pages")
        .summary(Some("The dashboard, rendered on the server and hydrated in the browser"))
        .response("200", html("The page"));
    doc.paths.paths.insert("/".to_owned(), PathItem::new(HttpMethod::Get, dashboard));
    for item in doc.paths.paths.values_mut() {
        // One handler that takes two methods gives two operations of one name: the second gets its method.
        let mut seen = Vec::new();
        for (method, operation) in operations_by_method(item) {
            if let Some(id) = operation.operation_id.clone() {
                if seen.contains(&id) {
                    operation.operation_id = Some(format!("{id}_{method}"));
                }
                seen.push(id);
            }
        }
    }
    doc
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    operations_by_method(item).map(|(_, operation)| operation)
}

fn operations_by_method(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("post", &mut item.post),
        ("put", &mut item.put),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation.as_mut()?)))
}

/// The finished document as JSON, made once.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let (_, doc) = super::api_routes().split_for_parts();
        finish(doc).to_json().expect("an OpenAPI document always serialises")
    })
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document_json()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_lists_every_route_with_its_methods() {
        let doc: serde_json::Value = serde_json::from_str(document_json()).unwrap();
        if std::env::var_os("NETPULSE_PRINT_OPENAPI").is_some() {
            println!("{}", serde_json::to_string_pretty(&doc).unwrap());
        }
        assert_eq!(doc["openapi"], "3.1.0");
        let expected: &[(&str, &[&str])] = &[
            ("/", &["get"]),
            ("/api/snapshot", &["get"]),
            ("/api/status", &["get"]),
            ("/healthz", &["get"]),
            ("/readyz", &["get"]),
            ("/api/events", &["get"]),
            ("/api/history", &["get"]),
            ("/api/publish/{topic}", &["post"]),
            ("/api/push/{secret}", &["get", "post"]),
            ("/api/alerts", &["get"]),
            ("/api/alerts/history", &["get"]),
            ("/api/alerts/deliveries", &["get"]),
            ("/api/alerts/preview", &["post"]),
            ("/api/alerts/silences", &["get", "post"]),
            ("/api/alerts/silences/{id}", &["delete"]),
            ("/api/notify/{channel}/test", &["post"]),
            ("/api/openapi.json", &["get"]),
            ("/metrics", &["get"]),
            ("/alerts", &["get"]),
            ("/alerts/silences", &["post"]),
            ("/alerts/silences/end", &["post"]),
            ("/alerts/test", &["post"]),
            ("/api/auth/login", &["post"]),
            ("/api/auth/logout", &["post"]),
            ("/api/auth/setup", &["post"]),
            ("/api/auth/session", &["get"]),
            ("/api/users", &["get", "post"]),
            ("/api/users/{name}", &["patch", "delete"]),
            ("/api/tokens", &["get", "post"]),
            ("/api/tokens/{name}", &["delete"]),
            ("/api/access/rules", &["get", "post"]),
            ("/api/access/rules/{id}", &["delete"]),
            ("/api/audit", &["get"]),
            ("/api/sessions", &["get"]),
            ("/api/sessions/{id}", &["delete"]),
            ("/api/auth/totp", &["post"]),
            ("/api/auth/totp/confirm", &["post"]),
            ("/api/auth/totp/off", &["post"]),
            ("/api/users/{name}/totp", &["delete"]),
            ("/account", &["get"]),
            ("/admin", &["get", "post"]),
            ("/account/totp/start", &["post"]),
            ("/account/totp/confirm", &["post"]),
            ("/account/totp/off", &["post"]),
            ("/login", &["get", "post"]),
            ("/login/code", &["post"]),
            ("/login/oidc", &["get"]),
            ("/login/oidc/callback", &["get"]),
            ("/setup", &["get", "post"]),
            ("/logout", &["post"]),
            ("/status", &["get"]),
            ("/api/agents", &["get"]),
            ("/api/agents/join-tokens", &["post"]),
            ("/api/agents/{name}", &["delete"]),
            ("/api/agent/join", &["post"]),
            ("/api/agent/results", &["post"]),
            ("/api/agent/config", &["get"]),
            ("/api/agent/stream", &["get"]),
            ("/api/speed/test-now", &["post"]),
            ("/status/{name}", &["get"]),
            ("/status/{name}/events", &["get"]),
            ("/speedtest/garbage", &["get"]),
            ("/speedtest/garbage.php", &["get"]),
            ("/speedtest/empty", &["get", "post", "options"]),
            ("/speedtest/empty.php", &["get", "post", "options"]),
            ("/speedtest/__up", &["get", "post", "options"]),
            ("/speedtest/__down", &["get"]),
            ("/speedtest/getIP", &["get"]),
            ("/speedtest/getIP.php", &["get"]),
        ];
        let paths = doc["paths"].as_object().unwrap();
        let listed: Vec<&String> = paths.keys().collect();
        assert_eq!(listed.len(), expected.len(), "{listed:?}");
        let mut ids = std::collections::HashSet::new();
        for (path, methods) in expected {
            let item = paths.get(*path).unwrap_or_else(|| panic!("{path} is documented"));
            let mut got: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
            got.sort();
            let mut want = methods.to_vec();
            want.sort();
            assert_eq!(got, want, "{path}");
            for method in *methods {
                let id = item[method]["operationId"].as_str().unwrap_or_else(|| panic!("{path} {method} has an operationId"));
                assert!(ids.insert(id.to_owned()), "operation ids are unique: {id}");
            }
        }
        let errors = &paths["/api/alerts/silences"]["post"]["responses"];
        assert_eq!(errors["401"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ApiErrorBody");
        assert!(paths.values().all(|item| item.as_object().unwrap().values().all(|op| op["responses"].get("default").is_none())), "each status is declared");
    }
}
