//! Matching before creating: brown-field targets and POSTs whose response was lost.

use std::time::Duration;

use scim_client::Endpoint;
use serde_json::json;
use sync_testkit::{FaultAction, fault};

use crate::harness::*;

#[tokio::test]
async fn an_existing_target_user_is_matched_on_user_name_and_only_differences_are_patched() {
    let h = Harness::start().await;
    // Alan exists already, created by hand: an old department, no preferredLanguage.
    let existing = h
        .reader
        .create(
            Endpoint::Users,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "userName": "alan@contoso.test",
                "active": true,
                "name": {"givenName": "Alan", "familyName": "Turing"},
                "emails": [{"type": "work", "value": "alan.mail@contoso.test"}],
                "addresses": [{"type": "work", "country": "FI"}],
                ENTERPRISE: {"department": "Bletchley", "division": "Helsinki"},
            }),
        )
        .await
        .expect("create alan directly");
    let alan_id = existing["id"].as_str().unwrap().to_string();
    h.target.clear_requests();

    let report = h.cycle().await;
    assert_eq!(report.applied.failure, 0, "{report:?}");
    let writes = h.writes();
    let posts_for_alan = writes
        .iter()
        .filter(|w| w.method == "POST" && w.body.as_ref().is_some_and(|b| b["userName"] == "alan@contoso.test"))
        .count();
    assert_eq!(posts_for_alan, 0, "no POST for a matched user");
    assert_eq!(h.target_id("u-alan").await, alan_id, "linked to the existing user");
    assert_eq!(h.users().await.len(), ASSIGNED_USERS, "no duplicate");

    let patches: Vec<_> = writes
        .iter()
        .filter(|w| w.method == "PATCH" && w.path().ends_with(&format!("/Users/{alan_id}")))
        .collect();
    let mut attr_paths: Vec<String> = patches
        .iter()
        .flat_map(|w| patch_ops(w))
        .map(|(_, path, _)| path)
        .filter(|p| p != &format!("{ENTERPRISE}:manager"))
        .collect();
    attr_paths.sort();
    assert_eq!(
        attr_paths,
        vec!["preferredLanguage".to_string(), format!("{ENTERPRISE}:department")],
        "only the differing attributes are patched"
    );
    let alan = h.user("alan").await.unwrap();
    assert_eq!(alan[ENTERPRISE]["department"], "Research");
    assert_eq!(alan["preferredLanguage"], "fi-FI");
    assert_eq!(
        alan[ENTERPRISE]["manager"]["value"],
        h.target_id("u-ada").await.as_str()
    );
    let logs = h.cycle_logs(&report.cycle_id).await;
    let rec = logs
        .iter()
        .find(|l| l.source_id == "u-alan" && l.steps.contains("matched target"))
        .expect("alan's match logged");
    assert_eq!((rec.action.as_str(), rec.status.as_str()), ("Update", "Success"));

    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "in sync after linking: {:?}", h.writes());
}

#[tokio::test]
async fn a_post_whose_response_is_lost_does_not_duplicate_on_retry() {
    let h = Harness::start().await;
    h.target
        .inject(fault("POST", "/Users", 1, FaultAction::ForwardThenStatus(500)));

    let report = h.cycle().await;
    assert!(h.target.faults().is_empty(), "the fault fired");
    assert_eq!(report.applied.failure, 0, "{report:?}");
    let user_posts = h
        .writes()
        .iter()
        .filter(|w| w.method == "POST" && w.path().ends_with("/Users"))
        .count();
    assert_eq!(user_posts, ASSIGNED_USERS, "the lost POST was matched, not repeated");
    assert_eq!(h.users().await.len(), ASSIGNED_USERS);
    for local in ["ada", "alan", "grace", "linus", "margaret"] {
        let u = h.user(local).await.unwrap_or_else(|| panic!("{local} on the target"));
        let sid = format!("u-{local}");
        assert_eq!(
            h.target_id(&sid).await,
            u["id"].as_str().unwrap(),
            "{local} linked to its one user"
        );
    }
    assert!(h.escrows().await.is_empty());
    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "{:?}", h.writes());
}

#[tokio::test]
async fn a_post_that_outlives_the_client_timeout_does_not_duplicate() {
    let h = Harness::with(Setup {
        timeout: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    h.target.inject(fault(
        "POST",
        "/Users",
        1,
        FaultAction::Delay(Duration::from_millis(1500)),
    ));

    let report = h.run(NOW, Default::default()).await.expect("cycle");
    h.target.wait_idle().await;
    assert!(h.target.faults().is_empty(), "the fault fired");
    let delayed = h
        .target
        .requests()
        .into_iter()
        .find(|r| r.faulted)
        .expect("the delayed POST");
    assert_ne!(delayed.status, 201, "the late POST did not create a second user");
    let local = delayed.body.as_ref().unwrap()["userName"]
        .as_str()
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(h.users().await.len(), ASSIGNED_USERS, "no duplicate user");
    let u = h.user(&local).await.expect("the delayed user exists once");
    match h.link("user", &format!("u-{local}")).await {
        Some(l) => assert_eq!(l.target_id, u["id"].as_str().unwrap(), "linked to the one user"),
        None => assert_eq!(report.applied.failure, 1, "not linked only when escrowed"),
    }

    // Whatever the first cycle saw, the next ones converge without duplicates.
    h.cycle().await;
    h.target.wait_idle().await;
    assert_eq!(h.users().await.len(), ASSIGNED_USERS);
    assert_eq!(h.target_id(&format!("u-{local}")).await, u["id"].as_str().unwrap());
    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "{:?}", h.writes());
}
