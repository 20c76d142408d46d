//! Attribute mappings: Direct, Constant, Expression and None, with default-if-null and
//! apply-always / only-on-create. Mapping an object gives its target values keyed by
//! target path (`emails[type eq "work"].value`), in a stable order, so that diffs and
//! hashes are deterministic.

use std::collections::{BTreeMap, BTreeSet};

use scim_proto::{PatchOperation, PatchPath, parse_patch_path};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::config::{Actions, Apply, MappingKind, ObjectMapping};
use crate::error::EngineError;
use crate::model::{ObjectKind, SourceObject};

/// The computed source attribute that is true when the object is disabled or out of scope.
pub const IS_SOFT_DELETED: &str = "IsSoftDeleted";

/// Target values keyed by target path.
pub type Values = BTreeMap<String, Json>;

#[derive(Debug, Clone)]
pub struct CompiledMapping {
    pub target: String,
    pub path: PatchPath,
    pub kind: MappingKind,
    pub source: Option<String>,
    pub constant: Option<String>,
    pub expr: Option<sync_expr::Expr>,
    pub default: Option<String>,
    pub apply: Apply,
    pub matching: Option<u32>,
    /// The enterprise `manager` reference: its value is a *source* id, resolved to the
    /// target id after the manager exists.
    pub is_manager: bool,
}

#[derive(Debug, Clone)]
pub struct ObjectMapper {
    pub kind: ObjectKind,
    pub enabled: bool,
    pub actions: Actions,
    pub mappings: Vec<CompiledMapping>,
}

/// The result of mapping one object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapped {
    pub values: Values,
    /// Targets whose values must not appear in logs.
    pub redacted: BTreeSet<String>,
    /// Targets left alone this time (IgnoreFlowIfNullOrEmpty, create-only, None mappings).
    pub untouched: BTreeSet<String>,
    /// The manager's source id, when a manager mapping is present and has a value.
    pub manager: Option<String>,
    /// `SelectUniqueValue` targets and their candidates in rule order (creates only): the
    /// value in `values` is the first candidate until the executor has checked the target.
    pub unique: BTreeMap<String, Vec<String>>,
}

impl ObjectMapper {
    pub fn compile(kind: ObjectKind, cfg: &ObjectMapping) -> Result<ObjectMapper, EngineError> {
        let mut mappings = Vec::with_capacity(cfg.mappings.len());
        for m in &cfg.mappings {
            let path = parse_patch_path(&m.target)
                .map_err(|e| EngineError::Config(format!("mapping target {:?}: {e}", m.target)))?;
            let expr = match (&m.kind, &m.expression) {
                (MappingKind::Expression, Some(src)) => Some(
                    sync_expr::parse(src)
                        .map_err(|e| EngineError::Config(format!("mapping {:?}: expression {src:?}: {e}", m.target)))?,
                ),
                (MappingKind::Expression, None) => {
                    return Err(EngineError::Config(format!(
                        "mapping {:?}: type expression needs `expression`",
                        m.target
                    )));
                }
                _ => None,
            };
            let is_manager = path.attr.name.eq_ignore_ascii_case("manager") && path.filter.is_none();
            mappings.push(CompiledMapping {
                target: m.target.clone(),
                path,
                kind: m.kind,
                source: m.source.clone(),
                constant: m.value.clone(),
                expr,
                default: m.default.clone(),
                apply: m.apply,
                matching: m.matching,
                is_manager,
            });
        }
        Ok(ObjectMapper {
            kind,
            enabled: cfg.enabled,
            actions: cfg.actions,
            mappings,
        })
    }

    /// Maps an object. `creating` adds create-only mappings and default values.
    pub fn map(
        &self,
        obj: &SourceObject,
        soft_deleted: bool,
        creating: bool,
        now: OffsetDateTime,
        rng: &mut dyn FnMut() -> u64,
    ) -> Result<Mapped, EngineError> {
        let source = ObjectSource { obj, soft_deleted };
        let mut out = Mapped::default();
        for m in &self.mappings {
            if m.apply == Apply::Create && !creating {
                out.untouched.insert(m.target.clone());
                continue;
            }
            let (value, redacted) = match m.kind {
                MappingKind::Direct => {
                    let name = m.source.as_deref().unwrap_or_default();
                    (
                        sync_expr::Source::get(&source, name).unwrap_or(sync_expr::Value::Null),
                        false,
                    )
                }
                MappingKind::Constant => (sync_expr::Value::String(m.constant.clone().unwrap_or_default()), false),
                MappingKind::None => (sync_expr::Value::Null, false),
                MappingKind::Expression => match expression(m, &source, creating, now, rng, &mut out)? {
                    Some(v) => v,
                    None => {
                        out.untouched.insert(m.target.clone());
                        continue;
                    }
                },
            };
            let value = if value.is_null_or_empty() {
                match (&m.default, creating) {
                    (Some(d), true) => sync_expr::Value::String(d.clone()),
                    _ => {
                        // A None mapping never touches the target after creation, and a
                        // default given at creation is not cleared later.
                        if m.kind == MappingKind::None || m.default.is_some() {
                            out.untouched.insert(m.target.clone());
                        }
                        continue;
                    }
                }
            } else {
                value
            };
            if m.is_manager {
                out.manager = value.scalar_text();
                continue;
            }
            if redacted {
                out.redacted.insert(m.target.clone());
            }
            out.values.insert(m.target.clone(), to_json(&m.path, &value));
        }
        Ok(out)
    }

