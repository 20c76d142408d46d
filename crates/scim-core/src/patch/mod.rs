//! The PATCH engine (RFC 7644 §3.5.2) with the tolerances real clients need:
//! `Add`/`Replace`/`Remove` in any case, pathless value objects with dotted and URN keys,
//! filtered paths that create or merge the missing element, `Add` on single-valued
//! attributes, Remove with a value, the three manager shapes, and member changes as set
//! operations that never load the member list.

use scim_proto::{CompValue, CompareOp, Filter, PatchOpKind, PatchOperation, PatchPath, parse_patch_path};
use serde_json::{Map, Value};

use crate::error::{CoreError, Result};
use crate::eval::get_ci;
use crate::normalize::{Member, Normalized, is_empty_value, normalize, normalize_members};
use crate::schema::{AttrDef, Mutability, ResourceKind, SchemaDef, find};

mod attrs;

use attrs::apply_attr;

/// Most operations accepted in one PATCH request.
pub const MAX_PATCH_OPS: usize = 1000;

/// A change to a group's member set.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    Add(Vec<Member>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<Member>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    pub resource: Normalized,
    pub members: Vec<MemberOp>,
}

/// Reads a PatchOp request body. `Operations` is matched case-insensitively; the
/// `schemas` list is not required (several clients omit it).
pub fn parse_patch_request(body: &Value) -> Result<Vec<PatchOperation>> {
    let Value::Object(obj) = body else {
        return Err(CoreError::InvalidSyntax(
            "a PATCH body must be a JSON object with \"schemas\" and \"Operations\"".into(),
        ));
    };
    let ops = crate::eval::get_ci_map(obj, "Operations")
        .ok_or_else(|| CoreError::InvalidSyntax("the PATCH body has no \"Operations\" array".into()))?;
    let Value::Array(items) = ops else {
        return Err(CoreError::InvalidSyntax("\"Operations\" must be an array".into()));
    };
    if items.is_empty() {
        return Err(CoreError::InvalidSyntax(
            "\"Operations\" is empty; nothing to do".into(),
        ));
    }
    if items.len() > MAX_PATCH_OPS {
        return Err(CoreError::TooMany(format!(
            "{} operations in one PATCH; the limit is {MAX_PATCH_OPS}",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(o) = item else {
                return Err(CoreError::InvalidSyntax(format!("Operations[{i}] must be an object")));
            };
            let op = match crate::eval::get_ci_map(o, "op") {
                Some(Value::String(s)) => s.clone(),
                _ => {
                    return Err(CoreError::InvalidSyntax(format!(
                        "Operations[{i}] needs \"op\": \"add\", \"replace\" or \"remove\""
                    )));
                }
            };
            let path = match crate::eval::get_ci_map(o, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => {
                    return Err(CoreError::InvalidSyntax(format!(
                        "Operations[{i}].path must be a string"
                    )));
                }
            };
            let value = crate::eval::get_ci_map(o, "value").cloned();
            Ok(PatchOperation { op, path, value })
        })
        .collect()
}

/// Applies `ops` to a resource's attributes (without `schemas`/`id`), then validates and
/// normalises the result as a whole.
pub fn apply_patch(kind: ResourceKind, attrs: Map<String, Value>, ops: &[PatchOperation]) -> Result<PatchOutcome> {
    let mut p = Patcher {
        kind,
        attrs,
        members: Vec::new(),
    };
    for (i, op) in ops.iter().enumerate() {
        p.apply(op).map_err(|e| with_op_index(e, i))?;
    }
    let resource = normalize(kind, &Value::Object(p.attrs))?;
    Ok(PatchOutcome {
        resource,
        members: p.members,
    })
}

fn with_op_index(e: CoreError, i: usize) -> CoreError {
    let prefix = |m: String| format!("Operations[{i}]: {m}");
    match e {
        CoreError::InvalidPath(m) => CoreError::InvalidPath(prefix(m)),
        CoreError::InvalidValue(m) => CoreError::InvalidValue(prefix(m)),
        CoreError::InvalidSyntax(m) => CoreError::InvalidSyntax(prefix(m)),
        CoreError::InvalidFilter(m) => CoreError::InvalidFilter(prefix(m)),
        CoreError::NoTarget(m) => CoreError::NoTarget(prefix(m)),
        CoreError::Mutability(m) => CoreError::Mutability(prefix(m)),
        other => other,
    }
}

struct Patcher {
    kind: ResourceKind,
    attrs: Map<String, Value>,
    members: Vec<MemberOp>,
}

/// Where a PATCH path points.
enum Loc {
    ExternalId,
    Members,
    /// A schema-defined attribute, at the top level (`ext = None`) or in an extension block.
    Attr {
        ext: Option<&'static SchemaDef>,
        def: &'static AttrDef,
    },
    /// An attribute of an extension this server has no schema for.
    Custom {
        urn: String,
        name: String,
    },
    Ignored,
}

impl Patcher {
    fn apply(&mut self, op: &PatchOperation) -> Result<()> {
        let kind = PatchOpKind::parse(&op.op).ok_or_else(|| {
            CoreError::InvalidSyntax(format!(
                "unknown op {:?}; use \"add\", \"replace\" or \"remove\"",
                op.op
            ))
        })?;
        match op.path.as_deref().map(str::trim) {
            None | Some("") => {
                if kind == PatchOpKind::Remove {
                    return Err(CoreError::NoTarget("\"remove\" needs a \"path\"".into()));
                }
                match &op.value {
                    Some(Value::Object(obj)) => self.apply_object(kind, obj),
                    _ => Err(CoreError::InvalidSyntax(format!(
                        "\"{}\" without a \"path\" needs a JSON object \"value\" whose keys are attribute paths",
                        op.op.to_lowercase()
                    ))),
                }
            }
            Some(path) => self.apply_path_str(kind, path, op.value.as_ref()),
        }
    }

    /// A pathless value object: every key is a path (`displayName`, `name.givenName`,
    /// `urn:…:User:department`) or a whole extension block.
    fn apply_object(&mut self, kind: PatchOpKind, obj: &Map<String, Value>) -> Result<()> {
        for (key, val) in obj {
            if ["schemas", "meta", "id"].iter().any(|k| key.eq_ignore_ascii_case(k)) {
                continue;
            }
            self.apply_path_str(kind, key, Some(val))?;
        }
        Ok(())
    }

    fn apply_path_str(&mut self, kind: PatchOpKind, path: &str, value: Option<&Value>) -> Result<()> {
        if let Some(ext) = self.kind.extension(path) {
            return self.apply_block(kind, ext, value);
        }
        // The core schema's URN as a key: its value holds core attributes.
        if path.eq_ignore_ascii_case(self.kind.core().id) {
            return match (kind, value) {
                (PatchOpKind::Remove, _) => Err(CoreError::InvalidPath(format!(
                    "'{path}' is the core schema and cannot be removed; name one of its attributes"
                ))),
                (_, Some(Value::Object(obj))) => self.apply_object(kind, obj),
                _ => Err(CoreError::InvalidValue(format!(
                    "the value for '{path}' must be an object of its attributes"
                ))),
            };
        }
        if let Some(key) = self.custom_block_key(path) {
            return self.apply_custom_block(kind, key, value);
        }
        let pp = parse_patch_path(path).map_err(|e| CoreError::path(path, e))?;
        let loc = self.locate(&pp)?;
        if kind != PatchOpKind::Remove && value.is_none() {
            return Err(CoreError::InvalidSyntax(format!(
                "\"{path}\": add and replace need a \"value\""
            )));
        }
        match loc {
            Loc::Ignored => Ok(()),
            Loc::ExternalId => {
                if pp.filter.is_some() || pp.attr.sub.is_some() {
                    return Err(CoreError::InvalidPath("'externalId' has no sub-attributes".into()));
                }
                set_simple(&mut self.attrs, "externalId", kind, value);
                Ok(())
            }
            Loc::Members => self.apply_members(kind, &pp, value),
            Loc::Custom { urn, name } => {
                let urn = existing_key(&self.attrs, &urn);
                if pp.filter.is_some() {
                    return Err(CoreError::InvalidFilter(format!(
                        "value filters need a schema; '{urn}' is not a known extension"
                    )));
                }
                let block = slot_map(&mut self.attrs, &urn);
                let key = match &pp.attr.sub {
                    Some(sub) => {
                        let inner = slot_map(block, &name);
                        set_simple(inner, sub, kind, value);
                        prune(block, &name);
                        prune(&mut self.attrs, &urn);
                        return Ok(());
                    }
                    None => name,
                };
                set_simple(block, &key, kind, value);
                prune(&mut self.attrs, &urn);
                Ok(())
            }
            Loc::Attr { ext, def } => {
                if kind == PatchOpKind::Remove && def.required && pp.attr.sub.is_none() && pp.filter.is_none() {
                    return Err(CoreError::Mutability(format!(
                        "'{}' is required and cannot be removed",
                        def.name
                    )));
                }
                let container = match ext {
                    Some(e) => slot_map(&mut self.attrs, e.id),
                    None => &mut self.attrs,
                };
                apply_attr(container, def, &pp, kind, value)?;
                if let Some(e) = ext {
                    prune(&mut self.attrs, e.id);
                }
                Ok(())
            }
        }
    }

    fn apply_block(&mut self, kind: PatchOpKind, ext: &'static SchemaDef, value: Option<&Value>) -> Result<()> {
        if kind == PatchOpKind::Remove {
            self.attrs.shift_remove(ext.id);
            return Ok(());
        }
        match value {
            Some(Value::Object(obj)) => {
                for (k, v) in obj {
                    if ["schemas", "meta", "id"].iter().any(|x| k.eq_ignore_ascii_case(x)) {
                        continue;
                    }
                    self.apply_path_str(kind, &format!("{}:{k}", ext.id), Some(v))?;
                }
                Ok(())
            }
            Some(Value::Null) => {
                self.attrs.shift_remove(ext.id);
                Ok(())
            }
            _ => Err(CoreError::InvalidValue(format!(
                "the value for '{}' must be an object of its attributes",
                ext.id
            ))),
        }
    }

    /// When `path` names a whole custom (schema-less) extension block rather than one of its
    /// attributes: it is the key of a block the resource has, or it ends in the resource
    /// type's name like `urn:…:2.0:User` does.
    fn custom_block_key(&self, path: &str) -> Option<String> {
        if !crate::normalize::is_urn(path) || path.eq_ignore_ascii_case(self.kind.core().id) || path.contains('[') {
            return None;
        }
        if let Some(k) = self.attrs.keys().find(|k| k.eq_ignore_ascii_case(path)) {
            return Some(k.clone());
        }
        let last = path.rsplit(':').next().unwrap_or_default();
        let nested = self.attrs.keys().any(|k| {
            path.len() > k.len()
                && path.as_bytes()[..k.len()].eq_ignore_ascii_case(k.as_bytes())
                && path.as_bytes()[k.len()] == b':'
        });
        (!nested && last.eq_ignore_ascii_case(self.kind.name())).then(|| path.to_string())
    }

    /// Add/Replace merge the value's keys into the block (empty values remove a key);
    /// Remove, `null` and `{}` drop the block.
    fn apply_custom_block(&mut self, kind: PatchOpKind, key: String, value: Option<&Value>) -> Result<()> {
        match (kind, value) {
            (PatchOpKind::Remove, _) | (_, None | Some(Value::Null)) => {
                self.attrs.shift_remove(&key);
            }
            (_, Some(Value::Object(obj))) => {
                let block = slot_map(&mut self.attrs, &key);
                for (k, v) in obj {
                    set_simple(block, k, PatchOpKind::Replace, Some(v));
                }
                prune(&mut self.attrs, &key);
            }
            _ => {
                return Err(CoreError::InvalidValue(format!(
                    "the value for '{key}' must be an object of its attributes"
                )));
            }
        }
        Ok(())
    }

    fn locate(&self, pp: &PatchPath) -> Result<Loc> {
        let name = pp.attr.name.as_str();
        let mut schema = self.kind.core();
        let mut ext = None;
        if let Some(urn) = &pp.attr.urn {
            if let Some(e) = self.kind.extension(urn) {
                schema = e;
                ext = Some(e);
            } else if !urn.eq_ignore_ascii_case(self.kind.core().id) {
                return Ok(Loc::Custom {
                    urn: urn.clone(),
                    name: name.to_string(),
                });
            }
        }
        if ext.is_none() {
            if name.eq_ignore_ascii_case("id") || name.eq_ignore_ascii_case("meta") {
                return Err(CoreError::Mutability(format!("'{}' is read-only", pp.attr)));
            }
            if name.eq_ignore_ascii_case("schemas") {
                return Ok(Loc::Ignored);
            }
            if name.eq_ignore_ascii_case("externalId") {
                return Ok(Loc::ExternalId);
            }
            if self.kind == ResourceKind::Group && name.eq_ignore_ascii_case("members") {
                return Ok(Loc::Members);
            }
        }
        // An unqualified name that only an extension defines (`manager`, `department`)
        // means that extension's attribute; core attributes win.
        let found = find(schema.attrs, name).or_else(|| {
            if pp.attr.urn.is_some() {
                return None;
            }
            self.kind.extensions().iter().find_map(|e| {
                let d = find(e.attrs, name)?;
                ext = Some(*e);
                Some(d)
            })
        });
        let def = found.ok_or_else(|| {
            CoreError::InvalidPath(format!(
                "'{}' is not an attribute of {}; see /Schemas for the attributes this server knows",
                pp.attr, schema.id
            ))
        })?;
        if def.mutability == Mutability::ReadOnly {
            return Err(CoreError::Mutability(format!("'{}' is read-only", def.name)));
        }
        Ok(Loc::Attr { ext, def })
    }

    fn apply_members(&mut self, kind: PatchOpKind, pp: &PatchPath, value: Option<&Value>) -> Result<()> {
        if pp.attr.sub.is_some() || pp.sub.is_some() {
            return Err(CoreError::InvalidPath(
                "member changes take the path 'members' or 'members[value eq \"<id>\"]'".into(),
            ));
        }
        if let Some(filter) = &pp.filter {
            if kind != PatchOpKind::Remove {
                return Err(CoreError::InvalidPath(
                    "a filtered 'members[…]' path is supported for remove only; add members with path 'members'".into(),
                ));
            }
            let mut ids = Vec::new();
            member_ids(filter, &mut ids)?;
            self.members.push(MemberOp::Remove(ids));
            return Ok(());
        }
        let op = match (kind, value) {
            (PatchOpKind::Add, Some(v)) => MemberOp::Add(normalize_members(v)?),
            (PatchOpKind::Replace, Some(v)) => MemberOp::Replace(normalize_members(v)?),
            (PatchOpKind::Remove, None | Some(Value::Null)) => MemberOp::RemoveAll,
            (PatchOpKind::Remove, Some(v)) => {
                let list = normalize_members(v)?;
                if list.is_empty() {
                    MemberOp::RemoveAll
                } else {
                    MemberOp::Remove(list.into_iter().map(|m| m.value).collect())
                }
            }
            (_, None) => {
                return Err(CoreError::InvalidSyntax("add and replace need a \"value\"".into()));
            }
        };
        self.members.push(op);
        let named: usize = self
            .members
            .iter()
            .map(|m| match m {
                MemberOp::Add(l) | MemberOp::Replace(l) => l.len(),
                MemberOp::Remove(ids) => ids.len(),
                MemberOp::RemoveAll => 0,
            })
            .sum();
        if named > crate::limits::MAX_MEMBERS_PER_REQUEST {
            return Err(CoreError::InvalidValue(format!(
                "this PATCH names {named} members; at most {} per request (send the rest in further requests)",
                crate::limits::MAX_MEMBERS_PER_REQUEST
            )));
        }
        Ok(())
    }
}

fn member_ids(f: &Filter, out: &mut Vec<String>) -> Result<()> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(v),
        } if path.name.eq_ignore_ascii_case("value") => {
            out.push(v.clone());
            Ok(())
        }
        Filter::Or(a, b) => {
            member_ids(a, out)?;
            member_ids(b, out)
        }
        _ => Err(CoreError::InvalidFilter(
            "'members[…]' supports only 'value eq \"<id>\"', optionally joined with 'or'".into(),
        )),
    }
}

