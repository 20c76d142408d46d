//! What the Graph source asks for and how the answers become source objects.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sync_engine::EngineError;
use sync_engine::config::{JobConfig, ScopeMode};
use sync_engine::model::{AppRoleAssignment, DEFAULT_ACCESS, ObjectKind, SourceBatch, SourceObject};

use super::GraphSource;
use super::http::Paged;
use crate::file::object_from_graph;

/// The all-zero role id of "Default Access".
const DEFAULT_ACCESS_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The `$select` lists, from the job's mappings and scoping filters.
pub(crate) struct Select {
    pub users: String,
    pub groups: String,
    /// Groups are read when they are mapped or can assign users.
    pub read_groups: bool,
}

fn is_extension_attribute(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower
        .strip_prefix("extensionattribute")
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=15).contains(&n))
}

impl Select {
    pub fn of(job: &JobConfig) -> Select {
        let mut users = vec!["id".to_string(), "accountEnabled".to_string()];
        for a in sync_engine::validate::source_attributes(job, ObjectKind::User) {
            let a = if is_extension_attribute(&a) {
                "onPremisesExtensionAttributes".to_string()
            } else {
                a
            };
            if !users.iter().any(|u| u.eq_ignore_ascii_case(&a)) {
                users.push(a);
            }
        }
        let mut groups = vec!["id".to_string(), "displayName".to_string()];
        for a in sync_engine::validate::source_attributes(job, ObjectKind::Group) {
            if !a.eq_ignore_ascii_case("members") && !groups.iter().any(|g| g.eq_ignore_ascii_case(&a)) {
                groups.push(a);
            }
        }
        let mapped = job.groups.as_ref().is_some_and(|g| g.enabled);
        Select {
            users: users.join(","),
            groups: groups.join(","),
            read_groups: mapped || job.scope.mode == ScopeMode::Assigned,
        }
    }
}

/// The watermark: where each delta round continues.
#[derive(Debug, Serialize, Deserialize)]
struct Watermark {
    users: String,
    #[serde(default)]
    groups: Option<String>,
}

/// The application's roles and who holds them.
#[derive(Default)]
struct Roles {
    table: Vec<AppRoleAssignment>,
    held: HashMap<String, Vec<u16>>,
}

impl Roles {
    fn of(&self, principal: &str) -> Vec<AppRoleAssignment> {
        self.held
            .get(principal)
            .map(|rs| rs.iter().map(|r| self.table[*r as usize].clone()).collect())
            .unwrap_or_default()
    }
}

/// Member ids end to end in one string: a round holds every group's members until it ends
/// (a group may come in several entries), at half the size of a `String` each.
#[derive(Default)]
pub(super) struct Members {
    text: String,
    ends: Vec<u32>,
}

impl Members {
    fn push(&mut self, id: &str) {
        self.text.push_str(id);
        self.ends.push(self.text.len() as u32);
    }

    fn into_ids(self) -> Vec<String> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let id = self.text[start..end as usize].to_string();
                start = end as usize;
                id
            })
            .collect()
    }
}

/// One group of a round: its id, attributes and members.
type RoundGroup = (String, Map<String, Value>, Members);

/// Groups as a delta round sends them: one group may come in several entries.
#[derive(Default)]
struct Groups {
    order: Vec<String>,
    by_id: HashMap<String, (Map<String, Value>, Members)>,
}

impl Groups {
    fn add(&mut self, mut entry: Map<String, Value>) -> Result<(), EngineError> {
        let id = entry
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| EngineError::Source("Graph /groups/delta: an entry without an id".into()))?;
        let delta = entry.remove("members@delta");
        let (_, members) = self.by_id.entry(id.clone()).or_insert_with(|| {
            self.order.push(id);
            (entry, Members::default())
        });
        if let Some(Value::Array(items)) = delta {
            for m in items.iter().filter(|m| m.get("@removed").is_none()) {
                if let Some(id) = member_id(m) {
                    members.push(&id);
                }
            }
        }
        Ok(())
    }
}

/// A user's or group's id from a member entry; other kinds (devices, contacts, service
/// principals) are not provisioned and are left out.
fn member_id(m: &Value) -> Option<String> {
    let t = m
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or("#microsoft.graph.user");
    matches!(t, "#microsoft.graph.user" | "#microsoft.graph.group")
        .then(|| m.get("id").and_then(Value::as_str).map(str::to_string))
        .flatten()
}

fn bad(what: &str, e: String) -> EngineError {
    EngineError::Source(format!("Graph {what}: {e}"))
}

