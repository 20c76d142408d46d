//! Exit codes beyond success (0) and a plain error (1), documented in `docs/sync.md`:
//! schedulers and CI jobs that run `scimd sync run --once`, `plan` or `provision` tell a
//! clean run from one with failed objects and from one that needs an admin.

use std::fmt;

use sync_engine::cycle::CycleResult;

/// Some objects failed (logged and escrowed); the rest of the cycle went through.
pub const OBJECTS_FAILED: u8 = 3;
/// The cycle stopped, the job is quarantined or disabled, or deletions were held back by
/// the threshold: an admin must act.
pub const NEEDS_ADMIN: u8 = 4;

/// Another worker holds the job's lease (a cycle is running elsewhere); nothing ran.
pub const LEASE_HELD: u8 = 5;

/// Stopped on request (Ctrl-C, SIGTERM) after a committed chunk, as shells report SIGINT.
pub const INTERRUPTED: u8 = 130;

/// An error that ends the process with a given exit code.
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub message: String,
}

impl Exit {
    pub fn new(code: u8, message: impl Into<String>) -> Exit {
        Exit {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// The exit code a cycle's result earns.
pub fn code_of(result: CycleResult) -> u8 {
    match result {
        CycleResult::Succeeded | CycleResult::Stopped => 0,
        CycleResult::PartiallyFailed => OBJECTS_FAILED,
        CycleResult::Interrupted => INTERRUPTED,
        CycleResult::DeletionsHeld | CycleResult::Quarantined | CycleResult::Disabled | CycleResult::Failed => {
            NEEDS_ADMIN
        }
    }
}

/// The process's exit code for an error: an [`Exit`]'s own, else 1.
pub fn code_of_error(e: &anyhow::Error) -> u8 {
    e.downcast_ref::<Exit>().map_or(1, |x| x.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_has_its_code() {
        let cases = [
            (CycleResult::Succeeded, 0),
            (CycleResult::Stopped, 0),
            (CycleResult::PartiallyFailed, 3),
            (CycleResult::DeletionsHeld, 4),
            (CycleResult::Quarantined, 4),
            (CycleResult::Disabled, 4),
            (CycleResult::Failed, 4),
            (CycleResult::Interrupted, 130),
        ];
        for (r, code) in cases {
            assert_eq!(code_of(r), code, "{r:?}");
        }
        assert_eq!(code_of_error(&anyhow::Error::new(Exit::new(3, "x"))), 3);
        assert_eq!(code_of_error(&anyhow::anyhow!("plain")), 1);
    }
}
