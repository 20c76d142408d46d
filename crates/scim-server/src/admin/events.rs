//! A tenant's change feed: `GET /tenants/{t}/events?after=SEQ&limit=N&wait=30s`. The events
//! come in sequence order; with `wait`, an empty answer is held until an event commits or
//! the wait ends (long polling).

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim_core::ports::{Event, TenantId};
use serde::Deserialize;

use super::AdminError;
use super::schema::{ErrorOut, EventList};
use super::tenants::find;
use crate::AppState;

type Result<T> = std::result::Result<T, AdminError>;

/// Events per answer, at most and by default.
pub const MAX_LIMIT: usize = 1000;
const DEFAULT_LIMIT: usize = 100;
/// The longest a request may wait (proxies commonly cut idle requests at 60 s).
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// A waiting request re-reads at least this often: the in-process watch does not see
/// commits of other replicas or processes.
const RECHECK: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
pub struct FeedParams {
    after: Option<String>,
    limit: Option<String>,
    wait: Option<String>,
}

struct Read {
    after: Option<i64>,
    limit: usize,
    wait: Duration,
}

fn read_params(p: &FeedParams) -> Result<Read> {
    let after = match &p.after {
        None => None,
        Some(s) => Some(s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            AdminError::bad_request(format!(
                "after={s:?}: give the last seq you processed (0 for the start)"
            ))
        })?),
    };
    let limit = super::limit(p.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let wait = match &p.wait {
        None => Duration::ZERO,
        Some(s) => {
            let d = match s.parse::<u64>() {
                Ok(secs) => Ok(Duration::from_secs(secs)),
                Err(_) => humantime::parse_duration(s),
            };
            d.ok().filter(|d| *d <= MAX_WAIT).ok_or_else(|| {
                AdminError::bad_request(format!(
                    "wait={s:?}: give seconds or a duration such as \"30s\", at most 60s"
                ))
            })?
        }
    };
    Ok(Read { after, limit, wait })
}

/// The tenant's events after `after`, oldest first.
#[utoipa::path(get, path = "/tenants/{tenant}/events", tag = "events", params(
        ("tenant" = String, Path),
        ("after" = Option<i64>, Query, description = "the last seq already processed; absent: the oldest still kept"),
        ("limit" = Option<usize>, Query, description = "1 to 1000, default 100"),
        ("wait" = Option<String>, Query, description = "hold an empty answer up to this long (e.g. 30s, at most 60s)"),
    ), responses(
        (status = 200, body = EventList),
        (status = 400, body = ErrorOut),
        (status = 404, body = ErrorOut),
        (status = 410, body = ErrorOut, description = "events after `after` were removed by retention; `oldest_seq` says where the feed now starts"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(params): Query<FeedParams>,
) -> Result<Response> {
    let read = read_params(&params)?;
    let tenant = find(&state, &name).await?;
    let pos = state.store.feed_position(tenant.id).await?;
    let after = read.after.unwrap_or(pos.pruned);
    if after < pos.pruned {
        return Err(gone(&state, pos.pruned));
    }
    if after > pos.last {
        return Err(AdminError::bad_request(format!(
            "after={after} is past the newest event ({}); was the feed reset? Start again from after=0 after reconciling",
            pos.last
        )));
    }
    let events = wait_for(&state, tenant.id, after, read.limit, read.wait).await?;
    Ok(render(&name, after, &events))
}

async fn wait_for(state: &AppState, tenant: TenantId, after: i64, limit: usize, wait: Duration) -> Result<Vec<Event>> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Watch first, then read: a commit between the two still wakes the wait.
        let mut watch = state.store.watch_feed();
        let events = state.store.events(tenant, after, limit).await?;
        let now = tokio::time::Instant::now();
        if !events.is_empty() || now >= deadline {
            return Ok(events);
        }
        let nap = (deadline - now).min(RECHECK);
        let _ = tokio::time::timeout(nap, watch.changed()).await;
    }
}

fn gone(state: &AppState, pruned: i64) -> AdminError {
    let days = state.config.event_retention.as_secs() / 86_400;
    AdminError::new(
        StatusCode::GONE,
        "events_expired",
        format!(
            "events up to seq {pruned} were removed after the retention period ({days} days); \
             reconcile by listing the tenant's Users and Groups, then read on from after={pruned}"
        ),
    )
    .with_oldest_seq(pruned + 1)
}

/// `{"events":[…],"next_after":SEQ}`, built from the stored text without parsing it.
fn render(tenant: &str, after: i64, events: &[Event]) -> Response {
    let next = events.last().map_or(after, |e| e.seq);
    let mut body = String::from("{\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&e.to_json(tenant));
    }
    body.push_str(&format!("],\"next_after\":{next}}}"));
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
