//! Tenants and their SCIM tokens.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scim_core::ports::{Tenant, TokenInfo};
use serde_json::{Value, json};

use super::{AdminError, expires_in, now, object};
use crate::AppState;

type Result<T> = std::result::Result<T, AdminError>;

fn tenant_json(state: &AppState, t: &Tenant) -> Value {
    json!({"tenant": t.name, "scim_url": state.config.tenant_url(&t.name), "created": t.created})
}

pub(super) fn token_json(k: &TokenInfo) -> Value {
    json!({"token_prefix": k.prefix, "created": k.created, "expires_at": k.expires, "revoked_at": k.revoked})
}

pub(super) async fn find(state: &AppState, name: &str) -> Result<Tenant> {
    state
        .store
        .tenant(name)
        .await?
        .ok_or_else(|| AdminError::not_found(format!("no tenant named {name:?}")))
}

/// `POST /tenants {"name"}`: the tenant, its Tenant URL and a first secret token (shown once).
pub async fn create(State(state): State<AppState>, body: Bytes) -> Result<Response> {
    let body = object(&body)?;
    let name = match body.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(AdminError::bad_request("give the tenant's \"name\" as a string")),
    };
    let at = now();
    let t = state.store.create_tenant(&name, at).await?;
    let tok = state.store.issue_token(t.id, None, at).await?;
    let mut out = tenant_json(&state, &t);
    out["token"] = json!(tok.token);
    out["token_prefix"] = json!(tok.prefix);
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

pub async fn list(State(state): State<AppState>) -> Result<Response> {
    let all = state.store.tenants().await?;
    let tenants: Vec<Value> = all.iter().map(|t| tenant_json(&state, t)).collect();
    Ok(axum::Json(json!({ "tenants": tenants })).into_response())
}

pub async fn show(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response> {
    let t = find(&state, &name).await?;
    Ok(axum::Json(tenant_json(&state, &t)).into_response())
}

/// `DELETE /tenants/{t}`: the tenant and all its data; 404 afterwards.
pub async fn remove(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response> {
    let t = find(&state, &name).await?;
    if !state.store.delete_tenant(t.id).await? {
        return Err(AdminError::not_found(format!("no tenant named {name:?}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /tenants/{t}/tokens {"expires_in"?}`: another live token (for rotation).
pub async fn issue_token(State(state): State<AppState>, Path(name): Path<String>, body: Bytes) -> Result<Response> {
    let body = object(&body)?;
    let at = now();
    let expires = expires_in(&body, at)?;
    let t = find(&state, &name).await?;
    let tok = state.store.issue_token(t.id, expires, at).await?;
    let out = json!({"token": tok.token, "token_prefix": tok.prefix, "expires_at": tok.expires});
    Ok((StatusCode::CREATED, axum::Json(out)).into_response())
}

/// `GET /tenants/{t}/tokens`: prefixes and dates, never secrets.
pub async fn tokens(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response> {
    let t = find(&state, &name).await?;
    let all = state.store.tokens(t.id).await?;
    let tokens: Vec<Value> = all.iter().map(token_json).collect();
    Ok(axum::Json(json!({ "tokens": tokens })).into_response())
}

/// `DELETE /tenants/{t}/tokens/{prefix}`: revokes the tenant's live tokens with that prefix.
pub async fn revoke_token(
    State(state): State<AppState>,
    Path((name, prefix)): Path<(String, String)>,
) -> Result<Response> {
    let t = find(&state, &name).await?;
    match state.store.revoke_tokens(t.id, &prefix, now()).await? {
        0 => Err(AdminError::not_found(format!(
            "tenant {name:?} has no live token starting with {prefix:?}"
        ))),
        _ => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}
