//! Resolves a parsed filter against the schema: canonical index paths, columns, case
//! rules and typed comparison values. The store compiles the result to SQL; nothing here
//! knows SQL.

use scim_proto::{AttrPath, CompValue, CompareOp, Filter};
use serde_json::Value;

use crate::error::{CoreError, Result};
use crate::index::{IndexValue, index_value};
use crate::schema::{AttrDef, AttrType, ResourceKind, SchemaDef, find};
use crate::time_fmt::canonical_ts;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    ExternalId,
    /// Lower-cased `userName` / `displayName`.
    NameKey,
    Created,
    LastModified,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Column(Column),
    /// An exact index path such as `emails.value`.
    Index(String),
    /// Any index path under a complex attribute (`name.` …), for `pr`.
    IndexPrefix(String),
    /// The member ids of a group.
    Members,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RFilter {
    Cmp {
        target: Target,
        op: CompareOp,
        value: IndexValue,
    },
    Present(Target),
    And(Box<RFilter>, Box<RFilter>),
    Or(Box<RFilter>, Box<RFilter>),
    Not(Box<RFilter>),
    /// Conditions that must hold on one element of a multi-valued attribute. Every `Index`
    /// target inside starts with `prefix` + `.`.
    Element {
        prefix: String,
        filter: Box<RFilter>,
    },
    Const(bool),
}

/// What an attribute path resolved to.
struct Resolved {
    target: Target,
    ty: AttrType,
    case_exact: bool,
    /// The definition, when the path names a complex attribute (for value paths).
    complex: Option<&'static AttrDef>,
    path: String,
}

pub fn resolve_filter(kind: ResourceKind, f: &Filter) -> Result<RFilter> {
    Ok(match f {
        Filter::And(a, b) => RFilter::And(Box::new(resolve_filter(kind, a)?), Box::new(resolve_filter(kind, b)?)),
        Filter::Or(a, b) => RFilter::Or(Box::new(resolve_filter(kind, a)?), Box::new(resolve_filter(kind, b)?)),
        Filter::Not(a) => RFilter::Not(Box::new(resolve_filter(kind, a)?)),
        Filter::Present(path) => {
            if is_resource_type(path) {
                return Ok(RFilter::Const(true));
            }
            let r = resolve_path(kind, path)?;
            RFilter::Present(r.target)
        }
        Filter::Compare { path, op, value } => {
            if is_resource_type(path) {
                let hit = match value {
                    CompValue::Str(s) => s.eq_ignore_ascii_case(kind.name()),
                    _ => false,
                };
                return Ok(RFilter::Const(if *op == CompareOp::Ne { !hit } else { hit }));
            }
            let r = resolve_path(kind, path)?;
            compare(r, *op, value)?
        }
        Filter::ValuePath { path, filter } => {
            let r = resolve_path(kind, path)?;
            if r.target == Target::Members {
                return members_filter(filter);
            }
            let Some(def) = r.complex else {
                return Err(CoreError::InvalidFilter(format!(
                    "'{path}' is not a complex attribute; value filters like '{path}[…]' need one"
                )));
            };
            let prefix = r.path.clone();
            RFilter::Element {
                filter: Box::new(resolve_element(def, &prefix, filter)?),
                prefix,
            }
        }
    })
}

fn is_resource_type(path: &AttrPath) -> bool {
    path.urn.is_none()
        && path.name.eq_ignore_ascii_case("meta")
        && path
            .sub
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("resourceType"))
}

fn resolve_element(def: &'static AttrDef, prefix: &str, f: &Filter) -> Result<RFilter> {
    Ok(match f {
        Filter::And(a, b) => RFilter::And(
            Box::new(resolve_element(def, prefix, a)?),
            Box::new(resolve_element(def, prefix, b)?),
        ),
        Filter::Or(a, b) => RFilter::Or(
            Box::new(resolve_element(def, prefix, a)?),
            Box::new(resolve_element(def, prefix, b)?),
        ),
        Filter::Not(a) => RFilter::Not(Box::new(resolve_element(def, prefix, a)?)),
        Filter::Present(p) => RFilter::Present(sub_of(def, prefix, p)?.target),
        Filter::Compare { path, op, value } => compare(sub_of(def, prefix, path)?, *op, value)?,
        Filter::ValuePath { .. } => {
            return Err(CoreError::InvalidFilter("value filters cannot be nested".into()));
        }
    })
}

