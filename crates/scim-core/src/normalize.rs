//! Validation and normalisation of incoming resources (POST, PUT, and the result of PATCH).
//!
//! Attribute *names* are canonicalised to the schema's spelling; *values* are kept exactly as
//! sent, except that string booleans become booleans and the manager's three shapes become one.
//! `null`, `""` and `[]` mean "absent". Unknown core attributes and client-sent read-only
//! attributes (`id`, `meta`, `groups`) are ignored; unknown extension URNs are kept verbatim.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{CoreError, Result};
use crate::limits::{
    MAX_MEMBERS_PER_REQUEST, MAX_NAME_CHARS, MAX_STRING_CHARS, MAX_UNKNOWN_EXTENSION_BYTES, MAX_VALUES,
};
use crate::schema::{AttrDef, AttrType, Mutability, ResourceKind, SchemaDef, find};

/// A group member as stored: the member id and its JSON object (canonical keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub value: String,
    pub json: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// Canonical attributes, without `schemas`, `id`, `meta` and `members`.
    pub attrs: Map<String, Value>,
    /// `Some` when the input carried a `members` attribute (groups only).
    pub members: Option<Vec<Member>>,
}

impl Normalized {
    pub fn external_id(&self) -> Option<&str> {
        self.attrs.get("externalId").and_then(Value::as_str)
    }

    /// The uniqueness key: the lower-cased `userName` / `displayName`.
    pub fn name_key(&self, kind: ResourceKind) -> String {
        self.attrs
            .get(kind.name_attr())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase()
    }
}

/// Normalises a full resource representation (POST / PUT body, or a patched document).
pub fn normalize(kind: ResourceKind, input: &Value) -> Result<Normalized> {
    let Value::Object(obj) = input else {
        return Err(CoreError::InvalidSyntax(format!(
            "the request body must be a JSON object representing a {}",
            kind.name()
        )));
    };
    let mut attrs = Map::new();
    let mut members = None;
    for (key, val) in obj {
        if key.eq_ignore_ascii_case("schemas") || key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("meta") {
            continue;
        }
        if key.eq_ignore_ascii_case("externalId") {
            if let Some(v) = simple_string(val, "externalId")? {
                attrs.insert("externalId".into(), v);
            }
            continue;
        }
        if kind == ResourceKind::Group && key.eq_ignore_ascii_case("members") {
            members = Some(normalize_members(val)?);
            continue;
        }
        if is_urn(key) {
            normalize_urn_key(kind, key, val, &mut attrs)?;
            continue;
        }
        if let Some(def) = find(kind.core().attrs, key)
            && let Some(v) = normalize_value(def, val, def.name)?
        {
            attrs.insert(def.name.to_string(), v);
        }
    }
    check_required(kind, &attrs)?;
    Ok(Normalized { attrs, members })
}

pub(crate) fn is_urn(key: &str) -> bool {
    key.len() > 4 && key.as_bytes()[..4].eq_ignore_ascii_case(b"urn:")
}

fn normalize_urn_key(kind: ResourceKind, key: &str, val: &Value, attrs: &mut Map<String, Value>) -> Result<()> {
    if let Some(ext) = kind.extension(key) {
        let block = normalize_block(ext, val)?;
        merge_block(attrs, ext.id, block);
        return Ok(());
    }
    if key.eq_ignore_ascii_case(kind.core().id) {
        if let Value::Object(inner) = val {
            for (k, v) in inner {
                if let Some(def) = find(kind.core().attrs, k)
                    && let Some(v) = normalize_value(def, v, def.name)?
                {
                    attrs.insert(def.name.to_string(), v);
                }
            }
        }
        return Ok(());
    }
    // `urn:…:User:department` at the top level: an extension attribute written in full.
    if let Some((urn, name)) = key.rsplit_once(':')
        && let Some(ext) = kind.extension(urn)
    {
        if let Some(def) = find(ext.attrs, name)
            && let Some(v) = normalize_value(def, val, def.name)?
        {
            let mut block = Map::new();
            block.insert(def.name.to_string(), v);
            merge_block(attrs, ext.id, Some(block));
        }
        return Ok(());
    }
    // A custom extension this server has no schema for: keep it verbatim, up to a size.
    if !is_empty_value(val) {
        let len = val.to_string().len();
        if len > MAX_UNKNOWN_EXTENSION_BYTES {
            return Err(CoreError::InvalidValue(format!(
                "'{key}' (an extension this server has no schema for) is {len} bytes of JSON; at most \
                 {MAX_UNKNOWN_EXTENSION_BYTES} are kept"
            )));
        }
        attrs.insert(key.to_string(), val.clone());
    }
    Ok(())
}

