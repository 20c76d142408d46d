//! Target errors: escrow and retry, a 429 storm, quarantine on 401.

use scim_core::ports::sync::ClearScope;
use serde_json::json;
use sync_engine::cycle::CycleOptions;
use sync_engine::quarantine::REASON_CREDENTIALS;
use sync_testkit::{FaultAction, fault};
use time::Duration;

use crate::harness::*;

fn newcomer(d: &mut Vec<sync_engine::model::SourceObject>) {
    d.push(user("u-new", "newbie", "Nina", "Newcomer", "Support", None));
    members_mut(d, "g-sa").push("u-new".into());
}

#[tokio::test]
async fn a_failed_create_is_escrowed_and_retried_next_cycle() {
    let h = Harness::start().await;
    h.cycle().await;
    h.edit(newcomer);
    // Every try of the newcomer's POST answers 500 (the executor tries three times).
    h.target.inject(fault("POST", "/Users", 3, FaultAction::Status(500)));

    let failed = h.cycle_lenient().await;
    assert!(h.target.faults().is_empty(), "all three tries were refused");
    assert_eq!(failed.applied.failure, 1, "{failed:?}");
    assert!(h.user("newbie").await.is_none());
    let escrows = h.escrows().await;
    assert_eq!(escrows.len(), 1, "{escrows:?}");
    assert_eq!(
        (escrows[0].kind.as_str(), escrows[0].source_id.as_str()),
        ("user", "u-new")
    );
    assert_eq!(escrows[0].error_code, "TargetServerError");
    assert_eq!(escrows[0].attempts, 1);
    let logs = h.cycle_logs(&failed.cycle_id).await;
    let rec = logs
        .iter()
        .find(|l| l.source_id == "u-new" && l.status == "Failure")
        .expect("a Failure record");
    assert_eq!(rec.action, "Create");
    assert_eq!(rec.error_code.as_deref(), Some("TargetServerError"));
    assert!(
        rec.error_message.as_deref().unwrap_or_default().contains("500"),
        "{rec:?}"
    );
    let status = h.status().await;
    assert_eq!(status.quarantine_reason, None, "one failure does not quarantine");

    let retried = h.cycle_fresh().await;
    assert!(h.escrows().await.is_empty(), "the escrow is cleared on success");
    let newbie = h.user("newbie").await.expect("created on retry");
    assert_eq!(h.target_id("u-new").await, newbie["id"].as_str().unwrap());
    assert!(
        h.member_ids(ASSIGNED).await.contains(&h.target_id("u-new").await),
        "the membership follows the retried user"
    );
    let logs = h.cycle_logs(&retried.cycle_id).await;
    assert!(
        logs.iter()
            .any(|l| l.source_id == "u-new" && l.action == "Create" && l.status == "Success")
    );
    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "{:?}", h.writes());
}

#[tokio::test]
async fn a_429_storm_completes_without_failures() {
    let h = Harness::start().await;
    h.target
        .inject(fault("", "", 3, FaultAction::TooManyRequests { retry_after_secs: 1 }));
    h.target
        .inject(fault("", "", 40, FaultAction::TooManyRequests { retry_after_secs: 0 }));

    let report = h.cycle().await;
    assert!(h.target.faults().is_empty(), "every 429 was answered");
    assert_eq!(report.applied.failure, 0, "{report:?}");
    assert!(report.throttled > 0);
    // Every 429 after the cycle's connection probe is counted as throttling.
    let requests = h.target.requests();
    let answered_429 = requests.iter().skip(1).filter(|r| r.status == 429).count() as u64;
    assert_eq!(report.throttled, answered_429);
    assert_eq!(h.users().await.len(), ASSIGNED_USERS);
    assert_eq!(h.member_ids("Team Red").await.len(), 2);
    assert!(h.escrows().await.is_empty());
    let status = h.status().await;
    assert_eq!(
        status.quarantine_reason, None,
        "throttling is not counted toward quarantine"
    );
    assert!(h.logs().await.iter().all(|l| l.status != "Failure"));
    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "{:?}", h.writes());
}

