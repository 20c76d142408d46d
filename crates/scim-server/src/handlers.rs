//! Endpoint dispatch and the handlers for resources, search and discovery.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim_core::ops::{patch_fn, prepare_create, replace_fn};
use scim_core::patch::parse_patch_request;
use scim_core::ports::{Page, Query, TenantId};
use scim_core::project::Projection;
use scim_core::query::ListParams;
use scim_core::resource::{StoredResource, location, render};
use scim_core::{CoreError, ResourceKind, Timestamp, discovery};
use serde_json::Value;

use crate::bulk;
use crate::request::ScimRequest;
use crate::{ApiError, AppState, SCIM_JSON};

type HResult = Result<Response, ApiError>;

pub async fn dispatch(state: &AppState, r: ScimRequest) -> HResult {
    let base = state.config.tenant_url(&r.tenant.name);
    let segs: Vec<String> = r.segments.clone();
    let first = segs.first().map(|s| s.to_ascii_lowercase());
    let kind = match first.as_deref() {
        Some("users") => Some(ResourceKind::User),
        Some("groups") => Some(ResourceKind::Group),
        _ => None,
    };
    match (first.as_deref(), kind, segs.len()) {
        (_, Some(kind), 1) => match r.method {
            Method::GET => list(state, &r, kind, &base, ListParams::from_pairs(r.query_pairs())).await,
            Method::POST => create(state, &r, kind, &base).await,
            _ => not_allowed("GET, POST"),
        },
        (_, Some(kind), 2) if segs[1].eq_ignore_ascii_case(".search") => match r.method {
            Method::POST => {
                let params = ListParams::from_search_body(&r.json(state.config.limits.max_json_depth)?)?;
                list(state, &r, kind, &base, params).await
            }
            _ => not_allowed("POST"),
        },
        (_, Some(kind), 2) => {
            let id = segs[1].as_str();
            match r.method {
                Method::GET => get(state, &r, kind, id, &base).await,
                Method::PUT => put(state, &r, kind, id, &base).await,
                Method::PATCH => patch(state, &r, kind, id, &base).await,
                Method::DELETE => delete(state, &r, kind, id).await,
                _ => not_allowed("GET, PUT, PATCH, DELETE"),
            }
        }
        (Some(".search"), _, 1) => match r.method {
            Method::POST => {
                let params = ListParams::from_search_body(&r.json(state.config.limits.max_json_depth)?)?;
                root_search(state, &r, &base, params).await
            }
            _ => not_allowed("POST"),
        },
        (Some("serviceproviderconfig" | "serviceconfiguration"), _, 1) => discovery_doc(
            &r,
            discovery::service_provider_config(&base, bulk::advertised(&state.config.limits)),
        ),
        (Some("resourcetypes"), _, 1) => discovery_doc(&r, discovery::resource_types(&base)),
        (Some("resourcetypes"), _, 2) => {
            let k = discovery::KINDS
                .iter()
                .find(|k| k.name().eq_ignore_ascii_case(&segs[1]));
            match k {
                Some(k) => discovery_doc(&r, discovery::resource_type(*k, &base)),
                None => {
                    Err(CoreError::NotFound(format!("no resource type {:?}; there are User and Group", segs[1])).into())
                }
            }
        }
        (Some("schemas"), _, 1) => discovery_doc(&r, discovery::schemas(&base)),
        (Some("schemas"), _, 2) => match discovery::find_schema(&segs[1]) {
            Some(s) => discovery_doc(&r, discovery::schema(s, &base)),
            None => Err(CoreError::NotFound(format!("no schema {:?}; GET /Schemas lists them", segs[1])).into()),
        },
        (Some("bulk"), _, 1) => match r.method {
            Method::POST => bulk::bulk(state, &r, &base).await,
            _ => not_allowed("POST"),
        },
        (None, _, 0) => Err(CoreError::NotFound(format!(
            "{base} is this tenant's SCIM base URL; resources are under {base}/Users and {base}/Groups"
        ))
        .into()),
        _ => Err(CoreError::NotFound(format!(
            "no SCIM endpoint at /{}; try /Users, /Groups, /Schemas, /ResourceTypes or /ServiceProviderConfig",
            segs.join("/")
        ))
        .into()),
    }
}

fn not_allowed(allow: &'static str) -> HResult {
    let mut resp = ApiError::MethodNotAllowed(format!("this endpoint allows only {allow}")).into_response();
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    Ok(resp)
}

fn discovery_doc(r: &ScimRequest, doc: Value) -> HResult {
    if r.method != Method::GET {
        return not_allowed("GET");
    }
    Ok(scim_json(StatusCode::OK, doc.to_string()))
}

pub(crate) fn scim_json(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    resp
}

fn resource_response(status: StatusCode, res: &StoredResource, body: String, base: &str) -> Response {
    let mut resp = scim_json(status, body);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&res.etag()) {
        h.insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&location(res.kind, base, &res.id))
    {
        h.insert(header::LOCATION, v);
    }
    resp
}

