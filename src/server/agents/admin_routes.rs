//! What admins do with agents: make a single-use join token
//! (`POST /api/agents/join-tokens`), list the nodes with their health
//! (`GET /api/agents`) and revoke one (`DELETE /api/agents/{name}`).

use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::{node::NodeReport, NODE_TOPIC},
    server::{
        agents::{clock_offset::SKEW_WARNING_MS, mesh::reload_nodes, nodes::NodeRow, protocol::JOIN_TOKEN_PREFIX},
        auth::{
            access::Caller,
            routes::{audit, json_body},
            secrets,
            session::store_down,
            users::admin_only,
        },
        clock::now_ms,
        http::{client_address::ClientAddress, error::ApiError},
        AppState,
    },
};

/// How long a new join token works unless the admin says.
const DEFAULT_TOKEN_HOURS: f64 = 24.0;
const MOST_TOKEN_HOURS: f64 = 720.0;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewJoinToken {
    /// How long the token works, in hours: above 0, at most 720; 24 if left out.
    #[serde(default)]
    pub hours: Option<f64>,
}

/// A join token, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JoinToken {
    pub token: String,
    pub expires_ms: i64,
}

/// A node as the node list shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NodeStatus {
    pub name: String,
    pub joined_ms: i64,
    pub revoked: bool,
    /// Sent a batch within `agents.offline_after` (90 s), and not revoked.
    pub online: bool,
    pub last_seen_ms: Option<i64>,
    /// The server's clock minus the node's.
    pub clock_offset_ms: Option<i64>,
    /// The offset is over 2 s: the node's clock needs fixing (its samples are corrected meanwhile).
    pub clock_skewed: bool,
    /// Results waiting in the node's outbox, and dropped there for want of room.
    pub backlog: i64,
    pub dropped: i64,
    /// Every result up to this number is stored.
    pub acknowledged: i64,
    pub version: String,
    /// Where it serves `/speedtest` for `node:NAME` targets, as it said when it last opened its stream.
    pub speedtest_url: Option<String>,
}

impl NodeStatus {
    /// What the `node` topic tells of it.
    pub fn report(self) -> NodeReport {
        NodeReport {
            node: self.name,
            online: self.online,
            last_seen_ms: self.last_seen_ms,
            clock_offset_ms: self.clock_offset_ms,
            clock_skewed: self.clock_skewed,
            backlog: self.backlog,
            dropped: self.dropped,
            version: self.version,
        }
    }
}

/// A node's status at `now_ms`, offline after `offline_after_ms` of silence.
pub fn node_status(row: NodeRow, now_ms: i64, offline_after_ms: i64) -> NodeStatus {
    let revoked = row.revoked_ms.is_some();
    NodeStatus {
        online: !revoked && row.last_seen_ms.is_some_and(|seen| now_ms - seen <= offline_after_ms),
        clock_skewed: row.clock_offset_ms.is_some_and(|offset| offset.abs() > SKEW_WARNING_MS),
        name: row.name,
        joined_ms: row.joined_ms,
        revoked,
        last_seen_ms: row.last_seen_ms,
        clock_offset_ms: row.clock_offset_ms,
        backlog: row.backlog,
        dropped: row.dropped,
        acknowledged: row.acknowledged,
        version: row.version,
        speedtest_url: row.speedtest_url,
    }
}

