//! The fake's HTTP handling: one fallback handler that routes by path, as the real service
//! has paths axum's router would not like (`/directory/deletedItems/microsoft.graph.user`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::{GraphRequest, Session, Shared, lock};

type Query = Vec<(String, String)>;

pub(super) async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query: Query = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let resp = route(&s, &method, &path, &query, &headers, &body);
    lock(&s.requests).push(GraphRequest {
        method: method.to_string(),
        path,
        query,
        prefer: headers.get("prefer").and_then(|v| v.to_str().ok()).map(str::to_string),
        status: resp.status().as_u16(),
    });
    resp
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

fn route(s: &Shared, method: &Method, path: &str, q: &Query, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Some(r) = throttled(s, path) {
        return r;
    }
    if method == Method::POST && path == format!("/{}/oauth2/v2.0/token", s.tenant_id) {
        return token(s, headers, body);
    }
    if method == Method::POST && path.ends_with("/oauth2/v2.0/token") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "AADSTS90002: Tenant not found.",
        );
    }
    if method != Method::GET {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "only GET is served",
        );
    }
    if !authorized(s, headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty, unknown or expired.",
        );
    }
    let Some(rest) = path.strip_prefix("/v1.0") else {
        return error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", path);
    };
    let sp = format!("/servicePrincipals/{}", s.sp_id);
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["users", "delta"] => delta(s, "user", q, max_page(headers)),
        ["groups", "delta"] => delta(s, "group", q, max_page(headers)),
        ["users", id] => one_user(s, id, q),
        ["groups", id, "members"] => members(s, id, q),
        ["directory", "deletedItems", "microsoft.graph.user"] => deleted_users(s, q),
        _ if rest == sp => service_principal(s),
        _ if rest == format!("{sp}/appRoleAssignedTo") => assignments(s, q),
        _ => error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", path),
    }
}

fn throttled(s: &Shared, path: &str) -> Option<Response> {
    let mut ts = lock(&s.throttles);
    let t = ts.iter_mut().find(|t| t.times > 0 && path.contains(&t.path_contains))?;
    t.times -= 1;
    let (status, retry) = (t.status, t.retry_after);
    let mut r = error(
        StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
        if status == 429 {
            "TooManyRequests"
        } else {
            "ServiceUnavailable"
        },
        "Please retry after the time in Retry-After.",
    );
    r.headers_mut().insert(header::RETRY_AFTER, retry.into());
    Some(r)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn token(s: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let form: Query = form_urlencoded::parse(body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|p| p.split_once(':').map(|(a, b)| (a.to_string(), b.to_string())));
    let decode = |v: &str| {
        form_urlencoded::parse(format!("x={v}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    let (id, secret) = match basic {
        Some((a, b)) => (decode(&a), decode(&b)),
        None => (get("client_id"), get("client_secret")),
    };
    if get("grant_type").as_deref() != Some("client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "AADSTS70003");
    }
    if get("scope").as_deref() != Some("https://graph.microsoft.com/.default") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: scope must be …/.default",
        );
    }
    if id.as_deref() != Some(&s.client_id) || secret.as_deref() != Some(&s.client_secret) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        );
    }
    let n = s.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let lifetime = s.token_lifetime.load(Ordering::SeqCst);
    let access = format!("eyJ0eXAi.fake-{n}");
    lock(&s.tokens).insert(access.clone(), Instant::now() + Duration::from_secs(lifetime));
    axum::Json(
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": access}),
    )
    .into_response()
}

fn authorized(s: &Shared, headers: &HeaderMap) -> bool {
    let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    lock(&s.tokens).get(t).is_some_and(|until| Instant::now() < *until)
}

/// `Prefer: odata.maxpagesize=N` (Graph's default page is 100 here).
fn max_page(headers: &HeaderMap) -> usize {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix("odata.maxpagesize=")?.parse().ok())
        .unwrap_or(100usize)
        .clamp(1, 999)
}

fn param<'q>(q: &'q Query, name: &str) -> Option<&'q str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn page_size(q: &Query, default: usize) -> usize {
    param(q, "$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(default)
        .clamp(1, 999)
}

