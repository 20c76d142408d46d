//! Applying one operation to one schema-defined attribute: simple, single complex
//! (`name`, `manager`) and multi-valued (`emails`, `addresses`, with value filters that
//! create or merge the element they name).

use scim_proto::{CompValue, CompareOp, Filter, PatchOpKind, PatchPath};
use serde_json::{Map, Value};

use super::{existing_key, prune, same_value, set_simple, slot_map};
use crate::error::{CoreError, Result};
use crate::eval::{element_matches, get_ci};
use crate::normalize::is_empty_value;
use crate::schema::{AttrDef, AttrType, Mutability};

pub(super) fn apply_attr(
    container: &mut Map<String, Value>,
    def: &'static AttrDef,
    pp: &PatchPath,
    kind: PatchOpKind,
    value: Option<&Value>,
) -> Result<()> {
    let sub_name = pp.sub.as_deref().or(pp.attr.sub.as_deref());
    let sub = match sub_name {
        Some(s) => Some(def.sub_attr(s).ok_or_else(|| {
            CoreError::InvalidPath(if def.ty == AttrType::Complex {
                format!(
                    "'{}' has no sub-attribute '{s}'; known: {}",
                    def.name,
                    def.sub.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
                )
            } else {
                format!("'{}' is not complex and has no sub-attributes", def.name)
            })
        })?),
        None => None,
    };
    if let Some(s) = sub
        && s.mutability == Mutability::ReadOnly
    {
        return Err(CoreError::Mutability(format!("'{}.{}' is read-only", def.name, s.name)));
    }
    if def.ty != AttrType::Complex {
        if pp.filter.is_some() && !def.multi {
            return Err(CoreError::InvalidPath(format!(
                "'{}' is single-valued; a value filter needs a multi-valued attribute",
                def.name
            )));
        }
        set_simple(container, def.name, kind, value);
        return Ok(());
    }
    if def.multi {
        return apply_multi(container, def, pp.filter.as_ref(), sub, kind, value);
    }
    apply_single_complex(container, def, pp.filter.as_ref(), sub, kind, value)
}

fn apply_single_complex(
    container: &mut Map<String, Value>,
    def: &'static AttrDef,
    filter: Option<&Filter>,
    sub: Option<&'static AttrDef>,
    kind: PatchOpKind,
    value: Option<&Value>,
) -> Result<()> {
    if let Some(f) = filter {
        let matches = match container.get(def.name) {
            Some(cur) => element_matches(Some(def), f, cur)?,
            None => false,
        };
        if !matches {
            // `manager[value eq "x"]` when the manager is someone else: nothing to do.
            if kind == PatchOpKind::Remove {
                return Ok(());
            }
        }
    }
    if let Some(sub) = sub {
        let obj = slot_map(container, def.name);
        set_simple(obj, sub.name, kind, value);
        prune(container, def.name);
        return Ok(());
    }
    match kind {
        PatchOpKind::Remove => {
            if let Some(v) = value.filter(|v| !is_empty_value(v))
                && let Some(cur) = container.get(def.name)
                && !same_value(cur, v)
            {
                return Ok(());
            }
            container.shift_remove(def.name);
        }
        PatchOpKind::Add | PatchOpKind::Replace => match value {
            None => {}
            Some(v) if is_empty_value(v) => {
                container.shift_remove(def.name);
            }
            // Merge sub-attributes (RFC 7644 §3.5.2.1/3); unspecified ones stay.
            Some(Value::Object(obj)) => {
                let target = slot_map(container, def.name);
                for (k, v) in obj {
                    let key = def.sub_attr(k).map_or(k.as_str(), |s| s.name);
                    set_simple(target, key, PatchOpKind::Replace, Some(v));
                }
                prune(container, def.name);
            }
            // Manager as a bare id or the older array form: normalisation sorts it out.
            Some(v) => {
                container.insert(def.name.to_string(), v.clone());
            }
        },
    }
    Ok(())
}

fn apply_multi(
    container: &mut Map<String, Value>,
    def: &'static AttrDef,
    filter: Option<&Filter>,
    sub: Option<&'static AttrDef>,
    kind: PatchOpKind,
    value: Option<&Value>,
) -> Result<()> {
    // Taken in place (not removed) so the attribute keeps its position: a PATCH that
    // changes nothing must produce the same document, or the version would move.
    let mut items: Vec<Value> = match container.get_mut(def.name).map(Value::take) {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    };
    let result = apply_multi_items(&mut items, def, filter, sub, kind, value);
    items.retain(|el| !is_hollow(el));
    if items.is_empty() {
        container.shift_remove(def.name);
    } else {
        container.insert(def.name.to_string(), Value::Array(items));
    }
    result
}

/// An element that lost everything but its labels (`type`, `primary`, `display`).
fn is_hollow(el: &Value) -> bool {
    match el {
        Value::Object(o) => o.iter().all(|(k, v)| {
            is_empty_value(v) || ["type", "primary", "display"].iter().any(|l| l.eq_ignore_ascii_case(k))
        }),
        other => is_empty_value(other),
    }
}

