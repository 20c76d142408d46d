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
use scim_core::events::{EventType, MemberDelta, members_data};
use scim_core::ports::TenantId;
use scim_core::{ResourceKind, Timestamp};
use time::OffsetDateTime;

use crate::error::Result;

#[derive(Default)]
struct Pending {
    /// Groups that lost a member (tenant, group seq, time, the member's id).
    bumps: Vec<(TenantId, i64, Timestamp, String)>,
    counts: Vec<(TenantId, i64, i64)>,
    journal: Vec<(TenantId, Entry)>,
}

/// A batch's journal entries per tenant (tenants in order), not yet numbered.
pub type Journal = Vec<(TenantId, Vec<Entry>)>;

/// One journal entry before it has its sequence number.
pub struct Entry {
    eid: String,
    rtype: i64,
    id: String,
    event: &'static str,
    version: i64,
    at: OffsetDateTime,
    data: String,
}

impl Entry {
    fn new(rtype: i64, id: String, event: EventType, version: i64, at: OffsetDateTime, data: String) -> Entry {
        Entry {
            eid: uuid::Uuid::now_v7().to_string(),
            rtype,
            id,
            event: event.as_str(),
            version,
            at,
            data,
        }
    }
}

/// What an event is about: the resource, its version after the change, the time.
pub struct About<'a> {
    pub tenant: TenantId,
    pub kind: ResourceKind,
    pub id: &'a str,
    pub version: i64,
    pub at: Timestamp,
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

    /// The group `group_seq` lost the member `member` at `at`.
    pub fn bump_group(&self, tenant: TenantId, group_seq: i64, at: Timestamp, member: &str) {
        self.lock().bumps.push((tenant, group_seq, at, member.to_string()));
    }

    /// The number of resources of type `rtype` changed by `delta`.
    pub fn count(&self, tenant: TenantId, rtype: i64, delta: i64) {
        self.lock().counts.push((tenant, rtype, delta));
    }

    /// An event to journal; its sequence number is given at the end of the batch.
    pub fn event(&self, about: &About<'_>, event: EventType, data: String) {
        let e = Entry::new(
            about.kind.code(),
            about.id.to_string(),
            event,
            about.version,
            about.at.datetime(),
            data,
        );
        self.lock().journal.push((about.tenant, e));
    }

    /// The members events of one group change.
    pub fn members(&self, about: &About<'_>, delta: &MemberDelta) {
        for (event, data) in delta.events() {
            self.event(about, event, data);
        }
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
                let removed = w.removed.remove(&r.get::<_, i64>(4)).unwrap_or_default();
                for data in members_data(&removed) {
                    let e = Entry::new(
                        r.get(0),
                        r.get(1),
                        EventType::GroupMembersRemoved,
                        r.get(2),
                        r.get(3),
                        data,
                    );
                    w.journal.push(e);
                }
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
        let mut bumps: BTreeMap<(TenantId, i64), (OffsetDateTime, Vec<String>)> = BTreeMap::new();
        for (t, seq, at, member) in p.bumps {
            let e = bumps.entry((t, seq)).or_insert((at.datetime(), Vec::new()));
            e.0 = e.0.max(at.datetime());
            e.1.push(member);
        }
        for ((t, seq), (at, removed)) in bumps {
            let w = out.entry(t).or_default();
            w.groups.push(seq);
            w.times.push(at);
            w.removed.insert(seq, removed);
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
    /// The members each group lost, by group seq.
    removed: BTreeMap<i64, Vec<String>>,
    /// In the order the writes happened; the groups' updates follow.
    journal: Vec<Entry>,
}

const COUNT: &str = "INSERT INTO counts (tenant_id, rtype, slot, n)
    SELECT $1, x.rtype, $2, x.n FROM unnest($3::int8[], $4::int8[]) AS x(rtype, n)
    ON CONFLICT (tenant_id, rtype, slot) DO UPDATE SET n = counts.n + excluded.n";

const BUMP: &str = "UPDATE resources r SET version = r.version + 1,
    last_modified = greatest(r.last_modified, x.at)
    FROM unnest($2::int8[], $3::timestamptz[]) AS x(seq, at)
    WHERE r.tenant_id = $1 AND r.seq = x.seq RETURNING r.rtype, r.id, r.version, r.last_modified, r.seq";

/// The tenant's journal entries take the next `$2` numbers of its sequence row. The row lock
/// is held to commit, so a tenant's batches commit in sequence order: once a reader has seen
/// number n, nothing below n can still commit (a database-wide sequence would hand out
/// numbers before commit, and commits land in another order).
const FEED: &str = "WITH s AS (INSERT INTO feed_seq (tenant_id, last) VALUES ($1, $2)
    ON CONFLICT (tenant_id) DO UPDATE SET last = feed_seq.last + excluded.last RETURNING last)
INSERT INTO journal (tenant_id, seq, eid, rtype, res_id, event, version, at, data)
SELECT $1, s.last - $2 + x.n, x.eid, x.rtype, x.res_id, x.event, x.version, x.at, x.data
FROM s, unnest($3::text[], $4::int8[], $5::text[], $6::text[], $7::int8[], $8::timestamptz[], $9::text[])
    WITH ORDINALITY AS x(eid, rtype, res_id, event, version, at, data, n)";

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
        let eids: Vec<&str> = entries.iter().map(|e| e.eid.as_str()).collect();
        let rtypes: Vec<i64> = entries.iter().map(|e| e.rtype).collect();
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        let events: Vec<&str> = entries.iter().map(|e| e.event).collect();
        let versions: Vec<i64> = entries.iter().map(|e| e.version).collect();
        let ats: Vec<OffsetDateTime> = entries.iter().map(|e| e.at).collect();
        let data: Vec<&str> = entries.iter().map(|e| e.data.as_str()).collect();
        c.execute(&feed, &[t, &n, &eids, &rtypes, &ids, &events, &versions, &ats, &data])
            .await?;
    }
    Ok(())
}
