//! Parsing a Bulk request: the envelope (`failOnErrors`, `Operations`) and each operation,
//! whose errors are kept so that a malformed operation fails alone, in its turn.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use scim_core::CoreError;
use scim_core::ResourceKind;
use scim_core::eval::get_ci_map;
use serde_json::Value;

use super::REF_PREFIX;
use crate::ApiError;
use crate::Limits;
use crate::request::if_match_value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Case-insensitive, as clients send `post` and `Patch`.
    fn parse(s: &str) -> Option<Method> {
        [Method::Post, Method::Put, Method::Patch, Method::Delete]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// A well-formed operation. `id` and `data` may still hold `bulkId:` references.
pub(super) struct Planned {
    pub(super) method: Method,
    pub(super) kind: ResourceKind,
    /// The resource id of PUT, PATCH and DELETE; `None` for POST.
    pub(super) id: Option<String>,
    pub(super) if_match: Option<i64>,
    pub(super) data: Option<Value>,
    /// The distinct bulkIds referred to, in order of appearance.
    pub(super) refs: Vec<String>,
}

/// One entry of `Operations` as parsed; a malformed one keeps its error so that it fails
/// alone, in its turn.
pub(super) struct Op {
    /// The method as shown in the response: canonical when valid, else as sent.
    pub(super) method: Option<String>,
    pub(super) bulk_id: Option<String>,
    pub(super) plan: Result<Planned, ApiError>,
}

/// `failOnErrors` and `Operations`; errors here fail the whole request.
pub(super) fn envelope<'a>(body: &'a Value, limits: &Limits) -> Result<(Option<usize>, &'a [Value]), ApiError> {
    let Value::Object(obj) = body else {
        return Err(CoreError::InvalidSyntax(
            "a Bulk body must be a JSON object with \"schemas\" and \"Operations\"".into(),
        )
        .into());
    };
    let items = match get_ci_map(obj, "Operations") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(CoreError::InvalidSyntax("\"Operations\" must be an array".into()).into()),
        None => {
            return Err(CoreError::InvalidSyntax("the Bulk request has no \"Operations\" array".into()).into());
        }
    };
    let max = limits.max_bulk_operations;
    if items.len() > max {
        return Err(ApiError::PayloadTooLarge(format!(
            "the Bulk request has {} operations; maxOperations is {max} (see /ServiceProviderConfig)",
            items.len()
        )));
    }
    let fail_on_errors = match get_ci_map(obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            match n {
                Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => {
                    return Err(CoreError::InvalidValue(format!(
                        "\"failOnErrors\" must be a positive integer (the number of errors after which the \
                         remaining operations are skipped), not {v}"
                    ))
                    .into());
                }
            }
        }
    };
    Ok((fail_on_errors, items))
}

/// Parses `Operations[i]`; `defs` maps each bulkId to the first operation that carries it.
pub(super) fn parse_op(i: usize, v: &Value, defs: &mut HashMap<String, usize>, max_data: usize) -> Op {
    let Value::Object(o) = v else {
        return Op {
            method: None,
            bulk_id: None,
            plan: Err(CoreError::InvalidSyntax(format!("Operations[{i}] must be an object")).into()),
        };
    };
    let sent_method = get_ci_map(o, "method").and_then(Value::as_str);
    let method = sent_method.and_then(Method::parse);
    let bulk_id = get_ci_map(o, "bulkId").and_then(Value::as_str).map(str::to_string);
    let mut duplicate = None;
    if let Some(b) = &bulk_id {
        match defs.entry(b.clone()) {
            Entry::Vacant(e) => {
                e.insert(i);
            }
            Entry::Occupied(e) => duplicate = Some(*e.get()),
        }
    }
    let plan = match duplicate {
        Some(first) => Err(CoreError::InvalidValue(format!(
            "bulkId {:?} is already used by Operations[{first}]; bulkIds must be unique within a request",
            bulk_id.as_deref().unwrap_or_default()
        ))
        .into()),
        None => plan_op(i, o, sent_method, method, max_data),
    };
    Op {
        method: method
            .map(|m| m.as_str().to_string())
            .or(sent_method.map(str::to_string)),
        bulk_id,
        plan,
    }
}

