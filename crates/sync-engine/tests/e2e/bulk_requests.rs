//! SCIM Bulk for large initial loads: creates the snapshot shows need a POST go as
//! `POST /Bulk` requests; whatever fails there (a whole request, or one operation) is
//! created on its own through the single path, which looks it up live first.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value as Json, json};
use sync_engine::execute::BULK_MAX_OPERATIONS;
use sync_engine::model::SourceObject;
use sync_testkit::{FaultAction, Recorded, fault};

use crate::harness::*;

/// `n` assigned users `u{i}` (`p{i}@contoso.test`), each reporting to the user 20 places
/// earlier, all members of the assigned group.
fn staff(n: usize) -> Vec<SourceObject> {
    let mut dir: Vec<SourceObject> = (0..n)
        .map(|i| {
            let manager = (i >= 20).then(|| format!("u{}", i - 20));
            let (id, local) = (format!("u{i}"), format!("p{i}"));
            user(&id, &local, "P", &format!("N{i}"), "Dept", manager.as_deref())
        })
        .collect();
    let ids: Vec<String> = dir.iter().map(|u| u.id.clone()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    dir.push(group("g-sa", ASSIGNED, &refs));
    dir
}

async fn harness(directory: Vec<SourceObject>) -> Harness {
    Harness::with(Setup {
        // One chunk: Bulk requests need many creates together.
        chunk: 100_000,
        directory,
        ..Default::default()
    })
    .await
}

fn bulk_posts(reqs: &[Recorded]) -> Vec<&Recorded> {
    reqs.iter()
        .filter(|r| r.method == "POST" && r.path().ends_with("/Bulk"))
        .collect()
}

fn user_posts(reqs: &[Recorded]) -> usize {
    reqs.iter()
        .filter(|r| r.method == "POST" && r.path().ends_with("/Users"))
        .count()
}

/// Live `userName eq` lookups, without the start-of-cycle probe (a random GUID).
fn lookups(reqs: &[Recorded]) -> usize {
    reqs.iter()
        .filter(|r| {
            r.method == "GET" && r.path_and_query.contains("filter=userName") && r.path_and_query.contains("contoso")
        })
        .count()
}

fn operations(r: &Recorded) -> Vec<Json> {
    r.body
        .as_ref()
        .and_then(|b| b["Operations"].as_array().cloned())
        .unwrap_or_default()
}

/// Every user on the target exactly once per source user: `n` users, distinct userNames
/// (case-insensitively), each source user linked to the one with its userName.
async fn assert_each_created_once(h: &Harness, n: usize) {
    let users = h.all_users().await;
    assert_eq!(users.len(), n, "one target user per source user");
    let names: HashSet<String> = users
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_lowercase())
        .collect();
    assert_eq!(names.len(), n, "no duplicates");
    let links = h.links().await;
    assert_eq!(links.iter().filter(|l| l.kind == "user").count(), n);
    for l in links.iter().filter(|l| l.kind == "user") {
        let u = users.iter().find(|u| u["id"] == l.target_id.as_str());
        let u = u.unwrap_or_else(|| panic!("{} links to a missing {}", l.source_id, l.target_id));
        let want = format!("p{}@contoso.test", &l.source_id[1..]);
        assert_eq!(u["userName"].as_str().unwrap().to_lowercase(), want);
    }
}

async fn assert_second_cycle_is_a_no_op(h: &Harness) {
    let again = h.cycle_fresh().await;
    assert!(
        h.writes().is_empty(),
        "a second cycle sends nothing: {:?}",
        again.counts
    );
}

