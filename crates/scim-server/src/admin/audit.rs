//! The audit log on the admin API: every change made through it (tenants, their tokens,
//! OAuth clients and secrets, webhooks) is recorded after it succeeded, with the admin
//! token's prefix as the actor, by one middleware that knows the routes; `GET /audit` reads
//! the log, newest first. Secrets never enter a record: the target is a prefix or an id, the
//! detail only the request's non-secret keys.

use axum::Json;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scim_core::ports::{AuditEntry, AuditQuery};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::schema::{AuditList, AuditOut, ErrorOut};
use super::{AdminError, limit};
use crate::AppState;

/// Who is calling: set by the admin-token middleware.
#[derive(Debug, Clone)]
pub(crate) struct Actor(pub String);

/// The changes the admin API makes, by method and route.
const ACTIONS: &[(Method, &str, &str)] = &[
    (Method::POST, "/tenants", "tenant.create"),
    (Method::PATCH, "/tenants/{tenant}", "tenant.update"),
    (Method::DELETE, "/tenants/{tenant}", "tenant.delete"),
    (Method::POST, "/tenants/{tenant}/tokens", "token.issue"),
    (Method::DELETE, "/tenants/{tenant}/tokens/{prefix}", "token.revoke"),
    (Method::POST, "/tenants/{tenant}/clients", "client.create"),
    (Method::DELETE, "/tenants/{tenant}/clients/{client}", "client.delete"),
    (
        Method::POST,
        "/tenants/{tenant}/clients/{client}/secrets",
        "client.secret.add",
    ),
    (
        Method::DELETE,
        "/tenants/{tenant}/clients/{client}/secrets/{prefix}",
        "client.secret.revoke",
    ),
    (Method::POST, "/tenants/{tenant}/webhooks", "webhook.create"),
    (Method::DELETE, "/tenants/{tenant}/webhooks/{id}", "webhook.delete"),
];

/// Request keys a record may carry; anything else (a secret, a URL's credentials) stays out.
const DETAIL_KEYS: &[&str] = &["name", "expires_in", "rate_limit", "url", "description"];

/// The most response bytes read back to find a created object's id or prefix.
const MAX_ANSWER: usize = 64 * 1024;

pub(super) async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let action = template.as_deref().and_then(|t| {
        let t = t.strip_prefix("/admin/v1").unwrap_or(t);
        ACTIONS
            .iter()
            .find(|(m, p, _)| m == req.method() && *p == t)
            .map(|(_, _, a)| *a)
    });
    let Some(action) = action else {
        return next.run(req).await;
    };
    let actor = req
        .extensions()
        .get::<Actor>()
        .map_or_else(|| "admin:?".into(), |a| a.0.clone());
    // Inside the nested router the path starts after `/admin/v1`: `/tenants/{tenant}/…`.
    let path = req.uri().path();
    let path = path.strip_prefix("/admin/v1").unwrap_or(path);
    let segments: Vec<String> = path.split('/').map(crate::request::form_decode).collect();
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, state.config.limits.max_body_bytes).await else {
        return AdminError::bad_request("the request body is too large").into_response();
    };
    let detail = detail(&body);
    let resp = next.run(Request::from_parts(parts, body.into())).await;
    if !resp.status().is_success() {
        return resp;
    }
    let (parts, answer) = resp.into_parts();
    let answer = axum::body::to_bytes(answer, MAX_ANSWER).await.unwrap_or_default();
    let created: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    let tenant = segments
        .get(2)
        .cloned()
        .or_else(|| created["tenant"].as_str().map(str::to_string));
    // The object's path after the tenant (`acme.x/scimdcs_1234`), else what the answer names.
    let named: Vec<&str> = segments
        .iter()
        .skip(4)
        .map(String::as_str)
        .filter(|s| !matches!(*s, "secrets" | ""))
        .collect();
    let target = if named.is_empty() {
        ["token_prefix", "client_id", "id"]
            .iter()
            .find_map(|k| created[*k].as_str().map(str::to_string))
    } else {
        Some(named.join("/"))
    };
    let target = match (action, created["secret_prefix"].as_str()) {
        ("client.secret.add", Some(prefix)) => target.map(|c| format!("{c}/{prefix}")),
        _ => target,
    };
    let entry = AuditEntry {
        at: crate::now(),
        actor,
        action: action.to_string(),
        tenant,
        target,
        detail,
    };
    if let Err(e) = state.store.append_audit(entry).await {
        tracing::error!(error = %e, action, "the audit record could not be written; the change itself was made");
    }
    Response::from_parts(parts, answer.into())
}

/// The request's non-secret keys as JSON text, if there are any.
fn detail(body: &[u8]) -> Option<String> {
    let Ok(Value::Object(all)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let kept: Map<String, Value> = all
        .into_iter()
        .filter(|(k, _)| DETAIL_KEYS.contains(&k.as_str()))
        .collect();
    (!kept.is_empty()).then(|| Value::Object(kept).to_string())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditParams {
    /// Only this tenant's changes.
    tenant: Option<String>,
    /// Only records older than this `seq` (the next page).
    before: Option<String>,
    /// Records per page, 1 to 1000 (default 100).
    limit: Option<String>,
}

/// The audit log: changes made through the admin API and the CLI, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditList), (status = 400, body = ErrorOut)))]
pub async fn list(State(state): State<AppState>, Query(p): Query<AuditParams>) -> Result<Json<AuditList>, AdminError> {
    let before = match p.before.as_deref() {
        None => None,
        Some(b) => Some(b.parse::<i64>().map_err(|_| {
            AdminError::bad_request(format!(
                "before={b:?}: give a record's seq (next_before of the previous page)"
            ))
        })?),
    };
    let q = AuditQuery {
        tenant: p.tenant,
        before,
        limit: limit(p.limit.as_deref(), 100, 1000)?,
    };
    let records = state.store.audit(&q).await?;
    let next_before = (records.len() == q.limit)
        .then(|| records.last().map(|r| r.seq))
        .flatten();
    let records = records
        .into_iter()
        .map(|r| AuditOut {
            seq: r.seq,
            at: r.entry.at,
            actor: r.entry.actor,
            action: r.entry.action,
            tenant: r.entry.tenant,
            target: r.entry.target,
            detail: r.entry.detail.and_then(|d| serde_json::from_str(&d).ok()),
        })
        .collect();
    Ok(Json(AuditList { records, next_before }))
}