/// A user as Graph sent it: `manager@delta` and `onPremisesExtensionAttributes` flattened
/// into the attributes mappings name (`manager`, `extensionAttribute1`, …).
fn user(v: Value, roles: &Roles) -> Result<SourceObject, EngineError> {
    let Value::Object(mut map) = v else {
        return Err(bad("users", format!("an entry that is not an object: {v}")));
    };
    if let Some(Value::Array(m)) = map.remove("manager@delta") {
        let current = m.into_iter().find(|e| e.get("@removed").is_none());
        map.insert("manager".into(), current.map_or(Value::Null, |e| e["id"].clone()));
    }
    if let Some(Value::Object(ext)) = map.remove("onPremisesExtensionAttributes") {
        map.extend(ext.into_iter().filter(|(_, v)| !v.is_null()));
    }
    let mut obj = object_from_graph(map, Some(ObjectKind::User)).map_err(|e| bad("users", e))?;
    obj.app_roles = roles.of(&obj.id);
    Ok(obj)
}

impl GraphSource {
    async fn roles(&self) -> Result<Roles, EngineError> {
        let Some(sp) = &self.sp else {
            return Ok(Roles::default());
        };
        let app = self
            .graph
            .json(&self.graph.url(&format!("/servicePrincipals/{sp}?$select=id,appRoles")))
            .await?;
        let mut roles = Roles::default();
        roles.table.push(AppRoleAssignment {
            id: DEFAULT_ACCESS_ID.into(),
            value: DEFAULT_ACCESS.into(),
            display_name: DEFAULT_ACCESS.into(),
        });
        for r in app["appRoles"].as_array().into_iter().flatten() {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            let value = Some(s("value"))
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| s("displayName"));
            roles.table.push(AppRoleAssignment {
                id: s("id"),
                value,
                display_name: s("displayName"),
            });
        }
        let index: HashMap<String, u16> = roles
            .table
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i as u16))
            .collect();
        let url = self
            .graph
            .url(&format!("/servicePrincipals/{sp}/appRoleAssignedTo?$top=999"));
        let held = &mut roles.held;
        self.graph
            .pages(url, |items| {
                for a in items {
                    let (Some(p), Some(r)) = (a["principalId"].as_str(), a["appRoleId"].as_str()) else {
                        continue;
                    };
                    match index.get(r) {
                        Some(i) => held.entry(p.to_string()).or_default().push(*i),
                        None => tracing::warn!(
                            principal = p,
                            role = r,
                            "Graph: an assignment to a role the application no longer has"
                        ),
                    }
                }
                Ok(())
            })
            .await?;
        Ok(roles)
    }

    /// A full read, each object handed to `f`; returns the watermark.
    pub(super) async fn full(
        &self,
        mut f: impl FnMut(SourceObject) -> Result<(), EngineError>,
    ) -> Result<String, EngineError> {
        let roles = self.roles().await?;
        let url = self.graph.url(&format!("/users/delta?$select={}", self.select.users));
        let users = self
            .graph
            .pages(url, |items| items.into_iter().try_for_each(|v| f(user(v, &roles)?)))
            .await?;
        let Paged::Done(Some(users)) = users else {
            return Err(bad("/users/delta", "a round ended without a deltaLink".into()));
        };
        let url = self.graph.url(&format!(
            "/directory/deletedItems/microsoft.graph.user?$select={}&$top=999",
            self.select.users
        ));
        self.graph
            .pages(url, |items| {
                items.into_iter().try_for_each(|mut v| {
                    v["@removed"] = json!({"reason": "changed"});
                    f(user(v, &roles)?)
                })
            })
            .await?;
        let mut groups = None;
        if self.select.read_groups {
            let (all, link) = self.group_round(None).await?;
            groups = Some(link.ok_or_else(|| bad("/groups/delta", "the token expired at once".into()))?);
            for (id, attrs, members) in all {
                f(self.group(id, attrs, members.into_ids(), &roles)?)?;
            }
        }
        Ok(serde_json::to_string(&Watermark { users, groups }).unwrap_or_default())
    }

    /// One delta round of groups (from `link`, or from scratch); `None` for the link when
    /// the token expired.
    async fn group_round(&self, link: Option<String>) -> Result<(Vec<RoundGroup>, Option<String>), EngineError> {
        let url = link.unwrap_or_else(|| {
            self.graph
                .url(&format!("/groups/delta?$select={}&$expand=members", self.select.groups))
        });
        let mut acc = Groups::default();
        let end = self
            .graph
            .pages(url, |items| {
                items.into_iter().try_for_each(|v| match v {
                    Value::Object(m) => acc.add(m),
                    other => Err(bad("/groups/delta", format!("an entry that is not an object: {other}"))),
                })
            })
            .await?;
        let link = match end {
            Paged::Resync => return Ok((Vec::new(), None)),
            Paged::Done(l) => l.ok_or_else(|| bad("/groups/delta", "a round ended without a deltaLink".into()))?,
        };
        let mut by_id = acc.by_id;
        let all = acc
            .order
            .into_iter()
            .filter_map(|id| by_id.remove(&id).map(|(attrs, members)| (id, attrs, members)))
            .collect();
        Ok((all, Some(link)))
    }

    fn group(
        &self,
        id: String,
        mut attrs: Map<String, Value>,
        members: Vec<String>,
        roles: &Roles,
    ) -> Result<SourceObject, EngineError> {
        attrs.insert("id".into(), Value::String(id));
        let mut obj = object_from_graph(attrs, Some(ObjectKind::Group)).map_err(|e| bad("groups", e))?;
        obj.members = members;
        obj.app_roles = roles.of(&obj.id);
        Ok(obj)
    }

    /// Every member of a group (users and groups).
    async fn members(&self, id: &str) -> Result<Vec<String>, EngineError> {
        let mut out = Vec::new();
        let url = self.graph.url(&format!("/groups/{id}/members?$select=id&$top=999"));
        self.graph
            .pages(url, |items| {
                out.extend(items.iter().filter_map(member_id));
                Ok(())
            })
            .await?;
        Ok(out)
    }

    /// The changes since `watermark`; `None` when a token expired (the engine reads in full).
    pub(super) async fn changes(&self, watermark: &str) -> Result<Option<SourceBatch>, EngineError> {
        let Ok(wm) = serde_json::from_str::<Watermark>(watermark) else {
            return Ok(None);
        };
        if self.select.read_groups && wm.groups.is_none() {
            return Ok(None);
        }
        let roles = self.roles().await?;
        let mut objects = Vec::new();
        let end = self
            .graph
            .pages(wm.users, |items| {
                items.into_iter().try_for_each(|v| {
                    objects.push(user(v, &roles)?);
                    Ok(())
                })
            })
            .await?;
        let Paged::Done(Some(users)) = end else {
            return Ok(None);
        };
        let mut groups = None;
        if let Some(link) = wm.groups.filter(|_| self.select.read_groups) {
            let (changed, link) = self.group_round(Some(link)).await?;
            let Some(link) = link else {
                return Ok(None);
            };
            groups = Some(link);
            for (id, attrs, _) in changed {
                if attrs.contains_key("@removed") {
                    let mut attrs = attrs;
                    attrs.insert("id".into(), Value::String(id));
                    objects.push(object_from_graph(attrs, Some(ObjectKind::Group)).map_err(|e| bad("groups", e))?);
                    continue;
                }
                let members = self.members(&id).await?;
                objects.push(self.group(id, attrs, members, &roles)?);
            }
        }
        Ok(Some(SourceBatch {
            objects,
            complete: false,
            watermark: Some(serde_json::to_string(&Watermark { users, groups }).unwrap_or_default()),
        }))
    }

    /// One object, for provisioning on demand.
    pub(super) async fn one(&self, kind: ObjectKind, id: &str) -> Result<Option<SourceObject>, EngineError> {
        let roles = self.roles().await?;
        let (path, select) = match kind {
            ObjectKind::User => ("users", format!("{}&$expand=manager($select=id)", self.select.users)),
            ObjectKind::Group => ("groups", self.select.groups.clone()),
        };
        let v = match self
            .graph
            .get(&self.graph.url(&format!("/{path}/{id}?$select={select}")))
            .await?
        {
            super::http::Fetch::Json(v) => v,
            _ => return Ok(None),
        };
        match kind {
            ObjectKind::User => user(v, &roles).map(Some),
            ObjectKind::Group => {
                let Value::Object(attrs) = v else {
                    return Err(bad("groups", "not an object".into()));
                };
                let members = self.members(id).await?;
                self.group(id.to_string(), attrs, members, &roles).map(Some)
            }
        }
    }
}

/// [`user`] with no roles, for the unit tests.
#[cfg(test)]
pub(super) fn tests_user(v: Value) -> Result<SourceObject, EngineError> {
    user(v, &Roles::default())
}