#[tokio::test]
async fn an_initial_load_goes_by_bulk_requests_with_links_and_managers() {
    let n = 300;
    let h = harness(staff(n)).await;
    // Two users exist already (one in another case): the snapshot matches them.
    for name in ["p5@contoso.test", "P150@CONTOSO.TEST"] {
        let r = h
            .reader
            .create(scim_client::Endpoint::Users, &json!({"userName": name}))
            .await;
        assert!(r.unwrap()["id"].is_string());
    }
    h.target.clear_requests();
    let report = h.cycle().await;
    let reqs = h.target.requests();

    let bulks = bulk_posts(&reqs);
    assert_eq!(
        bulks.len(),
        (n - 2).div_ceil(BULK_MAX_OPERATIONS),
        "{} Bulk requests",
        bulks.len()
    );
    assert_eq!(user_posts(&reqs), 0, "no single POST /Users");
    assert_eq!(lookups(&reqs), 0, "the snapshot answers every match");
    let mut sent = Vec::new();
    for b in &bulks {
        assert_eq!(b.status, 200);
        let ops = operations(b);
        assert!(ops.len() <= BULK_MAX_OPERATIONS, "{}", ops.len());
        assert!(b.body.as_ref().unwrap().to_string().len() <= 1_048_576);
        for op in ops {
            assert_eq!(
                (op["method"].as_str(), op["path"].as_str()),
                (Some("POST"), Some("/Users"))
            );
            sent.push(op["data"]["userName"].as_str().unwrap().to_string());
        }
    }
    let distinct: HashSet<&String> = sent.iter().collect();
    assert_eq!((sent.len(), distinct.len()), (n - 2, n - 2), "each create sent once");
    assert!(!sent.iter().any(|u| u == "p5@contoso.test" || u == "p150@contoso.test"));
    assert_each_created_once(&h, n).await;

    // Managers: by bulkId within a request, by target id across requests; only the two
    // matched users and the reports of those get a manager PATCH.
    let users = h.all_users().await;
    let links = h.links().await;
    let target_of = |s: &str| links.iter().find(|l| l.source_id == s).unwrap().target_id.clone();
    for i in 20..n {
        let u = users
            .iter()
            .find(|u| u["id"] == target_of(&format!("u{i}")).as_str())
            .unwrap();
        let want = target_of(&format!("u{}", i - 20));
        assert_eq!(u[ENTERPRISE]["manager"]["value"], want.as_str(), "manager of u{i}");
    }
    let mut patched: Vec<String> = h
        .writes()
        .iter()
        .filter(|w| w.method == "PATCH" && patch_ops(w).iter().any(|(_, p, _)| p.contains("manager")))
        .map(|w| w.path().rsplit('/').next().unwrap().to_string())
        .collect();
    patched.sort();
    let may: Vec<String> = ["u5", "u150", "u25", "u170"].map(target_of).to_vec();
    let unexpected = patched.iter().filter(|p| !may.contains(p)).count();
    assert_eq!(
        unexpected,
        0,
        "{unexpected} of {} manager PATCHes to users created by Bulk",
        patched.len()
    );

    let logs = h.cycle_logs(&report.cycle_id).await;
    let rec = logs.iter().find(|l| l.source_id == "u42").expect("u42's record");
    assert_eq!((rec.action.as_str(), rec.status.as_str()), ("Create", "Success"));
    assert_eq!(rec.target_id, Some(h.target_id("u42").await));
    assert!(rec.steps.contains("by a Bulk request of"), "{}", rec.steps);
    assert!(rec.modified.contains("p42.mail@contoso.test"), "{}", rec.modified);
    let matched = logs.iter().find(|l| l.source_id == "u150" && l.kind == "user").unwrap();
    assert_eq!(matched.action, "Update", "the case variant was matched: {matched:?}");

    // The report counts HTTP requests: all but the probe, the snapshot page and the
    // ServiceProviderConfig read.
    let counted = reqs
        .iter()
        .filter(|r| {
            !(r.method == "GET"
                && (r.path_and_query.contains("/Users?") || r.path().ends_with("/ServiceProviderConfig")))
        })
        .count();
    assert_eq!(report.requests, counted as u64);
    assert_second_cycle_is_a_no_op(&h).await;
}

