//! When to try a failing endpoint again: soon at first (a receiver restarting), then
//! further apart, for up to three days, after which the endpoint is marked failing.

use std::time::Duration;

/// The delays after the 1st, 2nd, … failed attempt; the last repeats.
pub const DEFAULT_DELAYS: [Duration; 6] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
];

/// How long an endpoint may fail before retries stop.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 86_400);

#[derive(Debug, Clone)]
pub struct Schedule {
    pub delays: Vec<Duration>,
    pub give_up_after: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            delays: DEFAULT_DELAYS.to_vec(),
            give_up_after: GIVE_UP_AFTER,
        }
    }
}

impl Schedule {
    /// The wait after `attempts` failures (1 for the first), with `jitter` in `[-1, 1]`
    /// spreading it by up to ±10 % so that many endpoints do not retry in step.
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let i = (attempts.max(1) as usize - 1).min(self.delays.len().saturating_sub(1));
        let base = self.delays.get(i).copied().unwrap_or(Duration::from_secs(5));
        base.mul_f64(1.0 + 0.1 * jitter.clamp(-1.0, 1.0))
    }

    /// Whether a run of failures that began `failing_for` ago should stop being retried.
    pub fn gives_up(&self, failing_for: Duration) -> bool {
        failing_for >= self.give_up_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_retry_is_within_seconds_and_later_ones_back_off() {
        let s = Schedule::default();
        assert_eq!(s.delay(1, 0.0), Duration::from_secs(5));
        assert!(s.delay(1, 1.0) <= Duration::from_millis(5500));
        assert!(s.delay(1, -1.0) >= Duration::from_millis(4500));
        assert_eq!(s.delay(2, 0.0), Duration::from_secs(300));
        assert_eq!(s.delay(6, 0.0), Duration::from_secs(36_000));
        assert_eq!(s.delay(60, 0.0), Duration::from_secs(36_000), "the last delay repeats");
        assert_eq!(s.delay(0, 5.0), Duration::from_millis(5500), "jitter is clamped");
        let total: Duration = (1..=12).map(|a| s.delay(a, 0.0)).sum();
        assert!(total >= GIVE_UP_AFTER, "retries span the three days: {total:?}");
        assert!(!s.gives_up(Duration::from_secs(86_400)));
        assert!(s.gives_up(GIVE_UP_AFTER));
    }
}
