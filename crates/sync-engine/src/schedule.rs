//! When a job's next cycle is due, for `scimd sync serve`. Pure: the last cycle's end (from
//! the shared history, so every process agrees), the job's state and time are inputs.

use scim_core::ports::sync::{JobControl, JobStatus};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Run a cycle now.
    Now,
    /// Not before then.
    At(OffsetDateTime),
    /// Off (`sync stop`, `enabled = false`) or disabled after quarantine: not until that changes.
    Off,
}

/// The job is due `interval` after its last cycle ended; quarantine back-off can push it
/// later; Off and disabled jobs are never due.
pub fn due(
    last_finished: Option<OffsetDateTime>,
    interval: Duration,
    enabled: bool,
    status: &JobStatus,
    control: &JobControl,
    now: OffsetDateTime,
) -> Due {
    if !enabled || control.stopped || status.disabled {
        return Due::Off;
    }
    let mut at = last_finished.map_or(now, |t| t + interval);
    if status.quarantine_reason.is_some()
        && let Some(next) = status.next_run
    {
        at = at.max(next.datetime());
    }
    if at <= now { Due::Now } else { Due::At(at) }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

    #[test]
    fn when_a_job_is_due() {
        let m = Duration::minutes;
        let quarantined = |next: OffsetDateTime| JobStatus {
            quarantine_reason: Some("EncounteredQuarantineException".into()),
            next_run: Some(scim_core::Timestamp::new(next)),
            ..Default::default()
        };
        let stopped = JobControl {
            stopped: true,
            ..Default::default()
        };
        let (ok, on) = (JobStatus::default(), JobControl::default());
        type Case<'a> = (&'a str, Option<OffsetDateTime>, bool, JobStatus, &'a JobControl, Due);
        let cases: Vec<Case> = vec![
            ("never ran", None, true, ok.clone(), &on, Due::Now),
            ("interval passed", Some(NOW - m(40)), true, ok.clone(), &on, Due::Now),
            (
                "interval to go",
                Some(NOW - m(10)),
                true,
                ok.clone(),
                &on,
                Due::At(NOW + m(30)),
            ),
            ("stopped", None, true, ok.clone(), &stopped, Due::Off),
            ("enabled = false", None, false, ok.clone(), &on, Due::Off),
            (
                "disabled after quarantine",
                None,
                true,
                JobStatus {
                    disabled: true,
                    ..Default::default()
                },
                &on,
                Due::Off,
            ),
            (
                "quarantine back-off",
                Some(NOW - m(40)),
                true,
                quarantined(NOW + m(300)),
                &on,
                Due::At(NOW + m(300)),
            ),
            (
                "back-off over",
                Some(NOW - m(400)),
                true,
                quarantined(NOW - m(1)),
                &on,
                Due::Now,
            ),
        ];
        for (name, last, enabled, status, control, want) in cases {
            assert_eq!(due(last, m(40), enabled, &status, control, NOW), want, "{name}");
        }
    }
}
