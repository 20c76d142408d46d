//! `ResourceStore` on SQLite: resources, their value index, group members, counts and the
//! change journal, all written in one transaction per job.

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use scim_core::events::{EventType, MemberDelta};
use scim_core::index::IndexEntry;
use scim_core::normalize::Member;
use scim_core::patch::MemberOp;
use scim_core::ports::{Page, Query, ResourceStore, TenantId, UpdateFn};
use scim_core::resolve::{Column, RFilter, Target};
use scim_core::resource::{Prepared, StoredResource};
use scim_core::{CoreError, ResourceKind, Timestamp};
use scim_proto::CompareOp;

use super::dialect::{Sqlite, index_value, value};
use super::feed::{self, About};
use super::{SqliteStore, get_ts, is_unique_violation, ts};
use crate::error::Result;
use crate::filter_sql::{SqlBuf, count_query, page_query, reversed};
use crate::rules::{check_version, conflict, dedup_members, index_diff, not_found};

/// Rows per multi-row INSERT.
const CHUNK: usize = 100;

struct Row {
    seq: i64,
    res: StoredResource,
}

fn load(conn: &Connection, tenant: TenantId, kind: ResourceKind, id: &str) -> Result<Option<Row>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, version, created, last_modified, doc FROM resources \
         WHERE tenant_id = ?1 AND rtype = ?2 AND id = ?3",
    )?;
    Ok(stmt
        .query_row(params![tenant, kind.code(), id], |r| {
            Ok(Row {
                seq: r.get(0)?,
                res: StoredResource {
                    kind,
                    id: id.to_string(),
                    version: r.get(1)?,
                    created: get_ts(r, 2)?,
                    last_modified: get_ts(r, 3)?,
                    doc: r.get(4)?,
                },
            })
        })
        .optional()?)
}

/// The resource to change, checked against the client's `If-Match` version.
fn load_current(
    conn: &Connection,
    tenant: TenantId,
    kind: ResourceKind,
    id: &str,
    if_version: Option<i64>,
) -> Result<Row> {
    let Some(row) = load(conn, tenant, kind, id)? else {
        return Err(not_found(kind, id));
    };
    check_version(if_version, row.res.version)?;
    Ok(row)
}

fn insert_index(conn: &Connection, tenant: TenantId, kind: ResourceKind, seq: i64, rows: &[&IndexEntry]) -> Result<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut sql =
            String::from("INSERT OR REPLACE INTO value_index (res, path, ord, tenant_id, rtype, val) VALUES ");
        let mut params: Vec<SqlValue> = Vec::with_capacity(chunk.len() * 6);
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?)");
            params.push(SqlValue::Integer(seq));
            params.push(SqlValue::Text(e.path.clone()));
            params.push(SqlValue::Integer(e.ord as i64));
            params.push(SqlValue::Integer(tenant));
            params.push(SqlValue::Integer(kind.code()));
            params.push(index_value(&e.value));
        }
        conn.prepare_cached(&sql)?.execute(params_from_iter(params))?;
    }
    Ok(())
}

fn bump_count(conn: &Connection, tenant: TenantId, kind: ResourceKind, delta: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO counts (tenant_id, rtype, n) VALUES (?1, ?2, ?3) \
         ON CONFLICT (tenant_id, rtype) DO UPDATE SET n = n + excluded.n",
    )?
    .execute(params![tenant, kind.code(), delta])?;
    Ok(())
}

/// Writes member rows (the last of duplicate ids wins) and records which ids are new:
/// `INSERT OR IGNORE … RETURNING` names the inserted rows, and only members that were
/// already there have their JSON (say a changed `display`) updated.
fn add_members(
    conn: &Connection,
    tenant: TenantId,
    group_seq: i64,
    members: &[Member],
    delta: &mut MemberDelta,
) -> Result<()> {
    let members = dedup_members(members);
    for chunk in members.chunks(CHUNK) {
        let mut sql = String::from("INSERT OR IGNORE INTO members (group_seq, member_id, tenant_id, json) VALUES ");
        let mut params: Vec<SqlValue> = Vec::with_capacity(chunk.len() * 4);
        for (i, m) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(?,?,?,?)" } else { ",(?,?,?,?)" });
            params.push(SqlValue::Integer(group_seq));
            params.push(SqlValue::Text(m.value.clone()));
            params.push(SqlValue::Integer(tenant));
            params.push(SqlValue::Text(m.json.clone()));
        }
        sql.push_str(" RETURNING member_id");
        let inserted: std::collections::HashSet<String> = conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(params), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut refresh =
            conn.prepare_cached("UPDATE members SET json = ?3 WHERE group_seq = ?1 AND member_id = ?2 AND json <> ?3")?;
        for m in chunk {
            if inserted.contains(&m.value) {
                delta.added(m.value.clone());
            } else {
                refresh.execute(params![group_seq, m.value, m.json])?;
            }
        }
    }
    Ok(())
}

