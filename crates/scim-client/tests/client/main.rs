//! scim-client against a real scimd server (scim-server + SQLite on 127.0.0.1:0) and
//! against small stub servers for what scimd never answers (204 PATCH, 429, timeouts).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod bulk;
mod harness;
mod live;
mod oauth;
mod stub;
mod tables;