/// Renders a resource with the projection applied; fetches group members only if shown.
async fn render_one(
    state: &AppState,
    r: &ScimRequest,
    res: &StoredResource,
    base: &str,
    proj: &Projection,
    members: Option<Vec<String>>,
) -> Result<String, CoreError> {
    let members = if res.kind == ResourceKind::Group && proj.wants("members") {
        match members {
            Some(m) => Some(m),
            None => Some(state.store.members(r.tenant.id, &res.id).await?),
        }
    } else {
        None
    };
    let text = render(res, base, members.as_deref());
    if proj.is_identity() {
        return Ok(text);
    }
    let mut obj: serde_json::Map<String, Value> =
        serde_json::from_str(&text).map_err(|e| CoreError::Internal(format!("rendered resource is not JSON: {e}")))?;
    proj.apply(&mut obj);
    Ok(Value::Object(obj).to_string())
}

fn projection(r: &ScimRequest, kind: ResourceKind) -> Result<Projection, CoreError> {
    let p = ListParams::from_pairs(r.query_pairs());
    Projection::parse(kind, p.attributes.as_deref(), p.excluded_attributes.as_deref())
}

async fn get(state: &AppState, r: &ScimRequest, kind: ResourceKind, id: &str, base: &str) -> HResult {
    let proj = projection(r, kind)?;
    let res = state
        .store
        .get(r.tenant.id, kind, id)
        .await?
        .ok_or_else(|| CoreError::NotFound(format!("{} {id:?} not found", kind.name())))?;
    if r.if_none_match() == Some(res.version) {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&res.etag()) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    let mut members = None;
    if kind == ResourceKind::Group && proj.wants("members") {
        match state
            .store
            .members_upto(r.tenant.id, &res.id, crate::stream::STREAM_ABOVE)
            .await?
        {
            Some(m) => members = Some(m),
            None if !proj.wants_part_of("members") => {
                return Ok(crate::stream::group_response(state, r.tenant.id, &res, base, &proj)?);
            }
            None => {}
        }
    }
    let body = render_one(state, r, &res, base, &proj, members).await?;
    Ok(resource_response(StatusCode::OK, &res, body, base))
}

/// The writes behind POST, PUT, PATCH and DELETE of a resource, shared by the handlers below
/// and `POST /Bulk`: a Bulk operation runs exactly this code, with the same validation and
/// Entra/Okta tolerances.
pub(crate) struct Writes<'a> {
    pub state: &'a AppState,
    pub tenant: TenantId,
    pub now: Timestamp,
}

impl Writes<'_> {
    pub fn of<'a>(state: &'a AppState, r: &ScimRequest) -> Writes<'a> {
        Writes {
            state,
            tenant: r.tenant.id,
            now: r.now,
        }
    }

    /// Creates a resource from a POST body; also returns the member objects it was created with.
    pub async fn create(&self, kind: ResourceKind, body: &Value) -> Result<(StoredResource, Vec<String>), CoreError> {
        let id = self.state.store.new_id();
        let (prepared, members) = prepare_create(kind, body, &id)?;
        let shown: Vec<String> = members.iter().map(|m| m.json.clone()).collect();
        let res = self
            .state
            .store
            .create(self.tenant, kind, prepared, members, self.now)
            .await?;
        Ok((res, shown))
    }

    pub async fn replace(
        &self,
        kind: ResourceKind,
        id: &str,
        if_match: Option<i64>,
        body: Value,
    ) -> Result<StoredResource, CoreError> {
        self.state
            .store
            .update(self.tenant, kind, id, if_match, self.now, replace_fn(kind, body))
            .await
    }

    pub async fn patch(
        &self,
        kind: ResourceKind,
        id: &str,
        if_match: Option<i64>,
        body: &Value,
    ) -> Result<StoredResource, CoreError> {
        let ops = parse_patch_request(body)?;
        self.state
            .store
            .update(self.tenant, kind, id, if_match, self.now, patch_fn(kind, ops))
            .await
    }

    pub async fn delete(&self, kind: ResourceKind, id: &str, if_match: Option<i64>) -> Result<(), CoreError> {
        self.state.store.delete(self.tenant, kind, id, if_match, self.now).await
    }
}

async fn create(state: &AppState, r: &ScimRequest, kind: ResourceKind, base: &str) -> HResult {
    let proj = projection(r, kind)?;
    let body = r.json(state.config.limits.max_json_depth)?;
    let (res, shown) = Writes::of(state, r).create(kind, &body).await?;
    let text = render_one(state, r, &res, base, &proj, Some(shown)).await?;
    Ok(resource_response(StatusCode::CREATED, &res, text, base))
}

async fn put(state: &AppState, r: &ScimRequest, kind: ResourceKind, id: &str, base: &str) -> HResult {
    let proj = projection(r, kind)?;
    let body = r.json(state.config.limits.max_json_depth)?;
    let res = Writes::of(state, r).replace(kind, id, r.if_match()?, body).await?;
    let text = render_one(state, r, &res, base, &proj, None).await?;
    Ok(resource_response(StatusCode::OK, &res, text, base))
}

/// Largest member list a group PATCH response carries without being asked.
pub const MAX_INLINE_MEMBERS: usize = 1000;

