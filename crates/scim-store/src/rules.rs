//! What both adapters decide the same way: the errors they report for conflicts, missing
//! resources and stale versions, tenant names, and how a revocation prefix is read.

use scim_core::{CoreError, ResourceKind};

use crate::error::StoreError;
use crate::token;

pub fn conflict(kind: ResourceKind, name_key: &str) -> StoreError {
    StoreError::Core(CoreError::Uniqueness(format!(
        "a {} with {} '{}' already exists in this tenant (compared case-insensitively); \
         look it up with filter={} eq \"…\" and update it instead",
        kind.name(),
        kind.name_attr(),
        name_key,
        kind.name_attr()
    )))
}

pub fn not_found(kind: ResourceKind, id: &str) -> StoreError {
    StoreError::Core(CoreError::NotFound(format!("{} {id:?} not found", kind.name())))
}

/// Fails when the client's `If-Match` version is not the current one.
pub fn check_version(if_version: Option<i64>, current: i64) -> Result<(), StoreError> {
    match if_version {
        Some(v) if v != current => Err(StoreError::Core(CoreError::PreconditionFailed(format!(
            "If-Match W/\"{v}\" does not match the current version {}",
            scim_core::resource::etag(current)
        )))),
        _ => Ok(()),
    }
}

pub fn tenant_exists(name: &str) -> StoreError {
    StoreError::Core(CoreError::Uniqueness(format!("tenant {name:?} already exists")))
}

/// Tenant names appear in URLs: 1–63 of `a-z`, `0-9`, `-`, `_`, starting with a letter or digit.
pub fn check_tenant_name(name: &str) -> Result<(), CoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CoreError::InvalidValue(format!(
            "tenant name {name:?} is invalid: use 1-63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit"
        )))
    }
}

/// The listed prefix a revocation names: a whole token or any leading part of at least 8
/// characters of its listed prefix.
pub fn revocation_prefix(given: &str) -> Result<String, CoreError> {
    if given.len() < 8 {
        return Err(CoreError::InvalidValue(
            "give at least 8 characters of the token prefix (see `scimd token list`)".into(),
        ));
    }
    Ok(token::display_prefix(given))
}

/// The last item for each key, in the order given: what writing the items one row at a time
/// would leave, for a multi-row statement that may not touch a row twice.
pub fn last_per_key<'a, T, K: std::hash::Hash + Eq>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut last = std::collections::HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    let mut keep: Vec<usize> = last.into_values().collect();
    keep.sort_unstable();
    keep.into_iter().map(|i| &items[i]).collect()
}

/// Member rows to write: the last of duplicate ids wins, as it would row by row.
pub fn dedup_members(members: &[scim_core::normalize::Member]) -> Vec<&scim_core::normalize::Member> {
    last_per_key(members, |m| m.value.as_str())
}

/// What an update changes in the value index: the old rows whose slot (path, ord) the new
/// document no longer has, and the new rows that differ from the old (a slot that only
/// changes value is among the added, to be upserted).
pub fn index_diff<'a>(
    old: &'a [scim_core::index::IndexEntry],
    new: &'a [scim_core::index::IndexEntry],
) -> (
    Vec<&'a scim_core::index::IndexEntry>,
    Vec<&'a scim_core::index::IndexEntry>,
) {
    use std::collections::HashSet;
    let old_keys: HashSet<_> = old.iter().map(entry_key).collect();
    let new_slots: HashSet<(&str, u32)> = new.iter().map(|e| (e.path.as_str(), e.ord)).collect();
    let gone = old
        .iter()
        .filter(|e| !new_slots.contains(&(e.path.as_str(), e.ord)))
        .collect();
    let added = new.iter().filter(|e| !old_keys.contains(&entry_key(e))).collect();
    (gone, added)
}

fn entry_key(e: &scim_core::index::IndexEntry) -> (String, u32, String) {
    let v = match &e.value {
        scim_core::index::IndexValue::Text(s) => format!("t{s}"),
        scim_core::index::IndexValue::Int(i) => format!("i{i}"),
        scim_core::index::IndexValue::Real(f) => format!("r{f}"),
        scim_core::index::IndexValue::Bool(b) => format!("b{b}"),
    };
    (e.path.clone(), e.ord, v)
}

/// A tenant's tables, children first, as `delete_tenant` empties them (the `tenants` row goes
/// last). The same names on both backends.
pub const TENANT_TABLES: &[&str] = &[
    "value_index",
    "members",
    "resources",
    "counts",
    "journal",
    "feed_seq",
    "webhooks",
    "webhook_leases",
    "request_log",
    "tokens",
    "client_secrets",
    "clients",
];

/// A webhook's event types as stored: names joined by commas, empty for every type.
pub fn events_text(events: &[scim_core::events::EventType]) -> String {
    events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",")
}

pub fn parse_events(text: &str) -> Vec<scim_core::events::EventType> {
    text.split(',')
        .filter_map(scim_core::events::EventType::parse)
        .collect()
}

/// (group, member) rows in group order → each group with its members.
pub(crate) fn group_members<E>(
    rows: impl IntoIterator<Item = Result<(String, String), E>>,
) -> Result<Vec<(String, Vec<String>)>, E> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for row in rows {
        let (g, m) = row?;
        match out.last_mut() {
            Some((last, members)) if *last == g => members.push(m),
            _ => out.push((g, vec![m])),
        }
    }
    Ok(out)
}
