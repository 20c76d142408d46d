//! Streaming a large group's members. Above [`STREAM_ABOVE`] members, `GET /Groups/{id}`
//! writes the group's other attributes first and then its members page by page, straight
//! from the store's member index, so server memory stays bounded whatever the group's size.
//! Members added or removed while a response streams may or may not appear in it.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;
use scim_core::CoreError;
use scim_core::ports::TenantId;
use scim_core::project::Projection;
use scim_core::resource::{StoredResource, render};
use serde_json::Value;

use crate::{AppState, SCIM_JSON};

/// Groups with more members than this are streamed.
pub const STREAM_ABOVE: usize = 1000;
/// Members read from the store per page.
const PAGE: usize = 1000;

/// The response for a large group: the rendered group (projection applied) without its
/// final `}`, then `,"members":[…]}` streamed.
pub fn group_response(
    state: &AppState,
    tenant: TenantId,
    res: &StoredResource,
    base: &str,
    proj: &Projection,
) -> Result<Response, CoreError> {
    let text = render(res, base, None);
    let text = if proj.is_identity() {
        text
    } else {
        let mut obj: serde_json::Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| CoreError::Internal(format!("rendered resource is not JSON: {e}")))?;
        proj.apply(&mut obj);
        Value::Object(obj).to_string()
    };
    let head = text.trim_end().strip_suffix('}').unwrap_or(&text).to_string();
    let head = format!("{head}{}\"members\":[", if head.ends_with('{') { "" } else { "," });
    let store = state.store.clone();
    let group = res.id.clone();
    // State: (bytes to send first, member id to continue after, done).
    let init = (Some(head), None::<String>, false, true);
    let body = stream::unfold(init, move |(head, after, done, first)| {
        let store = store.clone();
        let group = group.clone();
        async move {
            if let Some(h) = head {
                return Some((Ok::<Bytes, CoreError>(Bytes::from(h)), (None, after, done, first)));
            }
            if done {
                return None;
            }
            match store.members_after(tenant, &group, after, PAGE).await {
                Err(e) => {
                    // Headers are gone; ending the body early tells the client the response is
                    // incomplete (the JSON does not close).
                    tracing::warn!(error = %e, group = %group, "streaming members failed");
                    Some((Err(e), (None, None, true, first)))
                }
                Ok(page) => {
                    let last = page.len() < PAGE;
                    let mut chunk = String::with_capacity(page.iter().map(|(_, j)| j.len() + 1).sum::<usize>() + 2);
                    for (i, (_, json)) in page.iter().enumerate() {
                        if !(first && i == 0) {
                            chunk.push(',');
                        }
                        chunk.push_str(json);
                    }
                    if last {
                        chunk.push_str("]}");
                    }
                    let next = page.last().map(|(id, _)| id.clone());
                    let first = first && page.is_empty();
                    Some((Ok(Bytes::from(chunk)), (None, next, last, first)))
                }
            }
        }
    });
    let mut resp = Response::new(Body::from_stream(body));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if let Ok(v) = HeaderValue::from_str(&res.etag()) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}