fn merge_block(attrs: &mut Map<String, Value>, urn: &str, block: Option<Map<String, Value>>) {
    let Some(block) = block else { return };
    match attrs.get_mut(urn) {
        Some(Value::Object(existing)) => existing.extend(block),
        _ => {
            attrs.insert(urn.to_string(), Value::Object(block));
        }
    }
}

fn normalize_block(schema: &'static SchemaDef, val: &Value) -> Result<Option<Map<String, Value>>> {
    match val {
        Value::Null => Ok(None),
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                if let Some(def) = find(schema.attrs, k)
                    && let Some(v) = normalize_value(def, v, def.name)?
                {
                    out.insert(def.name.to_string(), v);
                }
            }
            Ok(if out.is_empty() { None } else { Some(out) })
        }
        _ => Err(CoreError::InvalidValue(format!(
            "'{}' must be a JSON object holding the extension's attributes",
            schema.id
        ))),
    }
}

fn check_required(kind: ResourceKind, attrs: &Map<String, Value>) -> Result<()> {
    for def in kind.core().attrs.iter().filter(|d| d.required) {
        if !attrs.contains_key(def.name) {
            return Err(CoreError::InvalidValue(format!(
                "'{}' is required for a {} and must be a non-empty string",
                def.name,
                kind.name()
            )));
        }
    }
    Ok(())
}

pub(crate) fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Normalises one attribute value against its definition. `Ok(None)` means absent.
pub fn normalize_value(def: &'static AttrDef, val: &Value, path: &str) -> Result<Option<Value>> {
    // Read-only attributes are the server's; write-only ones (password) are never stored,
    // since this server authenticates nobody with them.
    if val.is_null() || matches!(def.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
        return Ok(None);
    }
    if def.multi {
        // A single value where the schema has a list is refused in a resource body (PATCH
        // values may be single: the PATCH engine makes the list).
        let Value::Array(a) = val else {
            return Err(CoreError::InvalidValue(format!(
                "'{path}' is multi-valued and must be a JSON array, got {}",
                describe(val)
            )));
        };
        if a.len() > MAX_VALUES {
            return Err(CoreError::InvalidValue(format!(
                "'{path}' has {} values; at most {MAX_VALUES} are allowed",
                a.len()
            )));
        }
        let items: Vec<&Value> = a.iter().collect();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = normalize_single(def, item, path)? {
                out.push(v);
            }
        }
        return Ok(if out.is_empty() { None } else { Some(Value::Array(out)) });
    }
    normalize_single(def, val, path)
}

fn normalize_single(def: &'static AttrDef, val: &Value, path: &str) -> Result<Option<Value>> {
    if val.is_null() {
        return Ok(None);
    }
    match def.ty {
        AttrType::Complex => normalize_complex(def, val, path),
        _ => coerce_simple(def.ty, val, path),
    }
}

fn normalize_complex(def: &'static AttrDef, val: &Value, path: &str) -> Result<Option<Value>> {
    match val {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                let Some(sub) = def.sub_attr(k) else { continue };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = coerce_simple(sub.ty, v, &format!("{path}.{}", sub.name))? {
                    out.insert(sub.name.to_string(), v);
                }
            }
            Ok(if out.is_empty() { None } else { Some(Value::Object(out)) })
        }
        // Manager as a bare id, and multi-valued elements given as bare values.
        Value::String(s) if def.sub_attr("value").is_some() => {
            if s.is_empty() {
                return Ok(None);
            }
            let mut out = Map::new();
            out.insert("value".into(), Value::String(s.clone()));
            Ok(Some(Value::Object(out)))
        }
        // Manager in the older array form: `[{"$ref": …, "value": …}]`.
        Value::Array(items) if !def.multi => match items.iter().find(|v| !v.is_null()) {
            Some(first) => normalize_complex(def, first, path),
            None => Ok(None),
        },
        _ => Err(CoreError::InvalidValue(format!(
            "'{path}' is a complex attribute and must be a JSON object"
        ))),
    }
}

