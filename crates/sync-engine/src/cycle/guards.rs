//! The checks before a cycle sends anything: whether it may run at all (Off is checked by the
//! caller; disabled, quarantine back-off here), the on-demand object's first steps, the
//! deletion threshold, and the target probe.

use scim_core::ports::sync::{JobStatus, LogRecord};
use time::OffsetDateTime;

use super::alarm::{finish_quarantine, notify};
use super::{CycleOptions, CycleReport, Job, LogCtx, Runtime, fold};
use crate::error::EngineError;
use crate::execute::{Status, step};
use crate::model::{ObjectKind, SourceObject};
use crate::notify::{Kind, ObjectRef};
use crate::plan::{Action, Plan};
use crate::quarantine::{self, CycleStats};
use crate::scope::ScopeIndex;

/// A disabled job, or a quarantined one whose back-off has not passed, does not run.
pub(super) fn held_back(status: &JobStatus, now: OffsetDateTime, report: &mut CycleReport) -> bool {
    if status.disabled {
        report.skipped_reason = Some(
            "the job was disabled after four weeks in quarantine; run `scimd sync restart --lift-quarantine`".into(),
        );
        return true;
    }
    if !quarantine::may_run(status, now) {
        report.skipped_reason = Some(format!(
            "quarantined ({}); next attempt at {}",
            status.quarantine_reason.clone().unwrap_or_default(),
            status.next_run.map(|t| t.to_string()).unwrap_or_default()
        ));
        report.quarantine = status.quarantine_reason.clone();
        return true;
    }
    false
}

/// Provision on demand: the Import and Determine scope steps of the one object.
pub(super) fn on_demand_steps(
    rt: &Runtime,
    (job, index): (&Job, &ScopeIndex),
    obj: Option<&SourceObject>,
    (kind, id): (ObjectKind, &str),
    plan: &Plan,
    report: &mut CycleReport,
) -> Result<(), EngineError> {
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
    for s in job.scope.evaluate(obj, index).steps {
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
    Ok(())
}

/// Accidental-deletion prevention: counts deletes and disables before running any, and
/// holds them all back (logged as StagedDelete) when they exceed the threshold.
pub(super) async fn hold_deletions(
    job: &Job,
    rt: &Runtime,
    now: OffsetDateTime,
    opts: &CycleOptions,
    plan: &mut Plan,
    report: &mut CycleReport,
    cx: &LogCtx,
) -> Vec<LogRecord> {
    let safety = &job.cfg.safety;
    let deletions = plan.deletions();
    let by_count = safety.deletion_threshold.is_some_and(|n| deletions as u64 > n);
    let by_percent = safety
        .deletion_threshold_percent
        .is_some_and(|p| plan.managed > 0 && deletions as f64 * 100.0 / plan.managed as f64 > p);
    if !(by_count || by_percent) || opts.allow_deletes {
        return Vec::new();
    }
    report.threshold_tripped = true;
    let (held, kept): (Vec<Action>, Vec<Action>) = plan.actions.drain(..).partition(Action::is_deletion);
    plan.actions = kept;
    report.staged = held.len();
    let steps = [step(
        "Provision",
        Status::Skipped,
        "held back: the cycle exceeds the deletion threshold",
    )];
    let logs = held
        .iter()
        .map(|a| {
            let mut r = cx.record(
                a.kind.as_str(),
                &a.source_id,
                a.target_id.clone(),
                "StagedDelete",
                Status::Skipped,
            );
            r.source_display = a.display.clone();
            fold::with_detail(r, &steps, &[], None)
        })
        .collect();
    let reason = format!(
        "{deletions} deletions/disables planned for {} managed objects exceed the threshold ({}{})",
        plan.managed,
        safety
            .deletion_threshold
            .map(|n| format!("{n} objects"))
            .unwrap_or_default(),
        safety
            .deletion_threshold_percent
            .map(|p| format!(" / {p} %"))
            .unwrap_or_default()
    );
    let details = serde_json::json!({"planned": deletions, "managed": plan.managed});
    let objects = held
        .iter()
        .take(crate::notify::MAX_OBJECTS)
        .map(|a| ObjectRef {
            kind: a.kind.as_str().to_string(),
            source_id: a.source_id.clone(),
            display: a.display.clone(),
            error_code: None,
            message: Some(a.name().to_string()),
        })
        .collect();
    notify(rt, job, now, Kind::DeletionThreshold, &reason, details, objects).await;
    logs
}

/// Entra probes the target at the start of each cycle (a random value of the matching
/// attribute); refused credentials quarantine the job and stop the cycle here.
pub(super) async fn probe_target(
    job: &Job,
    rt: &Runtime,
    now: OffsetDateTime,
    status: &mut JobStatus,
    report: &mut CycleReport,
) -> Result<(), EngineError> {
    let path = job.users.first_matching().unwrap_or("userName");
    let filter = crate::execute::eq_filter(path, &uuid::Uuid::new_v4().to_string());
    let probe = rt
        .executor
        .client
        .search(scim_client::Endpoint::Users, Some(&filter), Some("id"), 1, 1)
        .await;
    match probe {
        Err(e) if matches!(e.status(), Some(401 | 403)) => {
            let stats = CycleStats {
                operations: 1,
                failures: 1,
                auth_failures: 1,
                ..Default::default()
            };
            finish_quarantine(job, rt, status, &stats, now, report, Vec::new()).await?;
            Err(crate::execute::target_error(e))
        }
        _ => Ok(()),
    }
}
