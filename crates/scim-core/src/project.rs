//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9).

use scim_proto::{AttrPath, parse_patch_path};
use serde_json::{Map, Value};

use crate::error::{CoreError, Result};
use crate::schema::ResourceKind;

/// One requested attribute, resolved to the key it has in a rendered resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjPath {
    /// Top-level key (`userName`, `urn:…:User`, `meta`), lower-cased.
    pub top: String,
    /// Second-level key, lower-cased (`givenname`, `department`).
    pub second: Option<String>,
    /// Third-level key (`manager.value` inside the extension).
    pub third: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    pub attributes: Vec<ProjPath>,
    pub excluded: Vec<ProjPath>,
}

impl Projection {
    pub fn parse(kind: ResourceKind, attributes: Option<&str>, excluded: Option<&str>) -> Result<Self> {
        Ok(Projection {
            attributes: parse_list(kind, attributes)?,
            excluded: parse_list(kind, excluded)?,
        })
    }

    pub fn is_identity(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }

    /// Whether the rendered resource will contain `top` (e.g. `members`), so callers can skip
    /// fetching it.
    pub fn wants(&self, top: &str) -> bool {
        let top = top.to_ascii_lowercase();
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(|p| p.top == top);
        }
        !self.excluded.iter().any(|p| p.top == top && p.second.is_none())
    }

    /// Whether the projection names sub-attributes of `top` (`members.value`), so `top`
    /// cannot be passed through whole.
    pub fn wants_part_of(&self, top: &str) -> bool {
        let top = top.to_ascii_lowercase();
        self.attributes
            .iter()
            .chain(&self.excluded)
            .any(|p| p.top == top && p.second.is_some())
    }

    pub fn apply(&self, obj: &mut Map<String, Value>) {
        if !self.attributes.is_empty() {
            let keys: Vec<String> = obj.keys().cloned().collect();
            for key in keys {
                let lk = key.to_ascii_lowercase();
                if lk == "id" || lk == "schemas" {
                    continue;
                }
                let wanted: Vec<&ProjPath> = self.attributes.iter().filter(|p| p.top == lk).collect();
                if wanted.is_empty() {
                    obj.shift_remove(&key);
                } else if wanted.iter().all(|p| p.second.is_some())
                    && let Some(v) = obj.get_mut(&key)
                {
                    keep_only(v, &wanted);
                    if crate::normalize::is_empty_value(v) {
                        obj.shift_remove(&key);
                    }
                }
            }
        }
        for p in &self.excluded {
            if p.top == "id" || p.top == "schemas" {
                continue;
            }
            let Some(key) = obj.keys().find(|k| k.to_ascii_lowercase() == p.top).cloned() else {
                continue;
            };
            match &p.second {
                None => {
                    obj.shift_remove(&key);
                }
                Some(second) => {
                    if let Some(v) = obj.get_mut(&key) {
                        remove_sub(v, second, p.third.as_deref());
                    }
                    if obj.get(&key).is_some_and(crate::normalize::is_empty_value) {
                        obj.shift_remove(&key);
                    }
                }
            }
        }
    }
}

fn keep_only(v: &mut Value, wanted: &[&ProjPath]) {
    match v {
        Value::Array(items) => {
            items.iter_mut().for_each(|i| keep_only(i, wanted));
            items.retain(|i| !crate::normalize::is_empty_value(i));
        }
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                let lk = k.to_ascii_lowercase();
                let hits: Vec<&ProjPath> = wanted
                    .iter()
                    .copied()
                    .filter(|p| p.second.as_deref() == Some(lk.as_str()))
                    .collect();
                if hits.is_empty() {
                    o.shift_remove(&k);
                } else if hits.iter().all(|p| p.third.is_some())
                    && let Some(inner) = o.get_mut(&k)
                {
                    let thirds: Vec<ProjPath> = hits
                        .iter()
                        .map(|p| ProjPath {
                            top: String::new(),
                            second: p.third.clone(),
                            third: None,
                        })
                        .collect();
                    keep_only(inner, &thirds.iter().collect::<Vec<_>>());
                    if crate::normalize::is_empty_value(inner) {
                        o.shift_remove(&k);
                    }
                }
            }
        }
        _ => {}
    }
}

fn remove_sub(v: &mut Value, second: &str, third: Option<&str>) {
    match v {
        Value::Array(items) => {
            items.iter_mut().for_each(|i| remove_sub(i, second, third));
            items.retain(|i| !crate::normalize::is_empty_value(i));
        }
        Value::Object(o) => {
            let Some(k) = o.keys().find(|k| k.to_ascii_lowercase() == second).cloned() else {
                return;
            };
            match third {
                None => {
                    o.shift_remove(&k);
                }
                Some(t) => {
                    if let Some(inner) = o.get_mut(&k) {
                        remove_sub(inner, t, None);
                        if crate::normalize::is_empty_value(inner) {
                            o.shift_remove(&k);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn parse_list(kind: ResourceKind, list: Option<&str>) -> Result<Vec<ProjPath>> {
    let Some(list) = list else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for raw in split_top_level(list) {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        out.push(proj_path(kind, raw)?);
    }
    Ok(out)
}

/// Splits on commas outside brackets and quotes (`emails[type eq "a,b"]` stays whole).
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut in_str, mut start) = (0i32, false, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '[' if !in_str => depth += 1,
            ']' if !in_str => depth -= 1,
            ',' if !in_str && depth <= 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn proj_path(kind: ResourceKind, raw: &str) -> Result<ProjPath> {
    if let Some(ext) = kind.extension(raw) {
        return Ok(ProjPath {
            top: ext.id.to_ascii_lowercase(),
            second: None,
            third: None,
        });
    }
    // `emails[type eq "work"]` selects the attribute; the filter does not narrow projection.
    let pp = parse_patch_path(raw).map_err(|e| {
        CoreError::InvalidValue(format!(
            "invalid attribute {raw:?} in attributes/excludedAttributes: {e}"
        ))
    })?;
    let AttrPath { urn, name, sub } = pp.attr;
    let sub = sub.or(pp.sub);
    let lname = name.to_ascii_lowercase();
    Ok(match urn {
        Some(u) if !u.eq_ignore_ascii_case(kind.core().id) => ProjPath {
            top: u.to_ascii_lowercase(),
            second: Some(lname),
            third: sub.map(|s| s.to_ascii_lowercase()),
        },
        _ => ProjPath {
            top: lname,
            second: sub.map(|s| s.to_ascii_lowercase()),
            third: None,
        },
    })
}
