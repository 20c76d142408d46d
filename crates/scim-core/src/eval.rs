//! In-memory filter evaluation on one element of a multi-valued attribute, as PATCH paths
//! like `emails[type eq "work"]` need. Strings compare case-insensitively unless the
//! sub-attribute is `caseExact`.

use std::cmp::Ordering;

use scim_proto::{CompValue, CompareOp, Filter};
use serde_json::{Map, Value};

use crate::error::{CoreError, Result};
use crate::schema::AttrDef;

/// True when `element` (a JSON object) satisfies `filter`, whose paths name sub-attributes.
pub fn element_matches(def: Option<&'static AttrDef>, filter: &Filter, element: &Value) -> Result<bool> {
    Ok(match filter {
        Filter::And(a, b) => element_matches(def, a, element)? && element_matches(def, b, element)?,
        Filter::Or(a, b) => element_matches(def, a, element)? || element_matches(def, b, element)?,
        Filter::Not(a) => !element_matches(def, a, element)?,
        Filter::Present(p) => get_ci(element, &p.name).is_some_and(|v| !crate::normalize::is_empty_value(v)),
        Filter::Compare { path, op, value } => {
            if path.sub.is_some() || path.urn.is_some() {
                return Err(CoreError::InvalidFilter(format!(
                    "'{path}': inside a value filter name a sub-attribute only"
                )));
            }
            let exact = def.and_then(|d| d.sub_attr(&path.name)).is_some_and(|s| s.case_exact);
            let actual = get_ci(element, &path.name);
            if *value == CompValue::Null {
                // RFC 7643 §2.5: absent and null are one state (as in resolve's `eq null`).
                let present = actual.is_some_and(|v| !crate::normalize::is_empty_value(v));
                return Ok(match op {
                    CompareOp::Eq => !present,
                    CompareOp::Ne => present,
                    _ => false,
                });
            }
            match actual {
                Some(actual) => compare(actual, *op, value, exact),
                None => *op == CompareOp::Ne,
            }
        }
        Filter::ValuePath { .. } => {
            return Err(CoreError::InvalidFilter("value filters cannot be nested".into()));
        }
    })
}

/// Looks up a key case-insensitively. A bare value (not an object) stands for `{"value": v}`.
pub fn get_ci<'a>(element: &'a Value, key: &str) -> Option<&'a Value> {
    match element {
        Value::Object(m) => get_ci_map(m, key),
        other if key.eq_ignore_ascii_case("value") => Some(other),
        _ => None,
    }
}

pub fn get_ci_map<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key)
        .or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn compare(actual: &Value, op: CompareOp, expected: &CompValue, exact: bool) -> bool {
    match (actual, expected) {
        (Value::String(a), CompValue::Str(e)) => {
            let (a, e) = if exact {
                (a.clone(), e.clone())
            } else {
                (a.to_lowercase(), e.to_lowercase())
            };
            match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                CompareOp::Co => a.contains(&e),
                CompareOp::Sw => a.starts_with(&e),
                CompareOp::Ew => a.ends_with(&e),
                _ => ordered(a.cmp(&e), op),
            }
        }
        (Value::Bool(a), CompValue::Bool(e)) => match op {
            CompareOp::Eq => a == e,
            CompareOp::Ne => a != e,
            _ => false,
        },
        (Value::Bool(a), CompValue::Str(e)) => {
            let e = e.eq_ignore_ascii_case("true");
            match op {
                CompareOp::Eq => *a == e,
                CompareOp::Ne => *a != e,
                _ => false,
            }
        }
        (Value::Number(a), CompValue::Num(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) => match op {
                CompareOp::Eq => a == e,
                CompareOp::Ne => a != e,
                _ => a.partial_cmp(&e).is_some_and(|o| ordered(o, op)),
            },
            _ => false,
        },
        (_, CompValue::Null) => op == CompareOp::Ne,
        _ => op == CompareOp::Ne,
    }
}

fn ordered(o: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        _ => false,
    }
}
