//! Runs the public store conformance suite (`scim_store::conformance`) on every backend
//! this machine has: SQLite always, PostgreSQL when `SCIMD_TEST_PG_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::sync::Arc;

use scim_store::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/conformance.db", dir.path().display());
    scim_store::conformance::run(move || {
        let url = url.clone();
        async move {
            let db: Arc<dyn Backend> = scim_store::open(&url, &Default::default()).await.expect("open sqlite");
            db
        }
    })
    .await;
}

/// Runs when `SCIMD_TEST_PG_URL` names a PostgreSQL server (CI sets it); each run uses a
/// scratch schema that is dropped afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_passes_the_conformance_suite() {
    let Some(scratch) = scim_store::testing::PgScratch::new().await else {
        eprintln!("SCIMD_TEST_PG_URL is not set; PostgreSQL conformance not run");
        return;
    };
    let url = scratch.url.clone();
    scim_store::conformance::run(move || {
        let url = url.clone();
        async move {
            let db: Arc<dyn Backend> = scim_store::open(&url, &Default::default())
                .await
                .expect("open postgres");
            db
        }
    })
    .await;
    drop(scratch);
}
