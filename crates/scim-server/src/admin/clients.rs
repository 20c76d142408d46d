//! A tenant's OAuth clients (client credentials for Entra's gallery rules) and their secrets.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scim_core::ports::{ClientInfo, IssuedClient};
use serde_json::{Value, json};

use super::tenants::{find, token_json};
use super::{AdminError, expires_in, now, object};
use crate::AppState;

type Result<T> = std::result::Result<T, AdminError>;

fn token_url(state: &AppState) -> String {
    format!("{}/oauth/token", state.config.public_url)
}

fn issued_json(state: &AppState, c: &IssuedClient) -> Value {
    json!({
        "client_id": c.client_id,
        "client_secret": c.client_secret,
        "secret_prefix": c.secret_prefix,
        "expires_at": c.expires,
        "token_url": token_url(state),
    })
}

fn client_json(state: &AppState, c: &ClientInfo) -> Value {
    let secrets: Vec<Value> = c.secrets.iter().map(token_json).collect();
    json!({"client_id": c.client_id, "created": c.created, "token_url": token_url(state), "secrets": secrets})
}

fn no_client(tenant: &str, id: &str) -> AdminError {
    AdminError::not_found(format!("tenant {tenant:?} has no OAuth client {id:?}"))
}

/// `POST /tenants/{t}/clients {"expires_in"?}`: a client and its first secret (shown once).
pub async fn create(State(state): State<AppState>, Path(name): Path<String>, body: Bytes) -> Result<Response> {
    let body = object(&body)?;
    let at = now();
    let expires = expires_in(&body, at)?;
    let t = find(&state, &name).await?;
    let c = state.store.create_client(t.id, expires, at).await?;
    Ok((StatusCode::CREATED, axum::Json(issued_json(&state, &c))).into_response())
}

pub async fn list(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response> {
    let t = find(&state, &name).await?;
    let all = state.store.clients(t.id).await?;
    let clients: Vec<Value> = all.iter().map(|c| client_json(&state, c)).collect();
    Ok(axum::Json(json!({ "clients": clients })).into_response())
}

pub async fn show(State(state): State<AppState>, Path((name, id)): Path<(String, String)>) -> Result<Response> {
    let t = find(&state, &name).await?;
    let all = state.store.clients(t.id).await?;
    let c = all
        .iter()
        .find(|c| c.client_id == id)
        .ok_or_else(|| no_client(&name, &id))?;
    Ok(axum::Json(client_json(&state, c)).into_response())
}

/// `DELETE /tenants/{t}/clients/{id}`: the client, its secrets, and its access tokens at once.
pub async fn remove(State(state): State<AppState>, Path((name, id)): Path<(String, String)>) -> Result<Response> {
    let t = find(&state, &name).await?;
    if !state.store.delete_client(t.id, &id, now()).await? {
        return Err(no_client(&name, &id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /tenants/{t}/clients/{id}/secrets {"expires_in"?}`: a second live secret (rotation).
pub async fn add_secret(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    let body = object(&body)?;
    let at = now();
    let expires = expires_in(&body, at)?;
    let t = find(&state, &name).await?;
    let c = state
        .store
        .add_client_secret(t.id, &id, expires, at)
        .await?
        .ok_or_else(|| no_client(&name, &id))?;
    Ok((StatusCode::CREATED, axum::Json(issued_json(&state, &c))).into_response())
}

/// `DELETE /tenants/{t}/clients/{id}/secrets/{prefix}`: revokes a secret (tokens already
/// issued with it stay valid until they expire; delete the client to revoke those).
pub async fn revoke_secret(
    State(state): State<AppState>,
    Path((name, id, prefix)): Path<(String, String, String)>,
) -> Result<Response> {
    let t = find(&state, &name).await?;
    match state.store.revoke_client_secret(t.id, &id, &prefix, now()).await? {
        0 => Err(AdminError::not_found(format!(
            "OAuth client {id:?} has no live secret starting with {prefix:?}"
        ))),
        _ => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}
