//! The change feed's vocabulary: which event a committed change makes. The store writes the
//! events in the same transaction as the change; this module only decides their types and
//! the shape of their `data`.

use serde_json::{Map, Value};

use crate::schema::ResourceKind;

/// Member ids per `group.members_added` / `group.members_removed` event: a request that
/// changes more members makes several events, so no event grows without bound.
pub const MEMBERS_PER_EVENT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    UserCreated,
    UserUpdated,
    UserDeactivated,
    UserReactivated,
    UserDeleted,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    GroupMembersAdded,
    GroupMembersRemoved,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        EventType::UserCreated,
        EventType::UserUpdated,
        EventType::UserDeactivated,
        EventType::UserReactivated,
        EventType::UserDeleted,
        EventType::GroupCreated,
        EventType::GroupUpdated,
        EventType::GroupDeleted,
        EventType::GroupMembersAdded,
        EventType::GroupMembersRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserCreated => "user.created",
            EventType::UserUpdated => "user.updated",
            EventType::UserDeactivated => "user.deactivated",
            EventType::UserReactivated => "user.reactivated",
            EventType::UserDeleted => "user.deleted",
            EventType::GroupCreated => "group.created",
            EventType::GroupUpdated => "group.updated",
            EventType::GroupDeleted => "group.deleted",
            EventType::GroupMembersAdded => "group.members_added",
            EventType::GroupMembersRemoved => "group.members_removed",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn created(kind: ResourceKind) -> EventType {
        match kind {
            ResourceKind::User => EventType::UserCreated,
            ResourceKind::Group => EventType::GroupCreated,
        }
    }

    pub fn deleted(kind: ResourceKind) -> EventType {
        match kind {
            ResourceKind::User => EventType::UserDeleted,
            ResourceKind::Group => EventType::GroupDeleted,
        }
    }
}

/// The event a changed document makes, `None` when only the members changed. A user whose
/// `active` flips is deactivated or reactivated (whatever else changed with it); an absent
/// `active` counts as active, as SCIM clients treat it.
pub fn update_event(kind: ResourceKind, doc_changed: bool, was_active: bool, now_active: bool) -> Option<EventType> {
    if !doc_changed {
        return None;
    }
    Some(match kind {
        ResourceKind::Group => EventType::GroupUpdated,
        ResourceKind::User => match (was_active, now_active) {
            (true, false) => EventType::UserDeactivated,
            (false, true) => EventType::UserReactivated,
            _ => EventType::UserUpdated,
        },
    })
}

/// Whether a user's attributes say it is active.
pub fn is_active(attrs: &Map<String, Value>) -> bool {
    !matches!(attrs.get("active"), Some(Value::Bool(false)))
}

/// The `data` of a members event: `{"members":["id",…]}`, one text per event.
pub fn members_data<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    ids.chunks(MEMBERS_PER_EVENT)
        .map(|chunk| {
            let ids: Vec<&str> = chunk.iter().map(AsRef::as_ref).collect();
            serde_json::json!({ "members": ids }).to_string()
        })
        .collect()
}

/// The members a write really added and removed, net: a member removed and added again in
/// one request is in neither list. The store reports what each statement changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemberDelta {
    added: std::collections::BTreeSet<String>,
    removed: std::collections::BTreeSet<String>,
}

impl MemberDelta {
    /// `id` was not a member and now is.
    pub fn added(&mut self, id: String) {
        if !self.removed.remove(&id) {
            self.added.insert(id);
        }
    }

    /// `id` was a member and no longer is.
    pub fn removed(&mut self, id: String) {
        if !self.added.remove(&id) {
            self.removed.insert(id);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// The events' types and data: additions first, then removals.
    pub fn events(&self) -> Vec<(EventType, String)> {
        let added: Vec<&String> = self.added.iter().collect();
        let removed: Vec<&String> = self.removed.iter().collect();
        let added = members_data(&added)
            .into_iter()
            .map(|d| (EventType::GroupMembersAdded, d));
        let removed = members_data(&removed)
            .into_iter()
            .map(|d| (EventType::GroupMembersRemoved, d));
        added.chain(removed).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("user.exploded"), None);
    }

    #[test]
    fn active_flips_are_their_own_events() {
        let u = ResourceKind::User;
        assert!(is_active(&map(json!({"userName": "a", "active": true}))));
        assert!(is_active(&map(json!({"userName": "a"}))));
        assert!(!is_active(&map(json!({"userName": "a", "active": false}))));
        assert_eq!(update_event(u, true, true, false), Some(EventType::UserDeactivated));
        assert_eq!(update_event(u, true, false, true), Some(EventType::UserReactivated));
        assert_eq!(update_event(u, true, true, true), Some(EventType::UserUpdated));
        assert_eq!(update_event(u, true, false, false), Some(EventType::UserUpdated));
        assert_eq!(update_event(u, false, true, false), None);
        assert_eq!(
            update_event(ResourceKind::Group, true, true, false),
            Some(EventType::GroupUpdated)
        );
    }

    #[test]
    fn member_deltas_are_net_and_chunked() {
        let mut d = MemberDelta::default();
        d.added("a".into());
        d.removed("a".into());
        d.removed("b".into());
        d.added("b".into());
        assert!(d.is_empty());
        for i in 0..(MEMBERS_PER_EVENT + 1) {
            d.added(format!("{i:05}"));
        }
        d.removed("z".into());
        let events = d.events();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].0, EventType::GroupMembersAdded);
        let first: Value = serde_json::from_str(&events[0].1).unwrap();
        assert_eq!(first["members"].as_array().unwrap().len(), MEMBERS_PER_EVENT);
        assert_eq!(
            events[2],
            (EventType::GroupMembersRemoved, r#"{"members":["z"]}"#.to_string())
        );
    }
}
