//! Large initial cycles: the target is read once up front instead of one lookup per
//! create, and managers already created are sent with the create instead of a later PATCH.
//! (With SCIM Bulk off: `bulk_requests.rs` covers the Bulk path.)

use serde_json::json;
use sync_engine::execute::SNAPSHOT_MIN_CREATES;

use crate::harness::*;

/// Users `u0`… (`p{i}@…`), each reporting to `manager(i)`, all members of the assigned group.
fn assigned_users(n: usize, manager: impl Fn(usize) -> Option<usize>) -> Vec<sync_engine::model::SourceObject> {
    let mut dir: Vec<_> = (0..n)
        .map(|i| {
            let m = manager(i).map(|m| format!("u{m}"));
            user(
                &format!("u{i}"),
                &format!("p{i}"),
                "P",
                &format!("N{i}"),
                "Dept",
                m.as_deref(),
            )
        })
        .collect();
    let ids: Vec<String> = (0..n).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    dir.push(group("g-sa", ASSIGNED, &refs));
    dir
}

#[tokio::test]
async fn a_large_initial_cycle_reads_the_target_once_and_sets_managers_at_create() {
    let n = SNAPSHOT_MIN_CREATES + 50;
    // Everyone reports to someone 20 places earlier, so most managers already exist.
    let dir = assigned_users(n, |i| (i >= 20).then(|| i - 20));
    let h = Harness::with(Setup {
        // One chunk: Bulk requests need many creates together.
        chunk: 100_000,
        directory: dir,
        bulk: Some("off"),
        ..Default::default()
    })
    .await;
    // Three users already exist on the target (a brown-field start), one in a different case.
    for (i, name) in [
        (3, "p3@contoso.test"),
        (100, "P100@CONTOSO.TEST"),
        (200, "p200@contoso.test"),
    ] {
        let r = h
            .reader
            .create(
                scim_client::Endpoint::Users,
                &json!({"userName": name, "title": format!("pre-{i}")}),
            )
            .await
            .unwrap();
        assert!(r["id"].is_string());
    }
    h.target.clear_requests();
    let report = h.cycle().await;
    let reqs = h.target.requests();
    let lookups = reqs
        .iter()
        .filter(|r| r.method == "GET" && r.path_and_query.contains("/Users?") && r.path_and_query.contains("filter="))
        .count();
    assert!(lookups <= 1, "only the start-of-cycle probe filters; got {lookups}");
    assert!(reqs.iter().all(|r| !r.path().ends_with("/Bulk")), "bulk = \"off\"");
    let posts = reqs
        .iter()
        .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/Users"))
        .count();
    assert_eq!(posts, n - 3, "the three existing users are matched, not created");
    let users = h.all_users().await;
    assert_eq!(users.len(), n, "no duplicates: {}", users.len());
    let manager_patches = h
        .writes()
        .iter()
        .filter(|w| w.method == "PATCH" && w.body.as_ref().is_some_and(|b| b.to_string().contains("manager")))
        .count();
    assert!(
        manager_patches < (n - 20) / 2,
        "most managers travel with the create: {manager_patches} PATCHes for {} reports",
        n - 20
    );
    // Every report has its manager, whichever way it got there.
    let with_manager = users
        .iter()
        .filter(|u| u[ENTERPRISE]["manager"]["value"].is_string())
        .count();
    assert_eq!(with_manager, n - 20);
    assert_eq!(report.applied.failure, 0);

    let again = h.cycle_fresh().await;
    assert!(
        h.writes().is_empty(),
        "a second cycle sends nothing: {:?}",
        again.counts
    );
}

#[tokio::test]
async fn managers_read_after_their_reports_in_later_chunks_are_set_at_the_end_of_the_cycle() {
    // More users than one planned chunk holds, each reporting to someone read 1,100 places
    // later: when a report's chunk runs, its manager does not exist yet, so the reference
    // waits for the end of the cycle.
    let n = sync_engine::cycle::PLAN_OBJECTS + 300;
    let dir = assigned_users(n, |i| (i + 1100 < n).then(|| i + 1100));
    let h = Harness::with(Setup {
        chunk: 500,
        directory: dir,
        ..Default::default()
    })
    .await;
    let report = h.cycle().await;
    assert_eq!(report.applied.failure, 0);
    let users = h.all_users().await;
    assert_eq!(users.len(), n);
    let id_of = |local: &str| {
        users
            .iter()
            .find(|u| {
                u["userName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&format!("{local}@")))
            })
            .map(|u| u["id"].clone())
            .unwrap()
    };
    let with_manager = users
        .iter()
        .filter(|u| u[ENTERPRISE]["manager"]["value"].is_string())
        .count();
    assert_eq!(with_manager, n - 1100, "every report got its manager");
    let u0 = users
        .iter()
        .find(|u| u["userName"].as_str().is_some_and(|n| n.starts_with("p0@")))
        .unwrap();
    assert_eq!(u0[ENTERPRISE]["manager"]["value"], id_of("p1100"));
    let again = h.cycle_fresh().await;
    assert!(
        h.writes().is_empty(),
        "a second cycle sends nothing: {:?}",
        again.counts
    );
}