fn apply_multi_items(
    items: &mut Vec<Value>,
    def: &'static AttrDef,
    filter: Option<&Filter>,
    sub: Option<&'static AttrDef>,
    kind: PatchOpKind,
    value: Option<&Value>,
) -> Result<()> {
    let selected: Vec<usize> = match filter {
        Some(f) => {
            let mut hits = Vec::new();
            for (i, el) in items.iter().enumerate() {
                if element_matches(Some(def), f, el)? {
                    hits.push(i);
                }
            }
            hits
        }
        None => (0..items.len()).collect(),
    };
    match (kind, sub, filter) {
        // emails[type eq "work"].value = x / emails.value = x
        (PatchOpKind::Add | PatchOpKind::Replace, Some(sub), _) => {
            if selected.is_empty() {
                if value.is_some_and(is_empty_value) {
                    return Ok(());
                }
                let mut el = filter.map(seed_from_filter).unwrap_or_default();
                if def.name == "emails" && items.is_empty() && !el.contains_key("primary") {
                    el.insert("primary".into(), Value::Bool(true));
                }
                set_simple(&mut el, sub.name, kind, value);
                items.push(Value::Object(el));
            } else {
                for &i in &selected {
                    let el = as_object(&mut items[i]);
                    set_simple(el, sub.name, kind, value);
                }
            }
        }
        (PatchOpKind::Remove, Some(sub), _) => {
            for &i in &selected {
                let el = as_object(&mut items[i]);
                set_simple(el, sub.name, kind, value);
            }
        }
        // emails[type eq "work"] = {…}
        // emails[type eq "work"] = "" / null: clears those elements.
        (PatchOpKind::Add | PatchOpKind::Replace, None, Some(_)) if value.is_some_and(is_empty_value) => {
            if kind == PatchOpKind::Replace {
                remove_selected(items, &selected);
            }
        }
        (PatchOpKind::Add | PatchOpKind::Replace, None, Some(f)) => {
            let Some(v) = value else {
                return Err(CoreError::InvalidSyntax("add and replace need a \"value\"".into()));
            };
            let Value::Object(obj) = v else {
                return Err(CoreError::InvalidValue(format!(
                    "a value for a filtered '{}' path must be an object of sub-attributes",
                    def.name
                )));
            };
            if selected.is_empty() {
                let mut el = seed_from_filter(f);
                el.extend(obj.clone());
                items.push(Value::Object(el));
            } else {
                for &i in &selected {
                    if kind == PatchOpKind::Replace {
                        // The element keeps what the filter selected it by (`type: work`), so
                        // the next `addresses[type eq "work"].x` still finds it.
                        let mut el = seed_from_filter(f);
                        el.extend(obj.clone());
                        items[i] = Value::Object(el);
                    } else {
                        as_object(&mut items[i]).extend(obj.clone());
                    }
                }
            }
        }
        (PatchOpKind::Remove, None, Some(_)) => remove_selected(items, &selected),
        (PatchOpKind::Replace, None, None) => {
            items.clear();
            if let Some(v) = value {
                push_values(items, v);
            }
        }
        (PatchOpKind::Add, None, None) => {
            if let Some(v) = value {
                let mut new = Vec::new();
                push_values(&mut new, v);
                for el in new {
                    add_element(items, el);
                }
            }
        }
        (PatchOpKind::Remove, None, None) => match value.filter(|v| !is_empty_value(v)) {
            // Remove with a value: only the listed elements.
            Some(v) => items.retain(|el| !same_value(el, v)),
            None => items.clear(),
        },
    }
    Ok(())
}

fn remove_selected(items: &mut Vec<Value>, selected: &[usize]) {
    let keep: Vec<Value> = items
        .drain(..)
        .enumerate()
        .filter(|(i, _)| !selected.contains(i))
        .map(|(_, v)| v)
        .collect();
    *items = keep;
}

fn as_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        let mut m = Map::new();
        if !v.is_null() {
            m.insert("value".into(), v.take());
        }
        *v = Value::Object(m);
    }
    let Value::Object(m) = v else {
        unreachable!("made an object above")
    };
    m
}

fn push_values(items: &mut Vec<Value>, v: &Value) {
    match v {
        Value::Array(a) => items.extend(a.iter().filter(|x| !x.is_null()).cloned()),
        Value::Null => {}
        other => items.push(other.clone()),
    }
}

/// Adds an element, replacing one with the same `value`; a new primary demotes the others.
fn add_element(items: &mut Vec<Value>, el: Value) {
    let is_primary = get_ci(&el, "primary")
        .is_some_and(|p| p == &Value::Bool(true) || p.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true")));
    if is_primary {
        for other in items.iter_mut() {
            if let Value::Object(o) = other {
                let key = existing_key(o, "primary");
                if o.contains_key(&key) {
                    o.insert(key, Value::Bool(false));
                }
            }
        }
    }
    let same = get_ci(&el, "value").and_then(|v| {
        items
            .iter()
            .position(|x| get_ci(x, "value").is_some_and(|xv| same_value(xv, v)))
    });
    match same {
        Some(i) => {
            if let (Value::Object(existing), Value::Object(new)) = (&mut items[i], &el) {
                existing.extend(new.clone());
            } else {
                items[i] = el;
            }
        }
        None => items.push(el),
    }
}

/// `type eq "work" and …` → `{"type": "work"}`: the element an Add/Replace creates.
fn seed_from_filter(f: &Filter) -> Map<String, Value> {
    let mut m = Map::new();
    fn walk(f: &Filter, m: &mut Map<String, Value>) {
        match f {
            Filter::And(a, b) => {
                walk(a, m);
                walk(b, m);
            }
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } if path.sub.is_none() => {
                let v = match value {
                    CompValue::Str(s) => Value::String(s.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Num(n) => Value::Number(n.clone()),
                    CompValue::Null => return,
                };
                m.insert(path.name.clone(), v);
            }
            _ => {}
        }
    }
    walk(f, &mut m);
    m
}