    /// The target path of the matching attribute with the highest precedence.
    pub fn first_matching(&self) -> Option<&str> {
        self.mappings
            .iter()
            .filter(|m| m.matching.is_some())
            .min_by_key(|m| m.matching)
            .map(|m| m.target.as_str())
    }

    /// `(target path, value)` pairs to find an existing target object, in precedence order.
    pub fn matchers(&self, mapped: &Mapped) -> Vec<(String, String)> {
        let mut ms: Vec<&CompiledMapping> = self.mappings.iter().filter(|m| m.matching.is_some()).collect();
        ms.sort_by_key(|m| m.matching);
        ms.into_iter()
            .filter(|m| !mapped.unique.contains_key(&m.target))
            .filter_map(|m| {
                let v = mapped.values.get(&m.target)?;
                let text = match v {
                    Json::String(s) => s.clone(),
                    Json::Bool(b) => b.to_string(),
                    Json::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some((m.target.clone(), text))
            })
            .collect()
    }
}

/// An expression mapping's value and whether it is redacted; `None` when the attribute
/// does not flow this time (`IgnoreFlowIfNullOrEmpty`, or `SelectUniqueValue` on an update:
/// it runs only when the object is created). `SelectUniqueValue`'s candidates go to
/// `out.unique`, for the executor to check against the target.
fn expression(
    m: &CompiledMapping,
    source: &ObjectSource<'_>,
    creating: bool,
    now: OffsetDateTime,
    rng: &mut dyn FnMut() -> u64,
    out: &mut Mapped,
) -> Result<Option<(sync_expr::Value, bool)>, EngineError> {
    let failed = |e: sync_expr::EvalError| EngineError::Mapping {
        target: m.target.clone(),
        message: e.to_string(),
    };
    let Some(expr) = m.expr.as_ref() else {
        return Err(EngineError::Mapping {
            target: m.target.clone(),
            message: "the mapping has no compiled expression".into(),
        });
    };
    let mut env = sync_expr::EvalEnv::new(now, rng);
    if let Some(candidates) = expr.unique_candidates(source, &mut env) {
        if !creating {
            return Ok(None);
        }
        let candidates = candidates.map_err(failed)?;
        let first = candidates.first().cloned();
        if first.is_some() {
            out.unique.insert(m.target.clone(), candidates);
        }
        return Ok(Some((
            first.map_or(sync_expr::Value::Null, sync_expr::Value::String),
            false,
        )));
    }
    match expr.eval(source, &mut env).map_err(failed)? {
        sync_expr::Outcome::Value { value, redacted } => Ok(Some((value, redacted))),
        sync_expr::Outcome::Ignore => Ok(None),
    }
}

/// Source attributes as the expression language sees them, plus the computed ones.
struct ObjectSource<'a> {
    obj: &'a SourceObject,
    soft_deleted: bool,
}

impl sync_expr::Source for ObjectSource<'_> {
    fn get(&self, name: &str) -> Option<sync_expr::Value> {
        if name == IS_SOFT_DELETED {
            return Some(sync_expr::Value::Bool(self.soft_deleted));
        }
        if name == "objectId" || name == "id" {
            return Some(sync_expr::Value::String(self.obj.id.clone()));
        }
        if name == "appRoleAssignments" {
            return Some(sync_expr::Value::AppRoleAssignments(
                self.obj
                    .app_roles
                    .iter()
                    .map(|r| sync_expr::AppRoleAssignment::new(&r.id, &r.value, &r.display_name))
                    .collect(),
            ));
        }
        self.obj.attr(name).map(from_json)
    }
}

fn from_json(v: &Json) -> sync_expr::Value {
    match v {
        Json::Null => sync_expr::Value::Null,
        Json::Bool(b) => sync_expr::Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => sync_expr::Value::Number(i),
            None => sync_expr::Value::String(n.to_string()),
        },
        Json::String(s) => sync_expr::Value::String(s.clone()),
        Json::Array(items) => sync_expr::Value::Multi(items.iter().map(from_json).collect()),
        // A reference such as `manager: {"id": "…"}` reads as its id.
        Json::Object(o) => match o.get("id").or_else(|| o.get("value")) {
            Some(Json::String(id)) => sync_expr::Value::String(id.clone()),
            _ => sync_expr::Value::String(v.to_string()),
        },
    }
}

