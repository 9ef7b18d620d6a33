//! Access rules that admins add and remove while netpulse runs: kept in the
//! database beside the config's `[[access]]` table, joined with it into the one
//! rule table every decision reads, and listed and changed through
//! `/api/access/rules` and the admin page.

use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::server::{
    auth::{
        access::{AccessRule, AccessRuleConfig, Caller, Grant},
        accounts::{is_conflict, AddError},
        routes::{audit, json_body},
        session,
        users::admin_only,
        Revoked,
    },
    clock::now_ms,
    http::{client_address::ClientAddress, error::ApiError},
    store::{Store, StoreError},
    AppState,
};

/// A rule as the list shows it; those from the config have no id and cannot be removed here.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RuleEntry {
    pub id: Option<i64>,
    pub who: String,
    pub series: String,
    /// `read`, `publish` or `deny`.
    pub allow: String,
    /// `config` (the `[[access]]` table) or `admin` (added here).
    pub source: &'static str,
    pub created_by: Option<String>,
    pub created_ms: Option<i64>,
}

/// A rule to add.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewRule {
    /// `anonymous`, `role:<admin|editor|viewer>`, `user:<name>` or `token:<name>`.
    pub who: String,
    /// A series pattern: `speed`, `speed:<target>`, `probe:<monitor>`, `topic:<name>`, `alert`, with `*`.
    pub series: String,
    /// `read`, `publish` or `deny`.
    pub allow: String,
}

type StoredRow = (i64, String, String, String, String, i64);

impl Store {
    async fn stored_rule_rows(&self) -> Result<Vec<StoredRow>, StoreError> {
        Ok(sqlx::query_as("SELECT id, who, series, allow, created_by, created_ms FROM access_rule ORDER BY id").fetch_all(self.pool()).await?)
    }

