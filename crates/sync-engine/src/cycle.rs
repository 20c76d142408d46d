//! One provisioning cycle: read → scope → plan → (safety) → execute → persist links,
//! escrows, logs and status → quarantine and notify. The effectful parts (source, target,
//! state, webhook) come in as handles; time comes in as `now`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use scim_core::ports::sync::{Escrow, JobStatus, Link, LogRecord, SyncStateStore};
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::JobConfig;
use crate::error::EngineError;
use crate::execute::{Executor, Progress, Status, step};
use crate::mapping::{self, ObjectMapper};
use crate::model::{ObjectKind, SourceBatch};
use crate::notify::{Event, Webhook};
use crate::plan::{Action, Decision, Key, LinkState, Plan, PlanInput, Planner, Pushed, link_states};
use crate::quarantine::{self, CycleStats, Policy};
use crate::scope::{CompiledScope, ScopeIndex, ScopeReason};
use crate::source::Source;

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
    pub webhook: Option<Webhook>,
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

#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    pub success: usize,
    pub failure: usize,
    pub skipped: usize,
    pub warning: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CycleReport {
    pub cycle_id: String,
    pub job: String,
    /// `initial` or `incremental`.
    pub kind: String,
    pub started: String,
    pub dry_run: bool,
    pub counts: crate::plan::Counts,
    pub applied: Applied,
    /// Deletions and disables held back by the threshold.
    pub staged: usize,
    pub threshold_tripped: bool,
    pub quarantine: Option<String>,
    /// The cycle did not run (quarantine back-off, disabled job).
    pub skipped_reason: Option<String>,
    pub requests: u64,
    pub throttled: u64,
    pub duration_ms: u64,
    #[serde(skip)]
    pub plan: Option<Plan>,
    /// With `only`: the object's steps (scope, match, provision).
    #[serde(skip)]
    pub steps: Vec<crate::execute::Step>,
    /// With `only`: the logged action and status.
    #[serde(skip)]
    pub outcome: Option<(String, String)>,
}

fn ts(t: OffsetDateTime) -> scim_core::Timestamp {
    scim_core::Timestamp::new(t)
}

fn kind_name(k: ObjectKind) -> String {
    k.as_str().to_string()
}

/// Scope decisions for every object in the batch.
pub fn decide(job: &Job, batch: &SourceBatch) -> HashMap<Key, Decision> {
    let index = ScopeIndex::new(batch.objects.iter());
    batch
        .objects
        .iter()
        .map(|o| {
            let d = job.scope.evaluate(o, &index);
            (
                (o.kind, o.id.clone()),
                Decision {
                    in_scope: d.in_scope,
                    inactive: d.reason == ScopeReason::NotActive,
                    reason: d.reason.describe().to_string(),
                },
            )
        })
        .collect()
}

/// Escrow back-off: the first retry is the next cycle, then 1 h, 4 h, 24 h.
fn escrow_wait(attempts: u32) -> time::Duration {
    match attempts {
        0 | 1 => time::Duration::ZERO,
        2 => time::Duration::hours(1),
        3 => time::Duration::hours(4),
        _ => time::Duration::hours(24),
    }
}

fn state_err(e: scim_core::CoreError) -> EngineError {
    EngineError::State(e.to_string())
}

