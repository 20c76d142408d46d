//! Running a streamed cycle: three stages overlap. While chunk N's creates and updates run,
//! chunk N+1 is read and planned, and chunk N-1's references (managers, members whose
//! objects all exist) run; all three commit through one [`Committer`], a chunk at a time.
//! Deletions and the references that must wait run at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use scim_core::ports::sync::JobStatus;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::commit::{Committer, Totals};
use super::guards::hold_deletions;
use super::read::Read;
use super::stream::{Chunks, Planned, StateResolver, gone, resolvable, settled, targets};
use super::tables::Tables;
use super::{CycleOptions, CycleReport, Job, LogCtx, Runtime};
use crate::error::EngineError;
use crate::execute::{ChunkSink, NoProgress, Outcome, Progress, Session, windowed};
use crate::plan::{Action, Plan};

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

/// The committer, shared by the stages that run together; each chunk commits whole.
struct Shared<'a> {
    committer: &'a Mutex<Committer>,
    stop: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl ChunkSink for Shared<'_> {
    async fn chunk(&mut self, outcomes: Vec<Outcome>) -> Result<(), EngineError> {
        self.committer.lock().await.chunk(outcomes).await
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
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
        let committer = Mutex::new(Committer::new(self.job, self.rt, self.cx, false).await?);
        let completed = self.steps(&committer, progress, rng, report).await?;
        let mut committer = committer.into_inner();
        committer.finish().await?;
        Ok((committer.totals, completed))
    }

    fn sink<'c>(&self, committer: &'c Mutex<Committer>) -> Shared<'c> {
        Shared {
            committer,
            stop: self.rt.stop.clone(),
        }
    }

    async fn steps(
        &self,
        committer: &Mutex<Committer>,
        progress: &dyn Progress,
        rng: &mut (dyn FnMut() -> u64 + Send),
        report: &mut CycleReport,
    ) -> Result<bool, EngineError> {
        let (job, rt) = (self.job, self.rt);
        let started = std::time::Instant::now();
        let tables = Tables::build(job, rt, self.read).await?;
        let ms = |t: std::time::Instant| t.elapsed().as_millis() as u64;
        tracing::debug!(ms = ms(started), objects = tables.read, "first passes read");
        committer.lock().await.linked = Some(tables.linked.clone());
        let held = super::held(job, rt, self.now).await?;
        let session = rt.executor.session(job.cfg.target.bulk);
        session.resolve_with(Arc::new(StateResolver::new(job, rt)));
        let planner = job.planner(!self.status.initial_done);
        let mut chunks = Chunks::new(job, rt, self.read, &tables, &held, planner, self.now);
        let mut later = Later::default();
        progress.started("objects", tables.read);
        let mut planned = chunks.next(rng).await?;
        // The references of the chunk before, ready to run.
        let mut ready: Vec<Action> = Vec::new();
        while let Some(p) = planned {
            report.counts.add(&p.counts);
            let previous = std::mem::take(&mut ready);
            let (next, ran, referenced) = tokio::join!(
                chunks.next(rng),
                self.objects_of((p, &tables), &session, committer, &mut later, progress),
                self.references(previous, &session, committer),
            );
            referenced?;
            match ran? {
                Some(now) if !self.rt.stop.load(Ordering::Relaxed) => ready = now,
                _ => return Ok(false),
            }
            session.forget_keeping(&ready);
            planned = next?;
        }
        self.references(ready, &session, committer).await?;
        tracing::debug!(ms = ms(started), "chunks ran");
        if !self
            .deletions(&tables, &held, &session, committer, &mut later, progress, report)
            .await?
        {
            return Ok(false);
        }
        tracing::debug!(ms = ms(started), "deletions ran");
        progress.started("references", later.references.len());
        // Large memberships last, one at a time: each holds its member lists until it is
        // committed.
        let (large, small): (Vec<Action>, Vec<Action>) = later.references.into_iter().partition(windowed);
        let size = rt.executor.cfg.chunk.max(1);
        let mut parts: Vec<Vec<Action>> = Vec::new();
        let mut small = small.into_iter().peekable();
        while small.peek().is_some() {
            parts.push(small.by_ref().take(size).collect());
        }
        parts.extend(large.into_iter().map(|a| vec![a]));
        for part in parts {
            session.know(targets(job, rt, &part, &tables, Some(&session)).await?);
            let outcomes = session.references(part, progress).await;
            committer.lock().await.chunk(outcomes).await?;
            session.forget();
            if self.rt.stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
        }
        tracing::debug!(ms = ms(started), "references ran");
        Ok(true)
    }

    /// Deletions of objects that left scope or the source, held back when they pass the
    /// deletion threshold.
    #[allow(clippy::too_many_arguments)]
    async fn deletions(
        &self,
        tables: &Tables,
        held: &std::collections::HashSet<crate::plan::Key>,
        session: &Session,
        committer: &Mutex<Committer>,
        later: &mut Later,
        progress: &dyn Progress,
        report: &mut CycleReport,
    ) -> Result<bool, EngineError> {
        let (job, rt) = (self.job, self.rt);
        let gone = gone(job, rt, self.read, tables, held).await?;
        report.counts.add_actions(&gone);
        later.deletions.extend(gone);
        let mut plan = Plan {
            actions: std::mem::take(&mut later.deletions),
            managed: tables.linked.len(),
            ..Default::default()
        };
        let logs = hold_deletions(job, rt, self.now, self.opts, &mut plan, report, self.cx).await;
        committer.lock().await.pending_logs.extend(logs);
        progress.started("deletions", plan.actions.len());
        session
            .objects_in_chunks(plan.actions, rt.executor.cfg.chunk, progress, &mut self.sink(committer))
            .await
    }

    /// One planned chunk's objects; returns the references that can run now (`None` when
    /// the cycle stopped after a committed part). The rest wait for the end.
    async fn objects_of(
        &self,
        (p, tables): (Planned, &Tables),
        session: &Session,
        committer: &Mutex<Committer>,
        later: &mut Later,
        progress: &dyn Progress,
    ) -> Result<Option<Vec<Action>>, EngineError> {
        let unplanned = p.read.saturating_sub(p.objects.len());
        let started = std::time::Instant::now();
        let n = p.objects.len();
        session.know(targets(self.job, self.rt, &p.objects, tables, Some(session)).await?);
        session.prepare(&p.objects).await;
        let chunk = self.rt.executor.cfg.chunk;
        if !session
            .objects_in_chunks(p.objects, chunk, progress, &mut self.sink(committer))
            .await?
        {
            return Ok(None);
        }
        progress.advanced(unplanned);
        session.know(targets(self.job, self.rt, &p.references, tables, Some(session)).await?);
        let through = p.through;
        let (now, wait): (Vec<Action>, Vec<Action>) = p
            .references
            .into_iter()
            .partition(|a| resolvable(a, session) || settled(a, session, tables, through));
        later.references.extend(wait);
        later.deletions.extend(p.deletions);
        let ms = started.elapsed().as_millis() as u64;
        tracing::debug!(objects = n, ms, references = now.len(), "chunk objects ran");
        Ok(Some(now))
    }

    /// References whose objects all exist, committed as one chunk.
    async fn references(
        &self,
        actions: Vec<Action>,
        session: &Session,
        committer: &Mutex<Committer>,
    ) -> Result<(), EngineError> {
        if actions.is_empty() {
            return Ok(());
        }
        // Part of their objects' progress, which counts objects, not reference changes.
        let outcomes = session.references(actions, &NoProgress).await;
        committer.lock().await.chunk(outcomes).await
    }
}
