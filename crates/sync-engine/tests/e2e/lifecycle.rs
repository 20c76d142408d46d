//! Create, update, disable / re-enable on scope changes, and delete.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn create_lands_every_hoxhunt_attribute_and_the_manager_reference() {
    let h = Harness::start().await;
    let report = h.cycle().await;
    assert_eq!(report.kind, "initial");
    assert_eq!(report.applied.failure, 0, "{report:?}");
    assert_eq!(report.counts.create, ASSIGNED_USERS + 2, "five users and two groups");

    let alan = h.user("alan").await.expect("alan created on the target");
    assert_eq!(alan["userName"], "alan@contoso.test");
    assert_eq!(alan["active"], true);
    assert_eq!(alan["name"]["givenName"], "Alan");
    assert_eq!(alan["name"]["familyName"], "Turing");
    assert_eq!(alan["preferredLanguage"], "fi-FI");
    let emails = alan["emails"].as_array().expect("emails");
    assert_eq!(emails.len(), 1, "{emails:?}");
    assert_eq!(emails[0]["type"], "work");
    assert_eq!(emails[0]["value"], "alan.mail@contoso.test");
    let addresses = alan["addresses"].as_array().expect("addresses");
    assert_eq!(addresses[0]["type"], "work");
    assert_eq!(addresses[0]["country"], "FI");
    let ent = &alan[ENTERPRISE];
    assert_eq!(ent["department"], "Research");
    assert_eq!(ent["division"], "Helsinki");
    let ada = h.user("ada").await.expect("ada created");
    assert_eq!(
        ent["manager"]["value"], ada["id"],
        "the manager is the manager's TARGET id"
    );
    assert_eq!(h.target_id("u-ada").await, ada["id"].as_str().unwrap());
    assert!(ada[ENTERPRISE].get("manager").is_none(), "ada has no manager");

    assert!(
        h.user("outsider").await.is_none(),
        "an unassigned user is not provisioned"
    );
    assert_eq!(h.users().await.len(), ASSIGNED_USERS);

    // The log has one Create per object, with the user's target id and modified properties.
    let logs = h.cycle_logs(&report.cycle_id).await;
    let create = logs
        .iter()
        .find(|l| l.source_id == "u-alan" && l.action == "Create")
        .expect("a Create record for alan");
    assert_eq!(create.status, "Success");
    assert_eq!(create.target_id.as_deref(), alan["id"].as_str());
    assert!(
        create.modified.contains("alan.mail@contoso.test"),
        "{}",
        create.modified
    );
    let status = h.status().await;
    assert!(status.initial_done);
    assert_eq!(status.quarantine_reason, None);
}

#[tokio::test]
async fn attribute_update_sends_one_patch_with_only_the_changed_attribute() {
    let h = Harness::start().await;
    h.cycle().await;
    let alan_id = h.target_id("u-alan").await;
    h.edit(|d| set_attr(d, "u-alan", "department", json!("Cryptanalysis")));

    let report = h.cycle_fresh().await;
    assert_eq!(report.counts.update, 1, "{:?}", report.counts);
    let writes = h.writes();
    assert_eq!(writes.len(), 1, "exactly one write: {writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert!(writes[0].path().ends_with(&format!("/Users/{alan_id}")));
    let ops = patch_ops(&writes[0]);
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0].0, "replace");
    assert_eq!(ops[0].1, format!("{ENTERPRISE}:department"));
    assert_eq!(ops[0].2, "Cryptanalysis");

    let alan = h.user("alan").await.unwrap();
    assert_eq!(alan[ENTERPRISE]["department"], "Cryptanalysis");
    assert_eq!(alan["name"]["givenName"], "Alan", "untouched attributes stay");
    let log = h.cycle_logs(&report.cycle_id).await;
    let rec = log.iter().find(|l| l.source_id == "u-alan").expect("update logged");
    assert_eq!((rec.action.as_str(), rec.status.as_str()), ("Update", "Success"));
    assert!(
        rec.modified.contains("Cryptanalysis") && rec.modified.contains("Research"),
        "{}",
        rec.modified
    );
}

