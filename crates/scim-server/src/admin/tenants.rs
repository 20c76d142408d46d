//! Tenants and their SCIM tokens.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scim_core::ports::{Tenant, TenantRate, TokenInfo};
use serde_json::Value;

use super::schema::{
    CreatedTenant, ErrorOut, IssuedTokenOut, Lifetime, NewTenant, RateLimit, TenantChange, TenantList, TenantOut,
    TokenList, TokenOut,
};
use super::{AdminError, expires_in, object};
use crate::AppState;
use crate::now;

type Result<T> = std::result::Result<T, AdminError>;

fn tenant_out(state: &AppState, t: &Tenant) -> TenantOut {
    TenantOut {
        tenant: t.name.clone(),
        scim_url: state.config.tenant_url(&t.name),
        created: t.created,
        rate_limit: t.rate.map(|r| RateLimit {
            per_second: r.per_second,
            burst: r.burst,
        }),
    }
}

pub(super) fn token_out(k: &TokenInfo) -> TokenOut {
    TokenOut {
        token_prefix: k.prefix.clone(),
        created: k.created,
        expires_at: k.expires,
        revoked_at: k.revoked,
        last_used_at: k.last_used,
    }
}

pub(super) async fn find(state: &AppState, name: &str) -> Result<Tenant> {
    state
        .store
        .tenant(name)
        .await?
        .ok_or_else(|| AdminError::not_found(format!("no tenant named {name:?}")))
}

/// Create a tenant, with its Tenant URL and a first secret token (shown once).
#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = NewTenant, responses(
    (status = 201, body = CreatedTenant),
    (status = 400, body = ErrorOut, description = "bad name or body"),
    (status = 409, body = ErrorOut, description = "the name is taken"),
))]
pub async fn create(State(state): State<AppState>, body: Bytes) -> Result<Response> {
    let body = object(&body)?;
    let name = match body.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(AdminError::bad_request("give the tenant's \"name\" as a string")),
    };
    let at = now();
    let t = state.store.create_tenant(&name, at).await?;
    let tok = state.store.issue_token(t.id, None, at).await?;
    let out = CreatedTenant {
        tenant: tenant_out(&state, &t),
        token: tok.token,
        token_prefix: tok.prefix,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Every tenant.
#[utoipa::path(get, path = "/tenants", tag = "tenants", responses((status = 200, body = TenantList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<TenantList>> {
    let all = state.store.tenants().await?;
    let tenants = all.iter().map(|t| tenant_out(&state, t)).collect();
    Ok(Json(TenantList { tenants }))
}

/// One tenant.
#[utoipa::path(get, path = "/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)),
    responses((status = 200, body = TenantOut), (status = 404, body = ErrorOut)))]
pub async fn show(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<TenantOut>> {
    let t = find(&state, &name).await?;
    Ok(Json(tenant_out(&state, &t)))
}

/// Change a tenant: its own request rate (`rate_limit`; `null` for the server's default),
/// in force on every replica from the tenant's next request.
#[utoipa::path(patch, path = "/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)),
    request_body = TenantChange,
    responses((status = 200, body = TenantOut), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub async fn update(State(state): State<AppState>, Path(name): Path<String>, body: Bytes) -> Result<Json<TenantOut>> {
    let body = object(&body)?;
    if let Some(key) = body.keys().find(|k| k.as_str() != "rate_limit") {
        return Err(AdminError::bad_request(format!(
            "{key:?} cannot be changed; a tenant takes \"rate_limit\""
        )));
    }
    let mut t = find(&state, &name).await?;
    if let Some(given) = body.get("rate_limit") {
        let rate = rate_limit(given)?;
        if !state.store.set_tenant_rate(t.id, rate).await? {
            return Err(AdminError::not_found(format!("no tenant named {name:?}")));
        }
        t.rate = rate;
    }
    Ok(Json(tenant_out(&state, &t)))
}

/// `{"per_second": 50, "burst": 100}` (burst defaults to twice the rate), or `null`.
fn rate_limit(given: &Value) -> Result<Option<TenantRate>> {
    let bad = |detail: String| AdminError::bad_request(format!("rate_limit: {detail}"));
    let obj = match given {
        Value::Null => return Ok(None),
        Value::Object(o) => o,
        _ => {
            return Err(bad(
                "give {\"per_second\": 50, \"burst\": 100}, or null for the server's default".into(),
            ));
        }
    };
    if let Some(key) = obj.keys().find(|k| !matches!(k.as_str(), "per_second" | "burst")) {
        return Err(bad(format!("unknown key {key:?}; give per_second and burst")));
    }
    let number = |key: &str| match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| bad(format!("{key} must be a whole number"))),
    };
    let per_second = number("per_second")?.ok_or_else(|| bad("per_second is missing".into()))?;
    let burst = number("burst")?.unwrap_or(TenantRate::default_burst(per_second));
    TenantRate::new(per_second, burst).map(Some).map_err(bad)
}

/// Delete a tenant and all its data (users, groups, tokens, clients); 404 afterwards.
#[utoipa::path(delete, path = "/tenants/{tenant}", tag = "tenants", params(("tenant" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorOut)))]
pub async fn remove(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response> {
    let t = find(&state, &name).await?;
    if !state.store.delete_tenant(t.id).await? {
        return Err(AdminError::not_found(format!("no tenant named {name:?}")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Issue another secret token (two or more may be live, for rotation).
#[utoipa::path(post, path = "/tenants/{tenant}/tokens", tag = "tokens", params(("tenant" = String, Path)),
    request_body(content = Lifetime, description = "optional"),
    responses((status = 201, body = IssuedTokenOut), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub async fn issue_token(State(state): State<AppState>, Path(name): Path<String>, body: Bytes) -> Result<Response> {
    let body = object(&body)?;
    let at = now();
    let expires = expires_in(&body, at)?;
    let t = find(&state, &name).await?;
    let tok = state.store.issue_token(t.id, expires, at).await?;
    let out = IssuedTokenOut {
        token: tok.token,
        token_prefix: tok.prefix,
        expires_at: tok.expires,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// The tenant's tokens: prefixes and dates, never secrets.
#[utoipa::path(get, path = "/tenants/{tenant}/tokens", tag = "tokens", params(("tenant" = String, Path)),
    responses((status = 200, body = TokenList), (status = 404, body = ErrorOut)))]
pub async fn tokens(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<TokenList>> {
    let t = find(&state, &name).await?;
    let all = state.store.tokens(t.id).await?;
    Ok(Json(TokenList {
        tokens: all.iter().map(token_out).collect(),
    }))
}

/// Revoke the tenant's live tokens that start with `prefix` (at least 8 characters).
#[utoipa::path(delete, path = "/tenants/{tenant}/tokens/{prefix}", tag = "tokens",
    params(("tenant" = String, Path), ("prefix" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
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
