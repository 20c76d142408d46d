//! HTTP integration tests: a real `scim-server` on `127.0.0.1:0` over a real SQLite file,
//! driven with reqwest. One test binary (modules below) keeps link time down.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod harness;

mod abuse;
mod admin;
mod audit;
mod basics;
mod bulk;
mod entra_quirks;
mod entra_rules;
mod errors;
mod events;
mod groups;
mod large_groups;
mod limits;
mod oauth;
mod paging;
mod patch_extras;
mod patch_shapes;
mod queries;
mod requests;
mod tls;
mod transport;
mod webhooks;