/// The object stored under `key`, created empty if missing or not an object.
pub(crate) fn slot_map<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = m.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    let Value::Object(m) = entry else {
        unreachable!("made an object above")
    };
    m
}

/// Removes `key` when it holds an empty value.
pub(crate) fn prune(m: &mut Map<String, Value>, key: &str) {
    if m.get(key).is_some_and(is_empty_value) {
        m.shift_remove(key);
    }
}

/// Add/Replace set the value ("" and null clear it); Remove clears it, but only when a given
/// value matches the current one.
pub(crate) fn set_simple(m: &mut Map<String, Value>, key: &str, kind: PatchOpKind, value: Option<&Value>) {
    let key = existing_key(m, key);
    match kind {
        PatchOpKind::Add | PatchOpKind::Replace => match value {
            Some(v) if !is_empty_value(v) => {
                m.insert(key, v.clone());
            }
            _ => {
                m.shift_remove(&key);
            }
        },
        PatchOpKind::Remove => {
            if let Some(v) = value.filter(|v| !is_empty_value(v))
                && let Some(cur) = m.get(&key)
                && !same_value(cur, v)
            {
                return;
            }
            m.shift_remove(&key);
        }
    }
}

/// The key as already spelled in the map (case-insensitive), or `key` itself.
pub(crate) fn existing_key(m: &Map<String, Value>, key: &str) -> String {
    m.keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// Loose equality for Remove-with-value: strings ignore case, `{value: x}` equals `x`.
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::Object(_), Value::String(_)) | (Value::String(_), Value::Object(_)) => {
            match (get_ci(a, "value"), get_ci(b, "value")) {
                (Some(x), Some(y)) => same_value(x, y),
                _ => false,
            }
        }
        (Value::Object(_), Value::Object(_)) => match (get_ci(a, "value"), get_ci(b, "value")) {
            (Some(x), Some(y)) => same_value(x, y),
            _ => a == b,
        },
        (x, Value::Array(items)) => items.iter().any(|i| same_value(x, i)),
        _ => a == b,
    }
}
