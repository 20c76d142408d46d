//! Writes that a batch makes once, just before it commits, instead of once per job: moving
//! the versions of groups that lost members, and the tenant's resource counts. Inside one
//! transaction every state but the last is invisible, so one group update per batch is as
//! correct as one per removed member, and it keeps mass deletes from queueing on the group's
//! row and from writing a new row version (with every index entry) for each delete.
//!
//! The journal entries are collected here too and numbered at commit from a per-tenant
//! sequence row (see `FEED` and `write_journal`).
//!
//! Taking these row locks last, in one order (tenant, then counts, groups by key, the
//! tenant's sequence row),
//! means batches on different replicas cannot deadlock over them; a job's own rows are the
//! only locks a batch takes in arrival order.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use deadpool_postgres::ClientWrapper;
use scim_core::Timestamp;
use scim_core::ports::TenantId;
use time::OffsetDateTime;

use crate::error::Result;

#[derive(Default)]
struct Pending {
    bumps: Vec<(TenantId, i64, Timestamp)>,
    counts: Vec<(TenantId, i64, i64)>,
    journal: Vec<(TenantId, Entry)>,
}

/// A batch's journal entries per tenant (tenants in order), not yet numbered.
pub type Journal = Vec<(TenantId, Vec<Entry>)>;

/// One journal entry before it has its sequence number.
pub struct Entry {
    rtype: i64,
    id: String,
    op: &'static str,
    version: i64,
    at: OffsetDateTime,
}

/// What the jobs of one batch left for its end. Jobs add to it; a job rolled back to its
/// savepoint has its additions undone.
pub struct Deferred {
    /// The `counts` row this batch adds to (batches spread over the slots).
    slot: i64,
    pending: Mutex<Pending>,
}

/// A position in [`Deferred`] to undo back to.
pub struct Mark(usize, usize, usize);

