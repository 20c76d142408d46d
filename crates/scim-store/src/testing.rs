//! Test support for PostgreSQL: a scratch schema per test, so tests can run side by side on
//! one server and leave nothing behind. The tests of this workspace read the server from
//! `SCIMD_TEST_PG_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`).

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that points tests at a PostgreSQL server.
pub const PG_ENV: &str = "SCIMD_TEST_PG_URL";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A schema created for one test; dropped (with everything in it) when this is dropped.
pub struct PgScratch {
    /// A database URL whose connections use only the scratch schema.
    pub url: String,
    server: String,
    schema: String,
}

impl PgScratch {
    /// `None` when `SCIMD_TEST_PG_URL` is not set. Panics if the server cannot be reached
    /// (a test helper: a set but broken URL must fail the test, not skip it).
    pub async fn new() -> Option<PgScratch> {
        let server = std::env::var(PG_ENV).ok().filter(|s| !s.is_empty())?;
        let schema = format!(
            "scimd_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        run(&server, &format!("CREATE SCHEMA {schema}")).await;
        let sep = if server.contains('?') { '&' } else { '?' };
        let url = format!("{server}{sep}options=-csearch_path%3D{schema}");
        Some(PgScratch { url, server, schema })
    }
}

async fn run(server: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{PG_ENV}={server}: cannot connect: {e}"));
    let task = tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    drop(client);
    let _ = task.await;
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        let (server, sql) = (
            self.server.clone(),
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
        );
        // Drop may run inside a runtime; a thread with its own runtime works either way.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(run(&server, &sql));
            }
        })
        .join();
    }
}
