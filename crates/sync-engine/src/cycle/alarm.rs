//! The end of a cycle as the admin hears of it: quarantine (applied, logged, notified) and
//! the notifications for held deletions and failed objects.

use scim_core::ports::sync::JobStatus;
use time::OffsetDateTime;

use super::{CycleReport, Job, Runtime, fold, log_ctx, state_err, ts};
use crate::error::EngineError;
use crate::execute::{Status, step};
use crate::notify::{self, Event, Kind, ObjectRef};
use crate::quarantine::{self, CycleStats};

/// Applies quarantine to the status after a cycle and stores it; logs and notifies a newly
/// entered quarantine (or a changed reason). Returns whether it was new.
pub(super) async fn finish_quarantine(
    job: &Job,
    rt: &Runtime,
    status: &mut JobStatus,
    stats: &CycleStats,
    now: OffsetDateTime,
    report: &mut CycleReport,
    objects: Vec<ObjectRef>,
) -> Result<bool, EngineError> {
    status.job = job.name().to_string();
    status.updated = ts(now);
    let newly = quarantine::apply(&rt.policy, status, stats, now);
    report.quarantine = status.quarantine_reason.clone();
    if newly {
        let reason = status.quarantine_reason.clone().unwrap_or_default();
        let detail = format!(
            "quarantined ({reason}): {} of {} operations failed; next attempt at {}",
            stats.failures,
            stats.operations,
            status.next_run.map(|t| t.to_string()).unwrap_or_default()
        );
        let mut r = fold::with_detail(
            log_ctx(job, report, now).record("cycle", "", None, "Quarantine", Status::Failure),
            &[step("Cycle", Status::Failure, detail.clone())],
            &[],
            None,
        );
        r.error_code = Some(reason.clone());
        r.error_message = Some(detail);
        rt.state.append_log(vec![r]).await.map_err(state_err)?;
        let details = serde_json::json!({"failures": stats.failures, "operations": stats.operations, "next_run": status.next_run});
        notify(rt, job, now, Kind::Quarantine, &reason, details, objects).await;
    }
    rt.state.put_status(status.clone()).await.map_err(state_err)?;
    Ok(newly)
}

/// Notifies when more than the configured share of the cycle's object actions failed.
pub(super) async fn notify_failures(
    job: &Job,
    rt: &Runtime,
    now: OffsetDateTime,
    stats: &CycleStats,
    objects: Vec<ObjectRef>,
) {
    let share = notify::failure_share(&job.cfg.notify);
    if stats.failures == 0 || (stats.failures as f64) <= share * stats.operations as f64 {
        return;
    }
    let reason = format!(
        "{} of {} object actions failed ({:.0} %, above {:.0} %)",
        stats.failures,
        stats.operations,
        stats.failures as f64 * 100.0 / stats.operations.max(1) as f64,
        share * 100.0
    );
    let details = serde_json::json!({"failures": stats.failures, "operations": stats.operations});
    notify(rt, job, now, Kind::Failures, &reason, details, objects).await;
}

pub(super) async fn notify(
    rt: &Runtime,
    job: &Job,
    now: OffsetDateTime,
    kind: Kind,
    reason: &str,
    details: serde_json::Value,
    objects: Vec<ObjectRef>,
) {
    let ev = Event {
        event: kind,
        job: job.name().to_string(),
        at: ts(now).to_string(),
        reason: reason.into(),
        details,
        objects,
        next_steps: notify::next_steps(kind, reason, job.name()),
    };
    rt.notify.dispatch(&job.cfg.notify, rt.state.as_ref(), &ev, now).await;
}
