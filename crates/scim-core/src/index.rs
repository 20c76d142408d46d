//! The value index: every simple attribute value of a resource as a row
//! `(path, ord, value)`, so that filters run as index probes in SQL.
//!
//! Paths are lower-case: `emails.value`, `name.givenname`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:department`. `ord` is the
//! element number within a multi-valued attribute, which ties `emails.type` and
//! `emails.value` of one element together. Case-insensitive strings are stored lower-cased;
//! date-times in the canonical UTC form.

use serde_json::{Map, Value};

use crate::normalize::is_urn;
use crate::schema::{AttrDef, AttrType, ResourceKind, Returned};
use crate::time_fmt::canonical_ts;

#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    Text(String),
    Int(i64),
    Real(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    pub path: String,
    pub ord: u32,
    pub value: IndexValue,
}

/// Index rows for a resource's attributes. The uniqueness key and `externalId` live in
/// their own columns and are not repeated here.
pub fn entries(kind: ResourceKind, attrs: &Map<String, Value>) -> Vec<IndexEntry> {
    let mut out = Vec::with_capacity(16);
    for (key, val) in attrs {
        if key == "externalId" || key == kind.name_attr() {
            continue;
        }
        if let Some(def) = kind.core().attrs.iter().find(|d| d.name == key) {
            walk_def(def, &def.name.to_ascii_lowercase(), val, &mut out);
        } else if let Some(ext) = kind.extension(key) {
            let Value::Object(block) = val else { continue };
            for (k, v) in block {
                if let Some(def) = ext.attrs.iter().find(|d| d.name == k) {
                    let path = format!("{}:{}", ext.id.to_ascii_lowercase(), def.name.to_ascii_lowercase());
                    walk_def(def, &path, v, &mut out);
                }
            }
        } else if is_urn(key) {
            walk_unknown(&key.to_ascii_lowercase(), val, 0, 0, &mut out);
        }
    }
    out
}

fn walk_def(def: &AttrDef, path: &str, val: &Value, out: &mut Vec<IndexEntry>) {
    if def.returned == Returned::Never {
        return;
    }
    let elements: Vec<&Value> = match (def.multi, val) {
        (true, Value::Array(items)) => items.iter().collect(),
        _ => vec![val],
    };
    for (ord, el) in elements.into_iter().enumerate() {
        let ord = ord as u32;
        if def.ty == AttrType::Complex {
            let Value::Object(obj) = el else { continue };
            for (k, v) in obj {
                if let Some(sub) = def.sub_attr(k) {
                    let p = format!("{path}.{}", sub.name.to_ascii_lowercase());
                    push(sub.ty, sub.case_exact, &p, ord, v, out);
                }
            }
        } else {
            push(def.ty, def.case_exact, path, ord, el, out);
        }
    }
}

/// Custom extensions without a schema: strings compare case-insensitively.
fn walk_unknown(path: &str, val: &Value, ord: u32, depth: usize, out: &mut Vec<IndexEntry>) {
    match val {
        Value::Object(obj) if depth < 3 => {
            for (k, v) in obj {
                let sep = if depth == 0 { ':' } else { '.' };
                walk_unknown(
                    &format!("{path}{sep}{}", k.to_ascii_lowercase()),
                    v,
                    ord,
                    depth + 1,
                    out,
                );
            }
        }
        Value::Array(items) if depth < 3 => {
            for (i, v) in items.iter().enumerate() {
                walk_unknown(path, v, i as u32, depth + 1, out);
            }
        }
        Value::String(_) => push(AttrType::String, false, path, ord, val, out),
        Value::Bool(_) => push(AttrType::Boolean, false, path, ord, val, out),
        Value::Number(_) => push(AttrType::Decimal, false, path, ord, val, out),
        _ => {}
    }
}

fn push(ty: AttrType, case_exact: bool, path: &str, ord: u32, v: &Value, out: &mut Vec<IndexEntry>) {
    if let Some(value) = index_value(ty, case_exact, v) {
        out.push(IndexEntry {
            path: path.to_string(),
            ord,
            value,
        });
    }
}

/// The normalised form a value takes in the index (and a filter value in a comparison).
pub fn index_value(ty: AttrType, case_exact: bool, v: &Value) -> Option<IndexValue> {
    Some(match v {
        Value::String(s) => match ty {
            AttrType::DateTime => IndexValue::Text(canonical_ts(s).unwrap_or_else(|| s.clone())),
            _ if case_exact => IndexValue::Text(s.clone()),
            _ => IndexValue::Text(s.to_lowercase()),
        },
        Value::Bool(b) => IndexValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => IndexValue::Int(i),
            None => IndexValue::Real(n.as_f64()?),
        },
        _ => return None,
    })
}
