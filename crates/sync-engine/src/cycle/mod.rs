//! One provisioning cycle: read → scope → plan → (safety) → execute → persist links,
//! escrows, logs and status → quarantine and notify. The effectful parts (source, target,
//! state, webhook) come in as handles; time comes in as `now`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use scim_core::ports::sync::{JobStatus, LogRecord, SyncStateStore};
use time::OffsetDateTime;

use crate::config::JobConfig;
use crate::error::EngineError;
use crate::execute::{Executor, Progress, Status, step};
use crate::mapping::ObjectMapper;
use crate::model::ObjectKind;
use crate::notify::Notifier;
use crate::plan::{Action, Key, Plan, Planner};
use crate::quarantine::Policy;
use crate::scope::CompiledScope;
use crate::source::Source;

mod alarm;
mod commit;
mod fold;
mod guards;
pub mod read;
mod report;
mod run;
mod stream;
mod tables;

use alarm::finish_quarantine;
use guards::{held_back, hold_deletions, on_demand_steps, probe_target};

pub use fold::{LogCtx, escrow_wait, fold};
use read::Read;
pub use report::{Applied, CycleError, CycleReport, CycleResult, result_of};
use stream::Chunks;
pub use stream::{MAX_CHUNK_WEIGHT, PLAN_OBJECTS};
pub use tables::{Tables, key_hash};

/// A loaded, compiled job.
pub struct Job {
    pub cfg: JobConfig,
    /// The job file's directory: relative paths in the file resolve against it.
    pub dir: PathBuf,
    pub users: ObjectMapper,
    pub groups: Option<ObjectMapper>,
    pub scope: CompiledScope,
}

impl Job {
    pub fn from_config(cfg: JobConfig, dir: &Path) -> Result<Job, EngineError> {
        let users = ObjectMapper::compile(ObjectKind::User, &cfg.users)?;
        let groups = match &cfg.groups {
            Some(g) => Some(ObjectMapper::compile(ObjectKind::Group, g)?),
            None => None,
        };
        let scope = CompiledScope::compile(&cfg.scope)?;
        Ok(Job {
            dir: dir.to_path_buf(),
            users,
            groups,
            scope,
            cfg,
        })
    }

    pub fn load(path: &Path) -> Result<Job, EngineError> {
        let cfg = JobConfig::load(path)?;
        crate::validate::validate(&cfg)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Job::from_config(cfg, &dir)
    }

    pub fn name(&self) -> &str {
        &self.cfg.job.name
    }

    /// Entra's Test Connection probes: the users' first matching attribute, and the groups'
    /// when groups are provisioned.
    pub fn probes(&self) -> Vec<scim_client::Probe> {
        let mut out = vec![scim_client::Probe {
            endpoint: scim_client::Endpoint::Users,
            path: self.users.first_matching().unwrap_or("userName").to_string(),
        }];
        if let Some(g) = self.groups.as_ref().filter(|g| g.enabled) {
            out.push(scim_client::Probe {
                endpoint: scim_client::Endpoint::Groups,
                path: g.first_matching().unwrap_or("displayName").to_string(),
            });
        }
        out
    }

    fn planner(&self, log_skips: bool) -> Planner<'_> {
        Planner {
            users: &self.users,
            groups: self.groups.as_ref(),
            skip_out_of_scope_deletions: self.cfg.safety.skip_out_of_scope_deletions,
            log_skips,
        }
    }
}

/// Everything effectful a cycle uses.
pub struct Runtime {
    pub source: Box<dyn Source>,
    pub executor: Arc<Executor>,
    pub state: Arc<dyn SyncStateStore>,
    pub notify: Notifier,
    /// This process (`host:pid`), as the cycle history records it.
    pub worker: String,
    /// Set to end the running cycle after the chunk in flight (graceful shutdown).
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    pub policy: Policy,
}

#[derive(Debug, Clone, Default)]
pub struct CycleOptions {
    /// Provision on demand: act on this one object only (and its references).
    pub only: Option<(ObjectKind, String)>,
    /// Plan only: read the source and the state, change nothing.
    pub dry_run: bool,
    /// Run even while quarantine back-off says wait.
    pub force: bool,
    /// Let this cycle exceed the deletion threshold (an admin's explicit "allow deletes").
    pub allow_deletes: bool,
    /// Read the whole source even when an incremental read is possible.
    pub full: bool,
}

fn ts(t: OffsetDateTime) -> scim_core::Timestamp {
    scim_core::Timestamp::new(t)
}

