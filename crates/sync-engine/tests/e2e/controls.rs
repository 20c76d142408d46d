//! Provisioning Status On/Off, the per-job lease, and the cycle history.

use std::sync::{Arc, Mutex};

use scim_core::ports::sync::LeaseClaim;
use sync_engine::cycle::{CycleOptions, CycleResult};
use sync_engine::lease::{self, Clock, LEASE_TTL};
use time::{Duration, OffsetDateTime};

use crate::harness::*;

#[tokio::test]
async fn a_job_that_is_off_does_not_run_until_it_is_on() {
    let h = Harness::start().await;
    h.state.set_stopped(JOB, true).await.unwrap();
    let off = h.run(NOW, CycleOptions::default()).await.expect("a report");
    assert_eq!(off.result, CycleResult::Stopped);
    assert!(off.skipped_reason.as_deref().unwrap_or_default().contains("sync start"));
    assert!(
        h.target.requests().is_empty(),
        "nothing was sent: {:?}",
        h.target.requests()
    );
    assert!(
        h.state.cycles(JOB, 10).await.unwrap().is_empty(),
        "a cycle that did not run is not history"
    );
    // A dry run still plans while Off.
    let plan = h
        .run(
            NOW,
            CycleOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(plan.counts.create, 7);

    h.state.set_stopped(JOB, false).await.unwrap();
    let on = h.cycle().await;
    assert_eq!(on.result, CycleResult::Succeeded);
    assert_eq!(h.users().await.len(), 5);
}

#[tokio::test]
async fn the_history_has_one_record_per_cycle_with_its_kind_worker_and_counts() {
    let h = Harness::start().await;
    let first = h.cycle().await;
    h.edit(|d| set_attr(d, "u-ada", "department", serde_json::json!("Analytics")));
    let second = h
        .run(NOW + Duration::minutes(40), CycleOptions::default())
        .await
        .unwrap();
    h.source.fail(Some("directory down"));
    let _ = h
        .run(NOW + Duration::minutes(80), CycleOptions::default())
        .await
        .expect_err("stops");
    h.source.fail(None);
    let od = h
        .run(
            NOW + Duration::minutes(90),
            CycleOptions {
                only: Some((sync_engine::model::ObjectKind::User, "u-out".into())),
                force: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let cycles = h.state.cycles(JOB, 10).await.unwrap();
    let got: Vec<(&str, &str, &str)> = cycles
        .iter()
        .map(|c| (c.cycle_id.as_str(), c.kind.as_str(), c.result.as_str()))
        .collect();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0], (od.cycle_id.as_str(), "on_demand", "succeeded"));
    assert_eq!((got[1].1, got[1].2), ("incremental", "failed"));
    assert_eq!(got[2], (second.cycle_id.as_str(), "incremental", "succeeded"));
    assert_eq!(got[3], (first.cycle_id.as_str(), "initial", "succeeded"));
    assert!(cycles.iter().all(|c| c.worker == "e2e-host:1"));
    let counts: serde_json::Value = serde_json::from_str(&cycles[3].counts).unwrap();
    assert_eq!(counts["Create"]["Success"], 7, "{counts}");
    let counts: serde_json::Value = serde_json::from_str(&cycles[2].counts).unwrap();
    assert_eq!(counts, serde_json::json!({"Update": {"Success": 1}}));
    assert_eq!(cycles[3].started, scim_core::Timestamp::new(NOW));
    assert!(cycles[3].finished >= cycles[3].started);
}

/// A clock the test moves.
fn clock_at(t: OffsetDateTime) -> (Clock, Arc<Mutex<OffsetDateTime>>) {
    let now = Arc::new(Mutex::new(t));
    let c = now.clone();
    (Arc::new(move || *c.lock().unwrap()), now)
}

#[tokio::test]
async fn one_worker_holds_a_job_and_a_dead_ones_lease_runs_out() {
    let h = Harness::start().await;
    let (clock, now) = clock_at(NOW);
    let a = lease::acquire(h.state.clone(), JOB, "a:1", clock.clone(), LEASE_TTL)
        .await
        .unwrap()
        .expect("a gets the lease");
    let held = lease::acquire(h.state.clone(), JOB, "b:2", clock.clone(), LEASE_TTL)
        .await
        .unwrap()
        .err()
        .expect("b is refused");
    assert_eq!(held.holder, "a:1");
    assert_eq!(held.until, scim_core::Timestamp::new(NOW + LEASE_TTL));

    // a renews 50 s in: at 70 s b is still refused (without the renewal it would have won).
    *now.lock().unwrap() = NOW + Duration::seconds(50);
    assert!(a.renew_now().await);
    let at70 = scim_core::Timestamp::new(NOW + Duration::seconds(70));
    let claim = h.state.claim_lease(JOB, "b:2", at70, at70).await.unwrap();
    assert!(
        matches!(claim, LeaseClaim::Held(ref l) if l.holder == "a:1"),
        "{claim:?}"
    );

    // a dies (stops renewing): once its lease ran out, b takes the job over, and a learns it
    // lost the lease when it next renews.
    let after = scim_core::Timestamp::new(NOW + Duration::seconds(110));
    let claim = h.state.claim_lease(JOB, "b:2", after, after).await.unwrap();
    assert_eq!(claim, LeaseClaim::Acquired);
    assert!(!a.renew_now().await);
    assert!(a.lost());
    a.release().await;
    assert_eq!(
        h.state.control(JOB).await.unwrap().lease.unwrap().holder,
        "b:2",
        "a cannot release b's lease"
    );
}

#[tokio::test]
async fn the_running_cycles_progress_is_stored_until_it_ends() {
    use sync_engine::execute::{NoProgress, Progress};
    use sync_engine::progress::{self, Snapshot, Tracker};
    let h = Harness::start().await;
    let tracker = Tracker::new(Arc::new(NoProgress));
    tracker.started("objects", 10);
    tracker.advanced(3);
    let stored = progress::store(h.state.clone(), JOB, tracker.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let snap: Snapshot = loop {
        // The first write happens at once; later ones every STORE_EVERY.
        if let Some(p) = h.state.control(JOB).await.unwrap().progress {
            break serde_json::from_str(&p).unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "progress never stored");
        tokio::task::yield_now().await;
    };
    assert_eq!((snap.pass.as_str(), snap.processed, snap.total), ("objects", 3, 10));
    assert!(snap.rate > 0.0 && snap.eta_seconds.is_some(), "{snap:?}");
    stored.finish().await;
    assert_eq!(
        h.state.control(JOB).await.unwrap().progress,
        None,
        "cleared when the cycle ends"
    );
}

#[tokio::test]
async fn log_records_name_the_object_and_say_what_initiated_them() {
    use scim_core::ports::sync::ClearScope;
    let h = Harness::start().await;
    let first = h.cycle().await;
    let logs = h.cycle_logs(&first.cycle_id).await;
    let ada = logs
        .iter()
        .find(|l| l.source_id == "u-ada" && l.action == "Create")
        .expect("ada's create");
    assert_eq!(ada.initiated_by, "cycle");
    assert_eq!(ada.source_display, "ada@contoso.test");
    assert_eq!(ada.target_display.as_deref(), Some("ada@contoso.test"));
    let group = logs
        .iter()
        .find(|l| l.source_id == "g-sa" && l.action == "Create")
        .expect("the group");
    assert_eq!(group.target_display.as_deref(), Some(ASSIGNED));
    assert!(logs.iter().all(|l| l.duration_ms < 60_000), "durations are plausible");

    // Restart: the state is cleared, and the next (initial) cycle says so.
    h.state
        .clear(
            JOB,
            ClearScope {
                state: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let again = h.cycle().await;
    assert_eq!(again.kind, "initial");
    let logs = h.cycle_logs(&again.cycle_id).await;
    assert!(
        !logs.is_empty() && logs.iter().all(|l| l.initiated_by == "restart"),
        "{again:#?} {logs:#?}"
    );
    h.edit(|d| set_attr(d, "u-ada", "department", serde_json::json!("Analytics")));
    let od = h
        .run(
            NOW,
            CycleOptions {
                only: Some((sync_engine::model::ObjectKind::User, "u-ada".into())),
                force: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let logs = h.cycle_logs(&od.cycle_id).await;
    assert_eq!(logs.len(), 1, "{logs:#?}");
    assert_eq!(
        (logs[0].action.as_str(), logs[0].initiated_by.as_str()),
        ("Update", "on_demand")
    );
}

#[tokio::test]
async fn a_stop_request_ends_the_cycle_after_the_chunk_in_flight() {
    use std::sync::atomic::Ordering;
    let h = Harness::start().await; // chunks of three actions
    h.rt.stop.store(true, Ordering::Relaxed);
    let stopped = h.run(NOW, CycleOptions::default()).await.expect("a report");
    assert_eq!(stopped.result, CycleResult::Interrupted);
    assert_eq!(stopped.applied.success, 3, "one chunk ran: {stopped:?}");
    assert_eq!(h.links().await.len(), 3, "and is committed");
    let status = h.status().await;
    assert!(!status.initial_done, "an interrupted cycle completes nothing");
    let history = h.state.cycles(JOB, 10).await.unwrap();
    assert_eq!(history[0].result, "interrupted");

    h.rt.stop.store(false, Ordering::Relaxed);
    let next = h.cycle_fresh().await;
    assert_eq!(next.kind, "initial");
    assert_eq!(next.counts.create, 7 - 3, "the committed chunk is not planned again");
    assert_eq!(h.users().await.len(), 5);
    assert!(h.status().await.initial_done);
}

/// Records each pass's total and how far it advanced.
#[derive(Default)]
struct Passes(Mutex<Vec<(String, usize, usize)>>);

impl sync_engine::execute::Progress for Passes {
    fn started(&self, pass: &str, total: usize) {
        self.0.lock().unwrap().push((pass.to_string(), total, 0));
    }

    fn advanced(&self, n: usize) {
        if let Some(last) = self.0.lock().unwrap().last_mut() {
            last.2 += n;
        }
    }
}

#[tokio::test]
async fn the_progress_of_the_objects_pass_counts_every_object_read_once() {
    let h = Harness::start().await;
    let passes = Passes::default();
    let report = h
        .run_with(NOW, CycleOptions::default(), &passes)
        .await
        .expect("a cycle");
    assert!(
        report.counts.references > 0,
        "managers and members are part of this cycle"
    );
    let passes = passes.0.into_inner().unwrap();
    let objects = passes.iter().find(|p| p.0 == "objects").expect("an objects pass");
    assert_eq!(objects.1, report.counts.read, "the total is what was read");
    assert_eq!(
        objects.2, objects.1,
        "processed ends at the total, never past it: {passes:?}"
    );
}
