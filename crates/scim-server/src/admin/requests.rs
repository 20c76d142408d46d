//! A tenant's request log: `GET /tenants/{t}/requests?status=4xx&since=1h&limit=100&before=SEQ`,
//! newest first, for the support desk.

use axum::Json;
use axum::extract::{Path, Query, State};
use scim_core::Timestamp;
use scim_core::ports::{LoggedRequest, RequestQuery, StatusFilter};
use serde::Deserialize;

use super::AdminError;
use super::schema::{ErrorOut, RequestList, RequestOut};
use super::tenants::find;
use crate::{AppState, now};

type Result<T> = std::result::Result<T, AdminError>;

pub const MAX_LIMIT: usize = 1000;

#[derive(Deserialize)]
pub struct Params {
    status: Option<String>,
    since: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

/// `since`: a duration back from now (`1h`, `7d`) or an RFC 3339 time.
pub fn parse_since(s: &str, now: Timestamp) -> Option<Timestamp> {
    if let Some(t) = Timestamp::parse(s) {
        return Some(t);
    }
    let d = humantime::parse_duration(s).ok()?;
    Some(Timestamp::new(now.datetime() - d))
}

fn query(p: &Params) -> Result<RequestQuery> {
    let status = match &p.status {
        None => StatusFilter::Any,
        Some(s) => StatusFilter::parse(s).ok_or_else(|| {
            AdminError::bad_request(format!("status={s:?}: use 4xx, 5xx or a status code such as 409"))
        })?,
    };
    let since = match &p.since {
        None => None,
        Some(s) => Some(parse_since(s, now()).ok_or_else(|| {
            AdminError::bad_request(format!(
                "since={s:?}: use a duration such as 1h or a time such as 2026-12-01T10:00:00Z"
            ))
        })?),
    };
    let before = match &p.before {
        None => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| {
            AdminError::bad_request(format!("before={s:?}: give the next_before of the previous page"))
        })?),
    };
    let limit = super::limit(p.limit.as_deref(), 100, MAX_LIMIT)?;
    Ok(RequestQuery {
        status,
        since,
        before,
        limit,
    })
}

fn request_out(r: &LoggedRequest) -> RequestOut {
    let e = &r.entry;
    RequestOut {
        seq: r.seq,
        at: e.at,
        method: e.method.clone(),
        path: e.path.clone(),
        status: e.status,
        latency_ms: e.latency_us as f64 / 1000.0,
        scim_type: e.scim_type.clone(),
        detail: e.detail.clone(),
        resource_id: e.resource_id.clone(),
        credential: e.credential.clone(),
        body: e.body.clone(),
    }
}

/// What the tenant's identity provider sent, newest first, with how each request ended.
#[utoipa::path(get, path = "/tenants/{tenant}/requests", tag = "requests", params(
        ("tenant" = String, Path),
        ("status" = Option<String>, Query, description = "4xx, 5xx or a status code"),
        ("since" = Option<String>, Query, description = "a duration back from now (1h) or an RFC 3339 time"),
        ("before" = Option<i64>, Query, description = "the previous page's next_before"),
        ("limit" = Option<usize>, Query, description = "1 to 1000, default 100"),
    ), responses((status = 200, body = RequestList), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub async fn list(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<Params>,
) -> Result<Json<RequestList>> {
    let q = query(&params)?;
    let t = find(&state, &name).await?;
    let rows = state.store.requests(t.id, &q).await?;
    let next_before = if rows.len() == q.limit {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    Ok(Json(RequestList {
        requests: rows.iter().map(request_out).collect(),
        next_before,
    }))
}

/// An entry as the API shows it, for other front ends (the CLI).
pub fn request_json(r: &LoggedRequest) -> serde_json::Value {
    serde_json::to_value(request_out(r)).unwrap_or_default()
}