/// A delta request: the first of a round, a `nextLink` or a `deltaLink`.
fn delta(s: &Shared, kind: &'static str, q: &Query, size: usize) -> Response {
    let tokens = ["$skiptoken", "$deltatoken"];
    let has_token = q.iter().any(|(k, _)| tokens.contains(&k.as_str()));
    if has_token && q.len() > 1 {
        return error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "a nextLink or deltaLink must be used as given; its query is encoded in the token",
        );
    }
    let (sid, offset) = if let Some(t) = param(q, "$skiptoken") {
        match t
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        {
            Some(p) => p,
            None => return error(StatusCode::BAD_REQUEST, "Request_BadRequest", "bad skiptoken"),
        }
    } else {
        if param(q, "$deltatoken").is_some() && s.tokens_gone.swap(false, Ordering::SeqCst) {
            return error(
                StatusCode::GONE,
                "resyncRequired",
                "The delta token has expired; start a new round.",
            );
        }
        let (select, expand_members, since) = match param(q, "$deltatoken") {
            Some(t) => match t.parse::<usize>().ok().and_then(|i| lock(&s.sessions).get(i).cloned()) {
                Some(old) if old.kind == kind => (old.select.clone(), old.expand_members, Some(old.at)),
                _ => return error(StatusCode::BAD_REQUEST, "Request_BadRequest", "bad deltatoken"),
            },
            None => {
                let select: Vec<String> = param(q, "$select")
                    .map(|v| v.split(',').map(|x| x.trim().to_string()).collect())
                    .unwrap_or_default();
                (select, param(q, "$expand") == Some("members"), None)
            }
        };
        (start_round(s, kind, select, expand_members, since), 0)
    };
    delta_page(s, sid, offset, size)
}

fn start_round(s: &Shared, kind: &'static str, select: Vec<String>, expand_members: bool, since: Option<u64>) -> usize {
    let dir = lock(&s.dir);
    let chunk = s.member_chunk.load(Ordering::SeqCst);
    let mut members = std::collections::HashMap::new();
    let fresh = |changed: u64, removed: bool| match since {
        None => !removed,
        Some(v) => changed > v,
    };
    let entries: Vec<(String, usize)> = if kind == "user" {
        dir.users
            .iter()
            .filter(|(_, u)| fresh(u.changed, u.removed.is_some()))
            .map(|(id, _)| (id.clone(), 0))
            .collect()
    } else {
        let mut e = Vec::new();
        for (id, g) in dir.groups.iter().filter(|(_, g)| fresh(g.changed, g.removed.is_some())) {
            let n = if expand_members && g.removed.is_none() {
                let delta = dir.member_delta(id, since);
                let n = delta.len().div_ceil(chunk).max(1);
                members.insert(id.clone(), delta);
                n
            } else {
                1
            };
            e.extend((0..n).map(|c| (id.clone(), c)));
        }
        e
    };
    let mut sessions = lock(&s.sessions);
    sessions.push(Arc::new(Session {
        kind,
        select,
        expand_members,
        at: dir.version,
        entries,
        members,
    }));
    sessions.len() - 1
}

/// The most members a delta page carries (in whole entries).
const MEMBERS_PER_PAGE: usize = 5000;

fn delta_page(s: &Shared, sid: usize, offset: usize, size: usize) -> Response {
    let Some(session) = lock(&s.sessions).get(sid).cloned() else {
        return error(StatusCode::BAD_REQUEST, "Request_BadRequest", "bad skiptoken");
    };
    let dir = lock(&s.dir);
    let chunk = s.member_chunk.load(Ordering::SeqCst);
    let mut end = (offset + size).min(session.entries.len());
    let mut value = Vec::new();
    // A page also ends when it holds MEMBERS_PER_PAGE members: a large group fills a page.
    let mut members_in_page = 0;
    for (n, (id, c)) in session.entries[offset..end].iter().enumerate() {
        if members_in_page >= MEMBERS_PER_PAGE {
            end = offset + n;
            break;
        }
        let removed = if session.kind == "user" {
            dir.users[id].removed
        } else {
            dir.groups[id].removed
        };
        if let Some(r) = removed {
            value.push(json!({"id": id, "@removed": {"reason": r.reason()}}));
            continue;
        }
        if session.kind == "user" {
            value.push(dir.user_json(id, &session.select, true));
            continue;
        }
        let mut g = dir.group_json(id, &session.select);
        if session.expand_members {
            let all = session.members.get(id).map(Vec::as_slice).unwrap_or_default();
            let part: Vec<Value> = all.iter().skip(c * chunk).take(chunk).cloned().collect();
            members_in_page += part.len();
            if !part.is_empty() {
                g.insert("members@delta".into(), Value::Array(part));
            }
        }
        value.push(Value::Object(g));
    }
    let plural = format!("{}s", session.kind);
    let mut body = json!({"@odata.context": format!("{}/$metadata#{plural}", s.graph_url), "value": value});
    if end < session.entries.len() {
        body["@odata.nextLink"] = json!(format!("{}/{plural}/delta?$skiptoken={sid}.{end}", s.graph_url));
    } else {
        body["@odata.deltaLink"] = json!(format!("{}/{plural}/delta?$deltatoken={sid}", s.graph_url));
    }
    axum::Json(body).into_response()
}

