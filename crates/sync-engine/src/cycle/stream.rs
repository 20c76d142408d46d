//! The streamed cycle: after the first passes built the [`Tables`], the source is read once
//! more and planned a chunk at a time; each chunk's creates and updates run and commit
//! before the next chunk is read. Deletions (objects that left scope, links the read did
//! not find) wait for the end, so the deletion threshold sees them all before any is sent.
//! References run right after their chunk when every object they name has a target id,
//! else at the end.

use std::collections::{HashMap, HashSet};

use scim_core::ports::sync::JobStatus;
use time::OffsetDateTime;

use super::commit::{Committer, Totals};
use super::guards::hold_deletions;
use super::read::{Page, Pass, Read};
use super::tables::Tables;
use super::{CycleOptions, CycleReport, Job, LogCtx, Runtime, state_err};
use crate::error::EngineError;
use crate::execute::{ChunkSink, Progress, Session};
use crate::model::{ObjectKind, SourceObject};
use crate::plan::{Action, Counts, Decision, Key, Op, Plan, PlanInput, Planner, link_states};
use crate::scope::ScopeReason;

/// One chunk planned.
#[derive(Default)]
pub(super) struct Planned {
    /// Creates, updates, skips and failures: run now.
    pub objects: Vec<Action>,
    /// Disables and deletes of objects that left scope or were deleted: run at the end.
    pub deletions: Vec<Action>,
    /// Manager and membership changes.
    pub references: Vec<Action>,
    pub counts: Counts,
    /// Objects read for this chunk.
    pub read: usize,
}

/// Plans the source chunk by chunk (the planning half of a streamed cycle).
pub(super) struct Chunks<'a> {
    pub job: &'a Job,
    pub rt: &'a Runtime,
    pub tables: &'a Tables,
    pub complete: bool,
    pub planner: Planner<'a>,
    /// Objects whose escrow back-off has not passed.
    pub held: &'a HashSet<Key>,
    pub now: OffsetDateTime,
    /// Objects per chunk (at least).
    pub size: usize,
    pass: Pass,
}

impl<'a> Chunks<'a> {
    pub fn new(
        job: &'a Job,
        rt: &'a Runtime,
        read: &Read<'_>,
        tables: &'a Tables,
        held: &'a HashSet<Key>,
        planner: Planner<'a>,
        now: OffsetDateTime,
    ) -> Chunks<'a> {
        Chunks {
            job,
            rt,
            tables,
            complete: read.complete,
            planner,
            held,
            now,
            size: rt.executor.cfg.chunk.max(1),
            pass: read.pass(),
        }
    }

    /// The next chunk, or `None` after the last.
    pub async fn next(&mut self, rng: &mut (dyn FnMut() -> u64 + Send)) -> Result<Option<Planned>, EngineError> {
        let mut pages: Vec<Page> = Vec::new();
        let mut n = 0;
        while n < self.size {
            match self.pass.next().await? {
                Some(p) => {
                    n += p.len();
                    pages.push(p);
                }
                None => break,
            }
        }
        if pages.is_empty() {
            return Ok(None);
        }
        let decisions: HashMap<Key, Decision> = pages
            .iter()
            .flat_map(|p| p.iter())
            .map(|o| {
                let d = self.job.scope.evaluate(o, &self.tables.index);
                let decision = Decision {
                    in_scope: d.in_scope,
                    inactive: d.reason == ScopeReason::NotActive,
                    reason: d.reason.describe().to_string(),
                    deleted: o.deleted,
                };
                ((o.kind, o.id.clone()), decision)
            })
            .collect();
        let keys = decisions
            .keys()
            .map(|(k, id)| (k.as_str().to_string(), id.clone()))
            .collect();
        let links = link_states(
            &self
                .rt
                .state
                .links_for(self.job.name(), keys)
                .await
                .map_err(state_err)?,
        );
        let mut out = Planned {
            read: n,
            ..Default::default()
        };
        for page in &pages {
            let input = PlanInput {
                objects: page,
                complete: self.complete,
                decisions: &decisions,
                links: &links,
                others: self.tables,
                held: self.held,
                now: self.now,
            };
            let plan = self.planner.plan(&input, rng);
            out.counts.add(&plan.counts);
            for a in plan.actions {
                if a.is_second_pass() {
                    out.references.push(a);
                } else if a.is_deletion() {
                    out.deletions.push(a);
                } else {
                    out.objects.push(a);
                }
            }
        }
        Ok(Some(out))
    }
}

