//! End-to-end tests of the provisioning engine against a real scimd on 127.0.0.1:0
//! (`sync_testkit::FaultyTarget`), asserting on the target's state, the recorded requests,
//! and the engine's state and provisioning log.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod harness;

mod bulk;
mod bulk_requests;
mod controls;
mod email;
mod faults;
mod groups;
mod isolation;
mod lifecycle;
mod matching;
mod ondemand;
mod references;
mod safety;
mod unique;
