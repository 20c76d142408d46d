//! A tenant's webhook endpoints: create (the signing secret is shown once), list with
//! delivery state, delete, and a test message that also resumes a failing endpoint.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use scim_core::events::EventType;
use scim_core::ports::{Delivery, NewWebhook, Webhook};
use serde_json::Value;

use super::schema::{CreatedWebhook, DeliveryOut, ErrorOut, NewWebhookIn, TestOut, WebhookList, WebhookOut};
use super::tenants::find;
use super::{AdminError, object};
use crate::{AppState, now};

type Result<T> = std::result::Result<T, AdminError>;

fn webhook_out(w: &Webhook, last_seq: i64) -> WebhookOut {
    let d = &w.delivery;
    WebhookOut {
        id: w.id.clone(),
        url: w.url.clone(),
        events: w.events.iter().map(|e| e.as_str().to_string()).collect(),
        created: w.created,
        delivery: DeliveryOut {
            state: if d.failing {
                "failing"
            } else if d.attempts > 0 {
                "retrying"
            } else {
                "ok"
            }
            .into(),
            delivered_seq: d.delivered,
            behind: (last_seq - d.delivered).max(0),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt,
            failing_since: d.failing_since,
            last_error: d.last_error.clone(),
            last_success_at: d.last_success,
        },
    }
}

fn event_types(body: &serde_json::Map<String, Value>) -> Result<Vec<EventType>> {
    let list = match body.get("events") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(AdminError::bad_request("events: give an array of event type names")),
    };
    let names: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
    list.iter()
        .map(|v| {
            v.as_str().and_then(EventType::parse).ok_or_else(|| {
                AdminError::bad_request(format!(
                    "events: {v} is not an event type; use any of {}",
                    names.join(", ")
                ))
            })
        })
        .collect()
}

async fn find_hook(state: &AppState, tenant: &str, id: &str) -> Result<(scim_core::ports::Tenant, Webhook)> {
    let t = find(state, tenant).await?;
    let hook = state.store.webhooks(t.id).await?.into_iter().find(|w| w.id == id);
    let hook = hook.ok_or_else(|| AdminError::not_found(format!("tenant {tenant:?} has no webhook {id:?}")))?;
    Ok((t, hook))
}

/// Add an endpoint; it receives the events committed from now on. The secret is shown once.
#[utoipa::path(post, path = "/tenants/{tenant}/webhooks", tag = "webhooks", params(("tenant" = String, Path)),
    request_body = NewWebhookIn,
    responses((status = 201, body = CreatedWebhook), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub async fn create(State(state): State<AppState>, Path(name): Path<String>, body: Bytes) -> Result<Response> {
    let body = object(&body)?;
    let url = match body.get("url") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(AdminError::bad_request("give the receiver's \"url\" as a string")),
    };
    scim_events::target::check_url(&url, state.config.webhook_allow_loopback_http).map_err(AdminError::bad_request)?;
    let events = event_types(&body)?;
    let t = find(&state, &name).await?;
    let w = state
        .store
        .create_webhook(t.id, NewWebhook { url, events }, now())
        .await?;
    let last = state.store.feed_position(t.id).await?.last;
    let out = CreatedWebhook {
        secret: w.secret.clone(),
        webhook: webhook_out(&w, last),
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// The tenant's endpoints and where each one's delivery stands; never their secrets.
#[utoipa::path(get, path = "/tenants/{tenant}/webhooks", tag = "webhooks", params(("tenant" = String, Path)),
    responses((status = 200, body = WebhookList), (status = 404, body = ErrorOut)))]
pub async fn list(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<WebhookList>> {
    let t = find(&state, &name).await?;
    let last = state.store.feed_position(t.id).await?.last;
    let hooks = state.store.webhooks(t.id).await?;
    Ok(Json(WebhookList {
        webhooks: hooks.iter().map(|w| webhook_out(w, last)).collect(),
    }))
}

/// One endpoint.
#[utoipa::path(get, path = "/tenants/{tenant}/webhooks/{id}", tag = "webhooks",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = WebhookOut), (status = 404, body = ErrorOut)))]
pub async fn show(State(state): State<AppState>, Path((name, id)): Path<(String, String)>) -> Result<Json<WebhookOut>> {
    let (t, hook) = find_hook(&state, &name, &id).await?;
    let last = state.store.feed_position(t.id).await?.last;
    Ok(Json(webhook_out(&hook, last)))
}

/// Remove an endpoint; nothing more is sent to it.
#[utoipa::path(delete, path = "/tenants/{tenant}/webhooks/{id}", tag = "webhooks",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorOut)))]
pub async fn remove(State(state): State<AppState>, Path((name, id)): Path<(String, String)>) -> Result<Response> {
    let (t, hook) = find_hook(&state, &name, &id).await?;
    state.store.delete_webhook(t.id, &hook.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Send a signed `webhook.test` message now and report the answer. When it succeeds on an
/// endpoint that is failing or waiting to retry, delivery resumes at once from where it stood.
#[utoipa::path(post, path = "/tenants/{tenant}/webhooks/{id}/test", tag = "webhooks",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = TestOut), (status = 404, body = ErrorOut)))]
pub async fn test(State(state): State<AppState>, Path((name, id)): Path<(String, String)>) -> Result<Json<TestOut>> {
    let (t, hook) = find_hook(&state, &name, &id).await?;
    let at = now();
    let (msg_id, body) = scim_events::deliver::test_message(&hook, at);
    let sent = scim_events::deliver::send(&hook, &msg_id, &body, at, scim_events::deliver::TIMEOUT).await;
    let resumed = sent.is_ok() && (hook.delivery.failing || hook.delivery.attempts > 0);
    if resumed {
        let fresh = Delivery {
            delivered: hook.delivery.delivered,
            last_success: hook.delivery.last_success,
            ..Default::default()
        };
        state.store.reset_delivery(t.id, &hook.id, &fresh).await?;
    }
    Ok(Json(match sent {
        Ok(status) => TestOut {
            delivered: true,
            status: Some(status),
            error: None,
            resumed,
        },
        Err(e) => TestOut {
            delivered: false,
            status: None,
            error: Some(e),
            resumed: false,
        },
    }))
}