/// The objects an action names besides itself: a create's or a reference's manager, and
/// the members a membership change adds or removes.
pub(super) fn referenced(a: &Action) -> Vec<Key> {
    use crate::model::ObjectKind::{Group, User};
    match &a.op {
        Op::Create { mapped, .. } => mapped.manager.iter().map(|m| (User, m.clone())).collect(),
        Op::Manager { manager } => manager.iter().map(|m| (User, m.clone())).collect(),
        Op::Members { add, remove } => add
            .iter()
            .chain(remove)
            .flat_map(|m| [(User, m.clone()), (Group, m.clone())])
            .collect(),
        _ => Vec::new(),
    }
}

/// Target ids, from the state store, of the objects `actions` name (and of the actions'
/// own objects), for the session to resolve references with.
pub(super) async fn targets(job: &Job, rt: &Runtime, actions: &[Action]) -> Result<HashMap<Key, String>, EngineError> {
    let mut keys: HashSet<Key> = HashSet::new();
    for a in actions {
        keys.extend(referenced(a));
        if a.target_id.is_none() && a.is_second_pass() {
            keys.insert((a.kind, a.source_id.clone()));
        }
    }
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted = keys.into_iter().map(|(k, id)| (k.as_str().to_string(), id)).collect();
    let links = rt.state.link_keys_for(job.name(), wanted).await.map_err(state_err)?;
    Ok(links
        .into_iter()
        .filter_map(|l| {
            let kind = match l.kind.as_str() {
                "user" => ObjectKind::User,
                "group" => ObjectKind::Group,
                _ => return None,
            };
            Some(((kind, l.source_id), l.target_id))
        })
        .collect())
}

/// Whether every object a reference names has a target id by now (else it waits for the
/// end of the cycle, when every object that will exist does).
pub(super) fn resolvable(a: &Action, session: &Session) -> bool {
    use crate::model::ObjectKind::{Group, User};
    let own = a.target_id.is_some() || session.target_of(&(a.kind, a.source_id.clone())).is_some();
    own && match &a.op {
        Op::Manager { manager } => manager.iter().all(|m| session.target_of(&(User, m.clone())).is_some()),
        Op::Members { add, .. } => add.iter().all(|m| {
            session.target_of(&(User, m.clone())).is_some() || session.target_of(&(Group, m.clone())).is_some()
        }),
        _ => true,
    }
}

/// Deletions of linked objects a complete read did not find.
pub(super) async fn gone(
    job: &Job,
    rt: &Runtime,
    read: &Read<'_>,
    tables: &Tables,
    held: &HashSet<Key>,
) -> Result<Vec<Action>, EngineError> {
    if !read.complete {
        return Ok(Vec::new());
    }
    let unseen: Vec<(Key, String, bool)> = tables
        .unseen(job, rt)
        .await?
        .into_iter()
        .map(|(k, l)| (k, l.target_id, l.disabled))
        .collect();
    Ok(job.planner(false).plan_gone(&unseen, held))
}

/// One object of the read (provisioning on demand).
pub(super) async fn find(read: &Read<'_>, kind: ObjectKind, id: &str) -> Result<Option<SourceObject>, EngineError> {
    let mut pass = read.pass();
    while let Some(page) = pass.next().await? {
        if let Some(o) = page.iter().find(|o| o.kind == kind && o.id == id) {
            return Ok(Some(o.clone()));
        }
    }
    Ok(None)
}

/// A streamed cycle that runs: everything it needs besides the per-call handles.
pub(super) struct Run<'a> {
    pub job: &'a Job,
    pub rt: &'a Runtime,
    pub read: &'a Read<'a>,
    pub status: &'a JobStatus,
    pub now: OffsetDateTime,
    pub opts: &'a CycleOptions,
    pub cx: &'a LogCtx,
}