#[tokio::test]
async fn several_bulk_requests_in_flight_create_each_user_once_with_its_manager() {
    let n = 4 * BULK_MAX_OPERATIONS + 100;
    let h = Harness::with(Setup {
        // One chunk: Bulk requests need many creates together.
        chunk: 100_000,
        directory: staff(n),
        bulk_concurrency: 3,
        ..Default::default()
    })
    .await;
    h.target.clear_requests();
    h.cycle().await;
    let reqs = h.target.requests();
    assert_eq!(bulk_posts(&reqs).len(), 5);
    assert_eq!(user_posts(&reqs), 0);
    assert_each_created_once(&h, n).await;
    // Managers arrive with the create or by the reference pass, whichever applied.
    let users = h.all_users().await;
    let links = h.links().await;
    let target_of = |s: &str| links.iter().find(|l| l.source_id == s).unwrap().target_id.clone();
    for i in 20..n {
        let u = users
            .iter()
            .find(|u| u["id"] == target_of(&format!("u{i}")).as_str())
            .unwrap();
        assert_eq!(
            u[ENTERPRISE]["manager"]["value"],
            target_of(&format!("u{}", i - 20)).as_str(),
            "manager of u{i}"
        );
    }
    assert_eq!(h.member_ids(ASSIGNED).await.len(), n);
    assert_second_cycle_is_a_no_op(&h).await;
}

#[tokio::test]
async fn a_failing_bulk_endpoint_falls_back_to_single_creates() {
    // Four requests' worth: after three failed requests the cycle stops using Bulk.
    let n = 3 * BULK_MAX_OPERATIONS + 50;
    let h = harness(staff(n)).await;
    h.target.inject(fault("POST", "/Bulk", 100, FaultAction::Status(503)));
    h.target.clear_requests();
    let report = h.cycle().await;
    let reqs = h.target.requests();
    assert_eq!(bulk_posts(&reqs).len(), 3, "gives up after three failed requests");
    assert_eq!(user_posts(&reqs), n, "every user by a single POST, once");
    assert_eq!(
        lookups(&reqs),
        3 * BULK_MAX_OPERATIONS,
        "what went out in a failed request is looked up live; the rest was never sent"
    );
    assert_each_created_once(&h, n).await;
    let logs = h.cycle_logs(&report.cycle_id).await;
    let rec = logs.iter().find(|l| l.source_id == "u7").unwrap();
    assert_eq!((rec.action.as_str(), rec.status.as_str()), ("Create", "Success"));
    assert!(
        rec.steps.contains("the Bulk request failed") && rec.steps.contains("503"),
        "{}",
        rec.steps
    );
    assert!(!rec.steps.contains("by a Bulk request"), "{}", rec.steps);
    assert_second_cycle_is_a_no_op(&h).await;
}

#[tokio::test]
async fn a_lost_bulk_response_is_matched_not_created_again() {
    let n = 300;
    let h = harness(staff(n)).await;
    // The first request is applied, but its answer is lost.
    h.target
        .inject(fault("POST", "/Bulk", 1, FaultAction::ForwardThenStatus(502)));
    h.target.clear_requests();
    let report = h.cycle().await;
    let reqs = h.target.requests();
    assert_eq!(bulk_posts(&reqs).len(), 2);
    assert_eq!(user_posts(&reqs), 0, "nothing is created twice");
    assert_eq!(
        lookups(&reqs),
        BULK_MAX_OPERATIONS,
        "the lost request's creates are looked up"
    );
    assert_each_created_once(&h, n).await;
    let logs = h.cycle_logs(&report.cycle_id).await;
    let first = logs.iter().find(|l| l.source_id == "u0").unwrap();
    assert_eq!((first.action.as_str(), first.status.as_str()), ("Update", "Success"));
    assert!(first.steps.contains("502"), "{}", first.steps);
    let last = logs.iter().find(|l| l.source_id == "u299").unwrap();
    assert_eq!(last.action, "Create");
    assert!(last.steps.contains("by a Bulk request"), "{}", last.steps);
    assert_second_cycle_is_a_no_op(&h).await;
}