fn sub_of(def: &'static AttrDef, prefix: &str, p: &AttrPath) -> Result<Resolved> {
    let sub = def.sub_attr(&p.name).ok_or_else(|| {
        CoreError::InvalidFilter(format!(
            "'{}' has no sub-attribute '{}'; known: {}",
            def.name,
            p.name,
            def.sub.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let path = format!("{prefix}.{}", sub.name.to_ascii_lowercase());
    Ok(Resolved {
        target: Target::Index(path.clone()),
        ty: sub.ty,
        case_exact: sub.case_exact,
        complex: None,
        path,
    })
}

/// `members[value eq "a" or value eq "b"]` → the member ids.
fn members_filter(f: &Filter) -> Result<RFilter> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(v),
        } if path.name.eq_ignore_ascii_case("value") && path.sub.is_none() => Ok(RFilter::Cmp {
            target: Target::Members,
            op: CompareOp::Eq,
            value: IndexValue::Text(v.clone()),
        }),
        Filter::Or(a, b) => Ok(RFilter::Or(Box::new(members_filter(a)?), Box::new(members_filter(b)?))),
        _ => Err(CoreError::InvalidFilter(
            "filters on 'members' support only 'value eq \"<id>\"' (optionally joined with 'or')".into(),
        )),
    }
}

fn compare(r: Resolved, op: CompareOp, value: &CompValue) -> Result<RFilter> {
    if let Some(def) = r.complex {
        // RFC 7644 §3.4.2.2: a complex attribute without a sub-attribute compares `value`.
        if let Some(sub) = def.sub_attr("value") {
            let path = format!("{}.value", r.path);
            let inner = Resolved {
                target: Target::Index(path.clone()),
                ty: sub.ty,
                case_exact: sub.case_exact,
                complex: None,
                path,
            };
            return compare(inner, op, value);
        }
        return Err(CoreError::InvalidFilter(format!(
            "'{}' is complex; compare one of its sub-attributes, e.g. '{}.{}'",
            r.path,
            r.path,
            def.sub.first().map_or("value", |s| s.name)
        )));
    }
    if r.target == Target::Members {
        return members_filter(&Filter::Compare {
            path: AttrPath::simple("value"),
            op,
            value: value.clone(),
        });
    }
    if matches!(value, CompValue::Null) {
        let present = RFilter::Present(r.target);
        return Ok(match op {
            CompareOp::Eq => RFilter::Not(Box::new(present)),
            CompareOp::Ne => present,
            _ => {
                return Err(CoreError::InvalidFilter(format!(
                    "'{}' cannot be compared with null using '{}'",
                    r.path,
                    op.as_str()
                )));
            }
        });
    }
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let v = match r.ty {
        AttrType::Boolean => {
            if ordering || substring {
                return Err(CoreError::InvalidFilter(format!(
                    "'{}' is a boolean; only 'eq', 'ne' and 'pr' apply",
                    r.path
                )));
            }
            match value {
                CompValue::Bool(b) => IndexValue::Bool(*b),
                CompValue::Str(s) if s.eq_ignore_ascii_case("true") => IndexValue::Bool(true),
                CompValue::Str(s) if s.eq_ignore_ascii_case("false") => IndexValue::Bool(false),
                _ => return Err(type_err(&r.path, "true or false", value)),
            }
        }
        AttrType::Integer | AttrType::Decimal => {
            if substring {
                return Err(CoreError::InvalidFilter(format!(
                    "'{}' is a number; 'co', 'sw' and 'ew' apply to strings only",
                    r.path
                )));
            }
            match value {
                CompValue::Num(n) => index_value(r.ty, true, &Value::Number(n.clone())).unwrap_or(IndexValue::Int(0)),
                CompValue::Str(s) => match s.parse::<f64>() {
                    Ok(f) => IndexValue::Real(f),
                    Err(_) => return Err(type_err(&r.path, "a number", value)),
                },
                _ => return Err(type_err(&r.path, "a number", value)),
            }
        }
        AttrType::DateTime => {
            let CompValue::Str(s) = value else {
                return Err(type_err(&r.path, "an RFC 3339 date-time", value));
            };
            if substring {
                IndexValue::Text(s.clone())
            } else {
                match canonical_ts(s) {
                    Some(ts) => IndexValue::Text(ts),
                    None => return Err(type_err(&r.path, "an RFC 3339 date-time", value)),
                }
            }
        }
        _ => {
            let text = match value {
                CompValue::Str(s) => s.clone(),
                CompValue::Num(n) => n.to_string(),
                CompValue::Bool(b) => b.to_string(),
                CompValue::Null => unreachable!("handled above"),
            };
            IndexValue::Text(if r.case_exact { text } else { text.to_lowercase() })
        }
    };
    Ok(RFilter::Cmp {
        target: r.target,
        op,
        value: v,
    })
}

fn type_err(path: &str, want: &str, got: &CompValue) -> CoreError {
    CoreError::InvalidFilter(format!("'{path}' compares with {want}, not {got}"))
}

fn resolve_path(kind: ResourceKind, p: &AttrPath) -> Result<Resolved> {
    let mut schema: &'static SchemaDef = kind.core();
    let mut prefix = String::new();
    if let Some(urn) = &p.urn {
        if let Some(ext) = kind.extension(urn) {
            schema = ext;
            prefix = format!("{}:", ext.id.to_ascii_lowercase());
        } else if !urn.eq_ignore_ascii_case(kind.core().id) {
            // A custom extension without a schema: case-insensitive strings.
            let mut path = format!("{}:{}", urn.to_ascii_lowercase(), p.name.to_ascii_lowercase());
            if let Some(sub) = &p.sub {
                path = format!("{path}.{}", sub.to_ascii_lowercase());
            }
            return Ok(Resolved {
                target: Target::Index(path.clone()),
                ty: AttrType::String,
                case_exact: false,
                complex: None,
                path,
            });
        }
    }
    if (p.urn.is_none() || prefix.is_empty())
        && let Some(r) = resolve_common(kind, p)?
    {
        return Ok(r);
    }
    // An unqualified name that only an extension defines (`manager eq "…"`, §1.4 of the
    // Entra notes) means that extension's attribute; core attributes win.
    let found = find(schema.attrs, &p.name).or_else(|| {
        if p.urn.is_some() {
            return None;
        }
        kind.extensions().iter().find_map(|e| {
            let d = find(e.attrs, &p.name)?;
            prefix = format!("{}:", e.id.to_ascii_lowercase());
            Some(d)
        })
    });
    let def = found.ok_or_else(|| {
        CoreError::InvalidFilter(format!(
            "unknown attribute '{}' for {}; filterable: id, externalId, meta.created, meta.lastModified and the attributes listed at /Schemas",
            p,
            kind.name()
        ))
    })?;
    if def.name == "password" {
        return Err(CoreError::InvalidFilter("'password' cannot be filtered on".into()));
    }
    if kind == ResourceKind::Group && def.name == "members" {
        if p.sub.as_deref().is_some_and(|s| !s.eq_ignore_ascii_case("value")) {
            return Err(CoreError::InvalidFilter(
                "on 'members' only 'members.value' can be filtered".into(),
            ));
        }
        return Ok(Resolved {
            target: Target::Members,
            ty: AttrType::String,
            case_exact: true,
            complex: None,
            path: "members".into(),
        });
    }
    if kind == ResourceKind::User && def.name == "groups" {
        return Err(CoreError::InvalidFilter(
            "filtering Users by 'groups' is not supported; filter Groups by 'members.value' instead".into(),
        ));
    }
    if def.name == kind.name_attr() && prefix.is_empty() {
        return Ok(Resolved {
            target: Target::Column(Column::NameKey),
            ty: AttrType::String,
            case_exact: false,
            complex: None,
            path: def.name.into(),
        });
    }
    let base = format!("{prefix}{}", def.name.to_ascii_lowercase());
    match (&p.sub, def.ty) {
        (None, AttrType::Complex) => Ok(Resolved {
            target: Target::IndexPrefix(format!("{base}.")),
            ty: AttrType::Complex,
            case_exact: false,
            complex: Some(def),
            path: base,
        }),
        (None, _) => Ok(Resolved {
            target: Target::Index(base.clone()),
            ty: def.ty,
            case_exact: def.case_exact,
            complex: None,
            path: base,
        }),
        (Some(sub), AttrType::Complex) => {
            let s = def
                .sub_attr(sub)
                .ok_or_else(|| CoreError::InvalidFilter(format!("'{}' has no sub-attribute '{sub}'", def.name)))?;
            let path = format!("{base}.{}", s.name.to_ascii_lowercase());
            Ok(Resolved {
                target: Target::Index(path.clone()),
                ty: s.ty,
                case_exact: s.case_exact,
                complex: None,
                path,
            })
        }
        (Some(sub), _) => Err(CoreError::InvalidFilter(format!(
            "'{}' is not complex and has no sub-attribute '{sub}'",
            def.name
        ))),
    }
}

/// `id`, `externalId` and `meta.*`: attributes common to every resource.
fn resolve_common(kind: ResourceKind, p: &AttrPath) -> Result<Option<Resolved>> {
    let col = |c: Column, ty: AttrType, exact: bool, path: &str| Resolved {
        target: Target::Column(c),
        ty,
        case_exact: exact,
        complex: None,
        path: path.into(),
    };
    let name = p.name.as_str();
    if name.eq_ignore_ascii_case("id") && p.sub.is_none() {
        return Ok(Some(col(Column::Id, AttrType::String, true, "id")));
    }
    if name.eq_ignore_ascii_case("externalId") && p.sub.is_none() {
        return Ok(Some(col(Column::ExternalId, AttrType::String, true, "externalId")));
    }
    if name.eq_ignore_ascii_case("meta") {
        let sub = p.sub.as_deref().unwrap_or_default();
        if sub.eq_ignore_ascii_case("created") {
            return Ok(Some(col(Column::Created, AttrType::DateTime, true, "meta.created")));
        }
        if sub.eq_ignore_ascii_case("lastModified") {
            return Ok(Some(col(
                Column::LastModified,
                AttrType::DateTime,
                true,
                "meta.lastModified",
            )));
        }
        return Err(CoreError::InvalidFilter(format!(
            "'{p}' cannot be filtered on {}s; use meta.created, meta.lastModified or meta.resourceType",
            kind.name()
        )));
    }
    Ok(None)
}
