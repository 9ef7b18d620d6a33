//! The audit log: who did what (sign-ins, failed sign-ins, user, token, rule
//! and silence changes, setup), kept in the store and listed to admins at `/api/audit`.

use axum::{
    extract::{Query, State},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::{
    auth::{access::Caller, session, users::admin_only},
    http::error::ApiError,
    store::{Store, StoreError},
    AppState,
};

/// One audit log entry.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub address: String,
}

impl Store {
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_log (at_ms, actor, action, detail, address) VALUES ($1, $2, $3, $4, $5)")
            .bind(entry.at_ms)
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.detail)
            .bind(&entry.address)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(i64, String, String, String, String)> =
            sqlx::query_as("SELECT at_ms, actor, action, detail, address FROM audit_log ORDER BY id DESC LIMIT $1").bind(limit).fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(|(at_ms, actor, action, detail, address)| AuditEntry { at_ms, actor, action, detail, address }).collect())
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Newest entries to return, 1 to 1000 (100 by default).
    limit: Option<i64>,
}

/// Sign-ins, failed sign-ins, user and token changes and setup, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "admin", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, description = "The entries", body = Vec<AuditEntry>), (status = 400, description = "A bad limit", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    admin_only(&caller)?;
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be 1 to 1000, got {limit}")));
    }
    Ok(Json(state.store.audit_log(limit).await.map_err(|_| session::store_down())?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}