#[tokio::test]
async fn an_operation_refused_inside_a_bulk_request_is_retried_on_its_own() {
    let mut dir = staff(250);
    // Two source users whose userNames differ only in case: the target's uniqueness
    // refuses the second inside the request.
    dir.insert(0, user("u-twin", "twin", "T", "One", "Dept", None));
    dir.insert(1, user("u-TWIN", "TWIN", "T", "Two", "Dept", None));
    let members = dir.iter_mut().find(|o| o.id == "g-sa").unwrap();
    members.members.extend(["u-twin".to_string(), "u-TWIN".to_string()]);
    let h = harness(dir).await;
    h.target.clear_requests();
    let report = h.cycle().await;
    let reqs = h.target.requests();
    assert_eq!(user_posts(&reqs), 0);
    assert_eq!(lookups(&reqs), 1, "only the refused create is looked up");
    // As on the single path, a create refused as a duplicate is matched and linked.
    let twins: Vec<Json> = h
        .all_users()
        .await
        .into_iter()
        .filter(|u| {
            u["userName"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case("twin@contoso.test")
        })
        .collect();
    assert_eq!(twins.len(), 1, "{twins:?}");
    assert_eq!(h.target_id("u-twin").await, h.target_id("u-TWIN").await);
    assert_eq!(twins[0]["id"], h.target_id("u-twin").await.as_str());
    // Whichever of the two came second was refused, looked up live, and linked.
    let logs = h.cycle_logs(&report.cycle_id).await;
    let record = |id: &str| logs.iter().find(|l| l.source_id == id).unwrap();
    let (a, b) = (record("u-twin"), record("u-TWIN"));
    let (created, refused) = if a.action == "Create" { (a, b) } else { (b, a) };
    assert_eq!(
        (created.action.as_str(), created.status.as_str()),
        ("Create", "Success")
    );
    assert!(created.steps.contains("by a Bulk request"), "{}", created.steps);
    assert_eq!(
        (refused.action.as_str(), refused.status.as_str()),
        ("Update", "Success")
    );
    assert!(
        refused.steps.contains("uniqueness") && refused.steps.contains("trying again on its own"),
        "{}",
        refused.steps
    );
    assert_eq!(refused.target_id, created.target_id);
    assert_eq!(report.applied.failure, 0);
}

#[tokio::test]
async fn a_throttled_bulk_request_waits_and_is_sent_again() {
    let n = 300;
    let h = harness(staff(n)).await;
    h.target.inject(fault(
        "POST",
        "/Bulk",
        2,
        FaultAction::TooManyRequests { retry_after_secs: 1 },
    ));
    h.target.clear_requests();
    let report = h.cycle().await;
    let reqs = h.target.requests();
    let statuses: Vec<u16> = bulk_posts(&reqs).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200, 200]);
    assert_eq!(user_posts(&reqs), 0, "the request itself is sent again");
    assert_eq!(report.throttled, 2);
    assert_each_created_once(&h, n).await;
}

#[tokio::test]
async fn throttling_beyond_the_budget_falls_back_with_the_time_already_waited() {
    let n = 300;
    let h = Harness::with(Setup {
        // One chunk: Bulk requests need many creates together.
        chunk: 100_000,
        directory: staff(n),
        max_throttle_wait: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    h.target.inject(fault(
        "POST",
        "/Bulk",
        100,
        FaultAction::TooManyRequests { retry_after_secs: 1 },
    ));
    // One single create is throttled too: its object already waited its budget out.
    h.target.inject(fault(
        "POST",
        "/Users",
        1,
        FaultAction::TooManyRequests { retry_after_secs: 0 },
    ));
    let report = h.cycle_lenient().await;
    let reqs = h.target.requests();
    // Each request: 429 after 0 s, 1 s, 2 s waited; the third is over the 2 s budget.
    assert_eq!(bulk_posts(&reqs).len(), 6);
    assert!(bulk_posts(&reqs).iter().all(|r| r.status == 429));
    assert_eq!(user_posts(&reqs), n);
    assert_eq!(report.applied.failure, 1, "{:?}", report.applied);
    let escrows = h.escrows().await;
    assert_eq!(escrows.len(), 1);
    assert_eq!(escrows[0].error_code, "TargetThrottled");
    assert_eq!(h.all_users().await.len(), n - 1);
}