fn state_err(e: scim_core::CoreError) -> EngineError {
    EngineError::State(e.to_string())
}

/// Plans a cycle without changing anything: what `sync plan` shows. The whole plan is held
/// in memory (a real cycle streams it chunk by chunk).
pub async fn plan_cycle(
    job: &Job,
    rt: &Runtime,
    now: OffsetDateTime,
    rng: &mut (dyn FnMut() -> u64 + Send),
) -> Result<(Plan, JobStatus), EngineError> {
    let status = rt.state.status(job.name()).await.map_err(state_err)?;
    let read = open_read(job, rt, &status, now, false).await?;
    let (plan, _) = plan_whole(job, rt, &read, &status, now, rng).await?;
    Ok((plan, status))
}

/// How often a job that reads incrementally still reads its source in full, to see deletions.
pub const FULL_READ_EVERY: time::Duration = time::Duration::hours(24);

/// Whether this cycle may read only the changes since the watermark: the source has one,
/// scope does not depend on group membership (`mode = "all"`), and the last full read is
/// recent.
fn incremental_read(job: &Job, status: &JobStatus, now: OffsetDateTime, full: bool) -> Option<String> {
    if full || !status.initial_done || job.cfg.scope.mode != crate::config::ScopeMode::All {
        return None;
    }
    let last_full = status.full_read_at?.datetime();
    if now - last_full >= FULL_READ_EVERY {
        return None;
    }
    status.watermark.clone()
}

/// Opens this cycle's read of the source: the changes since the watermark when it may,
/// else a full read (streamed when the source can).
async fn open_read<'s>(
    job: &Job,
    rt: &'s Runtime,
    status: &JobStatus,
    now: OffsetDateTime,
    full: bool,
) -> Result<Read<'s>, EngineError> {
    if let Some(wm) = incremental_read(job, status, now, full)
        && let Some(b) = rt.source.read_changes(&wm).await?
    {
        return Ok(Read::batch(b));
    }
    Read::full(rt.source.as_ref()).await
}

/// Objects whose escrow back-off has not passed: left for a later cycle.
async fn held(job: &Job, rt: &Runtime, now: OffsetDateTime) -> Result<HashSet<Key>, EngineError> {
    Ok(rt
        .state
        .escrows(job.name())
        .await
        .map_err(state_err)?
        .into_iter()
        .filter(|e| e.next_attempt > ts(now))
        .map(|e| (ObjectKind::parse(&e.kind).unwrap_or(ObjectKind::User), e.source_id))
        .collect())
}

/// The whole plan in memory: objects, then deletions, then references.
async fn plan_whole(
    job: &Job,
    rt: &Runtime,
    read: &Read<'_>,
    status: &JobStatus,
    now: OffsetDateTime,
    rng: &mut (dyn FnMut() -> u64 + Send),
) -> Result<(Plan, Tables), EngineError> {
    let tables = Tables::build(job, rt, read).await?;
    let held = held(job, rt, now).await?;
    let mut plan = Plan {
        managed: tables.linked.len(),
        ..Default::default()
    };
    let (mut deletions, mut references) = (Vec::new(), Vec::new());
    let mut chunks = Chunks::new(job, rt, read, &tables, &held, job.planner(!status.initial_done), now);
    while let Some(p) = chunks.next(rng).await? {
        plan.counts.add(&p.counts);
        plan.actions.extend(p.objects);
        deletions.extend(p.deletions);
        references.extend(p.references);
    }
    let gone = stream::gone(job, rt, read, &tables, &held).await?;
    plan.counts.add_actions(&gone);
    plan.actions.extend(deletions);
    plan.actions.extend(gone);
    plan.actions.extend(references);
    Ok((plan, tables))
}

