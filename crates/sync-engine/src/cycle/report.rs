//! What a cycle reports: counts, what was applied, and its result, which decides the exit
//! code of `scimd sync run --once`.

use serde::Serialize;

use crate::plan::{Counts, Plan};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub success: usize,
    pub failure: usize,
    pub skipped: usize,
    pub warning: usize,
}

/// How a cycle ended, from the point of view of whoever scheduled it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleResult {
    /// Every object action succeeded (or was skipped).
    #[default]
    Succeeded,
    /// The cycle ran to its end, but some objects failed (they are escrowed).
    PartiallyFailed,
    /// Deletions and disables were held back by the deletion threshold.
    DeletionsHeld,
    /// The job is in quarantine after this cycle, or the cycle did not run because of it.
    Quarantined,
    /// The job is disabled (four weeks in quarantine): nothing ran.
    Disabled,
    /// The job is Off (`scimd sync stop`, or `enabled = false`): nothing ran.
    Stopped,
    /// Stopped on request (SIGTERM, Ctrl-C) after a committed chunk; the next cycle goes on.
    Interrupted,
    /// The cycle stopped: the source, the state store or the target failed as a whole.
    Failed,
}

impl CycleResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CycleResult::Succeeded => "succeeded",
            CycleResult::PartiallyFailed => "partially_failed",
            CycleResult::DeletionsHeld => "deletions_held",
            CycleResult::Quarantined => "quarantined",
            CycleResult::Disabled => "disabled",
            CycleResult::Stopped => "stopped",
            CycleResult::Interrupted => "interrupted",
            CycleResult::Failed => "failed",
        }
    }
}

/// The error that stopped a cycle, as the status and the log keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CycleError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CycleReport {
    pub cycle_id: String,
    pub job: String,
    /// `initial`, `incremental` or `on_demand`.
    pub kind: String,
    /// `cycle`, `on_demand` or `restart` (the first cycle after the state was cleared).
    pub initiated_by: String,
    pub started: String,
    pub dry_run: bool,
    pub result: CycleResult,
    /// Set when the cycle stopped (`result = failed`).
    pub error: Option<CycleError>,
    pub counts: Counts,
    pub applied: Applied,
    /// Actions by logged action and status (`{"Create": {"Success": 3}}`).
    pub actions: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
    /// The job is Off: the cycle did not run.
    pub stopped: bool,
    /// Stopped on request after a committed chunk (graceful shutdown).
    pub interrupted: bool,
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

/// The result a finished (or skipped) cycle earned. Pure: the report says it all. The most
/// serious condition wins: quarantine, then held deletions, then failed objects.
pub fn result_of(r: &CycleReport) -> CycleResult {
    if r.error.is_some() {
        CycleResult::Failed
    } else if r.interrupted {
        CycleResult::Interrupted
    } else if r.stopped {
        CycleResult::Stopped
    } else if r.quarantine.is_some() {
        CycleResult::Quarantined
    } else if r.skipped_reason.is_some() {
        CycleResult::Disabled
    } else if r.threshold_tripped {
        CycleResult::DeletionsHeld
    } else if r.applied.failure > 0 || (r.dry_run && r.counts.failed > 0) {
        CycleResult::PartiallyFailed
    } else {
        CycleResult::Succeeded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(f: impl FnOnce(&mut CycleReport)) -> CycleReport {
        let mut r = CycleReport::default();
        f(&mut r);
        r
    }

    #[test]
    fn the_most_serious_condition_decides_the_result() {
        let cases: Vec<(&str, CycleReport, CycleResult)> = vec![
            ("clean", report(|_| {}), CycleResult::Succeeded),
            ("skips only", report(|r| r.applied.skipped = 3), CycleResult::Succeeded),
            (
                "one failure",
                report(|r| r.applied.failure = 1),
                CycleResult::PartiallyFailed,
            ),
            (
                "a plan with failing objects",
                report(|r| {
                    r.dry_run = true;
                    r.counts.failed = 2
                }),
                CycleResult::PartiallyFailed,
            ),
            (
                "held deletions beat failures",
                report(|r| {
                    r.applied.failure = 1;
                    r.threshold_tripped = true
                }),
                CycleResult::DeletionsHeld,
            ),
            (
                "quarantine beats held deletions",
                report(|r| {
                    r.threshold_tripped = true;
                    r.quarantine = Some("EncounteredEscrowProportionThreshold".into())
                }),
                CycleResult::Quarantined,
            ),
            (
                "skipped while quarantined",
                report(|r| {
                    r.skipped_reason = Some("quarantined".into());
                    r.quarantine = Some("EncounteredQuarantineException".into())
                }),
                CycleResult::Quarantined,
            ),
            (
                "disabled job",
                report(|r| r.skipped_reason = Some("disabled".into())),
                CycleResult::Disabled,
            ),
            (
                "a stopped cycle beats everything",
                report(|r| {
                    r.quarantine = Some("EncounteredQuarantineException".into());
                    r.error = Some(CycleError {
                        code: "TargetUnauthorized".into(),
                        message: "401".into(),
                    })
                }),
                CycleResult::Failed,
            ),
        ];
        for (name, r, want) in cases {
            assert_eq!(result_of(&r), want, "{name}");
        }
    }
}