/// What runs at the end of the cycle.
#[derive(Default)]
struct Later {
    deletions: Vec<Action>,
    references: Vec<Action>,
}

impl Run<'_> {
    /// Plans and runs the cycle chunk by chunk. Returns the totals, and false when it
    /// stopped on request after a committed chunk.
    pub async fn run(
        &self,
        progress: &dyn Progress,
        rng: &mut (dyn FnMut() -> u64 + Send),
        report: &mut CycleReport,
    ) -> Result<(Totals, bool), EngineError> {
        let (job, rt) = (self.job, self.rt);
        let tables = Tables::build(job, rt, self.read).await?;
        let held = super::held(job, rt, self.now).await?;
        let mut committer = Committer::new(job, rt, self.cx, false).await?;
        let session = rt.executor.session(job.cfg.target.bulk);
        let planner = job.planner(!self.status.initial_done);
        let mut chunks = Chunks::new(job, rt, self.read, &tables, &held, planner, self.now);
        let mut later = Later::default();
        progress.started("objects", tables.read);
        while let Some(p) = chunks.next(rng).await? {
            report.counts.add(&p.counts);
            if !self.chunk(p, &session, &mut committer, &mut later, progress).await? {
                return Ok((committer.totals, false));
            }
        }
        let gone = gone(job, rt, self.read, &tables, &held).await?;
        report.counts.add_actions(&gone);
        later.deletions.extend(gone);
        let mut plan = Plan {
            actions: later.deletions,
            managed: tables.linked.len(),
            ..Default::default()
        };
        let logs = hold_deletions(job, rt, self.now, self.opts, &mut plan, report, self.cx).await;
        committer.pending_logs.extend(logs);
        progress.started("deletions", plan.actions.len());
        if !self.objects(plan.actions, &session, &mut committer, progress).await? {
            return Ok((committer.totals, false));
        }
        progress.started("references", later.references.len());
        let size = rt.executor.cfg.chunk.max(1);
        let mut refs = later.references.into_iter().peekable();
        while refs.peek().is_some() {
            let part: Vec<Action> = refs.by_ref().take(size).collect();
            session.know(targets(job, rt, &part).await?);
            committer.chunk(session.references(part, progress).await).await?;
            session.forget();
            if committer.stop_requested() {
                return Ok((committer.totals, false));
            }
        }
        committer.finish().await?;
        Ok((committer.totals, true))
    }

    /// One planned chunk: its objects, then the references that can be resolved already.
    async fn chunk(
        &self,
        p: Planned,
        session: &Session,
        committer: &mut Committer,
        later: &mut Later,
        progress: &dyn Progress,
    ) -> Result<bool, EngineError> {
        let unplanned = p.read.saturating_sub(p.objects.len());
        session.know(targets(self.job, self.rt, &p.objects).await?);
        session.prepare(&p.objects).await;
        if !self.objects(p.objects, session, committer, progress).await? {
            return Ok(false);
        }
        progress.advanced(unplanned);
        session.know(targets(self.job, self.rt, &p.references).await?);
        let (now, wait): (Vec<Action>, Vec<Action>) = p.references.into_iter().partition(|a| resolvable(a, session));
        later.references.extend(wait);
        later.deletions.extend(p.deletions);
        if !now.is_empty() {
            committer.chunk(session.references(now, progress).await).await?;
        }
        session.forget();
        Ok(!committer.stop_requested())
    }

    /// Runs object actions in chunks of the configured size, each committed.
    async fn objects(
        &self,
        actions: Vec<Action>,
        session: &Session,
        committer: &mut Committer,
        progress: &dyn Progress,
    ) -> Result<bool, EngineError> {
        let size = self.rt.executor.cfg.chunk.max(1);
        let mut actions = actions.into_iter().peekable();
        while actions.peek().is_some() {
            let part: Vec<Action> = actions.by_ref().take(size).collect();
            committer.chunk(session.objects(part, progress).await).await?;
            if committer.stop_requested() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