async fn patch(state: &AppState, r: &ScimRequest, kind: ResourceKind, id: &str, base: &str) -> HResult {
    let proj = projection(r, kind)?;
    let body = r.json(state.config.limits.max_json_depth)?;
    let res = Writes::of(state, r).patch(kind, id, r.if_match()?, &body).await?;
    if prefers_minimal(r) {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&res.etag()) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    // A group PATCH answers 200 with the group. Its members come along while there are at
    // most MAX_INLINE_MEMBERS of them (a bounded read), so the response never costs more for
    // a group of a million; `?attributes=members` asks for all of them explicitly.
    let mut members = None;
    let mut proj = proj;
    if kind == ResourceKind::Group && proj.attributes.is_empty() && proj.wants("members") {
        match state
            .store
            .members_upto(r.tenant.id, &res.id, MAX_INLINE_MEMBERS)
            .await?
        {
            Some(list) => members = Some(list),
            None => proj
                .excluded
                .extend(Projection::parse(kind, None, Some("members"))?.excluded),
        }
    }
    let text = render_one(state, r, &res, base, &proj, members).await?;
    Ok(resource_response(StatusCode::OK, &res, text, base))
}

/// RFC 7240 `Prefer: return=minimal`: the client wants 204 without a body.
fn prefers_minimal(r: &ScimRequest) -> bool {
    r.headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("return=minimal")))
}

async fn delete(state: &AppState, r: &ScimRequest, kind: ResourceKind, id: &str) -> HResult {
    Writes::of(state, r).delete(kind, id, r.if_match()?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A ListResponse. Index paging has `startIndex`; cursor paging (RFC 9865) has
/// `nextCursor` / `previousCursor` where those pages exist.
fn list_body(total: u64, start: Option<u64>, cursors: [Option<&str>; 2], items: &[String]) -> String {
    let mut out = String::with_capacity(256 + items.iter().map(|s| s.len() + 1).sum::<usize>());
    out.push_str("{\"schemas\":[\"");
    out.push_str(scim_proto::LIST_RESPONSE);
    out.push_str("\"],\"totalResults\":");
    out.push_str(&total.to_string());
    if let Some(start) = start {
        out.push_str(",\"startIndex\":");
        out.push_str(&start.to_string());
    }
    for (name, c) in ["nextCursor", "previousCursor"].into_iter().zip(cursors) {
        if let Some(c) = c {
            // Cursors are base64url: nothing to escape.
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("\":\"");
            out.push_str(c);
            out.push('"');
        }
    }
    out.push_str(",\"itemsPerPage\":");
    out.push_str(&items.len().to_string());
    out.push_str(",\"Resources\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push_str("]}");
    out
}

async fn render_page(
    state: &AppState,
    r: &ScimRequest,
    page: &Page,
    base: &str,
    proj: &Projection,
) -> Result<Vec<String>, CoreError> {
    let mut items = Vec::with_capacity(page.items.len());
    for res in &page.items {
        items.push(render_one(state, r, res, base, proj, None).await?);
    }
    Ok(items)
}

async fn list(state: &AppState, r: &ScimRequest, kind: ResourceKind, base: &str, params: ListParams) -> HResult {
    let (query, proj) = params.to_query(kind)?;
    let paged = crate::paging::run(state, r, kind, &params, query).await?;
    let items = render_page(state, r, &paged.page, base, &proj).await?;
    let cursors = [paged.next.as_deref(), paged.previous.as_deref()];
    Ok(scim_json(
        StatusCode::OK,
        list_body(paged.page.total, paged.start_index, cursors, &items),
    ))
}

/// `POST /.search` at the root: Users, then Groups, paged as one list. A filter that does
/// not apply to a resource type (say `userName`) selects none of that type.
async fn root_search(state: &AppState, r: &ScimRequest, base: &str, params: ListParams) -> HResult {
    if params.cursor.is_some() {
        return Err(CoreError::InvalidValue(
            "cursor paging is offered on /Users and /Groups (and their /.search), not on the root /.search".into(),
        )
        .into());
    }
    let mut plans: Vec<(ResourceKind, Query, Projection)> = Vec::new();
    let mut first_err = None;
    for kind in discovery::KINDS {
        match params.to_query(kind) {
            Ok((q, p)) => plans.push((kind, q, p)),
            Err(e) => first_err = first_err.or(Some(e)),
        }
    }
    if plans.is_empty() {
        return Err(first_err
            .unwrap_or_else(|| CoreError::InvalidFilter("invalid search".into()))
            .into());
    }
    let start = plans[0].1.start_index;
    let mut want = plans[0].1.count;
    let mut skip = start - 1;
    let mut total = 0;
    let mut items = Vec::new();
    for (kind, mut q, proj) in plans {
        q.start_index = skip + 1;
        q.count = want;
        let page = state.store.query(r.tenant.id, kind, q).await?;
        total += page.total;
        skip = skip.saturating_sub(page.total);
        want -= page.items.len() as u64;
        items.extend(render_page(state, r, &page, base, &proj).await?);
    }
    Ok(scim_json(
        StatusCode::OK,
        list_body(total, Some(start), [None, None], &items),
    ))
}
