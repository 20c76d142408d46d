//! The deletion threshold with its signed webhook, and dry runs.

use sync_engine::cycle::{CycleOptions, plan_cycle};
use sync_engine::plan::Op;

use crate::harness::*;

const SECRET: &str = "hook-secret";

#[tokio::test]
async fn the_deletion_threshold_stages_deletes_notifies_and_allow_deletes_applies_them() {
    let hook = HookServer::start().await;
    let h = Harness::with(Setup {
        safety: "deletion_threshold = 2".into(),
        webhook: Some((hook.url.clone(), whsec(SECRET))),
        ..Default::default()
    })
    .await;
    h.cycle().await;
    assert!(hook.received().is_empty(), "no notice for a normal cycle");
    let gone = ["u-alan", "u-linus", "u-margaret"];
    h.edit(|d| gone.iter().for_each(|id| remove_user(d, id)));

    let report = h.cycle_fresh().await;
    assert!(report.threshold_tripped);
    assert_eq!(report.staged, 3);
    let writes = h.writes();
    assert!(writes.iter().all(|w| w.method != "DELETE"), "{writes:?}");
    assert!(
        writes.iter().all(|w| !w.path().contains("/Users")),
        "no user is deleted or disabled: {writes:?}"
    );
    for local in ["alan", "linus", "margaret"] {
        assert_eq!(h.user(local).await.expect("still there")["active"], true);
    }
    let logs = h.cycle_logs(&report.cycle_id).await;
    let mut staged: Vec<&str> = logs
        .iter()
        .filter(|l| l.action == "StagedDelete")
        .map(|l| {
            assert_eq!(l.status, "Skipped");
            l.source_id.as_str()
        })
        .collect();
    staged.sort();
    assert_eq!(staged, gone);
    assert_eq!(h.links().await.len(), ASSIGNED_USERS + 2, "staged objects stay linked");

    // The webhook got one signed notice.
    let received = hook.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let notice = &received[0];
    assert!(
        notice.signed_by(&whsec(SECRET), NOW),
        "the Standard Webhooks signature checks out"
    );
    assert!(!notice.signed_by(&whsec("wrong"), NOW));
    assert_eq!(notice.event_header.as_deref(), Some("deletion_threshold"));
    let body: serde_json::Value = serde_json::from_slice(&notice.body).expect("JSON body");
    assert_eq!(body["event"], "deletion_threshold");
    assert_eq!(body["job"], JOB);
    assert_eq!(body["details"]["planned"], 3);

    // Without permission the next cycle holds them again; with it they are applied.
    let again = h.cycle_fresh().await;
    assert!(again.threshold_tripped);
    assert!(h.writes().iter().all(|w| w.method != "DELETE"));
    h.target.clear_requests();
    let allow = CycleOptions {
        allow_deletes: true,
        ..Default::default()
    };
    let applied = h.run(NOW, allow).await.expect("cycle");
    assert!(!applied.threshold_tripped);
    assert_eq!(applied.counts.delete, 3);
    assert_eq!(h.writes().iter().filter(|w| w.method == "DELETE").count(), 3);
    for local in ["alan", "linus", "margaret"] {
        assert!(h.user(local).await.is_none(), "{local} deleted");
    }
    assert_eq!(h.users().await.len(), ASSIGNED_USERS - 3);
    assert_eq!(h.links().await.len(), ASSIGNED_USERS - 3 + 2);
}

#[tokio::test]
async fn the_percentage_threshold_counts_scope_loss_disables() {
    let h = Harness::with(Setup {
        safety: "deletion_threshold_percent = 20.0".into(),
        ..Default::default()
    })
    .await;
    h.cycle().await;
    // Two of seven managed objects (29 %) leave scope, one of them Alan's and Grace's manager.
    h.edit(|d| members_mut(d, "g-sa").retain(|m| m != "u-linus" && m != "u-ada"));
    let report = h.cycle_fresh().await;
    assert!(report.threshold_tripped);
    assert_eq!(report.staged, 2);
    assert!(
        h.writes().iter().all(|w| !w.path().contains("/Users")),
        "{:?}",
        h.writes()
    );
    assert_eq!(h.user("linus").await.unwrap()["active"], true);
    let ada = h.target_id("u-ada").await;
    assert_eq!(
        h.user("alan").await.unwrap()[ENTERPRISE]["manager"]["value"],
        ada.as_str()
    );

    // One of seven (14 %) passes.
    h.edit(|d| members_mut(d, "g-sa").push("u-ada".into()));
    let report = h.cycle_fresh().await;
    assert!(!report.threshold_tripped);
    assert_eq!(h.user("linus").await.unwrap()["active"], false);
}

#[tokio::test]
async fn a_dry_run_changes_nothing_on_the_target_or_in_state() {
    let h = Harness::start().await;
    let mut n = 0u64;
    let mut rng = move || {
        n += 1;
        n
    };
    let (plan, status) = plan_cycle(&h.job, &h.rt, NOW, &mut rng).await.expect("plan");
    assert_eq!(plan.counts.create, ASSIGNED_USERS + 2);
    assert_eq!(plan.counts.read, 8);
    assert!(!status.initial_done);
    let report = h
        .run(
            NOW,
            CycleOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .expect("dry run");
    assert!(report.dry_run);
    assert_eq!(
        report.plan.as_ref().expect("the plan").counts.create,
        ASSIGNED_USERS + 2
    );
    assert!(
        h.target.requests().is_empty(),
        "not even a read: {:?}",
        h.target.requests()
    );
    assert!(h.users().await.is_empty());
    assert!(h.links().await.is_empty());
    assert!(h.logs().await.is_empty());
    assert!(!h.status().await.initial_done);

    // After a real cycle, a dry run over changes shows them and still changes nothing.
    h.cycle().await;
    let (links, logs, status) = (h.links().await, h.logs().await.len(), h.status().await);
    h.edit(|d| {
        set_attr(d, "u-alan", "department", serde_json::json!("Logic"));
        remove_user(d, "u-linus");
    });
    h.target.clear_requests();
    let (plan, _) = plan_cycle(&h.job, &h.rt, NOW, &mut rng).await.expect("plan");
    assert_eq!((plan.counts.update, plan.counts.delete), (1, 1), "{:?}", plan.counts);
    assert!(
        plan.actions
            .iter()
            .any(|a| a.source_id == "u-linus" && matches!(a.op, Op::Delete { .. }))
    );
    let report = h
        .run(
            NOW,
            CycleOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .expect("dry run");
    assert_eq!(report.counts.update, 1);
    assert!(h.writes().is_empty(), "{:?}", h.writes());
    assert_eq!(h.links().await, links);
    assert_eq!(h.logs().await.len(), logs);
    assert_eq!(h.status().await, status);
    assert_eq!(h.user("alan").await.unwrap()[ENTERPRISE]["department"], "Research");
    assert!(h.user("linus").await.is_some());
}