#[tokio::test]
async fn bad_credentials_quarantine_the_job_until_forced_or_lifted() {
    let hook = HookServer::start().await;
    let h = Harness::with(Setup {
        webhook: Some((hook.url.clone(), whsec("q-secret"))),
        ..Default::default()
    })
    .await;
    h.cycle().await;
    h.target.inject(fault("", "", 100_000, FaultAction::Unauthorized));

    let err = h
        .run(NOW, CycleOptions::default())
        .await
        .expect_err("401 fails the cycle");
    assert_eq!(err.code(), "TargetUnauthorized");
    let status = h.status().await;
    assert_eq!(status.quarantine_reason.as_deref(), Some(REASON_CREDENTIALS));
    assert_eq!(
        status.next_run,
        Some(scim_core::Timestamp::new(NOW + Duration::hours(6)))
    );
    assert_eq!(status.quarantine_attempts, 1);
    let notices = hook.received();
    assert_eq!(notices.len(), 1, "entering quarantine notifies once");
    assert_eq!(notices[0].event_header.as_deref(), Some("quarantine"));
    let body: serde_json::Value = serde_json::from_slice(&notices[0].body).unwrap();
    assert_eq!(body["reason"], REASON_CREDENTIALS);
    assert!(notices[0].signed_by(&whsec("q-secret"), NOW));

    // An hour later the cycle is skipped without a single request.
    h.target.clear_requests();
    let skipped = h
        .run(NOW + Duration::hours(1), CycleOptions::default())
        .await
        .expect("skipped");
    assert!(skipped.skipped_reason.is_some());
    assert_eq!(skipped.quarantine.as_deref(), Some(REASON_CREDENTIALS));
    assert!(h.target.requests().is_empty(), "{:?}", h.target.requests());

    // `force` runs anyway (and is refused again).
    let forced = CycleOptions {
        force: true,
        ..Default::default()
    };
    assert!(h.run(NOW + Duration::hours(1), forced).await.is_err());
    assert!(!h.target.requests().is_empty(), "force reached the target");
    let status = h.status().await;
    assert_eq!(status.quarantine_attempts, 2);
    assert_eq!(
        status.next_run,
        Some(scim_core::Timestamp::new(NOW + Duration::hours(13))),
        "then +12 h"
    );
    assert_eq!(hook.received().len(), 1, "the same reason does not notify again");

    // Lifting by command: the next cycle runs at once and succeeds.
    let lift = ClearScope {
        quarantine: true,
        ..Default::default()
    };
    h.state.clear(JOB, lift).await.expect("lift");
    assert_eq!(h.status().await.quarantine_reason, None);
    h.target.clear_faults();
    h.edit(|d| set_attr(d, "u-ada", "department", json!("Mathematics")));
    let report = h
        .run(NOW + Duration::hours(1), CycleOptions::default())
        .await
        .expect("runs");
    assert_eq!(report.skipped_reason, None);
    assert_eq!(report.quarantine, None);
    assert_eq!(h.user("ada").await.unwrap()[ENTERPRISE]["department"], "Mathematics");
}

#[tokio::test]
async fn quarantine_back_off_lets_a_cycle_run_once_the_time_has_passed() {
    let h = Harness::start().await;
    h.target.inject(fault("", "", 100_000, FaultAction::Unauthorized));
    assert!(h.run(NOW, CycleOptions::default()).await.is_err());
    assert_eq!(h.status().await.quarantine_reason.as_deref(), Some(REASON_CREDENTIALS));
    h.target.clear_faults();
    assert!(h.users().await.is_empty(), "nothing was created under 401");

    let early = h
        .run(NOW + Duration::minutes(359), CycleOptions::default())
        .await
        .expect("skipped");
    assert!(early.skipped_reason.is_some(), "still backing off");
    assert!(h.users().await.is_empty());

    let due = h
        .run(NOW + Duration::hours(6), CycleOptions::default())
        .await
        .expect("runs");
    assert_eq!(due.skipped_reason, None);
    assert_eq!(due.applied.failure, 0);
    assert_eq!(h.users().await.len(), ASSIGNED_USERS);
    let status = h.status().await;
    assert_eq!(status.quarantine_reason, None, "a successful cycle lifts quarantine");
    assert_eq!(status.next_run, None);
}

#[tokio::test]
async fn repeated_failures_back_off_before_the_next_retry() {
    let h = Harness::start().await;
    h.cycle().await;
    // The newcomer reports to Ada, so a manager reference follows its create.
    h.edit(|d| {
        newcomer(d);
        set_attr(d, "u-new", "manager", json!("u-ada"));
    });
    h.target.inject(fault("POST", "/Users", 6, FaultAction::Status(503)));
    assert_eq!(h.cycle_lenient().await.applied.failure, 1);
    assert_eq!(h.cycle_lenient().await.applied.failure, 1);
    assert!(h.target.faults().is_empty());
    let escrows = h.escrows().await;
    assert_eq!(escrows.len(), 1, "{escrows:?}");
    assert_eq!(escrows[0].attempts, 2);
    assert_eq!(
        escrows[0].next_attempt,
        scim_core::Timestamp::new(NOW + Duration::hours(1)),
        "second retry after 1 h"
    );

    // Held back at NOW: not even tried.
    let held = h.cycle_fresh().await;
    assert!(h.writes().iter().all(|w| w.method != "POST"), "{:?}", h.writes());
    assert_eq!(held.applied.failure, 0);
    assert_eq!(h.escrows().await.len(), 1, "still escrowed");

    // An hour later it is retried and succeeds, manager included.
    h.target.clear_requests();
    let report = h
        .run(NOW + Duration::hours(1), CycleOptions::default())
        .await
        .expect("cycle");
    assert_eq!(report.applied.failure, 0);
    assert!(h.escrows().await.is_empty());
    let newbie = h.user("newbie").await.expect("created");
    assert_eq!(
        newbie[ENTERPRISE]["manager"]["value"],
        h.target_id("u-ada").await.as_str()
    );
}