/// Converts a mapped value to the JSON the target gets. `"True"`/`"False"` become booleans
/// on boolean targets (`active`, `….primary`), so the target stores real booleans.
fn to_json(path: &PatchPath, v: &sync_expr::Value) -> Json {
    let boolean_target = path.attr.name.eq_ignore_ascii_case("active")
        || path.sub.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("primary"))
        || path
            .attr
            .sub
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("primary"));
    match v {
        sync_expr::Value::Null => Json::Null,
        sync_expr::Value::String(s) if boolean_target && s.eq_ignore_ascii_case("true") => Json::Bool(true),
        sync_expr::Value::String(s) if boolean_target && s.eq_ignore_ascii_case("false") => Json::Bool(false),
        sync_expr::Value::String(s) => Json::String(s.clone()),
        sync_expr::Value::Bool(b) => Json::Bool(*b),
        sync_expr::Value::Number(n) => Json::from(*n),
        sync_expr::Value::DateTime(dt) => Json::String(
            dt.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        ),
        sync_expr::Value::Multi(items) => Json::Array(items.iter().map(|i| to_json(path, i)).collect()),
        sync_expr::Value::AppRoleAssignments(roles) => Json::Array(roles.iter().map(|r| role_json(r, false)).collect()),
        sync_expr::Value::ComplexRoles { roles, .. } => {
            Json::Array(roles.iter().map(|r| role_json(r, false)).collect())
        }
    }
}

fn role_json(r: &sync_expr::AppRoleAssignment, primary: bool) -> Json {
    serde_json::json!({"primary": primary, "type": "WindowsAzureActiveDirectoryRole", "value": r.value, "display": r.display_name})
}

/// A stable hash of what was pushed: values and manager (a group's members are compared as
/// rows).
pub fn hash(values: &Values, manager: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_string(values).unwrap_or_default().as_bytes());
    h.update([0]);
    h.update(manager.unwrap_or_default().as_bytes());
    h.update([0]);
    hex::encode(&h.finalize()[..16])
}

/// The SCIM body for a create: every value applied as an `add` to an empty resource, so
/// filtered paths (`emails[type eq "work"].value`) build their elements.
pub fn create_body(kind: ObjectKind, values: &Values) -> Result<Json, EngineError> {
    let ops: Vec<PatchOperation> = values
        .iter()
        .map(|(path, v)| PatchOperation {
            op: "add".into(),
            path: Some(path.clone()),
            value: Some(v.clone()),
        })
        .collect();
    let rk = match kind {
        ObjectKind::User => scim_core::ResourceKind::User,
        ObjectKind::Group => scim_core::ResourceKind::Group,
    };
    let outcome = scim_core::patch::apply_patch(rk, Map::new(), &ops).map_err(|e| EngineError::Mapping {
        target: "(resource)".into(),
        message: e.to_string(),
    })?;
    let mut doc = Map::new();
    doc.insert(
        "schemas".into(),
        Json::Array(scim_core::resource::schemas_for(rk, &outcome.resource.attrs)),
    );
    doc.extend(outcome.resource.attrs);
    Ok(Json::Object(doc))
}

/// One changed attribute, for the provisioning log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Modified {
    pub name: String,
    #[serde(rename = "oldValue")]
    pub old: Option<String>,
    #[serde(rename = "newValue")]
    pub new: Option<String>,
}

fn show(v: Option<&Json>, redacted: bool) -> Option<String> {
    v.map(|v| {
        if redacted {
            "[Redact]".to_string()
        } else {
            match v {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            }
        }
    })
}

/// The minimal PATCH from `old` to `new`: `replace` for changed or new values, `remove` for
/// values that disappeared; targets in `untouched` are left as they are.
pub fn diff(old: &Values, new: &Mapped) -> (Vec<PatchOperation>, Vec<Modified>) {
    let mut ops = Vec::new();
    let mut modified = Vec::new();
    for (path, v) in &new.values {
        if old.get(path) != Some(v) {
            ops.push(PatchOperation {
                op: "replace".into(),
                path: Some(path.clone()),
                value: Some(v.clone()),
            });
            let red = new.redacted.contains(path);
            modified.push(Modified {
                name: path.clone(),
                old: show(old.get(path), red),
                new: show(Some(v), red),
            });
        }
    }
    for (path, v) in old {
        if !new.values.contains_key(path) && !new.untouched.contains(path) {
            ops.push(PatchOperation {
                op: "remove".into(),
                path: Some(path.clone()),
                value: None,
            });
            modified.push(Modified {
                name: path.clone(),
                old: show(Some(v), new.redacted.contains(path)),
                new: None,
            });
        }
    }
    (ops, modified)
}

/// The values to remember after an update: the new ones, plus untouched ones carried over.
pub fn merged_values(old: &Values, new: &Mapped) -> Values {
    let mut out = new.values.clone();
    for path in &new.untouched {
        if let Some(v) = old.get(path) {
            out.insert(path.clone(), v.clone());
        }
    }
    out
}
