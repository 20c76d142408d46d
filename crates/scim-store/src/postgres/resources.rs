//! `ResourceStore` on PostgreSQL. A create and a delete are each one statement (CTEs write
//! the resource, its index rows and members together; counts and the journal are written at
//! the end of the batch, see `deferred.rs`); an update
//! locks the row, runs the caller's closure, and writes the difference in one more statement.
//! Writes run in the committer's shared transactions (`commit.rs`).

use async_trait::async_trait;
use deadpool_postgres::{ClientWrapper, GenericClient};
use scim_core::events::{EventType, MemberDelta};
use scim_core::index::{IndexEntry, IndexValue};
use scim_core::normalize::Member;
use scim_core::patch::MemberOp;
use scim_core::ports::{Page, Query, ResourceStore, TenantId, UpdateFn};
use scim_core::resolve::RFilter;
use scim_core::resource::{Prepared, StoredResource};
use scim_core::{CoreError, ResourceKind, Timestamp};
use tokio_postgres::Row;

use super::deferred::{About, Deferred};
use super::dialect::{Postgres, params};
use super::{PgStore, is_unique_violation, pg_text};
use crate::error::{Result, StoreError};
use crate::filter_sql::{SqlBuf, count_query, page_query, reversed};
use crate::rules::{check_version, conflict, dedup_members, index_diff, last_per_key, not_found};

/// Rows of the `counts` table per tenant and type: concurrent batches (`deferred`) in one
/// tenant update different rows instead of queueing on one row lock.
pub(super) const COUNT_SLOTS: u64 = 16;

/// The index rows as four parallel arrays (path, ord, text value, number value), for
/// `unnest`; a slot given twice keeps its last value.
struct IndexArrays {
    path: Vec<String>,
    ord: Vec<i64>,
    vt: Vec<Option<String>>,
    vn: Vec<Option<f64>>,
}

fn index_arrays<'a>(rows: impl Iterator<Item = &'a IndexEntry>) -> IndexArrays {
    let mut out = IndexArrays {
        path: Vec::new(),
        ord: Vec::new(),
        vt: Vec::new(),
        vn: Vec::new(),
    };
    let rows: Vec<&IndexEntry> = rows.collect();
    for e in last_per_key(&rows, |e| (e.path.as_str(), e.ord)) {
        out.path.push(e.path.clone());
        out.ord.push(e.ord as i64);
        let (vt, vn) = match &e.value {
            IndexValue::Text(s) => (Some(pg_text(s).into_owned()), None),
            IndexValue::Int(i) => (None, Some(*i as f64)),
            IndexValue::Real(f) => (None, Some(*f)),
            IndexValue::Bool(b) => (None, Some(if *b { 1.0 } else { 0.0 })),
        };
        out.vt.push(vt);
        out.vn.push(vn);
    }
    out
}

fn member_arrays(members: &[Member]) -> (Vec<String>, Vec<String>) {
    dedup_members(members)
        .into_iter()
        .map(|m| (pg_text(&m.value).into_owned(), m.json.clone()))
        .unzip()
}

fn stored(kind: ResourceKind, r: &Row) -> StoredResource {
    StoredResource {
        kind,
        id: r.get(0),
        version: r.get(1),
        created: Timestamp::new(r.get(2)),
        last_modified: Timestamp::new(r.get(3)),
        doc: r.get(4),
    }
}

const CREATE: &str = "WITH r AS (
    INSERT INTO resources (tenant_id, rtype, id, external_id, name_key, version, created, last_modified, doc)
    VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $7) RETURNING seq),
  i AS (INSERT INTO value_index (tenant_id, res, path, ord, rtype, vt, vn)
    SELECT $1, r.seq, u.path, u.ord, $2, u.vt, u.vn
    FROM r, unnest($8::text[], $9::int8[], $10::text[], $11::float8[]) AS u(path, ord, vt, vn)),
  m AS (INSERT INTO members (tenant_id, group_seq, member_id, json)
    SELECT $1, r.seq, u.id, u.json FROM r, unnest($12::text[], $13::text[]) AS u(id, json))