/// Coerces a simple value to the attribute's type, keeping strings exactly as sent.
pub fn coerce_simple(ty: AttrType, val: &Value, path: &str) -> Result<Option<Value>> {
    let bad = |what: &str| CoreError::InvalidValue(format!("'{path}' must be {what}, got {}", describe(val)));
    Ok(match (ty, val) {
        (_, Value::Null) => None,
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(s)) => {
            if s.is_empty() {
                None
            } else {
                crate::limits::check_length(s, crate::limits::max_chars(ty, path), path)
                    .map_err(CoreError::InvalidValue)?;
                Some(val.clone())
            }
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => return Err(bad("a string")),
        (AttrType::Boolean, Value::Bool(_)) => Some(val.clone()),
        (AttrType::Boolean, Value::String(s)) => {
            if s.eq_ignore_ascii_case("true") {
                Some(Value::Bool(true))
            } else if s.eq_ignore_ascii_case("false") {
                Some(Value::Bool(false))
            } else if s.is_empty() {
                None
            } else {
                return Err(bad("a boolean (true/false)"));
            }
        }
        (AttrType::Boolean, _) => return Err(bad("a boolean (true/false)")),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Some(val.clone()),
        (AttrType::Integer, Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(i) => Some(Value::from(i)),
            Err(_) if s.is_empty() => None,
            Err(_) => return Err(bad("an integer")),
        },
        (AttrType::Integer, _) => return Err(bad("an integer")),
        (AttrType::Decimal, Value::Number(_)) => Some(val.clone()),
        (AttrType::Decimal, Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Some(Value::from(f)),
            _ if s.is_empty() => None,
            _ => return Err(bad("a decimal number")),
        },
        (AttrType::Decimal, _) => return Err(bad("a decimal number")),
        (AttrType::DateTime, Value::String(s)) => {
            if s.is_empty() {
                None
            } else if OffsetDateTime::parse(s, &Rfc3339).is_ok() {
                Some(val.clone())
            } else {
                return Err(bad("an RFC 3339 date-time such as 2026-01-31T12:00:00Z"));
            }
        }
        (AttrType::DateTime, _) => return Err(bad("an RFC 3339 date-time string")),
        (AttrType::Complex, _) => return Err(bad("a JSON object")),
    })
}

fn describe(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 60 {
        format!("{}…", &text[..text.floor_char_boundary(60)])
    } else {
        text
    }
}

fn simple_string(val: &Value, path: &str) -> Result<Option<Value>> {
    coerce_simple(AttrType::String, val, path)
}

/// Normalises a `members` value: an array of `{value, display, type, $ref}` objects (bare
/// strings are taken as ids). Duplicates collapse to the first occurrence.
pub fn normalize_members(val: &Value) -> Result<Vec<Member>> {
    let items: Vec<&Value> = match val {
        Value::Null => vec![],
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    if items.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(CoreError::InvalidValue(format!(
            "'members' names {} members; at most {MAX_MEMBERS_PER_REQUEST} per request (send the rest in \
             further PATCH requests)",
            items.len()
        )));
    }
    let mut out: Vec<Member> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        let member = normalize_member(item)?;
        if let Some(m) = member
            && seen.insert(m.value.clone())
        {
            out.push(m);
        }
    }
    Ok(out)
}

fn normalize_member(item: &Value) -> Result<Option<Member>> {
    let mut obj = Map::new();
    match item {
        Value::Null => return Ok(None),
        Value::String(s) => {
            obj.insert("value".into(), Value::String(s.clone()));
        }
        Value::Object(src) => {
            for (k, v) in src {
                let canon = ["value", "display", "type", "$ref"]
                    .into_iter()
                    .find(|c| c.eq_ignore_ascii_case(k));
                match (canon, v) {
                    (Some(c), Value::String(s)) if !s.is_empty() => {
                        let max = if c == "value" { MAX_NAME_CHARS } else { MAX_STRING_CHARS };
                        crate::limits::check_length(s, max, &format!("members.{c}"))
                            .map_err(CoreError::InvalidValue)?;
                        obj.insert(c.to_string(), v.clone());
                    }
                    (Some("value"), Value::Number(n)) => {
                        obj.insert("value".into(), Value::String(n.to_string()));
                    }
                    _ => {}
                }
            }
        }
        other => {
            return Err(CoreError::InvalidValue(format!(
                "'members' elements must be objects like {{\"value\": \"<id>\"}}, got {}",
                describe(other)
            )));
        }
    }
    let Some(value) = obj.get("value").and_then(Value::as_str).map(str::to_string) else {
        return Err(CoreError::InvalidValue(
            "every element of 'members' needs a 'value' holding the member's id".into(),
        ));
    };
    let json = Value::Object(obj).to_string();
    Ok(Some(Member { value, json }))
}
