//! A tenant's OAuth clients (client credentials for Entra's gallery rules) and their secrets.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scim_core::ports::{ClientInfo, IssuedClient};

use super::schema::{ClientList, ClientOut, ErrorOut, IssuedClientOut, Lifetime};
use super::tenants::{find, token_out};
use super::{AdminError, expires_in, object};
use crate::AppState;
use crate::now;

type Result<T> = std::result::Result<T, AdminError>;

fn token_url(state: &AppState) -> String {
    format!("{}/oauth/token", state.config.public_url)
}

fn issued_out(state: &AppState, c: IssuedClient) -> IssuedClientOut {
    IssuedClientOut {
        client_id: c.client_id,
        client_secret: c.client_secret,
        secret_prefix: c.secret_prefix,
        expires_at: c.expires,
        token_url: token_url(state),
    }
}

fn client_out(state: &AppState, c: &ClientInfo) -> ClientOut {
    ClientOut {
        client_id: c.client_id.clone(),
        created: c.created,
        token_url: token_url(state),
        secrets: c.secrets.iter().map(token_out).collect(),
    }
}

fn no_client(tenant: &str, id: &str) -> AdminError {
    AdminError::not_found(format!("tenant {tenant:?} has no OAuth client {id:?}"))
}

/// Create an OAuth client (client credentials) with its first secret, shown once.
#[utoipa::path(post, path = "/tenants/{tenant}/clients", tag = "oauth clients", params(("tenant" = String, Path)),
    request_body(content = Lifetime, description = "optional: the secret's lifetime"),
    responses((status = 201, body = IssuedClientOut), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub async fn create(State(state): State<AppState>, Path(name): Path<String>, body: Bytes) -> Result<Response> {
    let body = object(&body)?;
    let at = now();
    let expires = expires_in(&body, at)?;
    let t = find(&state, &name).await?;
    let c = state.store.create_client(t.id, expires, at).await?;
    Ok((StatusCode::CREATED, Json(issued_out(&state, c))).into_response())
}

/// The tenant's OAuth clients.
#[utoipa::path(get, path = "/tenants/{tenant}/clients", tag = "oauth clients", params(("tenant" = String, Path)),
    responses((status = 200, body = ClientList), (status = 404, body = ErrorOut)))]
pub async fn list(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<ClientList>> {
    let t = find(&state, &name).await?;
    let all = state.store.clients(t.id).await?;
    Ok(Json(ClientList {
        clients: all.iter().map(|c| client_out(&state, c)).collect(),
    }))
}

/// One OAuth client and its secrets' prefixes and dates.
#[utoipa::path(get, path = "/tenants/{tenant}/clients/{client}", tag = "oauth clients",
    params(("tenant" = String, Path), ("client" = String, Path)),
    responses((status = 200, body = ClientOut), (status = 404, body = ErrorOut)))]
pub async fn show(State(state): State<AppState>, Path((name, id)): Path<(String, String)>) -> Result<Json<ClientOut>> {
    let t = find(&state, &name).await?;
    let all = state.store.clients(t.id).await?;
    let c = all
        .iter()
        .find(|c| c.client_id == id)
        .ok_or_else(|| no_client(&name, &id))?;
    Ok(Json(client_out(&state, c)))
}

/// Delete the client, its secrets, and its access tokens at once.
#[utoipa::path(delete, path = "/tenants/{tenant}/clients/{client}", tag = "oauth clients",
    params(("tenant" = String, Path), ("client" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorOut)))]
pub async fn remove(State(state): State<AppState>, Path((name, id)): Path<(String, String)>) -> Result<Response> {
    let t = find(&state, &name).await?;
    if !state.store.delete_client(t.id, &id, now()).await? {
        return Err(no_client(&name, &id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Another live secret for the client (rotation), shown once.
#[utoipa::path(post, path = "/tenants/{tenant}/clients/{client}/secrets", tag = "oauth clients",
    params(("tenant" = String, Path), ("client" = String, Path)),
    request_body(content = Lifetime, description = "optional"),
    responses((status = 201, body = IssuedClientOut), (status = 404, body = ErrorOut)))]
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
    Ok((StatusCode::CREATED, Json(issued_out(&state, c))).into_response())
}

/// Revoke a secret. Access tokens already issued with it stay valid until they expire;
/// delete the client to revoke those too.
#[utoipa::path(delete, path = "/tenants/{tenant}/clients/{client}/secrets/{prefix}", tag = "oauth clients",
    params(("tenant" = String, Path), ("client" = String, Path), ("prefix" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
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