/// Runs one cycle. A cycle that stops (the source, the state store or the target as a whole
/// failed) returns the error after recording it in the job's status and log; one object's
/// failure never stops it (it is logged and escrowed).
pub async fn run_cycle(
    job: &Job,
    rt: &Runtime,
    now: OffsetDateTime,
    opts: CycleOptions,
    progress: &dyn Progress,
    rng: &mut (dyn FnMut() -> u64 + Send),
) -> Result<CycleReport, EngineError> {
    let started = std::time::Instant::now();
    let mut report = CycleReport {
        cycle_id: uuid::Uuid::now_v7().to_string(),
        job: job.name().to_string(),
        started: ts(now).to_string(),
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let result = cycle_steps(job, rt, now, &opts, progress, rng, &mut report).await;
    report.duration_ms = started.elapsed().as_millis() as u64;
    if opts.only.is_some() {
        report.kind = "on_demand".into();
    }
    let ran = !opts.dry_run && report.skipped_reason.is_none();
    let outcome = match result {
        Ok(Some(mut status)) => {
            report.result = result_of(&report);
            status.last_cycle = Some(serde_json::to_string(&report).unwrap_or_default());
            rt.state.put_status(status).await.map_err(state_err)?;
            Ok(())
        }
        Ok(None) => {
            report.result = result_of(&report);
            Ok(())
        }
        Err(e) => {
            report.error = Some(CycleError {
                code: e.code().to_string(),
                message: e.to_string(),
            });
            report.result = CycleResult::Failed;
            if !opts.dry_run && opts.only.is_none() {
                record_stop(job, rt, now, &report, &e).await;
            }
            Err(e)
        }
    };
    if ran {
        record_history(rt, now, &report).await;
    }
    outcome.map(|()| report)
}

/// One record per cycle that ran (a dry run or a held-back cycle is not one).
async fn record_history(rt: &Runtime, now: OffsetDateTime, report: &CycleReport) {
    let finished = now + time::Duration::milliseconds(report.duration_ms as i64);
    let record = scim_core::ports::sync::CycleRecord {
        job: report.job.clone(),
        cycle_id: report.cycle_id.clone(),
        kind: report.kind.clone(),
        started: ts(now),
        finished: ts(finished),
        worker: rt.worker.clone(),
        result: report.result.as_str().to_string(),
        counts: serde_json::to_string(&report.actions).unwrap_or_default(),
    };
    if let Err(e) = rt.state.append_cycle(record).await {
        tracing::warn!(error = %e, "could not record the cycle in the history");
    }
}

/// The cycle's steps. Returns the job status to store with the report (`None` for dry runs
/// and on-demand provisioning, which complete no cycle).
async fn cycle_steps(
    job: &Job,
    rt: &Runtime,
    now: OffsetDateTime,
    opts: &CycleOptions,
    progress: &dyn Progress,
    rng: &mut (dyn FnMut() -> u64 + Send),
    report: &mut CycleReport,
) -> Result<Option<JobStatus>, EngineError> {
    let status = rt.state.status(job.name()).await.map_err(state_err)?;
    report.kind = if status.initial_done { "incremental" } else { "initial" }.into();
    report.initiated_by = if opts.only.is_some() {
        "on_demand"
    } else if !status.initial_done && !rt.state.cycles(job.name(), 1).await.map_err(state_err)?.is_empty() {
        // An initial cycle of a job that ran before: its state was cleared (`sync restart`).
        "restart"
    } else {
        "cycle"
    }
    .into();
    let off = !job.cfg.job.enabled || rt.state.control(job.name()).await.map_err(state_err)?.stopped;
    if off && !opts.dry_run && opts.only.is_none() {
        report.stopped = true;
        report.skipped_reason = Some(if job.cfg.job.enabled {
            "the job is Off (`scimd sync stop`); `scimd sync start` turns it On".to_string()
        } else {
            "the job is Off: `enabled = false` in its [job] table".to_string()
        });
        return Ok(None);
    }
    if !opts.dry_run && !opts.force && held_back(&status, now, report) {
        let cx = log_ctx(job, report, now);
        let detail = report.skipped_reason.clone().unwrap_or_default();
        let r = fold::with_detail(
            cx.record("cycle", "", None, "Cycle", Status::Skipped),
            &[step("Cycle", Status::Skipped, detail)],
            &[],
            None,
        );
        rt.state.append_log(vec![r]).await.map_err(state_err)?;
        return Ok(None);
    }

    let mut status = status;
    let read = open_read(job, rt, &status, now, opts.full).await?;
    let cx = log_ctx(job, report, now);
    let (totals, completed) = if opts.dry_run || opts.only.is_some() {
        let (mut plan, tables) = plan_whole(job, rt, &read, &status, now, rng).await?;
        if let Some((kind, id)) = &opts.only {
            plan = only(plan, *kind, id);
            let obj = stream::find(&read, *kind, id).await?;
            on_demand_steps(rt, (job, &tables.index), obj.as_ref(), (*kind, id), &plan, report)?;
        }
        report.counts = plan.counts.clone();
        if opts.dry_run {
            report.plan = Some(plan);
            return Ok(None);
        }
        let logs = hold_deletions(job, rt, now, opts, &mut plan, report, &cx).await;
        probe_target(job, rt, now, &mut status, report).await?;
        execute(
            (job, rt, &tables),
            std::mem::take(&mut plan.actions),
            logs,
            progress,
            &cx,
        )
        .await?
    } else {
        probe_target(job, rt, now, &mut status, report).await?;
        let run = run::Run {
            job,
            rt,
            read: &read,
            status: &status,
            now,
            opts,
            cx: &cx,
        };
        run.run(progress, rng, report).await?
    };
    report.applied = totals.applied.clone();
    report.actions = totals.actions.clone();
    report.requests += totals.requests;
    report.throttled += totals.throttled;
    if opts.only.is_some() {
        report.steps.extend(totals.steps.iter().cloned());
        if totals.outcome.is_some() {
            report.outcome = totals.outcome.clone();
        }
    }

    if opts.only.is_some() {
        // On-demand provisioning neither completes a cycle nor moves quarantine.
        return Ok(None);
    }
    if !completed {
        // Stopped after a chunk: what ran is committed; the cycle is not complete, so the
        // watermark, the initial flag and quarantine stay as they were.
        report.interrupted = true;
        let r = fold::with_detail(
            cx.record("cycle", "", None, "Cycle", Status::Warning),
            &[step(
                "Cycle",
                Status::Warning,
                "stopped on request after a committed chunk",
            )],
            &[],
            None,
        );
        rt.state.append_log(vec![r]).await.map_err(state_err)?;
        return Ok(None);
    }
    if read.complete || read.watermark.is_some() {
        status.watermark = read.watermark.clone();
    }
    if read.complete {
        status.full_read_at = Some(ts(now));
    }
    status.initial_done = true;
    let objects = totals.failed.clone();
    let newly = finish_quarantine(job, rt, &mut status, &totals.stats, now, report, objects.clone()).await?;
    if !newly {
        alarm::notify_failures(job, rt, now, &totals.stats, objects).await;
    }
    Ok(Some(status))
}

/// Runs a plan held whole (provisioning on demand) in chunks, each committed.
async fn execute(
    (job, rt, tables): (&Job, &Runtime, &Tables),
    actions: Vec<Action>,
    staged_logs: Vec<LogRecord>,
    progress: &dyn Progress,
    cx: &LogCtx,
) -> Result<(commit::Totals, bool), EngineError> {
    let targets = stream::targets(job, rt, &actions, tables, None).await?;
    let mut committer = commit::Committer::new(job, rt, cx, true).await?;
    committer.pending_logs = staged_logs;
    let completed = rt
        .executor
        .run_in_chunks(
            actions,
            targets,
            progress,
            job.cfg.target.bulk,
            rt.executor.cfg.chunk,
            &mut committer,
        )
        .await?;
    committer.finish().await?;
    Ok((committer.totals, completed))
}

fn log_ctx(job: &Job, report: &CycleReport, now: OffsetDateTime) -> LogCtx {
    LogCtx {
        job: job.name().to_string(),
        cycle_id: report.cycle_id.clone(),
        now,
        initiated_by: report.initiated_by.clone(),
    }
}

/// Records a cycle that stopped: one log record with the reason, and the report as the
/// job's last cycle. Best effort: the state store may be what failed.
async fn record_stop(job: &Job, rt: &Runtime, now: OffsetDateTime, report: &CycleReport, e: &EngineError) {
    let cx = log_ctx(job, report, now);
    let r = fold::with_detail(
        cx.record("cycle", "", None, "Cycle", Status::Failure),
        &[step("Cycle", Status::Failure, format!("the cycle stopped: {e}"))],
        &[],
        Some(e),
    );
    if let Err(err) = rt.state.append_log(vec![r]).await {
        tracing::warn!(error = %err, "could not log the failed cycle");
    }
    let mut status = match rt.state.status(job.name()).await {
        Ok(s) => s,
        Err(err) => return tracing::warn!(error = %err, "could not record the failed cycle"),
    };
    status.job = job.name().to_string();
    status.updated = ts(now);
    status.last_cycle = Some(serde_json::to_string(report).unwrap_or_default());
    if let Err(err) = rt.state.put_status(status).await {
        tracing::warn!(error = %err, "could not record the failed cycle");
    }
}

/// Keeps only one object's actions (provision on demand).
pub fn only(plan: Plan, kind: ObjectKind, id: &str) -> Plan {
    Plan {
        actions: plan
            .actions
            .into_iter()
            .filter(|a| a.kind == kind && a.source_id == id)
            .collect(),
        ..plan
    }
}