SELECT seq FROM r";

const UPDATE: &str = "WITH u AS (
    UPDATE resources SET external_id = $3, name_key = $4, version = $5, last_modified = $6, doc = $7
    WHERE tenant_id = $1 AND seq = $2),
  d AS (DELETE FROM value_index v USING unnest($8::text[], $9::int8[]) AS x(path, ord)
    WHERE v.tenant_id = $1 AND v.res = $2 AND v.path = x.path AND v.ord = x.ord),
  i AS (INSERT INTO value_index (tenant_id, res, path, ord, rtype, vt, vn)
    SELECT $1, $2, x.path, x.ord, $10, x.vt, x.vn
    FROM unnest($11::text[], $12::int8[], $13::text[], $14::float8[]) AS x(path, ord, vt, vn)
    ON CONFLICT (tenant_id, res, path, ord) DO UPDATE SET vt = excluded.vt, vn = excluded.vn)
SELECT 1";

macro_rules! delete_head {
    () => {
        "WITH d AS (
    DELETE FROM resources WHERE tenant_id = $1 AND rtype = $2 AND id = $3 AND ($4::int8 IS NULL OR version = $4)
    RETURNING seq, version, doc),
  vi AS (DELETE FROM value_index v WHERE v.tenant_id = $1 AND v.res = (SELECT seq FROM d)),
"
    };
}
macro_rules! delete_tail {
    () => {
        "  mm AS (DELETE FROM members m WHERE m.tenant_id = $1 AND m.member_id = $3
    AND m.group_seq IS DISTINCT FROM (SELECT seq FROM d) AND EXISTS (SELECT 1 FROM d)
    RETURNING m.group_seq)
SELECT (SELECT version FROM d), CASE WHEN NOT EXISTS (SELECT 1 FROM d)
    THEN (SELECT version FROM resources WHERE tenant_id = $1 AND rtype = $2 AND id = $3) END,
  (SELECT coalesce(array_agg(group_seq), '{}') FROM mm), (SELECT doc FROM d)"
    };
}
/// Deletes a resource with its index rows, its own members (groups only) and its
/// memberships. The groups it left are returned: their versions move once per batch, and the
/// count and the journal are written at the batch's end (`deferred`).
/// The deleted row's `seq` is read through scalar subqueries, so generic plans still probe
/// the keys by index; a user has no members, so its statement has no members scan at all.
const DELETE_USER: &str = concat!(delete_head!(), delete_tail!());
const DELETE_GROUP: &str = concat!(
    delete_head!(),
    "  gm AS (DELETE FROM members m WHERE m.tenant_id = $1 AND m.group_seq = (SELECT seq FROM d)),\n",
    delete_tail!()
);

const LOAD: &str = "SELECT id, version, created, last_modified, doc, seq FROM resources \
                    WHERE tenant_id = $1 AND rtype = $2 AND id = $3";

fn write_error(e: tokio_postgres::Error, kind: ResourceKind, name_key: &str) -> StoreError {
    if is_unique_violation(&e) {
        conflict(kind, name_key)
    } else {
        e.into()
    }
}