fn plan_op(
    i: usize,
    o: &serde_json::Map<String, Value>,
    sent_method: Option<&str>,
    method: Option<Method>,
    max_data: usize,
) -> Result<Planned, ApiError> {
    let method = match (sent_method, method) {
        (_, Some(m)) => m,
        (Some(s), None) => {
            return Err(CoreError::InvalidValue(format!(
                "Operations[{i}].method {s:?} is not one of POST, PUT, PATCH or DELETE"
            ))
            .into());
        }
        (None, None) => {
            return Err(CoreError::InvalidSyntax(format!(
                "Operations[{i}] needs \"method\": POST, PUT, PATCH or DELETE"
            ))
            .into());
        }
    };
    match get_ci_map(o, "bulkId") {
        None | Some(Value::Null | Value::String(_)) => {}
        Some(_) => {
            return Err(CoreError::InvalidSyntax(format!("Operations[{i}].bulkId must be a string")).into());
        }
    }
    let if_match = match get_ci_map(o, "version") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) if method != Method::Post => if_match_value("version", v)?,
        Some(Value::String(_)) => None,
        Some(_) => {
            return Err(CoreError::InvalidSyntax(format!(
                "Operations[{i}].version must be a string, an ETag like W/\"3\""
            ))
            .into());
        }
    };
    let Some(Value::String(path)) = get_ci_map(o, "path") else {
        return Err(CoreError::InvalidPath(format!(
            "Operations[{i}] needs \"path\": \"/Users\" or \"/Groups\" for POST, \"/Users/{{id}}\" or \
             \"/Groups/{{id}}\" otherwise"
        ))
        .into());
    };
    let (kind, id) = parse_path(path).ok_or_else(|| {
        CoreError::InvalidPath(format!(
            "Operations[{i}].path {path:?} is not /Users, /Users/{{id}}, /Groups or /Groups/{{id}}"
        ))
    })?;
    match (method, &id) {
        (Method::Post, Some(_)) => {
            return Err(CoreError::InvalidPath(format!(
                "Operations[{i}]: POST goes to /{}, not to {path:?}",
                kind.endpoint()
            ))
            .into());
        }
        (Method::Put | Method::Patch | Method::Delete, None) => {
            return Err(CoreError::InvalidPath(format!(
                "Operations[{i}]: {} needs a resource path like /{}/{{id}}, not {path:?}",
                method.as_str(),
                kind.endpoint()
            ))
            .into());
        }
        _ => {}
    }
    let data = match (method, get_ci_map(o, "data")) {
        (Method::Delete, _) => None,
        (_, None | Some(Value::Null)) => {
            return Err(CoreError::InvalidSyntax(format!(
                "Operations[{i}] ({}) needs \"data\": the request body",
                method.as_str()
            ))
            .into());
        }
        (_, Some(d)) => Some(d.clone()),
    };
    // One resource body in a Bulk request is held to the limit of a single request's body.
    if let Some(d) = &data {
        let size = serde_json::to_vec(d).map_or(0, |v| v.len());
        if size > max_data {
            return Err(ApiError::PayloadTooLarge(format!(
                "Operations[{i}].data is {size} bytes, larger than the limit of {max_data} bytes for one request body"
            )));
        }
    }
    let mut refs = Vec::new();
    if let Some(id) = &id {
        collect_refs(&Value::String(id.clone()), &mut refs);
    }
    if let Some(d) = &data {
        collect_refs(d, &mut refs);
    }
    Ok(Planned {
        method,
        kind,
        id,
        if_match,
        data,
        refs,
    })
}

/// `/Users`, `/Groups/{id}` (case-insensitive endpoint, leading slash optional).
fn parse_path(path: &str) -> Option<(ResourceKind, Option<String>)> {
    let p = path.trim();
    let p = p.strip_prefix('/').unwrap_or(p);
    let p = p.strip_suffix('/').unwrap_or(p);
    let (endpoint, id) = match p.split_once('/') {
        Some((e, id)) => (e, Some(id)),
        None => (p, None),
    };
    let kind = scim_core::discovery::KINDS
        .into_iter()
        .find(|k| k.endpoint().eq_ignore_ascii_case(endpoint))?;
    match id {
        Some(id) if id.is_empty() || id.contains('/') => None,
        Some(id) => Some((kind, Some(id.to_string()))),
        None => Some((kind, None)),
    }
}

pub(super) fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(b) = s.strip_prefix(REF_PREFIX)
                && !out.iter().any(|x| x == b)
            {
                out.push(b.to_string());
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}
