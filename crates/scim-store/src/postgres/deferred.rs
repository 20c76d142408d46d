//! Writes that a batch makes once, just before it commits, instead of once per job: moving
//! the versions of groups that lost members, and the tenant's resource counts. Inside one
//! transaction every state but the last is invisible, so one group update per batch is as
//! correct as one per removed member, and it keeps mass deletes from queueing on the group's
//! row and from writing a new row version (with every index entry) for each delete.
//!
//! Taking these row locks last, in one order (tenant, then counts before groups, then key),
//! means batches on different replicas cannot deadlock over them; a job's own rows are the
//! only locks a batch takes in arrival order.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use deadpool_postgres::ClientWrapper;
use futures_util::future::BoxFuture;
use scim_core::Timestamp;
use scim_core::ports::TenantId;
use time::OffsetDateTime;

use crate::error::Result;

#[derive(Default)]
struct Pending {
    bumps: Vec<(TenantId, i64, Timestamp)>,
    counts: Vec<(TenantId, i64, i64)>,
}

/// What the jobs of one batch left for its end. Jobs add to it; a job rolled back to its
/// savepoint has its additions undone.
pub struct Deferred {
    /// The `counts` row this batch adds to (batches spread over the slots).
    slot: i64,
    pending: Mutex<Pending>,
}

/// A position in [`Deferred`] to undo back to.
pub struct Mark(usize, usize);

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

    pub fn mark(&self) -> Mark {
        let p = self.lock();
        Mark(p.bumps.len(), p.counts.len())
    }

    pub fn undo_to(&self, m: Mark) {
        let mut p = self.lock();
        p.bumps.truncate(m.0);
        p.counts.truncate(m.1);
    }

    /// Runs the deferred writes, pipelined, in the lock order described above.
    pub async fn apply(&self, c: &ClientWrapper) -> Result<()> {
        let per_tenant = self.take();
        if per_tenant.is_empty() {
            return Ok(());
        }
        let count = c.prepare_cached(COUNT).await?;
        let bump = c.prepare_cached(BUMP).await?;
        let mut writes: Vec<BoxFuture<'_, std::result::Result<u64, tokio_postgres::Error>>> = Vec::new();
        for (t, w) in &per_tenant {
            let (count, bump, slot) = (&count, &bump, &self.slot);
            if !w.rtypes.is_empty() {
                writes.push(Box::pin(async move {
                    c.execute(count, &[t, slot, &w.rtypes, &w.deltas]).await
                }));
            }
            if !w.groups.is_empty() {
                writes.push(Box::pin(
                    async move { c.execute(bump, &[t, &w.groups, &w.times]).await },
                ));
            }
        }
        futures_util::future::try_join_all(writes).await?;
        Ok(())
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
}

const COUNT: &str = "INSERT INTO counts (tenant_id, rtype, slot, n)
    SELECT $1, x.rtype, $2, x.n FROM unnest($3::int8[], $4::int8[]) AS x(rtype, n)
    ON CONFLICT (tenant_id, rtype, slot) DO UPDATE SET n = counts.n + excluded.n";

const BUMP: &str = "WITH g AS (UPDATE resources r SET version = r.version + 1,
    last_modified = greatest(r.last_modified, x.at)
    FROM unnest($2::int8[], $3::timestamptz[]) AS x(seq, at)
    WHERE r.tenant_id = $1 AND r.seq = x.seq RETURNING r.rtype, r.id, r.version, r.last_modified)
INSERT INTO journal (tenant_id, rtype, res_id, op, version, at)
SELECT $1, rtype, id, 'update', version, last_modified FROM g";
