//! Searching the directory and turning entries into source objects.

use std::collections::{HashMap, HashSet};

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use serde_json::Value;
use sync_engine::EngineError;
use sync_engine::config::{JobConfig, ScopeMode};
use sync_engine::model::{ObjectKind, SourceBatch, SourceObject};
use sync_engine::source::Snapshot;

use super::entry::{self, Enabled, dn_key};
use super::{Directory, LdapSource};

/// What is asked for, from the job's mappings and scoping filters.
pub(crate) struct Select {
    id: String,
    stamp: &'static str,
    users: Vec<String>,
    groups: Vec<String>,
    /// `manager` is mapped: its DNs are resolved to ids.
    manager: bool,
    read_groups: bool,
    enabled: Enabled,
}

fn push(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|l| l.eq_ignore_ascii_case(name)) {
        list.push(name.to_string());
    }
}

impl Select {
    pub fn of(spec: &super::LdapSpec, job: &JobConfig) -> Select {
        let id = spec.id_attribute();
        let stamp = match spec.directory {
            Directory::Openldap => "modifyTimestamp",
            Directory::Ad => "uSNChanged",
        };
        let mut users = vec![id.clone(), stamp.to_string()];
        if spec.directory == Directory::Ad {
            push(&mut users, "userAccountControl");
        }
        if let Some(a) = &spec.disabled_attribute {
            push(&mut users, a);
        }
        let mapped = sync_engine::validate::source_attributes(job, ObjectKind::User);
        let manager = mapped.iter().any(|a| a.eq_ignore_ascii_case("manager"));
        for a in mapped.iter().filter(|a| !a.eq_ignore_ascii_case("accountEnabled")) {
            push(&mut users, a);
        }
        let mut groups = vec![
            id.clone(),
            stamp.to_string(),
            spec.member_attribute.clone(),
            "cn".into(),
            "displayName".into(),
        ];
        for a in sync_engine::validate::source_attributes(job, ObjectKind::Group) {
            push(&mut groups, &a);
        }
        Select {
            id,
            stamp,
            users,
            groups,
            manager,
            read_groups: job.groups.as_ref().is_some_and(|g| g.enabled) || job.scope.mode == ScopeMode::Assigned,
            enabled: Enabled {
                disabled_attribute: spec.disabled_attribute.clone(),
                disabled_values: spec.disabled_values.clone(),
            },
        }
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Source(format!("LDAP {what}: {e}"))
}

/// A user read, with its manager's DN still to resolve.
struct User {
    obj: SourceObject,
    manager: Option<u128>,
}

/// A group read, with its members' DNs still to resolve.
struct Group {
    obj: SourceObject,
    members: Vec<u128>,
}

/// Ids by DN, for members and managers.
type Ids = HashMap<u128, String>;

impl LdapSource {
    async fn connect(&self) -> Result<Ldap, EngineError> {
        // ldap3 builds its rustls configuration with the process's default provider.
        scim_client::install_crypto_provider();
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.spec.starttls)
            .set_no_tls_verify(self.spec.tls_no_verify);
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.spec.url)
            .await
            .map_err(|e| {
                let hint = if e.to_string().contains("certificate") {
                    " (the server's certificate is not trusted here: add its CA to the system's trust store)"
                } else {
                    ""
                };
                err(&format!("connecting to {}", self.spec.url), format!("{e}{hint}"))
            })?;
        ldap3::drive!(conn);
        if let (Some(dn), Some(pw)) = (&self.spec.bind_dn, &self.password) {
            ldap.with_timeout(self.timeout)
                .simple_bind(dn, pw)
                .await
                .and_then(|r| r.success())
                .map_err(|e| err(&format!("bind as {dn}"), e))?;
        }
        Ok(ldap)
    }

    /// A paged subtree search under `base_dn`, each entry handed to `f`.
    async fn each(
        &self,
        ldap: &mut Ldap,
        filter: &str,
        attrs: &[String],
        mut f: impl FnMut(SearchEntry) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let page = self.spec.page_size.unwrap_or(500).clamp(1, 10_000) as i32;
        let adapters: Vec<Box<dyn Adapter<_, _>>> =
            vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(page))];
        let what = format!("search {filter}");
        let mut s = ldap
            .with_timeout(self.timeout)
            .streaming_search_with(adapters, &self.spec.base_dn, Scope::Subtree, filter, attrs.to_vec())
            .await
            .map_err(|e| err(&what, e))?;
        while let Some(raw) = s.next().await.map_err(|e| err(&what, e))? {
            let entry = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| SearchEntry::construct(raw)))
                .map_err(|_| err(&what, "an entry the client could not decode"))?;
            f(entry)?;
        }
        s.finish().await.success().map_err(|e| err(&what, e))?;
        Ok(())
    }

    /// The server's `highestCommittedUSN` (AD), read before the entries.
    async fn usn(&self, ldap: &mut Ldap) -> Result<Option<String>, EngineError> {
        if self.spec.directory != Directory::Ad {
            return Ok(None);
        }
        let (rs, _) = ldap
            .with_timeout(self.timeout)
            .search("", Scope::Base, "(objectClass=*)", vec!["highestCommittedUSN"])
            .await
            .and_then(|r| r.success())
            .map_err(|e| err("reading the rootDSE", e))?;
        Ok(rs
            .into_iter()
            .next()
            .map(SearchEntry::construct)
            .and_then(|e| entry::get(&e.attrs, "highestCommittedUSN").and_then(|v| v.first().cloned())))
    }

    fn user(&self, e: SearchEntry, stamp: &mut Option<String>) -> Result<(u128, User), EngineError> {
        let s = &self.select;
        let id = entry::id_of(&e.attrs, &e.bin_attrs, &s.id)
            .ok_or_else(|| err("users", format!("{} has no {}", e.dn, s.id)))?;
        note_stamp(stamp, &e.attrs, s.stamp);
        let enabled = s.enabled.of(&e.attrs);
        let mut attrs = e.attrs;
        let manager = attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("manager"))
            .map(|(k, _)| k.clone())
            .and_then(|k| attrs.remove(&k))
            .and_then(|v| v.into_iter().next())
            .filter(|_| s.manager)
            .map(|dn| dn_key(&dn));
        let mut map = entry::attributes(attrs, &[&s.id, s.stamp, "userAccountControl"]);
        if let Some(on) = enabled {
            map.insert("accountEnabled".into(), Value::Bool(on));
        }
        let obj = entry::object(ObjectKind::User, id, map);
        Ok((dn_key(&e.dn), User { obj, manager }))
    }

    fn group(&self, e: SearchEntry, stamp: &mut Option<String>) -> Result<(u128, Group), EngineError> {
        let s = &self.select;
        let id = entry::id_of(&e.attrs, &e.bin_attrs, &s.id)
            .ok_or_else(|| err("groups", format!("{} has no {}", e.dn, s.id)))?;
        note_stamp(stamp, &e.attrs, s.stamp);
        let members = entry::get(&e.attrs, &self.spec.member_attribute)
            .map(|m| m.iter().map(|dn| dn_key(dn)).collect())
            .unwrap_or_default();
        let mut map = entry::attributes(e.attrs, &[&s.id, s.stamp, &self.spec.member_attribute]);
        // A group's name is its displayName (what scope.groups and Graph-style mappings use),
        // else its cn.
        if !map.keys().any(|k| k.eq_ignore_ascii_case("displayName"))
            && let Some(cn) = map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("cn"))
                .map(|(_, v)| v.clone())
        {
            let first = match cn {
                Value::Array(mut v) if !v.is_empty() => v.remove(0),
                other => other,
            };
            map.insert("displayName".into(), first);
        }
        Ok((
            dn_key(&e.dn),
            Group {
                obj: entry::object(ObjectKind::Group, id, map),
                members,
            },
        ))
    }

    /// Reads users and groups matching the filters (narrowed by `since`), with the ids of
    /// every DN they read.
    async fn read(
        &self,
        ldap: &mut Ldap,
        since: Option<&str>,
        ids: &mut Ids,
        users: &mut (dyn FnMut(User) -> Result<(), EngineError> + Send),
        stamp: &mut Option<String>,
    ) -> Result<Vec<Group>, EngineError> {
        let narrow = |f: &str| match since {
            None => f.to_string(),
            Some(w) => format!("(&{f}({}>={}))", self.select.stamp, ldap3::ldap_escape(w)),
        };
        let s = &self.select;
        self.each(ldap, &narrow(&self.spec.user_filter), &s.users, |e| {
            let (dn, u) = self.user(e, stamp)?;
            ids.insert(dn, u.obj.id.clone());
            users(u)
        })
        .await?;
        let mut groups = Vec::new();
        if s.read_groups {
            self.each(ldap, &narrow(&self.spec.group_filter), &s.groups, |e| {
                let (dn, g) = self.group(e, stamp)?;
                ids.insert(dn, g.obj.id.clone());
                groups.push(g);
                Ok(())
            })
            .await?;
        }
        Ok(groups)
    }

    /// The ids of every user and group DN (an incremental read resolves references with it).
    async fn all_ids(&self, ldap: &mut Ldap, ids: &mut Ids) -> Result<(), EngineError> {
        let id = std::slice::from_ref(&self.select.id);
        let mut each = |e: SearchEntry| {
            if let Some(i) = entry::id_of(&e.attrs, &e.bin_attrs, &self.select.id) {
                ids.insert(dn_key(&e.dn), i);
            }
            Ok(())
        };
        self.each(ldap, &self.spec.user_filter, id, &mut each).await?;
        if self.select.read_groups {
            self.each(ldap, &self.spec.group_filter, id, &mut each).await?;
        }
        Ok(())
    }

    /// A full read, each object handed to `f`; returns the watermark.
    pub(super) async fn full(
        &self,
        mut f: impl FnMut(SourceObject) -> Result<(), EngineError> + Send,
    ) -> Result<Option<String>, EngineError> {
        let mut ldap = self.connect().await?;
        let usn = self.usn(&mut ldap).await?;
        let mut ids = Ids::new();
        let mut stamp = None;
        // Users wait on disk for their managers' ids when managers are mapped.
        let mut waiting = self.select.manager.then(crate::spool::SpoolWriter::new).transpose()?;
        let mut managers: HashMap<String, u128> = HashMap::new();
        let groups = self
            .read(
                &mut ldap,
                None,
                &mut ids,
                &mut |u: User| match &mut waiting {
                    Some(w) => {
                        if let Some(m) = u.manager {
                            managers.insert(u.obj.id.clone(), m);
                        }
                        w.push(&u.obj)
                    }
                    None => f(u.obj),
                },
                &mut stamp,
            )
            .await?;
        let _ = ldap.unbind().await;
        if let Some(w) = waiting {
            let mut rx = w.finish(None)?.pages();
            while let Some(page) = rx.recv().await {
                for mut obj in page? {
                    let manager = managers.get(&obj.id).copied();
                    set_manager(&mut obj, manager.as_ref(), &ids);
                    f(obj)?;
                }
            }
        }
        for g in self.resolve(groups, &ids) {
            f(g)?;
        }
        Ok(usn.or(stamp))
    }

    /// Members resolved to ids (unknown DNs left out), flattened when configured.
    fn resolve(&self, groups: Vec<Group>, ids: &Ids) -> Vec<SourceObject> {
        let mut out: Vec<SourceObject> = groups
            .into_iter()
            .map(|mut g| {
                g.obj.members = g.members.iter().filter_map(|k| ids.get(k).cloned()).collect();
                g.obj
            })
            .collect();
        if self.spec.flatten_groups {
            flatten(&mut out);
        }
        out
    }

    /// What changed since `watermark`: entries whose stamp is at or after it.
    pub(super) async fn changes(&self, watermark: &str) -> Result<SourceBatch, EngineError> {
        let mut ldap = self.connect().await?;
        let usn = self.usn(&mut ldap).await?;
        let since = match self.spec.directory {
            Directory::Openldap => watermark.to_string(),
            Directory::Ad => (watermark.parse::<u64>().unwrap_or(0) + 1).to_string(),
        };
        let mut ids = Ids::new();
        let mut stamp = Some(watermark.to_string());
        let mut users = Vec::new();
        let groups = self
            .read(
                &mut ldap,
                Some(&since),
                &mut ids,
                &mut |u| {
                    users.push(u);
                    Ok(())
                },
                &mut stamp,
            )
            .await?;
        if users.iter().any(|u| u.manager.is_some()) || !groups.is_empty() {
            self.all_ids(&mut ldap, &mut ids).await?;
        }
        let _ = ldap.unbind().await;
        let mut objects: Vec<SourceObject> = users
            .into_iter()
            .map(|mut u| {
                set_manager(&mut u.obj, u.manager.as_ref(), &ids);
                u.obj
            })
            .collect();
        objects.extend(self.resolve(groups, &ids));
        Ok(SourceBatch {
            objects,
            complete: false,
            watermark: usn.or(stamp),
        })
    }

    /// One object by id, for provisioning on demand.
    pub(super) async fn one(&self, kind: ObjectKind, id: &str) -> Result<Option<SourceObject>, EngineError> {
        let mut ldap = self.connect().await?;
        let value = match self.spec.directory {
            Directory::Ad => guid_filter_value(id).unwrap_or_else(|| ldap3::ldap_escape(id).into_owned()),
            Directory::Openldap => ldap3::ldap_escape(id).into_owned(),
        };
        let (filter, attrs) = match kind {
            ObjectKind::User => (&self.spec.user_filter, &self.select.users),
            ObjectKind::Group => (&self.spec.group_filter, &self.select.groups),
        };
        let filter = format!("(&{filter}({}={value}))", self.select.id);
        let mut found = Vec::new();
        self.each(&mut ldap, &filter, attrs, |e| {
            found.push(e);
            Ok(())
        })
        .await?;
        let Some(e) = found.into_iter().next() else {
            return Ok(None);
        };
        let mut ids = Ids::new();
        self.all_ids(&mut ldap, &mut ids).await?;
        let _ = ldap.unbind().await;
        let mut stamp = None;
        Ok(Some(match kind {
            ObjectKind::User => {
                let (_, mut u) = self.user(e, &mut stamp)?;
                set_manager(&mut u.obj, u.manager.as_ref(), &ids);
                u.obj
            }
            ObjectKind::Group => {
                let (_, g) = self.group(e, &mut stamp)?;
                self.resolve(vec![g], &ids).remove(0)
            }
        }))
    }
}

