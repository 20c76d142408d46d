//! Group membership (second pass) and idempotence.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn groups_are_created_and_members_added_in_the_second_pass() {
    let h = Harness::start().await;
    let report = h.cycle().await;
    assert_eq!(report.applied.failure, 0);

    let red = h.group("Team Red").await.expect("Team Red created");
    assert_eq!(red["externalId"], "g-red");
    let mut want = vec![h.target_id("u-alan").await, h.target_id("u-grace").await];
    want.sort();
    assert_eq!(h.member_ids("Team Red").await, want);
    // The state store keeps the members as rows, not inside the group's link.
    let rows = h.state.members_of(JOB, vec!["g-red".into()]).await.unwrap();
    assert_eq!(
        rows,
        [("g-red".to_string(), vec!["u-alan".to_string(), "u-grace".to_string()])]
    );
    let link = h.link("group", "g-red").await.unwrap();
    assert!(!link.values.contains("members"), "{}", link.values);
    assert_eq!(
        h.member_ids(ASSIGNED).await.len(),
        ASSIGNED_USERS,
        "the unassigned user is no member"
    );

    // Members are added after the group exists: the POST carries none, a PATCH adds them.
    let writes = h.writes();
    let group_post = writes
        .iter()
        .find(|w| {
            w.method == "POST" && w.path().ends_with("/Groups") && w.body.as_ref().unwrap()["displayName"] == "Team Red"
        })
        .expect("group POST");
    assert!(
        group_post
            .body
            .as_ref()
            .unwrap()
            .get("members")
            .is_none_or(|m| m == &json!([]))
    );
    let red_id = red["id"].as_str().unwrap();
    let add = writes
        .iter()
        .position(|w| w.method == "PATCH" && w.path().ends_with(&format!("/Groups/{red_id}")))
        .expect("members PATCH");
    let last_user_post = writes
        .iter()
        .rposition(|w| w.method == "POST" && w.path().ends_with("/Users"))
        .unwrap();
    assert!(add > last_user_post, "references go after every object exists");
    let ops = patch_ops(&writes[add]);
    assert!(
        ops.iter().all(|(op, path, _)| op == "add" && path == "members"),
        "{ops:?}"
    );
}

#[tokio::test]
async fn a_member_removed_in_the_source_is_removed_on_the_target() {
    let h = Harness::start().await;
    h.cycle().await;
    let grace = h.target_id("u-grace").await;
    let alan = h.target_id("u-alan").await;
    // Grace leaves Team Red but stays assigned through Security Awareness.
    h.edit(|d| members_mut(d, "g-red").retain(|m| m != "u-grace"));

    h.cycle_fresh().await;
    let writes = h.writes();
    assert_eq!(writes.len(), 1, "only the membership change: {writes:?}");
    let red_id = h.group("Team Red").await.unwrap()["id"].as_str().unwrap().to_string();
    assert!(writes[0].path().ends_with(&format!("/Groups/{red_id}")));
    let ops = patch_ops(&writes[0]);
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0].0, "remove");
    assert!(ops[0].1.contains(&grace), "{ops:?}");

    assert_eq!(h.member_ids("Team Red").await, vec![alan]);
    assert_eq!(
        h.member_ids(ASSIGNED).await.len(),
        ASSIGNED_USERS,
        "other groups untouched"
    );
    assert_eq!(
        h.user("grace").await.unwrap()["active"],
        true,
        "grace is still in scope"
    );

    // And back in.
    h.edit(|d| members_mut(d, "g-red").push("u-grace".into()));
    h.cycle_fresh().await;
    assert_eq!(h.writes().len(), 1, "{:?}", h.writes());
    assert!(h.member_ids("Team Red").await.contains(&grace));
}

#[tokio::test]
async fn a_second_cycle_without_source_changes_sends_zero_writes() {
    let h = Harness::start().await;
    let first = h.cycle().await;
    assert!(
        first.counts.references > 0,
        "managers and members were set: {:?}",
        first.counts
    );
    assert!(!h.writes().is_empty());

    let second = h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "writes: {:?}", h.writes());
    assert_eq!(second.kind, "incremental");
    assert_eq!(second.counts.unchanged, ASSIGNED_USERS + 2, "{:?}", second.counts);
    assert_eq!(second.applied.failure, 0);

    // Also after a change has been applied (manager moved, member added).
    h.edit(|d| {
        set_attr(d, "u-linus", "manager", json!("u-grace"));
        members_mut(d, "g-red").push("u-linus".into());
    });
    h.cycle_fresh().await;
    assert_eq!(
        h.writes().len(),
        2,
        "one manager PATCH, one members PATCH: {:?}",
        h.writes()
    );
    let linus = h.user("linus").await.unwrap();
    assert_eq!(
        linus[ENTERPRISE]["manager"]["value"],
        h.target_id("u-grace").await.as_str()
    );
    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "writes: {:?}", h.writes());

    // Clearing the manager removes the reference once.
    h.edit(|d| {
        d.iter_mut()
            .find(|o| o.id == "u-linus")
            .unwrap()
            .attrs
            .remove("manager");
    });
    h.cycle_fresh().await;
    assert_eq!(h.writes().len(), 1, "{:?}", h.writes());
    assert!(h.user("linus").await.unwrap()[ENTERPRISE].get("manager").is_none());
    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "writes: {:?}", h.writes());
}

/// A group larger than one request's members: its adds and removes go in several PATCH
/// requests (a few in flight at once), and the target and the state rows agree after each.
#[tokio::test]
async fn a_large_group_is_filled_and_thinned_in_several_requests() {
    const N: usize = 2_500;
    let ids: Vec<String> = (0..N).map(|i| format!("u-{i:04}")).collect();
    let mut dir: Vec<_> = ids
        .iter()
        .map(|id| user(id, id, "Given", "Surname", "Dept", None))
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    dir.push(group("g-sa", ASSIGNED, &refs));
    dir.push(group("g-big", "Team Red", &refs));
    let h = Harness::with(Setup {
        directory: dir,
        chunk: 500,
        ..Default::default()
    })
    .await;
    h.cycle().await;
    let big = h.group("Team Red").await.unwrap()["id"].as_str().unwrap().to_string();
    let patches = |h: &Harness| {
        h.writes()
            .iter()
            .filter(|w| w.method == "PATCH" && w.path().ends_with(&format!("/Groups/{big}")))
            .count()
    };
    assert_eq!(patches(&h), N.div_ceil(1_000), "1,000 members a request");
    assert_eq!(h.member_ids("Team Red").await.len(), N);
    let rows = h.state.members_of(JOB, vec!["g-big".into()]).await.unwrap();
    assert_eq!(rows[0].1.len(), N);

    // 1,200 leave Team Red (and stay assigned): one remove operation each, ten a request.
    h.edit(|d| members_mut(d, "g-big").truncate(N - 1_200));
    h.cycle_fresh().await;
    assert_eq!(patches(&h), 120, "{} writes", h.writes().len());
    assert_eq!(h.writes().len(), 120, "nothing else changed");
    assert_eq!(h.member_ids("Team Red").await.len(), N - 1_200);
    let rows = h.state.members_of(JOB, vec!["g-big".into()]).await.unwrap();
    assert_eq!(rows[0].1.len(), N - 1_200);
    assert!(
        rows[0].1.iter().all(|m| m < &format!("u-{:04}", N - 1_200)),
        "the kept ones"
    );
    h.cycle_fresh().await;
    assert!(h.writes().is_empty(), "{:?}", h.writes().len());
}