    async fn add_rule(&self, rule: &NewRule, created_by: &str, now_ms: i64) -> Result<i64, AddError> {
        let insert = sqlx::query_scalar("INSERT INTO access_rule (who, series, allow, created_by, created_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(&rule.who)
            .bind(&rule.series)
            .bind(&rule.allow)
            .bind(created_by)
            .bind(now_ms)
            .fetch_one(self.pool())
            .await;
        match insert {
            Ok(id) => Ok(id),
            Err(error) if is_conflict(&error) => Err(AddError::Taken),
            Err(error) => Err(AddError::Store(error.into())),
        }
    }

    /// The removed rule as it read, for the audit log; `None` when there is none.
    async fn remove_rule(&self, id: i64) -> Result<Option<(String, String, String)>, StoreError> {
        Ok(sqlx::query_as("DELETE FROM access_rule WHERE id = $1 RETURNING who, series, allow").bind(id).fetch_optional(self.pool()).await?)
    }
}

/// Parses a rule as typed; the error says which part is wrong.
fn parse_rule(who: &str, series: &str, allow: &str) -> Result<AccessRule, String> {
    let grant: Grant = allow.trim().parse().map_err(|reason| format!("allow: {reason}"))?;
    let config = AccessRuleConfig { who: who.trim().to_owned(), series: series.trim().to_owned(), allow: grant };
    config.parse()
}

/// Reads the stored rules and makes them part of every decision from now on.
/// A stored rule that no longer parses stops start-up rather than be skipped:
/// skipping a `deny` would open what it closed.
pub async fn load(state: &AppState) -> Result<(), StoreError> {
    let rows = state.store.stored_rule_rows().await?;
    let rules = rows
        .iter()
        .map(|(id, who, series, allow, _, _)| parse_rule(who, series, allow).map_err(|reason| StoreError::Corrupt(format!("access rule {id}: {reason}"))))
        .collect::<Result<Vec<_>, _>>()?;
    state.auth.set_stored_rules(rules);
    // Open visitor streams would carry nothing but heartbeats: they end, and their reconnect gets 401.
    if !state.auth.access().anonymous_reads_anything() {
        state.auth.revoke(Revoked::Visitors);
    }
    Ok(())
}

/// Every rule, the config's first.
pub async fn list(state: &AppState) -> Result<Vec<RuleEntry>, ApiError> {
    let configured = state.config.access.iter().map(|rule| RuleEntry {
        id: None,
        who: rule.who.clone(),
        series: rule.series.clone(),
        allow: rule.allow.as_str().to_owned(),
        source: "config",
        created_by: None,
        created_ms: None,
    });
    let stored = state.store.stored_rule_rows().await.map_err(|_| session::store_down())?;
    let stored = stored.into_iter().map(|(id, who, series, allow, created_by, created_ms)| RuleEntry {
        id: Some(id),
        who,
        series,
        allow,
        source: "admin",
        created_by: Some(created_by),
        created_ms: Some(created_ms),
    });
    Ok(configured.chain(stored).collect())
}

/// An admin adds a rule; it applies at once, to open streams too. The API and the admin page both do it here.
pub async fn add_as(state: &AppState, caller: &Caller, client: ClientAddress, who: &str, series: &str, allow: &str) -> Result<RuleEntry, ApiError> {
    admin_only(caller)?;
    let parsed = parse_rule(who, series, allow).map_err(ApiError::BadRequest)?;
    let new = NewRule { who: who.trim().to_owned(), series: parsed.series.as_str().to_owned(), allow: parsed.grant.as_str().to_owned() };
    let now = now_ms();
    let _changing = state.auth.rules_changing.lock().await;
    let id = state.store.add_rule(&new, &caller.label(), now).await.map_err(|error| match error {
        AddError::Taken => ApiError::Conflict(format!("this rule is there already: {} {} {}", new.who, new.series, new.allow)),
        AddError::Store(_) => session::store_down(),
    })?;
    load(state).await.map_err(|_| session::store_down())?;
    audit(state, &caller.label(), "rule-added", &format!("{} {} {}", new.who, new.allow, new.series), client).await;
    Ok(RuleEntry { id: Some(id), who: new.who, series: new.series, allow: new.allow, source: "admin", created_by: Some(caller.label()), created_ms: Some(now) })
}

/// An admin removes a rule added here; the config's stay until the config changes.
pub async fn remove_as(state: &AppState, caller: &Caller, client: ClientAddress, id: &str) -> Result<(), ApiError> {
    admin_only(caller)?;
    let id: i64 = id.trim().parse().map_err(|_| ApiError::bad_request(format!("a rule id is a whole number, got {id:?}")))?;
    let _changing = state.auth.rules_changing.lock().await;
    let Some((who, series, allow)) = state.store.remove_rule(id).await.map_err(|_| session::store_down())? else {
        return Err(ApiError::NotFound(format!("no rule added here has id {id}; rules from the config file change only there")));
    };
    load(state).await.map_err(|_| session::store_down())?;
    audit(state, &caller.label(), "rule-removed", &format!("{who} {allow} {series}"), client).await;
    Ok(())
}

/// Every access rule: the config's, then those admins added.
#[utoipa::path(get, path = "/api/access/rules", tag = "admin", security(("bearer" = [])),
    responses((status = 200, description = "The rules", body = Vec<RuleEntry>), (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody),
        (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody), (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn list_rules(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<RuleEntry>>, ApiError> {
    admin_only(&caller)?;
    Ok(Json(list(&state).await?))
}

/// Adds a rule; pages, routes and open streams follow it at once.
#[utoipa::path(post, path = "/api/access/rules", tag = "admin", request_body = NewRule, security(("bearer" = [])),
    responses((status = 201, description = "Added", body = RuleEntry), (status = 400, description = "A bad who, series or allow", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody),
        (status = 409, description = "The same rule is there already", body = crate::model::ApiErrorBody), (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn add_rule(
    State(state): State<AppState>,
    client: ClientAddress,
    caller: Caller,
    body: Result<Json<NewRule>, JsonRejection>,
) -> Result<(StatusCode, Json<RuleEntry>), ApiError> {
    admin_only(&caller)?;
    let new = json_body(body)?;
    Ok((StatusCode::CREATED, Json(add_as(&state, &caller, client, &new.who, &new.series, &new.allow).await?)))
}

/// Removes a rule an admin added.
#[utoipa::path(delete, path = "/api/access/rules/{id}", tag = "admin", params(("id" = String, Path, description = "The rule's id")), security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 400, description = "The id is not a number", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in", body = crate::model::ApiErrorBody), (status = 403, description = "Not an admin", body = crate::model::ApiErrorBody),
        (status = 404, description = "No such rule, or one from the config", body = crate::model::ApiErrorBody),
        (status = 503, description = "The database is unavailable", body = crate::model::ApiErrorBody)))]
async fn remove_rule(State(state): State<AppState>, client: ClientAddress, caller: Caller, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    remove_as(&state, &caller, client, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_rules, add_rule)).routes(routes!(remove_rule))
}

#[cfg(test)]
mod tests {
    use super::parse_rule;

    #[test]
    fn typed_rules_say_which_part_is_wrong() {
        assert!(parse_rule(" role:viewer ", "probe:internal-*", "deny").is_ok());
        assert_eq!(parse_rule("anonymous", "speed", "write").unwrap_err(), "allow: \"write\" is not read, publish or deny");
        assert!(parse_rule("everyone", "speed", "read").unwrap_err().contains("is not anonymous, role:"));
        assert!(parse_rule("anonymous", "", "read").unwrap_err().contains("is not a series pattern"));
    }
}