/// Makes a single-use join token for a new agent: `netpulse agent join URL TOKEN`.
#[utoipa::path(post, path = "/api/agents/join-tokens", tag = "agents", request_body = NewJoinToken, security(("bearer" = [])),
    responses((status = 201, description = "The token, shown this once", body = JoinToken), (status = 400, description = "A bad `hours`", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody),
        (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn create_join_token(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Caller,
    body: Result<Json<NewJoinToken>, JsonRejection>,
) -> Result<(StatusCode, Json<JoinToken>), ApiError> {
    let hours = json_body(body)?.hours;
    Ok((StatusCode::CREATED, Json(make_join_token_as(&state, &caller, client, hours).await?)))
}

/// A single-use join token made by `caller`, an admin, working for `hours` (24 if none); the API's and the admin page's.
pub async fn make_join_token_as(state: &AppState, caller: &Caller, client: ClientAddress, hours: Option<f64>) -> Result<JoinToken, ApiError> {
    admin_only(caller)?;
    let hours = hours.unwrap_or(DEFAULT_TOKEN_HOURS);
    if !(hours > 0.0 && hours <= MOST_TOKEN_HOURS) {
        return Err(ApiError::bad_request(format!("hours: must be above 0 and at most {MOST_TOKEN_HOURS}, got {hours}")));
    }
    let token = format!("{JOIN_TOKEN_PREFIX}{}", secrets::random_secret());
    let now = now_ms();
    let expires_ms = now + (hours * 3_600_000.0) as i64;
    state.store.create_join_token(&secrets::digest(&token), &caller.label(), now, expires_ms).await.map_err(|_| store_down())?;
    audit(state, &caller.label(), "agent-token-created", &format!("expires {expires_ms}"), client).await;
    Ok(JoinToken { token, expires_ms })
}

/// Every node's status now, by name.
pub async fn node_statuses(state: &AppState) -> Result<Vec<NodeStatus>, ApiError> {
    let now = now_ms();
    let rows = state.store.nodes().await.map_err(|_| store_down())?;
    Ok(rows.into_iter().map(|row| node_status(row, now, state.config.agents.offline_after_ms())).collect())
}

/// Every enrolled node: online, last seen, clock offset, outbox backlog and version.
#[utoipa::path(get, path = "/api/agents", tag = "agents", security(("bearer" = [])),
    responses((status = 200, description = "The nodes, by name", body = Vec<NodeStatus>), (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody),
        (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn list_nodes(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<NodeStatus>>, ApiError> {
    admin_only(&caller)?;
    Ok(Json(node_statuses(&state).await?))
}

/// Revokes a node: its credential gets 401 from now on; its history stays.
#[utoipa::path(delete, path = "/api/agents/{name}", tag = "agents", params(("name" = String, Path, description = "The node's name")), security(("bearer" = [])),
    responses((status = 204, description = "Revoked"), (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody),
        (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody), (status = 404, description = "No enrolled node has that name", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn revoke_node(State(state): State<AppState>, client: ClientAddress, caller: Caller, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    revoke_node_as(&state, &caller, client, &name).await.map(|()| StatusCode::NO_CONTENT)
}

/// Revokes node `name` for `caller`, an admin; the API's and the admin page's.
pub async fn revoke_node_as(state: &AppState, caller: &Caller, client: ClientAddress, name: &str) -> Result<(), ApiError> {
    admin_only(caller)?;
    let Some(id) = state.store.revoke_node(name, now_ms()).await.map_err(|_| store_down())? else {
        return Err(ApiError::NotFound(format!("no enrolled node is named {name:?}")));
    };
    state.agents.forget(id);
    state.agents.commands.send(name, super::commands::NodeCommand::Revoked);
    reload_nodes(state).await;
    // Its last word on the node topic, so open dashboards stop showing it online.
    if let Some(status) = node_statuses(state).await?.into_iter().find(|status| status.name == name) {
        let report = status.report();
        let _ = state.writer.publish(NODE_TOPIC, name, serde_json::to_string(&report).unwrap_or_default()).await;
    }
    audit(state, &caller.label(), "agent-revoked", name, client).await;
    Ok(())
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_join_token)).routes(routes!(list_nodes)).routes(routes!(revoke_node))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(last_seen_ms: Option<i64>, clock_offset_ms: Option<i64>, revoked_ms: Option<i64>) -> NodeRow {
        NodeRow {
            id: 1,
            name: "tokyo".into(),
            joined_ms: 0,
            revoked_ms,
            last_seen_ms,
            clock_offset_ms,
            version: "0.2.0".into(),
            backlog: 0,
            dropped: 0,
            acknowledged: 0,
            speedtest_url: None,
        }
    }

    #[test]
    fn a_node_is_online_while_it_reports_and_skewed_past_two_seconds() {
        let now = 1_000_000;
        assert!(node_status(row(Some(now - 30_000), Some(150), None), now, 90_000).online);
        assert!(!node_status(row(Some(now - 91_000), None, None), now, 90_000).online, "silent for over 90 s");
        assert!(!node_status(row(Some(now), None, Some(now)), now, 90_000).online, "revoked");
        assert!(!node_status(row(None, None, None), now, 90_000).online, "never reported");
        assert!(node_status(row(Some(now), Some(-2_001), None), now, 90_000).clock_skewed);
        assert!(!node_status(row(Some(now), Some(2_000), None), now, 90_000).clock_skewed);
    }
}
