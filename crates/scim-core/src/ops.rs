//! The pure halves of create, replace (PUT) and PATCH: everything except the storage.

use scim_proto::PatchOperation;
use serde_json::Value;

use crate::error::Result;
use crate::events::{is_active, update_event};
use crate::index::entries;
use crate::normalize::{Member, normalize};
use crate::patch::{MemberOp, apply_patch};
use crate::ports::{Update, UpdateFn};
use crate::resource::{Prepared, StoredResource, attrs_of};
use crate::schema::ResourceKind;

/// Validates a POST body into a resource with the given id, plus its initial members.
pub fn prepare_create(kind: ResourceKind, body: &Value, id: &str) -> Result<(Prepared, Vec<Member>)> {
    let n = normalize(kind, body)?;
    let prepared = Prepared::new(kind, id, &n);
    Ok((prepared, n.members.unwrap_or_default()))
}

/// PUT: the body replaces every attribute; for groups it also replaces the member list.
pub fn replace_fn(kind: ResourceKind, body: Value) -> UpdateFn {
    Box::new(move |cur: &StoredResource| {
        let n = normalize(kind, &body)?;
        let old = attrs_of(cur.parse_doc()?);
        let old_index = entries(kind, &old);
        let prepared = Prepared::new(kind, &cur.id, &n);
        let event = update_event(kind, prepared.doc != cur.doc, is_active(&old), is_active(&n.attrs));
        let members = match (kind, n.members) {
            (ResourceKind::Group, Some(list)) => vec![MemberOp::Replace(list)],
            (ResourceKind::Group, None) => vec![MemberOp::RemoveAll],
            _ => Vec::new(),
        };
        let changed = event.is_some() || !members.is_empty();
        Ok(Update {
            prepared,
            old_index,
            members,
            changed,
            event,
        })
    })
}

/// PATCH: applies the operations to the current document inside the write transaction.
pub fn patch_fn(kind: ResourceKind, ops: Vec<PatchOperation>) -> UpdateFn {
    Box::new(move |cur: &StoredResource| {
        let attrs = attrs_of(cur.parse_doc()?);
        let old_index = entries(kind, &attrs);
        let was_active = is_active(&attrs);
        let outcome = apply_patch(kind, attrs, &ops)?;
        let prepared = Prepared::new(kind, &cur.id, &outcome.resource);
        let now_active = is_active(&outcome.resource.attrs);
        let event = update_event(kind, prepared.doc != cur.doc, was_active, now_active);
        let changed = event.is_some() || !outcome.members.is_empty();
        Ok(Update {
            prepared,
            old_index,
            members: outcome.members,
            changed,
            event,
        })
    })
}