fn remove_members(conn: &Connection, group_seq: i64, ids: &[String], delta: &mut MemberDelta) -> Result<()> {
    for chunk in ids.chunks(CHUNK) {
        let mut sql = String::from("DELETE FROM members WHERE group_seq = ? AND member_id IN (");
        for i in 0..chunk.len() {
            sql.push_str(if i == 0 { "?" } else { ",?" });
        }
        sql.push_str(") RETURNING member_id");
        let params =
            std::iter::once(SqlValue::Integer(group_seq)).chain(chunk.iter().map(|s| SqlValue::Text(s.clone())));
        let gone = conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(params), |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        gone.into_iter().for_each(|id| delta.removed(id));
    }
    Ok(())
}

fn remove_all_members(conn: &Connection, group_seq: i64, delta: &mut MemberDelta) -> Result<()> {
    let gone = conn
        .prepare_cached("DELETE FROM members WHERE group_seq = ?1 RETURNING member_id")?
        .query_map([group_seq], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    gone.into_iter().for_each(|id| delta.removed(id));
    Ok(())
}

/// Applies member changes and returns what they really changed.
fn apply_member_ops(conn: &Connection, tenant: TenantId, group_seq: i64, ops: &[MemberOp]) -> Result<MemberDelta> {
    let mut delta = MemberDelta::default();
    for op in ops {
        match op {
            MemberOp::Add(list) => add_members(conn, tenant, group_seq, list, &mut delta)?,
            MemberOp::Remove(ids) => remove_members(conn, group_seq, ids, &mut delta)?,
            MemberOp::RemoveAll => remove_all_members(conn, group_seq, &mut delta)?,
            MemberOp::Replace(list) => {
                remove_all_members(conn, group_seq, &mut delta)?;
                add_members(conn, tenant, group_seq, list, &mut delta)?;
            }
        }
    }
    Ok(delta)
}

/// Writes only the index rows that changed.
fn diff_index(
    conn: &Connection,
    tenant: TenantId,
    kind: ResourceKind,
    seq: i64,
    old: &[IndexEntry],
    new: &[IndexEntry],
) -> Result<()> {
    let (gone, added) = index_diff(old, new);
    let mut del = conn.prepare_cached("DELETE FROM value_index WHERE res = ?1 AND path = ?2 AND ord = ?3")?;
    for e in gone {
        del.execute(params![seq, e.path, e.ord])?;
    }
    // A slot that gets a new value is overwritten by INSERT OR REPLACE.
    insert_index(conn, tenant, kind, seq, &added)
}

fn page_rows(conn: &Connection, tenant: TenantId, kind: ResourceKind, q: &Query) -> Result<Vec<StoredResource>> {
    let mut b = SqlBuf::new(&Sqlite, tenant, kind);
    page_query(&mut b, q);
    let mut stmt = conn.prepare_cached(&b.sql)?;
    let rows = stmt.query_map(params_from_iter(b.params.into_iter().map(value)), |r| {
        Ok(StoredResource {
            kind,
            id: r.get(0)?,
            version: r.get(1)?,
            created: get_ts(r, 2)?,
            last_modified: get_ts(r, 3)?,
            doc: r.get(4)?,
        })
    })?;
    let mut items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    if reversed(q) {
        items.reverse();
    }
    Ok(items)
}

fn count_rows(conn: &Connection, tenant: TenantId, kind: ResourceKind, q: &Query) -> Result<u64> {
    let n: i64 = match &q.filter {
        None => conn
            .prepare_cached("SELECT n FROM counts WHERE tenant_id = ?1 AND rtype = ?2")?
            .query_row(params![tenant, kind.code()], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0),
        Some(f) => {
            let mut b = SqlBuf::new(&Sqlite, tenant, kind);
            count_query(&mut b, f);
            conn.prepare_cached(&b.sql)?
                .query_row(params_from_iter(b.params.into_iter().map(value)), |r| {
                    r.get::<_, i64>(0)
                })?
        }
    };
    Ok(n.max(0) as u64)
}

fn run_query(conn: &Connection, tenant: TenantId, kind: ResourceKind, q: &Query) -> Result<Page> {
    if q.count == 0 {
        return Ok(Page {
            total: count_rows(conn, tenant, kind, q)?,
            items: Vec::new(),
        });
    }
    let items = page_rows(conn, tenant, kind, q)?;
    // A first page that is not full holds every match: no count query needed. This is the
    // common `userName eq "…"` lookup.
    let total = if q.start_index <= 1 && q.seek.is_none() && (items.len() as u64) < q.count {
        items.len() as u64
    } else {
        count_rows(conn, tenant, kind, q)?
    };
    Ok(Page { total, items })
}

/// Filters that pin a unique or near-unique column (`userName`/`displayName`, `id`,
/// `externalId` with `eq`): cheap enough to run on the calling thread.
fn is_point_query(f: &RFilter) -> bool {
    match f {
        RFilter::Cmp {
            target: Target::Column(Column::NameKey | Column::Id | Column::ExternalId),
            op: CompareOp::Eq,
            ..
        } => true,
        RFilter::And(a, b) => is_point_query(a) || is_point_query(b),
        _ => false,
    }
}

#[async_trait]
impl ResourceStore for SqliteStore {
    fn new_id(&self) -> String {
        uuid::Uuid::now_v7().to_string()
    }

    async fn create(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        p: Prepared,
        members: Vec<Member>,
        now: Timestamp,
    ) -> std::result::Result<StoredResource, CoreError> {
        let now_text = ts(now);
        self.write_events(move |conn| {
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO resources (tenant_id, rtype, id, external_id, name_key, version, created, last_modified, doc) \
                         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7)",
                    )?
                    .execute(params![tenant, kind.code(), p.id, p.external_id, p.name_key, now_text, p.doc]);
                match inserted {
                    Err(e) if is_unique_violation(&e) => return Err(conflict(kind, &p.name_key)),
                    other => other?,
                };
                let seq = conn.last_insert_rowid();
                let rows: Vec<&IndexEntry> = p.index.iter().collect();
                insert_index(conn, tenant, kind, seq, &rows)?;
                let mut delta = MemberDelta::default();
                if !members.is_empty() {
                    add_members(conn, tenant, seq, &members, &mut delta)?;
                }
                bump_count(conn, tenant, kind, 1)?;
                let about = About { tenant, kind, id: &p.id, version: 1, at: &now_text };
                feed::append(conn, &about, EventType::created(kind), &p.doc)?;
                feed::append_members(conn, &about, &delta)?;
                Ok(StoredResource {
                    kind,
                    id: p.id,
                    version: 1,
                    created: now,
                    last_modified: now,
                    doc: p.doc,
                })
            })
            .await
    }

    async fn get(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> std::result::Result<Option<StoredResource>, CoreError> {
        self.readers
            .read(|conn| Ok(load(conn, tenant, kind, id)?.map(|r| r.res)))
    }

    async fn members(&self, tenant: TenantId, group_id: &str) -> std::result::Result<Vec<String>, CoreError> {
        let readers = self.readers.clone();
        let group_id = group_id.to_string();
        blocking(move || {
            readers.read(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT m.json FROM members m JOIN resources r ON r.seq = m.group_seq \
                     WHERE r.tenant_id = ?1 AND r.rtype = 1 AND r.id = ?2 ORDER BY m.member_id",
                )?;
                let rows = stmt.query_map(params![tenant, group_id], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
        })
        .await
    }

    async fn members_upto(
        &self,
        tenant: TenantId,
        group_id: &str,
        limit: usize,
    ) -> std::result::Result<Option<Vec<String>>, CoreError> {
        let over = self.readers.read(|conn| {
            let Some(seq) = conn
                .prepare_cached("SELECT seq FROM resources WHERE tenant_id = ?1 AND rtype = 1 AND id = ?2")?
                .query_row(params![tenant, group_id], |r| r.get::<_, i64>(0))
                .optional()?
            else {
                return Ok(false);
            };
            Ok(conn
                .prepare_cached("SELECT 1 FROM members WHERE group_seq = ?1 LIMIT 1 OFFSET ?2")?
                .query_row(params![seq, limit as i64], |_| Ok(()))
                .optional()?
                .is_some())
        })?;
        if over {
            return Ok(None);
        }
        self.members(tenant, group_id).await.map(Some)
    }

    async fn members_after(
        &self,
        tenant: TenantId,
        group_id: &str,
        after: Option<String>,
        limit: usize,
    ) -> std::result::Result<Vec<(String, String)>, CoreError> {
        let readers = self.readers.clone();
        let group_id = group_id.to_string();
        blocking(move || {
            readers.read(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT m.member_id, m.json FROM members m JOIN resources r ON r.seq = m.group_seq \
                     WHERE r.tenant_id = ?1 AND r.rtype = 1 AND r.id = ?2 AND m.member_id > ?3 \
                     ORDER BY m.member_id LIMIT ?4",
                )?;
                let rows = stmt.query_map(
                    params![tenant, group_id, after.unwrap_or_default(), limit as i64],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
        })
        .await
    }

    async fn update(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &str,
        if_version: Option<i64>,
        now: Timestamp,
        f: UpdateFn,
    ) -> std::result::Result<StoredResource, CoreError> {
        let id = id.to_string();
        let now_text = ts(now);
        self.write_events(move |conn| {
            let Row { seq, res: cur } = load_current(conn, tenant, kind, &id, if_version)?;
            let up = f(&cur)?;
            if !up.changed {
                return Ok(cur);
            }
            let p = up.prepared;
            let version = cur.version + 1;
            let updated = conn
                .prepare_cached(
                    "UPDATE resources SET external_id = ?1, name_key = ?2, version = ?3, last_modified = ?4, doc = ?5 \
                         WHERE seq = ?6",
                )?
                .execute(params![p.external_id, p.name_key, version, now_text, p.doc, seq]);
            match updated {
                Err(e) if is_unique_violation(&e) => return Err(conflict(kind, &p.name_key)),
                other => other?,
            };
            diff_index(conn, tenant, kind, seq, &up.old_index, &p.index)?;
            let delta = apply_member_ops(conn, tenant, seq, &up.members)?;
            let about = About {
                tenant,
                kind,
                id: &id,
                version,
                at: &now_text,
            };
            if let Some(event) = up.event {
                feed::append(conn, &about, event, &p.doc)?;
            }
            feed::append_members(conn, &about, &delta)?;
            Ok(StoredResource {
                kind,
                id,
                version,
                created: cur.created,
                last_modified: now,
                doc: p.doc,
            })
        })
        .await
    }

    async fn delete(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &str,
        if_version: Option<i64>,
        now: Timestamp,
    ) -> std::result::Result<(), CoreError> {
        let id = id.to_string();
        let now = ts(now);
        self.write_events(move |conn| {
            // Only the row's seq and version are needed: no document read.
            let found = conn
                .prepare_cached("SELECT seq, version FROM resources WHERE tenant_id = ?1 AND rtype = ?2 AND id = ?3")?
                .query_row(params![tenant, kind.code(), id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
                .optional()?;
            let Some((seq, version)) = found else {
                return Err(not_found(kind, &id));
            };
            check_version(if_version, version)?;
            let doc: String = conn
                .prepare_cached("DELETE FROM resources WHERE seq = ?1 RETURNING doc")?
                .query_row([seq], |r| r.get(0))?;
            conn.prepare_cached("DELETE FROM value_index WHERE res = ?1")?
                .execute([seq])?;
            if kind == ResourceKind::Group {
                conn.prepare_cached("DELETE FROM members WHERE group_seq = ?1")?
                    .execute([seq])?;
            }
            let about = About {
                tenant,
                kind,
                id: &id,
                version: version + 1,
                at: &now,
            };
            feed::append(conn, &about, EventType::deleted(kind), &doc)?;
            // A deleted user or group leaves every group it was in; those groups change, so
            // their versions move (stale ETags then fail If-Match) and the journal says so.
            let groups: Vec<i64> = conn
                .prepare_cached("DELETE FROM members WHERE tenant_id = ?1 AND member_id = ?2 RETURNING group_seq")?
                .query_map(params![tenant, id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for g in groups {
                let changed = conn
                    .prepare_cached(
                        "UPDATE resources SET version = version + 1, last_modified = ?2 WHERE seq = ?1 \
                             RETURNING id, version",
                    )?
                    .query_row(params![g, now], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .optional()?;
                if let Some((gid, gver)) = changed {
                    let group = About {
                        tenant,
                        kind: ResourceKind::Group,
                        id: &gid,
                        version: gver,
                        at: &now,
                    };
                    let mut delta = MemberDelta::default();
                    delta.removed(id.clone());
                    feed::append_members(conn, &group, &delta)?;
                }
            }
            bump_count(conn, tenant, kind, -1)?;
            Ok(())
        })
        .await
    }

    async fn query(&self, tenant: TenantId, kind: ResourceKind, q: Query) -> std::result::Result<Page, CoreError> {
        if q.filter.as_ref().is_some_and(is_point_query) {
            return self.readers.read(|conn| run_query(conn, tenant, kind, &q));
        }
        let readers = self.readers.clone();
        blocking(move || readers.read(|conn| run_query(conn, tenant, kind, &q))).await
    }
}

/// Runs a read that may scan on the blocking pool, off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, CoreError> + Send + 'static,
) -> std::result::Result<T, CoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::Internal(format!("read task failed: {e}")))?
}