/// Applies member changes and returns what they really changed (`xmax = 0`: the row was
/// inserted, not updated).
async fn apply_member_ops(
    c: &tokio_postgres::Client,
    tenant: TenantId,
    seq: i64,
    ops: &[MemberOp],
) -> Result<MemberDelta> {
    const ADD: &str = "INSERT INTO members (tenant_id, group_seq, member_id, json)
        SELECT $1, $2, u.id, u.json FROM unnest($3::text[], $4::text[]) AS u(id, json)
        ON CONFLICT (tenant_id, group_seq, member_id) DO UPDATE SET json = excluded.json
        RETURNING member_id, xmax = 0";
    const CLEAR: &str = "DELETE FROM members WHERE tenant_id = $1 AND group_seq = $2 RETURNING member_id";
    const REMOVE: &str =
        "DELETE FROM members WHERE tenant_id = $1 AND group_seq = $2 AND member_id = ANY($3) RETURNING member_id";
    let mut delta = MemberDelta::default();
    async fn add(c: &tokio_postgres::Client, key: [i64; 2], list: &[Member], delta: &mut MemberDelta) -> Result<()> {
        let (ids, json) = member_arrays(list);
        for r in c.query(ADD, &[&key[0], &key[1], &ids, &json]).await? {
            if r.get::<_, bool>(1) {
                delta.added(r.get(0));
            }
        }
        Ok(())
    }
    for op in ops {
        match op {
            MemberOp::Add(list) => add(c, [tenant, seq], list, &mut delta).await?,
            MemberOp::Remove(ids) => {
                let ids: Vec<String> = ids.iter().map(|s| pg_text(s).into_owned()).collect();
                for r in c.query(REMOVE, &[&tenant, &seq, &ids]).await? {
                    delta.removed(r.get(0));
                }
            }
            MemberOp::RemoveAll | MemberOp::Replace(_) => {
                for r in c.query(CLEAR, &[&tenant, &seq]).await? {
                    delta.removed(r.get(0));
                }
                if let MemberOp::Replace(list) = op {
                    add(c, [tenant, seq], list, &mut delta).await?;
                }
            }
        }
    }
    Ok(delta)
}

/// The writes below run inside the committer's shared transaction (see `commit`): they
/// neither begin nor end one.
async fn create_row(
    c: &ClientWrapper,
    deferred: &Deferred,
    tenant: TenantId,
    kind: ResourceKind,
    p: Prepared,
    members: Vec<Member>,
    now: Timestamp,
) -> Result<StoredResource> {
    let stmt = c.prepare_cached(CREATE).await?;
    let ix = index_arrays(p.index.iter());
    let (mids, mjson) = member_arrays(&members);
    let ext = p.external_id.as_deref().map(pg_text);
    let name = pg_text(&p.name_key);
    let at = now.datetime();
    let res = c
        .query_one(
            &stmt,
            &[
                &tenant,
                &kind.code(),
                &p.id,
                &ext,
                &name,
                &at,
                &p.doc,
                &ix.path,
                &ix.ord,
                &ix.vt,
                &ix.vn,
                &mids,
                &mjson,
            ],
        )
        .await;
    match res {
        Err(e) if is_unique_violation(&e) => return Err(conflict(kind, &p.name_key)),
        other => other?,
    };
    deferred.count(tenant, kind.code(), 1);
    let about = About {
        tenant,
        kind,
        id: &p.id,
        version: 1,
        at: now,
    };
    deferred.event(&about, EventType::created(kind), p.doc.clone());
    let mut delta = MemberDelta::default();
    mids.into_iter().for_each(|id| delta.added(id));
    deferred.members(&about, &delta);
    Ok(StoredResource {
        kind,
        id: p.id,
        version: 1,
        created: now,
        last_modified: now,
        doc: p.doc,
    })
}

/// Locks the row, runs the caller's closure and writes the difference: two round trips
/// (the lock goes out behind the batch's savepoint).
#[allow(clippy::too_many_arguments)]
async fn update_row(
    c: &ClientWrapper,
    deferred: &Deferred,
    tenant: TenantId,
    kind: ResourceKind,
    id: String,
    if_version: Option<i64>,
    now: Timestamp,
    f: UpdateFn,
) -> Result<StoredResource> {
    let load = c.prepare_cached(&format!("{LOAD} FOR UPDATE")).await?;
    let key = pg_text(&id).into_owned();
    let code = kind.code();
    let row = c
        .query_opt(&load, &[&tenant, &code, &key])
        .await?
        .ok_or_else(|| not_found(kind, &id))?;
    let (cur, seq) = (stored(kind, &row), row.get::<_, i64>(5));
    check_version(if_version, cur.version)?;
    let up = f(&cur)?;
    if !up.changed {
        return Ok(cur);
    }
    let p = up.prepared;
    let version = cur.version + 1;
    let (gone, added) = index_diff(&up.old_index, &p.index);
    let (gone, added) = (index_arrays(gone.into_iter()), index_arrays(added.into_iter()));
    let ext = p.external_id.as_deref().map(pg_text);
    let name = pg_text(&p.name_key);
    let at = now.datetime();
    let write = c.prepare_cached(UPDATE).await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 14] = [
        &tenant,
        &seq,
        &ext,
        &name,
        &version,
        &at,
        &p.doc,
        &gone.path,
        &gone.ord,
        &code,
        &added.path,
        &added.ord,
        &added.vt,
        &added.vn,
    ];
    c.execute(&write, &params)
        .await
        .map_err(|e| write_error(e, kind, &p.name_key))?;
    let delta = apply_member_ops(c, tenant, seq, &up.members).await?;
    let about = About {
        tenant,
        kind,
        id: &id,
        version,
        at: now,
    };
    if let Some(event) = up.event {
        deferred.event(&about, event, p.doc.clone());
    }
    deferred.members(&about, &delta);
    Ok(StoredResource {
        kind,
        id,
        version,
        created: cur.created,
        last_modified: now,
        doc: p.doc,
    })
}