fn note_stamp(stamp: &mut Option<String>, attrs: &HashMap<String, Vec<String>>, name: &str) {
    if let Some(v) = entry::get(attrs, name).and_then(|v| v.first())
        && stamp.as_deref().is_none_or(|s| newer(v, s))
    {
        *stamp = Some(v.clone());
    }
}

/// Whether stamp `a` is after `b`: USNs compare as numbers, timestamps as text.
fn newer(a: &str, b: &str) -> bool {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x > y,
        _ => a > b,
    }
}

fn set_manager(obj: &mut SourceObject, manager: Option<&u128>, ids: &Ids) {
    match manager.and_then(|m| ids.get(m)) {
        Some(id) => obj.attrs.insert("manager".into(), Value::String(id.clone())),
        None => obj.attrs.remove("manager"),
    };
}

/// Each group's members become the users it holds at any depth (cycles are cut).
fn flatten(groups: &mut [SourceObject]) {
    let index: HashMap<String, usize> = groups.iter().enumerate().map(|(i, g)| (g.id.clone(), i)).collect();
    let direct: Vec<Vec<String>> = groups.iter().map(|g| g.members.clone()).collect();
    for (i, g) in groups.iter_mut().enumerate() {
        let mut seen = HashSet::from([i]);
        let mut users = Vec::new();
        let mut users_seen = HashSet::new();
        let mut stack: Vec<&String> = direct[i].iter().rev().collect();
        while let Some(m) = stack.pop() {
            match index.get(m) {
                Some(&j) => {
                    if seen.insert(j) {
                        stack.extend(direct[j].iter().rev());
                    }
                }
                None => {
                    if users_seen.insert(m.clone()) {
                        users.push(m.clone());
                    }
                }
            }
        }
        g.members = users;
    }
}

