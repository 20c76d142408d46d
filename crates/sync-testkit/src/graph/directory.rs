//! The fake tenant's directory: users, groups, app roles and assignments, with a version
//! counter so delta rounds can return what changed since a token.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// Why an object left the directory, as Graph's `@removed.reason` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    /// Soft-deleted: in the recycle bin (`/directory/deletedItems`), restorable.
    Changed,
    /// Permanently deleted.
    Deleted,
}

impl Removed {
    pub fn reason(self) -> &'static str {
        match self {
            Removed::Changed => "changed",
            Removed::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone)]
pub struct UserRec {
    pub attrs: Map<String, Value>,
    pub manager: Option<String>,
    pub changed: u64,
    pub removed: Option<Removed>,
}

#[derive(Debug, Clone)]
pub struct GroupRec {
    pub attrs: Map<String, Value>,
    pub members: BTreeSet<String>,
    /// `(version, member, added)` for every membership change.
    pub member_log: Vec<(u64, String, bool)>,
    pub changed: u64,
    pub removed: Option<Removed>,
}

/// An app role of the service principal.
#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub value: String,
    pub display_name: String,
}

/// One `appRoleAssignedTo` entry.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub id: String,
    pub principal_id: String,
    /// `User` or `Group`.
    pub principal_type: &'static str,
    pub app_role_id: String,
}

/// The all-zero role id Graph gives "Default Access".
pub const DEFAULT_ACCESS_ID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Default)]
pub struct Directory {
    pub version: u64,
    pub users: BTreeMap<String, UserRec>,
    pub groups: BTreeMap<String, GroupRec>,
    pub roles: Vec<Role>,
    pub assignments: Vec<Assignment>,
}

impl Directory {
    fn bump(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    /// Adds or replaces a user; `attrs` is Graph's shape (`userPrincipalName`, …) and may
    /// carry `manager` as an id.
    pub fn put_user(&mut self, id: &str, mut attrs: Map<String, Value>) {
        let v = self.bump();
        let manager = attrs.remove("manager").and_then(|m| m.as_str().map(str::to_string));
        self.users.insert(
            id.to_string(),
            UserRec {
                attrs,
                manager,
                changed: v,
                removed: None,
            },
        );
    }

    /// Sets (or, with `null`, clears) one attribute of a user.
    pub fn set_user_attr(&mut self, id: &str, name: &str, value: Value) {
        let v = self.bump();
        let u = self.users.get_mut(id).unwrap_or_else(|| panic!("no user {id}"));
        if name == "manager" {
            u.manager = value.as_str().map(str::to_string);
        } else {
            u.attrs.insert(name.to_string(), value);
        }
        u.changed = v;
    }

    /// Soft (recycle bin) or hard delete; a hard delete also drops the user's memberships.
    pub fn remove_user(&mut self, id: &str, how: Removed) {
        let v = self.bump();
        let u = self.users.get_mut(id).unwrap_or_else(|| panic!("no user {id}"));
        u.removed = Some(how);
        u.changed = v;
        for g in self.groups.values_mut() {
            if g.members.remove(id) {
                g.member_log.push((v, id.to_string(), false));
                g.changed = v;
            }
        }
    }

    pub fn put_group(&mut self, id: &str, display_name: &str, members: &[&str]) {
        let v = self.bump();
        let mut attrs = Map::new();
        attrs.insert("displayName".into(), json!(display_name));
        self.groups.insert(
            id.to_string(),
            GroupRec {
                attrs,
                members: members.iter().map(|m| m.to_string()).collect(),
                member_log: members.iter().map(|m| (v, m.to_string(), true)).collect(),
                changed: v,
                removed: None,
            },
        );
    }

    pub fn set_member(&mut self, group: &str, member: &str, present: bool) {
        let v = self.bump();
        let g = self.groups.get_mut(group).unwrap_or_else(|| panic!("no group {group}"));
        let changed = if present {
            g.members.insert(member.to_string())
        } else {
            g.members.remove(member)
        };
        if changed {
            g.member_log.push((v, member.to_string(), present));
            g.changed = v;
        }
    }

    pub fn remove_group(&mut self, id: &str) {
        let v = self.bump();
        let g = self.groups.get_mut(id).unwrap_or_else(|| panic!("no group {id}"));
        g.removed = Some(Removed::Deleted);
        g.changed = v;
    }

    /// Assigns a user or group to the application with a role (by the role's value, or
    /// `None` for Default Access).
    pub fn assign(&mut self, principal: &str, role_value: Option<&str>) {
        let app_role_id = match role_value {
            None => DEFAULT_ACCESS_ID.to_string(),
            Some(value) => self
                .roles
                .iter()
                .find(|r| r.value == value)
                .unwrap_or_else(|| panic!("no role {value}"))
                .id
                .clone(),
        };
        let principal_type = if self.groups.contains_key(principal) {
            "Group"
        } else {
            "User"
        };
        self.assignments.push(Assignment {
            id: format!("as-{}", self.assignments.len() + 1),
            principal_id: principal.to_string(),
            principal_type,
            app_role_id,
        });
    }

    pub fn unassign(&mut self, principal: &str) {
        self.assignments.retain(|a| a.principal_id != principal);
    }

    /// The user as Graph's JSON, with only `select`ed properties (never-set ones are absent).
    pub fn user_json(&self, id: &str, select: &[String], delta: bool) -> Value {
        let u = &self.users[id];
        let mut out = Map::new();
        out.insert("id".into(), json!(id));
        for name in select {
            if name == "manager" {
                if let Some(m) = &u.manager {
                    let m = json!({"@odata.type": "#microsoft.graph.user", "id": m});
                    if delta {
                        out.insert("manager@delta".into(), json!([m]));
                    } else {
                        out.insert("manager".into(), m);
                    }
                }
            } else if let Some(v) = u.attrs.get(name) {
                out.insert(name.clone(), v.clone());
            }
        }
        Value::Object(out)
    }

    pub fn group_json(&self, id: &str, select: &[String]) -> Map<String, Value> {
        let g = &self.groups[id];
        let mut out = Map::new();
        out.insert("id".into(), json!(id));
        for name in select {
            if let Some(v) = g.attrs.get(name) {
                out.insert(name.clone(), v.clone());
            }
        }
        out
    }

    /// A group's membership changes since `since` (every member for a first round), as
    /// `members@delta` entries.
    pub fn member_delta(&self, id: &str, since: Option<u64>) -> Vec<Value> {
        let g = &self.groups[id];
        let entry = |m: &str, removed: bool| {
            let mut e = json!({"@odata.type": kind_of(self, m), "id": m});
            if removed {
                e["@removed"] = json!({"reason": "deleted"});
            }
            e
        };
        let Some(since) = since else {
            return g.members.iter().map(|m| entry(m, false)).collect();
        };
        let mut last: BTreeMap<&str, bool> = BTreeMap::new();
        for (v, m, added) in &g.member_log {
            if *v > since {
                last.insert(m, *added);
            }
        }
        last.into_iter().map(|(m, added)| entry(m, !added)).collect()
    }
}

fn kind_of(d: &Directory, id: &str) -> &'static str {
    if d.groups.contains_key(id) {
        "#microsoft.graph.group"
    } else {
        "#microsoft.graph.user"
    }
}
