//! List paging: index paging (RFC 7644 §3.4.2.4, what Entra and Okta use) and cursor paging
//! (RFC 9865). A cursor page asks the store for one row more than it shows, to know whether a
//! next (or, going back, a previous) page exists, and seeks from the last row it showed, so a
//! deep page costs what the first does. Sorts on nullable or attribute values cannot seek;
//! their cursors carry an offset instead (documented in the README).
//!
//! Index paging keeps [`Hints`]: after serving `startIndex=s&count=n` of a seekable query it
//! remembers the last row's position under `s + n`, so a client reading pages in order (Okta's
//! import: 1, 101, 201, …) gets each next page by a seek from where the last one ended, at
//! the cost of the first page. A hint is only a shortcut to a position the client was just
//! shown; a miss (another replica, an evicted or expired hint, a random jump) falls back to
//! the offset, which walks the index.

use scim_core::cursor::{self, CursorAt};
use scim_core::ports::{Page, Position, Query, Seek, SortKey};
use scim_core::query::ListParams;
use scim_core::resolve::Column;
use scim_core::resource::StoredResource;
use scim_core::{CoreError, ResourceKind, Timestamp};
use std::collections::HashMap;
use std::sync::Mutex;

/// Most remembered positions per process.
const MAX_HINTS: usize = 4096;
/// How long a position is remembered.
const HINT_TTL_SECS: i64 = 600;

type HintKey = (i64, ResourceKind, String, u64);

/// Positions where sequential index-page readers will continue.
#[derive(Default)]
pub struct Hints {
    map: Mutex<HashMap<HintKey, (Position, Timestamp)>>,
}

impl Hints {
    fn get(&self, key: &HintKey, now: Timestamp) -> Option<Position> {
        let map = self.map.lock().ok()?;
        let (pos, at) = map.get(key)?;
        (now - *at < time::Duration::seconds(HINT_TTL_SECS)).then(|| pos.clone())
    }

    fn put(&self, key: HintKey, pos: Position, now: Timestamp) {
        let Ok(mut map) = self.map.lock() else { return };
        if map.len() >= MAX_HINTS {
            let cutoff = now - time::Duration::seconds(HINT_TTL_SECS);
            map.retain(|_, (_, at)| *at > cutoff);
            if map.len() >= MAX_HINTS {
                map.clear();
            }
        }
        map.insert(key, (pos, now));
    }
}

/// Index paging, seeking from a remembered position when the reader goes in order.
async fn index_page(
    state: &AppState,
    r: &ScimRequest,
    kind: ResourceKind,
    params: &ListParams,
    mut q: Query,
) -> Result<Paged, CoreError> {
    let (start, count) = (q.start_index, q.count);
    let seekable = q.sort.seekable() && count > 0;
    // The fingerprint is a hash; the hot path (a first page, a `userName eq` lookup that is
    // not full) needs none.
    let mut fp = None;
    let mut key = |at: u64| {
        (
            r.tenant.id,
            kind,
            fp.get_or_insert_with(|| params.fingerprint(kind)).clone(),
            at,
        )
    };
    if seekable
        && start > 1
        && let Some(pos) = state.hints.get(&key(start), r.now)
    {
        q.seek = Some(Seek {
            from: pos,
            backwards: false,
        });
    }
    let sort = q.sort.clone();
    let page = state.store.query(r.tenant.id, kind, q).await?;
    // Only a full page can have a next one to remember a position for.
    if seekable
        && page.items.len() as u64 == count
        && let Some(last) = page.items.last()
    {
        let next = start + count;
        state.hints.put(key(next), position(&sort, last), r.now);
    }
    Ok(Paged {
        page,
        start_index: Some(start),
        next: None,
        previous: None,
    })
}

use crate::AppState;
use crate::request::ScimRequest;

/// A page and how to reach its neighbours.
pub struct Paged {
    pub page: Page,
    /// Index paging: the 1-based start. Cursor paging: `None`.
    pub start_index: Option<u64>,
    pub next: Option<String>,
    pub previous: Option<String>,
}

/// Runs a list query with the paging the parameters ask for.
pub async fn run(
    state: &AppState,
    r: &ScimRequest,
    kind: ResourceKind,
    params: &ListParams,
    mut q: Query,
) -> Result<Paged, CoreError> {
    let Some(cursor_text) = params.cursor.as_deref() else {
        return index_page(state, r, kind, params, q).await;
    };
    let fp = params.fingerprint(kind);
    let key = &r.tenant.secret.0;
    let at = match cursor_text.trim() {
        "" => None,
        text => Some(cursor::decode(key, &fp, text, r.now)?),
    };
    let n = q.count;
    let seekable = q.sort.seekable();
    let mut offset = 0;
    match &at {
        None => {}
        Some(CursorAt::Offset(o)) => offset = *o,
        Some(CursorAt::After(p)) | Some(CursorAt::Before(p)) if seekable => {
            q.seek = Some(Seek {
                from: p.clone(),
                backwards: matches!(at, Some(CursorAt::Before(_))),
            });
        }
        Some(_) => {
            return Err(CoreError::InvalidCursor(
                "the cursor does not fit this sort order".into(),
            ));
        }
    }
    q.start_index = offset + 1;
    if n == 0 {
        let page = state.store.query(r.tenant.id, kind, q).await?;
        return Ok(Paged {
            page,
            start_index: None,
            next: None,
            previous: None,
        });
    }
    q.count = n + 1;
    let sort = q.sort.clone();
    let mut page = state.store.query(r.tenant.id, kind, q).await?;
    let more = page.items.len() as u64 > n;
    let encode = |at: CursorAt| cursor::encode(key, &fp, &at, r.now);
    let (next, previous) = if !seekable {
        page.items.truncate(n as usize);
        let next = more.then(|| encode(CursorAt::Offset(offset + n)));
        let previous = (offset > 0).then(|| encode(CursorAt::Offset(offset.saturating_sub(n))));
        (next, previous)
    } else if matches!(at, Some(CursorAt::Before(_))) {
        // The rows just before the position, in order; an extra one means more before them.
        if more {
            page.items.remove(0);
        }
        let next = page.items.last().map(|l| encode(CursorAt::After(position(&sort, l))));
        let previous = more
            .then(|| page.items.first().map(|f| encode(CursorAt::Before(position(&sort, f)))))
            .flatten();
        (next, previous)
    } else {
        page.items.truncate(n as usize);
        let next = more
            .then(|| page.items.last().map(|l| encode(CursorAt::After(position(&sort, l)))))
            .flatten();
        let previous = at
            .is_some()
            .then(|| page.items.first().map(|f| encode(CursorAt::Before(position(&sort, f)))))
            .flatten();
        (next, previous)
    };
    Ok(Paged {
        page,
        start_index: None,
        next,
        previous,
    })
}

/// Where a row sits in a seekable sort.
fn position(sort: &SortKey, r: &StoredResource) -> Position {
    let value = match sort {
        SortKey::Column(Column::NameKey) => serde_json::from_str::<serde_json::Value>(&r.doc).ok().and_then(|d| {
            d.get(r.kind.name_attr())
                .and_then(|v| v.as_str())
                .map(str::to_lowercase)
        }),
        SortKey::Column(Column::Created) => Some(r.created.to_string()),
        SortKey::Column(Column::LastModified) => Some(r.last_modified.to_string()),
        _ => None,
    };
    Position {
        value,
        id: r.id.clone(),
    }
}