#[tokio::test]
async fn scope_loss_disables_and_scope_return_re_enables() {
    let h = Harness::start().await;
    h.cycle().await;
    let linus_id = h.target_id("u-linus").await;

    // Linus leaves the assigned group: out of scope.
    h.edit(|d| members_mut(d, "g-sa").retain(|m| m != "u-linus"));
    let report = h.cycle_fresh().await;
    assert_eq!(report.counts.disable, 1);
    // The user is disabled (and removed from the provisioned group, as the source says).
    let writes: Vec<_> = h.writes().into_iter().filter(|w| w.path().contains("/Users")).collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].method, "PATCH");
    assert!(writes[0].path().ends_with(&format!("/Users/{linus_id}")));
    assert_eq!(
        patch_ops(&writes[0]),
        vec![("replace".into(), "active".into(), json!(false))]
    );
    let linus = h.user("linus").await.expect("a disabled user still exists");
    assert_eq!(linus["active"], false);
    assert!(h.link("user", "u-linus").await.expect("still linked").disabled);
    let rec = h.cycle_logs(&report.cycle_id).await;
    assert!(
        rec.iter()
            .any(|l| l.source_id == "u-linus" && l.action == "Disable" && l.status == "Success")
    );

    // A further cycle does not disable again.
    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "{:?}", h.writes());

    // Back in scope: re-enabled with one PATCH (and back in the group).
    h.edit(|d| members_mut(d, "g-sa").push("u-linus".into()));
    h.cycle_fresh().await;
    let writes: Vec<_> = h.writes().into_iter().filter(|w| w.path().contains("/Users")).collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(
        patch_ops(&writes[0]).contains(&("replace".into(), "active".into(), json!(true))),
        "{:?}",
        patch_ops(&writes[0])
    );
    assert_eq!(h.user("linus").await.unwrap()["active"], true);
    assert!(!h.link("user", "u-linus").await.unwrap().disabled);
    assert!(h.member_ids(ASSIGNED).await.contains(&linus_id));
    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "re-enabled user is in sync: {:?}", h.writes());
}

#[tokio::test]
async fn disabled_in_source_disables_on_target() {
    let h = Harness::start().await;
    h.cycle().await;
    h.edit(|d| set_attr(d, "u-grace", "accountEnabled", json!(false)));
    h.cycle_fresh().await;
    let writes = h.writes();
    assert!(
        writes
            .iter()
            .any(|w| patch_ops(w).contains(&("replace".into(), "active".into(), json!(false)))),
        "{writes:?}"
    );
    assert!(
        writes.iter().all(|w| w.method != "DELETE"),
        "soft-deleted is disabled, not deleted"
    );
    assert_eq!(h.user("grace").await.expect("grace stays")["active"], false);
}

#[tokio::test]
async fn removed_from_a_complete_source_is_deleted() {
    let h = Harness::start().await;
    h.cycle().await;
    let linus_id = h.target_id("u-linus").await;
    h.edit(|d| remove_user(d, "u-linus"));

    let report = h.cycle_fresh().await;
    assert_eq!(report.counts.delete, 1, "{:?}", report.counts);
    let deletes: Vec<_> = h.writes().into_iter().filter(|w| w.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1);
    assert!(deletes[0].path().ends_with(&format!("/Users/{linus_id}")));
    assert!(h.user("linus").await.is_none(), "gone from the target");
    assert!(h.link("user", "u-linus").await.is_none(), "link dropped");
    assert_eq!(h.users().await.len(), ASSIGNED_USERS - 1);
    let logs = h.cycle_logs(&report.cycle_id).await;
    assert!(
        logs.iter()
            .any(|l| l.source_id == "u-linus" && l.action == "Delete" && l.status == "Success")
    );

    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "{:?}", h.writes());
}

#[tokio::test]
async fn with_the_delete_action_off_a_removed_user_is_disabled() {
    let h = Harness::with(Setup {
        user_delete: false,
        ..Default::default()
    })
    .await;
    h.cycle().await;
    h.edit(|d| remove_user(d, "u-linus"));

    let report = h.cycle_fresh().await;
    assert_eq!(
        (report.counts.delete, report.counts.disable),
        (0, 1),
        "{:?}",
        report.counts
    );
    let writes = h.writes();
    assert!(writes.iter().all(|w| w.method != "DELETE"), "{writes:?}");
    assert_eq!(h.user("linus").await.expect("still on the target")["active"], false);

    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "disabled once: {:?}", h.writes());
}