/// A plain paged list: `$top`, then `nextLink`s with a `$skiptoken` offset.
fn paged(s: &Shared, path: &str, q: &Query, all: Vec<Value>) -> Response {
    let offset: usize = param(q, "$skiptoken").and_then(|t| t.parse().ok()).unwrap_or(0);
    let top = page_size(q, 100);
    let end = (offset + top).min(all.len());
    let mut body = json!({"value": all[offset.min(end)..end]});
    if end < all.len() {
        body["@odata.nextLink"] = json!(format!("{}{path}?$top={top}&$skiptoken={end}", s.graph_url));
    }
    axum::Json(body).into_response()
}

fn one_user(s: &Shared, id: &str, q: &Query) -> Response {
    let dir = lock(&s.dir);
    if dir.users.get(id).is_none_or(|u| u.removed.is_some()) {
        return error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!("Resource '{id}' does not exist"),
        );
    }
    let mut select: Vec<String> = param(q, "$select")
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    if param(q, "$expand").is_some_and(|e| e.starts_with("manager")) {
        select.push("manager".into());
    }
    axum::Json(dir.user_json(id, &select, false)).into_response()
}

fn members(s: &Shared, id: &str, q: &Query) -> Response {
    let all = {
        let dir = lock(&s.dir);
        let Some(g) = dir.groups.get(id).filter(|g| g.removed.is_none()) else {
            return error(StatusCode::NOT_FOUND, "Request_ResourceNotFound", id);
        };
        g.members
            .iter()
            .map(|m| {
                let t = if dir.groups.contains_key(m) { "group" } else { "user" };
                json!({"@odata.type": format!("#microsoft.graph.{t}"), "id": m})
            })
            .collect()
    };
    paged(s, &format!("/groups/{id}/members"), q, all)
}

fn deleted_users(s: &Shared, q: &Query) -> Response {
    let select: Vec<String> = param(q, "$select")
        .map(|v| v.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let all = {
        let dir = lock(&s.dir);
        dir.users
            .iter()
            .filter(|(_, u)| u.removed == Some(super::Removed::Changed))
            .map(|(id, _)| dir.user_json(id, &select, false))
            .collect()
    };
    paged(s, "/directory/deletedItems/microsoft.graph.user", q, all)
}

fn service_principal(s: &Shared) -> Response {
    let dir = lock(&s.dir);
    let roles: Vec<Value> = dir
        .roles
        .iter()
        .map(|r| {
            json!({"id": r.id, "value": r.value, "displayName": r.display_name,
                   "allowedMemberTypes": ["User"], "isEnabled": true, "description": r.display_name})
        })
        .collect();
    axum::Json(json!({"id": s.sp_id, "appId": s.client_id, "displayName": "Hoxhunt", "appRoles": roles}))
        .into_response()
}

fn assignments(s: &Shared, q: &Query) -> Response {
    let all = {
        let dir = lock(&s.dir);
        dir.assignments
            .iter()
            .map(|a| {
                json!({"id": a.id, "appRoleId": a.app_role_id, "principalId": a.principal_id,
                       "principalType": a.principal_type, "resourceId": s.sp_id})
            })
            .collect()
    };
    paged(s, &format!("/servicePrincipals/{}/appRoleAssignedTo", s.sp_id), q, all)
}