impl Deferred {
    pub fn new(slot: i64) -> Deferred {
        Deferred {
            slot,
            pending: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The group `group_seq` lost a member at `at`.
    pub fn bump_group(&self, tenant: TenantId, group_seq: i64, at: Timestamp) {
        self.lock().bumps.push((tenant, group_seq, at));
    }

    /// The number of resources of type `rtype` changed by `delta`.
    pub fn count(&self, tenant: TenantId, rtype: i64, delta: i64) {
        self.lock().counts.push((tenant, rtype, delta));
    }

    /// A change to journal; its sequence number is given at the end of the batch.
    pub fn journal(&self, tenant: TenantId, rtype: i64, id: &str, op: &'static str, version: i64, at: Timestamp) {
        let e = Entry {
            rtype,
            id: id.to_string(),
            op,
            version,
            at: at.datetime(),
        };
        self.lock().journal.push((tenant, e));
    }

    pub fn mark(&self) -> Mark {
        let p = self.lock();
        Mark(p.bumps.len(), p.counts.len(), p.journal.len())
    }

    pub fn undo_to(&self, m: Mark) {
        let mut p = self.lock();
        p.bumps.truncate(m.0);
        p.counts.truncate(m.1);
        p.journal.truncate(m.2);
    }

    /// Runs the deferred counts and group versions (pipelined, per tenant in the lock order
    /// above) and returns the journal entries, which [`write_journal`] numbers at commit.
    pub async fn apply(&self, c: &ClientWrapper) -> Result<Journal> {
        let per_tenant = self.take();
        let mut journal = Vec::new();
        if per_tenant.is_empty() {
            return Ok(journal);
        }
        let count = c.prepare_cached(COUNT).await?;
        let bump = c.prepare_cached(BUMP).await?;
        for (t, mut w) in per_tenant {
            let counted = async {
                if w.rtypes.is_empty() {
                    return Ok(0);
                }
                c.execute(&count, &[&t, &self.slot, &w.rtypes, &w.deltas]).await
            };
            let bumped = async {
                if w.groups.is_empty() {
                    return Ok(Vec::new());
                }
                c.query(&bump, &[&t, &w.groups, &w.times]).await
            };
            let (counted, bumped) = tokio::join!(counted, bumped);
            counted?;
            for r in bumped? {
                w.journal.push(Entry {
                    rtype: r.get(0),
                    id: r.get(1),
                    op: "update",
                    version: r.get(2),
                    at: r.get(3),
                });
            }
            if !w.journal.is_empty() {
                journal.push((t, w.journal));
            }
        }
        Ok(journal)
    }

    fn take(&self) -> BTreeMap<TenantId, TenantWrites> {
        let p = std::mem::take(&mut *self.lock());
        let mut out: BTreeMap<TenantId, TenantWrites> = BTreeMap::new();
        let mut counts: BTreeMap<(TenantId, i64), i64> = BTreeMap::new();
        for (t, rtype, d) in p.counts {
            *counts.entry((t, rtype)).or_default() += d;
        }
        for ((t, rtype), d) in counts.into_iter().filter(|(_, d)| *d != 0) {
            let w = out.entry(t).or_default();
            w.rtypes.push(rtype);
            w.deltas.push(d);
        }
        let mut bumps: BTreeMap<(TenantId, i64), OffsetDateTime> = BTreeMap::new();
        for (t, seq, at) in p.bumps {
            let e = bumps.entry((t, seq)).or_insert(at.datetime());
            *e = (*e).max(at.datetime());
        }
        for ((t, seq), at) in bumps {
            let w = out.entry(t).or_default();
            w.groups.push(seq);
            w.times.push(at);
        }
        for (t, e) in p.journal {
            out.entry(t).or_default().journal.push(e);
        }
        out
    }
}

/// One tenant's deferred writes, as arrays for `unnest`, sorted by key.
#[derive(Default)]
struct TenantWrites {
    rtypes: Vec<i64>,
    deltas: Vec<i64>,
    groups: Vec<i64>,
    times: Vec<OffsetDateTime>,
    /// In the order the writes happened; the groups' updates follow.
    journal: Vec<Entry>,
}

const COUNT: &str = "INSERT INTO counts (tenant_id, rtype, slot, n)
    SELECT $1, x.rtype, $2, x.n FROM unnest($3::int8[], $4::int8[]) AS x(rtype, n)
    ON CONFLICT (tenant_id, rtype, slot) DO UPDATE SET n = counts.n + excluded.n";

const BUMP: &str = "UPDATE resources r SET version = r.version + 1,
    last_modified = greatest(r.last_modified, x.at)
    FROM unnest($2::int8[], $3::timestamptz[]) AS x(seq, at)
    WHERE r.tenant_id = $1 AND r.seq = x.seq RETURNING r.rtype, r.id, r.version, r.last_modified";

/// The tenant's journal entries take the next `$2` numbers of its sequence row. The row lock
/// is held to commit, so a tenant's batches commit in sequence order: once a reader has seen
/// number n, nothing below n can still commit (a database-wide sequence would hand out
/// numbers before commit, and commits land in another order).
const FEED: &str = "WITH s AS (INSERT INTO feed_seq (tenant_id, last) VALUES ($1, $2)
    ON CONFLICT (tenant_id) DO UPDATE SET last = feed_seq.last + excluded.last RETURNING last)
INSERT INTO journal (tenant_id, seq, rtype, res_id, op, version, at)
SELECT $1, s.last - $2 + x.n, x.rtype, x.res_id, x.op, x.version, x.at
FROM s, unnest($3::int8[], $4::text[], $5::text[], $6::int8[], $7::timestamptz[])
    WITH ORDINALITY AS x(rtype, res_id, op, version, at, n)";

/// Numbers and writes a batch's journal entries, tenant by tenant. Run by the commit task
/// right before COMMIT: the tenant's sequence row stays locked only through the flush, and
/// the executor, which never takes it, goes on with the next batch meanwhile.
pub async fn write_journal(c: &ClientWrapper, journal: &Journal) -> Result<()> {
    if journal.is_empty() {
        return Ok(());
    }
    let feed = c.prepare_cached(FEED).await?;
    for (t, entries) in journal {
        let n = entries.len() as i64;
        let rtypes: Vec<i64> = entries.iter().map(|e| e.rtype).collect();
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        let ops: Vec<&str> = entries.iter().map(|e| e.op).collect();
        let versions: Vec<i64> = entries.iter().map(|e| e.version).collect();
        let ats: Vec<OffsetDateTime> = entries.iter().map(|e| e.at).collect();
        c.execute(&feed, &[t, &n, &rtypes, &ids, &ops, &versions, &ats]).await?;
    }
    Ok(())
}