async fn delete_row(
    c: &ClientWrapper,
    deferred: &Deferred,
    tenant: TenantId,
    kind: ResourceKind,
    id: String,
    if_version: Option<i64>,
    now: Timestamp,
) -> Result<()> {
    let sql = match kind {
        ResourceKind::User => DELETE_USER,
        ResourceKind::Group => DELETE_GROUP,
    };
    let stmt = c.prepare_cached(sql).await?;
    let row = c
        .query_one(&stmt, &[&tenant, &kind.code(), &pg_text(&id).as_ref(), &if_version])
        .await?;
    let (deleted, current): (Option<i64>, Option<i64>) = (row.get(0), row.get(1));
    match (deleted, current) {
        (Some(v), _) => {
            deferred.count(tenant, kind.code(), -1);
            let about = About {
                tenant,
                kind,
                id: &id,
                version: v + 1,
                at: now,
            };
            deferred.event(&about, EventType::deleted(kind), row.get(3));
            for seq in row.get::<_, Vec<i64>>(2) {
                deferred.bump_group(tenant, seq, now, &id);
            }
            Ok(())
        }
        (None, None) => Err(not_found(kind, &id)),
        (None, Some(v)) => check_version(if_version, v).and(Err(StoreError::Busy(
            "the resource changed while it was being deleted; retry".into(),
        ))),
    }
}

impl PgStore {
    async fn page(&self, tenant: TenantId, kind: ResourceKind, q: &Query) -> Result<Page> {
        let c = self.conn().await?;
        if q.count == 0 {
            return Ok(Page {
                total: count(&c, tenant, kind, q.filter.as_ref()).await?,
                items: Vec::new(),
            });
        }
        let mut b = SqlBuf::new(&Postgres, tenant, kind);
        page_query(&mut b, q);
        let stmt = c.prepare_cached(&b.sql).await?;
        let mut items: Vec<StoredResource> = c
            .query(&stmt, &params(&b.params))
            .await?
            .iter()
            .map(|r| stored(kind, r))
            .collect();
        if reversed(q) {
            items.reverse();
        }
        // A first page that is not full holds every match: no count query needed.
        let total = if q.start_index <= 1 && q.seek.is_none() && (items.len() as u64) < q.count {
            items.len() as u64
        } else {
            count(&c, tenant, kind, q.filter.as_ref()).await?
        };
        Ok(Page { total, items })
    }

    async fn member_rows(&self, tenant: TenantId, group_id: &str, limit: Option<usize>) -> Result<Option<Vec<String>>> {
        let c = self.conn().await?;
        let Some(seq) = c
            .query_opt(
                "SELECT seq FROM resources WHERE tenant_id = $1 AND rtype = 1 AND id = $2",
                &[&tenant, &pg_text(group_id).as_ref()],
            )
            .await?
            .map(|r| r.get::<_, i64>(0))
        else {
            return Ok(Some(Vec::new()));
        };
        if let Some(limit) = limit {
            let over = c
                .query_opt(
                    "SELECT 1 FROM members WHERE tenant_id = $1 AND group_seq = $2 OFFSET $3 LIMIT 1",
                    &[&tenant, &seq, &(limit as i64)],
                )
                .await?;
            if over.is_some() {
                return Ok(None);
            }
        }
        let rows = c
            .query(
                "SELECT json FROM members WHERE tenant_id = $1 AND group_seq = $2 ORDER BY member_id",
                &[&tenant, &seq],
            )
            .await?;
        Ok(Some(rows.iter().map(|r| r.get(0)).collect()))
    }
}

