//! Provision on demand: one user, with the step trace.

use sync_engine::ondemand::provision;

use crate::harness::*;

#[tokio::test]
async fn provision_on_demand_creates_just_that_user_with_a_step_trace() {
    let h = Harness::start().await;
    let mut n = 0u64;
    let mut rng = move || {
        n += 1;
        n
    };
    let trace = provision(&h.job, &h.rt, "u-alan", NOW, &mut rng)
        .await
        .expect("provision");
    assert_eq!(trace.user, "u-alan");
    assert_eq!(
        (trace.action.as_str(), trace.status.as_str()),
        ("Create", "Success"),
        "{trace:?}"
    );
    let names: Vec<&str> = trace.steps.iter().map(|s| s.name.as_str()).collect();
    for want in ["Import", "Determine scope", "Match", "Provision"] {
        assert!(names.contains(&want), "step {want} missing from {names:?}");
    }
    let pos = |n: &str| names.iter().position(|s| *s == n).unwrap();
    assert!(pos("Import") < pos("Determine scope") && pos("Determine scope") < pos("Match"));
    assert!(pos("Match") < pos("Provision"));
    assert!(
        trace
            .steps
            .iter()
            .filter(|s| s.name == "Determine scope")
            .all(|s| s.status == "Success"),
        "{trace:?}"
    );

    let users = h.users().await;
    assert_eq!(users.len(), 1, "only that user: {users:?}");
    assert_eq!(users[0]["userName"], "alan@contoso.test");
    assert_eq!(h.target_id("u-alan").await, users[0]["id"].as_str().unwrap());
    assert!(h.group(ASSIGNED).await.is_none(), "no group is provisioned");
    let posts = h.writes().iter().filter(|w| w.method == "POST").count();
    assert_eq!(posts, 1);

    // An out-of-scope user is not provisioned, and the trace says why.
    let trace = provision(&h.job, &h.rt, "u-out", NOW, &mut rng)
        .await
        .expect("provision");
    assert_eq!(trace.status, "Skipped", "{trace:?}");
    assert!(
        trace
            .steps
            .iter()
            .any(|s| s.name == "Determine scope" && s.status == "Skipped"),
        "{trace:?}"
    );
    assert_eq!(h.users().await.len(), 1);

    // A later full cycle links the rest without duplicating alan.
    h.cycle().await;
    assert_eq!(h.users().await.len(), ASSIGNED_USERS);
    assert_eq!(h.target_id("u-alan").await, users[0]["id"].as_str().unwrap());
}
