//! Alone in its binary: it counts this process's threads, so no other test may run beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

/// The writer and checkpoint threads belong to the handle: dropping it stops them.
#[tokio::test]
async fn dropping_a_sqlite_handle_stops_its_threads() {
    fn threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("scimd-sqlite"))
            .count()
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/drop.db", dir.path().display());
    let before = threads();
    let db = scim_store::open(&url, &Default::default()).await.unwrap();
    db.create_tenant("t", scim_core::Timestamp::EPOCH).await.unwrap();
    assert_eq!(threads(), before + 2, "a writer and a checkpointer");
    drop(db);
    // Drop has joined both threads. The kernel wakes a joiner as a thread exits but lists
    // the task in /proc until it has finished exiting, a moment later; wait out only that.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while threads() != before && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(threads(), before, "both stopped and joined");
    // The committed write is there for the next handle.
    let db = scim_store::open(&url, &Default::default()).await.unwrap();
    assert!(db.tenant("t").await.unwrap().is_some());
}