async fn count(
    c: &deadpool_postgres::Object,
    tenant: TenantId,
    kind: ResourceKind,
    f: Option<&RFilter>,
) -> Result<u64> {
    let n: i64 = match f {
        None => {
            let stmt = c
                .prepare_cached("SELECT coalesce(sum(n), 0)::int8 FROM counts WHERE tenant_id = $1 AND rtype = $2")
                .await?;
            c.query_one(&stmt, &[&tenant, &kind.code()]).await?.get(0)
        }
        Some(f) => {
            let mut b = SqlBuf::new(&Postgres, tenant, kind);
            count_query(&mut b, f);
            let stmt = c.prepare_cached(&b.sql).await?;
            c.query_one(&stmt, &params(&b.params)).await?.get(0)
        }
    };
    Ok(n.max(0) as u64)
}

#[async_trait]
impl ResourceStore for PgStore {
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
        let write = self
            .committer
            .write(move |c, d| Box::pin(create_row(c, d, tenant, kind, p, members, now)));
        Ok(write.await?)
    }

    async fn get(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &str,
    ) -> std::result::Result<Option<StoredResource>, CoreError> {
        let run = async {
            let c = self.conn().await?;
            let stmt = c.prepare_cached(LOAD).await?;
            let row = c
                .query_opt(&stmt, &[&tenant, &kind.code(), &pg_text(id).as_ref()])
                .await?;
            Ok::<_, StoreError>(row.map(|r| stored(kind, &r)))
        };
        Ok(run.await?)
    }

    async fn members(&self, tenant: TenantId, group_id: &str) -> std::result::Result<Vec<String>, CoreError> {
        Ok(self.member_rows(tenant, group_id, None).await?.unwrap_or_default())
    }

    async fn members_upto(
        &self,
        tenant: TenantId,
        group_id: &str,
        limit: usize,
    ) -> std::result::Result<Option<Vec<String>>, CoreError> {
        Ok(self.member_rows(tenant, group_id, Some(limit)).await?)
    }

    async fn members_after(
        &self,
        tenant: TenantId,
        group_id: &str,
        after: Option<String>,
        limit: usize,
    ) -> std::result::Result<Vec<(String, String)>, CoreError> {
        let run = async {
            let c = self.conn().await?;
            let stmt = c
                .prepare_cached(
                    "SELECT m.member_id, m.json FROM members m JOIN resources r \
                     ON r.tenant_id = m.tenant_id AND r.seq = m.group_seq \
                     WHERE r.tenant_id = $1 AND r.rtype = 1 AND r.id = $2 AND m.tenant_id = $1 \
                     AND m.member_id > $3 ORDER BY m.member_id LIMIT $4",
                )
                .await?;
            let after = pg_text(after.as_deref().unwrap_or("")).into_owned();
            let rows = c
                .query(&stmt, &[&tenant, &pg_text(group_id).as_ref(), &after, &(limit as i64)])
                .await?;
            Ok::<_, StoreError>(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        };
        Ok(run.await?)
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
        let write = self
            .committer
            .write(move |c, d| Box::pin(update_row(c, d, tenant, kind, id, if_version, now, f)));
        Ok(write.await?)
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
        let write = self
            .committer
            .write(move |c, d| Box::pin(delete_row(c, d, tenant, kind, id, if_version, now)));
        Ok(write.await?)
    }

    async fn query(&self, tenant: TenantId, kind: ResourceKind, q: Query) -> std::result::Result<Page, CoreError> {
        Ok(self.page(tenant, kind, &q).await?)
    }
}
