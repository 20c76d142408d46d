//! Quarantine, by Entra's rules (entra-scim-client.md §2.6): a job whose calls mostly fail
//! is quarantined; its cycles then run at +6 h, +12 h, +24 h and daily after that; a
//! successful cycle lifts it; after 28 days the job is disabled. Pure: time is an input.

use time::{Duration, OffsetDateTime};

use scim_core::ports::sync::JobStatus;

pub const REASON_CREDENTIALS: &str = "EncounteredQuarantineException";
pub const REASON_ESCROW: &str = "EncounteredEscrowProportionThreshold";
pub const REASON_ON_DEMAND: &str = "QuarantineOnDemand";

/// The thresholds; the defaults are Entra's.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Escrow-proportion checks start at this many failures…
    pub min_failures: usize,
    /// …and quarantine when more than this share of operations failed,
    pub max_failure_ratio: f64,
    /// or when failures exceed this count (reference failures excluded in both),
    pub max_failures: usize,
    /// or when all failures, references included, exceed this.
    pub absolute_cap: usize,
    pub disable_after: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_failures: 5_000,
            max_failure_ratio: 0.40,
            max_failures: 40_000,
            absolute_cap: 60_000,
            disable_after: Duration::days(28),
        }
    }
}

/// What a cycle did, as quarantine sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CycleStats {
    pub operations: usize,
    pub failures: usize,
    pub reference_failures: usize,
    /// Requests refused with 401/403.
    pub auth_failures: usize,
    pub successes: usize,
}

/// The quarantine reason this cycle earns, if any.
pub fn reason(policy: &Policy, s: &CycleStats) -> Option<&'static str> {
    if s.auth_failures > 0 && s.successes == 0 {
        return Some(REASON_CREDENTIALS);
    }
    let counted = s.failures.saturating_sub(s.reference_failures);
    let non_ref_ops = s.operations.saturating_sub(s.reference_failures).max(1);
    if counted >= policy.min_failures && (counted as f64 / non_ref_ops as f64) > policy.max_failure_ratio {
        return Some(REASON_ESCROW);
    }
    if counted > policy.max_failures || s.failures > policy.absolute_cap {
        return Some(REASON_ESCROW);
    }
    None
}

/// The wait before quarantine attempt `n` (1-based): 6 h, 12 h, 24 h, then 24 h.
pub fn backoff(attempt: u32) -> Duration {
    match attempt {
        0 | 1 => Duration::hours(6),
        2 => Duration::hours(12),
        _ => Duration::hours(24),
    }
}

/// Updates the job status after a cycle. Returns true when the job newly entered
/// quarantine or changed its reason (the moment to notify).
pub fn apply(policy: &Policy, status: &mut JobStatus, stats: &CycleStats, now: OffsetDateTime) -> bool {
    let now_ts = scim_core::Timestamp::new(now);
    match reason(policy, stats) {
        Some(r) => {
            let changed = status.quarantine_reason.as_deref() != Some(r);
            if status.quarantine_since.is_none() {
                status.quarantine_since = Some(now_ts);
            }
            status.quarantine_reason = Some(r.to_string());
            status.quarantine_attempts += 1;
            status.next_run = Some(now_ts + backoff(status.quarantine_attempts));
            let since = status.quarantine_since.map_or(now, |t| t.datetime());
            if now - since >= policy.disable_after {
                status.disabled = true;
            }
            changed
        }
        None => {
            status.quarantine_reason = None;
            status.quarantine_since = None;
            status.quarantine_attempts = 0;
            status.next_run = None;
            false
        }
    }
}

/// Whether a quarantined job may run now.
pub fn may_run(status: &JobStatus, now: OffsetDateTime) -> bool {
    if status.disabled {
        return false;
    }
    match status.next_run {
        Some(next) => now >= next.datetime(),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn reasons() {
        let p = Policy::default();
        let cases = [
            (
                CycleStats {
                    operations: 10,
                    failures: 10,
                    auth_failures: 10,
                    ..Default::default()
                },
                Some(REASON_CREDENTIALS),
            ),
            (
                CycleStats {
                    operations: 10,
                    failures: 1,
                    auth_failures: 1,
                    successes: 9,
                    ..Default::default()
                },
                None,
            ),
            (
                CycleStats {
                    operations: 10_000,
                    failures: 4_999,
                    ..Default::default()
                },
                None,
            ),
            (
                CycleStats {
                    operations: 10_000,
                    failures: 5_000,
                    ..Default::default()
                },
                Some(REASON_ESCROW),
            ),
            (
                CycleStats {
                    operations: 20_000,
                    failures: 6_000,
                    ..Default::default()
                },
                None,
            ),
            (
                CycleStats {
                    operations: 200_000,
                    failures: 40_001,
                    ..Default::default()
                },
                Some(REASON_ESCROW),
            ),
            // Reference failures do not count toward the proportion…
            (
                CycleStats {
                    operations: 10_000,
                    failures: 6_000,
                    reference_failures: 6_000,
                    ..Default::default()
                },
                None,
            ),
            // …but do toward the absolute cap.
            (
                CycleStats {
                    operations: 1_000_000,
                    failures: 60_001,
                    reference_failures: 60_001,
                    ..Default::default()
                },
                Some(REASON_ESCROW),
            ),
            (CycleStats::default(), None),
        ];
        for (stats, want) in cases {
            assert_eq!(reason(&p, &stats), want, "{stats:?}");
        }
    }

    #[test]
    fn schedule_lift_and_disable() {
        let p = Policy::default();
        let mut s = JobStatus::default();
        let t0 = datetime!(2026-01-01 00:00 UTC);
        let bad = CycleStats {
            operations: 1,
            failures: 1,
            auth_failures: 1,
            ..Default::default()
        };
        assert!(apply(&p, &mut s, &bad, t0), "entering quarantine notifies");
        assert_eq!(
            s.next_run.map(|t| t.to_string()).as_deref(),
            Some("2026-01-01T06:00:00.000000Z")
        );
        assert!(!may_run(&s, t0 + Duration::hours(5)));
        assert!(may_run(&s, t0 + Duration::hours(6)));
        assert!(
            !apply(&p, &mut s, &bad, t0 + Duration::hours(6)),
            "same reason: no new notice"
        );
        assert_eq!(
            s.next_run.map(|t| t.to_string()).as_deref(),
            Some("2026-01-01T18:00:00.000000Z")
        );
        apply(&p, &mut s, &bad, t0 + Duration::hours(18));
        assert_eq!(
            s.next_run.map(|t| t.to_string()).as_deref(),
            Some("2026-01-02T18:00:00.000000Z")
        );
        apply(&p, &mut s, &bad, t0 + Duration::days(28));
        assert!(s.disabled, "disabled after four weeks");
        assert!(!may_run(&s, t0 + Duration::days(60)));

        let mut s = JobStatus::default();
        apply(&p, &mut s, &bad, t0);
        let good = CycleStats {
            operations: 5,
            successes: 5,
            ..Default::default()
        };
        apply(&p, &mut s, &good, t0 + Duration::hours(6));
        assert_eq!(s.quarantine_reason, None, "a successful cycle lifts quarantine");
        assert!(may_run(&s, t0 + Duration::hours(6)));
    }
}