/// `objectGUID` text as the escaped bytes a filter compares (`\33\22…`).
fn guid_filter_value(id: &str) -> Option<String> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok())
        .collect::<Option<_>>()?;
    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    Some(order.iter().map(|&i| format!("\\{:02x}", b[i])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, members: &[&str]) -> SourceObject {
        let mut g = entry::object(ObjectKind::Group, id.into(), Default::default());
        g.members = members.iter().map(|m| m.to_string()).collect();
        g
    }

    #[test]
    fn flattening_collects_users_at_any_depth_and_survives_cycles() {
        let mut gs = vec![
            group("a", &["u1", "b"]),
            group("b", &["u2", "c", "u1"]),
            group("c", &["u3", "a"]),
        ];
        flatten(&mut gs);
        assert_eq!(gs[0].members, ["u1", "u2", "u3"]);
        assert_eq!(gs[1].members, ["u2", "u3", "u1"]);
        assert_eq!(gs[2].members, ["u3", "u1", "u2"]);
    }

    #[test]
    fn a_guid_filter_value_is_the_guid_bytes_in_wire_order() {
        assert_eq!(
            guid_filter_value("00112233-4455-6677-8899-aabbccddeeff").as_deref(),
            Some(r"\33\22\11\00\55\44\77\66\88\99\aa\bb\cc\dd\ee\ff")
        );
        assert_eq!(guid_filter_value("not-a-guid"), None);
    }

    #[test]
    fn usns_compare_as_numbers_timestamps_as_text() {
        assert!(newer("100", "99"));
        assert!(newer("20261204183001Z", "20261204183000Z"));
        assert!(!newer("20261204183000Z", "20261204183000Z"));
    }
}