/// Plans a cycle without changing anything (also the first half of [`run_cycle`]).
pub async fn plan_cycle(
    job: &Job,
    rt: &Runtime,
    now: OffsetDateTime,
    rng: &mut dyn FnMut() -> u64,
) -> Result<(Plan, SourceBatch, JobStatus), EngineError> {
    plan_cycle_with(job, rt, now, rng, false).await
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

pub async fn plan_cycle_with(
    job: &Job,
    rt: &Runtime,
    now: OffsetDateTime,
    rng: &mut dyn FnMut() -> u64,
    full: bool,
) -> Result<(Plan, SourceBatch, JobStatus), EngineError> {
    let status = rt.state.status(job.name()).await.map_err(state_err)?;
    let batch = match incremental_read(job, &status, now, full) {
        Some(wm) => match rt.source.read_changes(&wm).await? {
            Some(b) => b,
            None => rt.source.read_all().await?,
        },
        None => rt.source.read_all().await?,
    };
    let decisions = decide(job, &batch);
    let links = link_states(&rt.state.links(job.name()).await.map_err(state_err)?);
    let held: HashSet<Key> = rt
        .state
        .escrows(job.name())
        .await
        .map_err(state_err)?
        .into_iter()
        .filter(|e| e.next_attempt > ts(now))
        .map(|e| {
            let kind = if e.kind == "group" {
                ObjectKind::Group
            } else {
                ObjectKind::User
            };
            (kind, e.source_id)
        })
        .collect();
    let input = PlanInput {
        batch: &batch,
        decisions: &decisions,
        links: &links,
        held: &held,
        now,
    };
    let plan = job.planner(!status.initial_done).plan(&input, rng)?;
    Ok((plan, batch, status))
}

pub async fn run_cycle(
    job: &Job,
    rt: &Runtime,
    now: OffsetDateTime,
    opts: CycleOptions,
    progress: &dyn Progress,
    rng: &mut dyn FnMut() -> u64,
) -> Result<CycleReport, EngineError> {
    let started = std::time::Instant::now();
    let cycle_id = uuid::Uuid::now_v7().to_string();
    let mut report = CycleReport {
        cycle_id: cycle_id.clone(),
        job: job.name().to_string(),
        started: ts(now).to_string(),
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let status = rt.state.status(job.name()).await.map_err(state_err)?;
    report.kind = if status.initial_done { "incremental" } else { "initial" }.into();
    if !opts.dry_run && !opts.force {
        if status.disabled {
            report.skipped_reason = Some(
                "the job was disabled after four weeks in quarantine; run `scimd sync restart --lift-quarantine`"
                    .into(),
            );
            return Ok(report);
        }
        if !quarantine::may_run(&status, now) {
            report.skipped_reason = Some(format!(
                "quarantined ({}); next attempt at {}",
                status.quarantine_reason.clone().unwrap_or_default(),
                status.next_run.map(|t| t.to_string()).unwrap_or_default()
            ));
            report.quarantine = status.quarantine_reason.clone();
            return Ok(report);
        }
    }

    let (mut plan, batch, mut status) = plan_cycle_with(job, rt, now, rng, opts.full).await?;
    if let Some((kind, id)) = &opts.only {
        plan = only(plan, *kind, id);
        let obj = batch.objects.iter().find(|o| o.kind == *kind && &o.id == id);
        let Some(obj) = obj else {
            return Err(EngineError::Source(format!(
                "no {} with id {id:?} in {}",
                kind.as_str(),
                rt.source.describe()
            )));
        };
        report.steps.push(step(
            "Import",
            Status::Success,
            format!("read {} attributes from {}", obj.attrs.len(), rt.source.describe()),
        ));
        let index = ScopeIndex::new(batch.objects.iter());
        for s in job.scope.evaluate(obj, &index).steps {
            report.steps.push(step(
                "Determine scope",
                if s.passed { Status::Success } else { Status::Skipped },
                format!("{}: {}", s.name, s.detail),
            ));
        }
        if plan.actions.is_empty() {
            report.steps.push(step(
                "Provision",
                Status::Skipped,
                "nothing to do: the target is up to date",
            ));
            report.outcome = Some(("Other".into(), "Skipped".into()));
        }
    }
    report.counts = plan.counts.clone();
    // The plan carries what execution needs; the source objects can go.
    let batch = SourceBatch {
        objects: Vec::new(),
        ..batch
    };
    if opts.dry_run {
        report.plan = Some(plan);
        report.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }

    let mut logs: Vec<LogRecord> = Vec::new();
    let log = |kind: ObjectKind,
               source_id: &str,
               target_id: Option<String>,
               action: &str,
               status: Status,
               steps: Vec<crate::execute::Step>,
               modified: Vec<mapping::Modified>,
               err: Option<&EngineError>| LogRecord {
        job: job.name().to_string(),
        cycle_id: cycle_id.clone(),
        change_id: uuid::Uuid::now_v7().to_string(),
        at: ts(now),
        kind: kind_name(kind),
        source_id: source_id.to_string(),
        target_id,
        action: action.to_string(),
        status: status.as_str().to_string(),
        steps: serde_json::to_string(&steps).unwrap_or_default(),
        modified: serde_json::to_string(&modified).unwrap_or_default(),
        error_code: err.map(|e| e.code().to_string()),
        error_message: err.map(|e| e.to_string()),
    };

    // Accidental-deletion prevention: count deletes and disables before running any.
    let deletions = plan.deletions();
    let by_count = job.cfg.safety.deletion_threshold.is_some_and(|n| deletions as u64 > n);
    let by_percent = job
        .cfg
        .safety
        .deletion_threshold_percent
        .is_some_and(|p| plan.managed > 0 && deletions as f64 * 100.0 / plan.managed as f64 > p);
    if (by_count || by_percent) && !opts.allow_deletes {
        report.threshold_tripped = true;
        let (held, kept): (Vec<Action>, Vec<Action>) = plan.actions.drain(..).partition(Action::is_deletion);
        plan.actions = kept;
        report.staged = held.len();
        for a in &held {
            logs.push(log(
                a.kind,
                &a.source_id,
                a.target_id.clone(),
                "StagedDelete",
                Status::Skipped,
                vec![step(
                    "Provision",
                    Status::Skipped,
                    "held back: the cycle exceeds the deletion threshold",
                )],
                vec![],
                None,
            ));
        }
        let reason = format!(
            "{deletions} deletions/disables planned for {} managed objects exceed the threshold ({}{})",
            plan.managed,
            job.cfg
                .safety
                .deletion_threshold
                .map(|n| format!("{n} objects"))
                .unwrap_or_default(),
            job.cfg
                .safety
                .deletion_threshold_percent
                .map(|p| format!(" / {p} %"))
                .unwrap_or_default()
        );
        notify(
            rt,
            job,
            now,
            "deletion_threshold",
            &reason,
            serde_json::json!({"planned": deletions, "managed": plan.managed}),
        )
        .await;
    }

    // Entra probes the target at the start of each cycle; bad credentials stop here.
    let probe = rt
        .executor
        .client
        .search(
            scim_client::Endpoint::Users,
            Some(&format!("userName eq \"{}\"", uuid::Uuid::new_v4())),
            Some("id"),
            1,
            1,
        )
        .await;
    if let Err(e) = &probe
        && matches!(e.status(), Some(401 | 403))
    {
        let stats = CycleStats {
            operations: 1,
            failures: 1,
            auth_failures: 1,
            ..Default::default()
        };
        finish_quarantine(job, rt, &mut status, &stats, now, &mut report).await?;
        rt.state.append_log(logs).await.map_err(state_err)?;
        return Err(crate::execute::target_error(e.clone()));
    }

    let links_map: HashMap<Key, String> = link_states(&rt.state.links(job.name()).await.map_err(state_err)?)
        .into_iter()
        .map(|(k, l)| (k, l.target_id))
        .collect();
    let outcomes = rt
        .executor
        .run(
            std::mem::take(&mut plan.actions),
            links_map,
            progress,
            job.cfg.target.bulk,
        )
        .await;
    if opts.only.is_some() {
        for o in &outcomes {
            report.steps.extend(o.steps.iter().cloned());
            if !o.action_is_reference() {
                report.outcome = Some((o.logged_action.clone(), o.status.as_str().to_string()));
            }
        }
    }

    // Persist links, escrows and logs.
    let old = link_states(&rt.state.links(job.name()).await.map_err(state_err)?);
    let escrows: HashMap<(String, String), Escrow> = rt
        .state
        .escrows(job.name())
        .await
        .map_err(state_err)?
        .into_iter()
        .map(|e| ((e.kind.clone(), e.source_id.clone()), e))
        .collect();
    let mut merged: HashMap<Key, LinkState> = HashMap::new();
    let mut unlink: Vec<(String, String)> = Vec::new();
    let mut put_escrow = Vec::new();
    let mut done_escrow = Vec::new();
    let mut stats = CycleStats::default();
    for o in &outcomes {
        report.requests += o.requests as u64;
        report.throttled += o.throttled as u64;
        match o.status {
            Status::Success => report.applied.success += 1,
            Status::Failure => report.applied.failure += 1,
            Status::Skipped => report.applied.skipped += 1,
            Status::Warning => report.applied.warning += 1,
        }
        stats.operations += 1;
        let key = (kind_name(o.kind), o.source_id.clone());
        if o.status == Status::Failure {
            stats.failures += 1;
            if o.reference {
                stats.reference_failures += 1;
            }
            if let Some(EngineError::Target { status: 401 | 403, .. }) = &o.error {
                stats.auth_failures += 1;
            }
            let prev = escrows.get(&key);
            let attempts = prev.map_or(0, |e| e.attempts) + 1;
            put_escrow.push(Escrow {
                kind: key.0.clone(),
                source_id: key.1.clone(),
                action: o.logged_action.clone(),
                error_code: o.error.as_ref().map(|e| e.code().to_string()).unwrap_or_default(),
                message: o.error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
                attempts,
                first_failed: prev.map_or_else(|| ts(now), |e| e.first_failed),
                next_attempt: ts(now + escrow_wait(attempts)),
            });
        } else {
            if o.status != Status::Skipped {
                stats.successes += 1;
            }
            if escrows.contains_key(&key) {
                done_escrow.push(key.clone());
            }
        }
        if o.unlink {
            unlink.push(key.clone());
            merged.remove(&(o.kind, o.source_id.clone()));
        } else if let Some(target) = &o.target_id
            && o.status != Status::Failure
        {
            let k = (o.kind, o.source_id.clone());
            let entry = merged.entry(k.clone()).or_insert_with(|| {
                old.get(&k).cloned().unwrap_or(LinkState {
                    target_id: target.clone(),
                    hash: String::new(),
                    pushed: Pushed::default(),
                    disabled: false,
                })
            });
            entry.target_id = target.clone();
            if let Some(v) = &o.values {
                entry.pushed.values = v.clone();
            }
            if let Some(m) = &o.manager {
                entry.pushed.manager = m.clone();
            }
            if o.kind == ObjectKind::Group {
                let set = entry.pushed.members.get_or_insert_with(Default::default);
                set.extend(o.members_added.iter().cloned());
                for r in &o.members_removed {
                    set.remove(r);
                }
            }
            if let Some(d) = o.disabled {
                entry.disabled = d;
            }
            entry.hash = mapping::hash(
                &entry.pushed.values,
                entry.pushed.manager.as_deref(),
                entry.pushed.members.as_ref(),
            );
        }
        logs.push(log(
            o.kind,
            &o.source_id,
            o.target_id.clone(),
            &o.logged_action,
            o.status,
            o.steps.clone(),
            o.modified.clone(),
            o.error.as_ref(),
        ));
    }
    let links: Vec<Link> = merged
        .into_iter()
        .map(|((kind, source_id), l)| Link {
            kind: kind_name(kind),
            source_id,
            target_id: l.target_id,
            hash: l.hash,
            values: serde_json::to_string(&l.pushed).unwrap_or_default(),
            disabled: l.disabled,
            updated: ts(now),
        })
        .collect();
    rt.state.put_links(job.name(), links).await.map_err(state_err)?;
    rt.state.remove_links(job.name(), unlink).await.map_err(state_err)?;
    rt.state
        .put_escrows(job.name(), put_escrow, done_escrow)
        .await
        .map_err(state_err)?;
    rt.state.append_log(logs).await.map_err(state_err)?;

    report.duration_ms = started.elapsed().as_millis() as u64;
    if opts.only.is_some() {
        // On-demand provisioning neither completes a cycle nor moves quarantine.
        return Ok(report);
    }
    if batch.complete || batch.watermark.is_some() {
        status.watermark = batch.watermark.clone();
    }
    if batch.complete {
        status.full_read_at = Some(ts(now));
    }
    status.initial_done = true;
    finish_quarantine(job, rt, &mut status, &stats, now, &mut report).await?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    status.last_cycle = Some(serde_json::to_string(&report).unwrap_or_default());
    rt.state.put_status(status).await.map_err(state_err)?;
    Ok(report)
}

async fn finish_quarantine(
    job: &Job,
    rt: &Runtime,
    status: &mut JobStatus,
    stats: &CycleStats,
    now: OffsetDateTime,
    report: &mut CycleReport,
) -> Result<(), EngineError> {
    status.job = job.name().to_string();
    status.updated = ts(now);
    let newly = quarantine::apply(&rt.policy, status, stats, now);
    report.quarantine = status.quarantine_reason.clone();
    if newly {
        let reason = status.quarantine_reason.clone().unwrap_or_default();
        notify(
            rt,
            job,
            now,
            "quarantine",
            &reason,
            serde_json::json!({"failures": stats.failures, "operations": stats.operations, "next_run": status.next_run}),
        )
        .await;
    }
    rt.state.put_status(status.clone()).await.map_err(state_err)
}

async fn notify(rt: &Runtime, job: &Job, now: OffsetDateTime, event: &str, reason: &str, details: serde_json::Value) {
    let Some(hook) = &rt.webhook else { return };
    let ev = Event {
        event: event.into(),
        job: job.name().to_string(),
        at: ts(now).to_string(),
        reason: reason.into(),
        details,
    };
    if let Err(e) = hook.send(&ev).await {
        tracing::warn!(error = %e, "notification failed");
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
