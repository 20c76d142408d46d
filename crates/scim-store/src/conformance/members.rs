//! Group membership: set operations, members following deletes, concurrent adds, scale.

use scim_core::events::EventType;
use scim_core::{CoreError, ResourceKind};
use serde_json::{Value, json};

use super::{Ctx, now};

cases![
    members_are_set_operations_and_follow_deletes,
    concurrent_member_adds_from_two_handles_lose_none,
    membership_at_scale,
    concurrent_deletes_of_members_leave_the_group_consistent,
];

fn members(ids: &[&String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "value": id })).collect())
}

async fn members_are_set_operations_and_follow_deletes(c: Ctx) {
    let t = c.tenant("a").await;
    let g_kind = ResourceKind::Group;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(
            c.create(t, ResourceKind::User, json!({ "userName": format!("m{i}") }))
                .await
                .unwrap(),
        );
    }
    let g = c
        .create(
            t,
            g_kind,
            json!({"displayName": "Sales", "members": [{"value": users[0]}]}),
        )
        .await
        .unwrap();
    let add = json!([{"op": "Add", "path": "members", "value": members(&[&users[1], &users[2], &users[0]])}]);
    c.patch(t, g_kind, &g, add).await.unwrap();
    assert_eq!(
        c.db.members(t, &g).await.unwrap().len(),
        3,
        "adding a member twice keeps one"
    );
    let remove = json!([{"op": "Remove", "path": "members", "value": members(&[&users[1]])}]);
    c.patch(t, g_kind, &g, remove).await.unwrap();
    let list = c.db.members(t, &g).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(!list.iter().any(|m| m.contains(&users[1])));
    assert_eq!(c.db.members_upto(t, &g, 1).await.unwrap(), None, "more than the limit");
    assert_eq!(c.db.members_upto(t, &g, 2).await.unwrap().map(|l| l.len()), Some(2));
    assert_eq!(c.db.members_upto(t, "no-such-group", 2).await.unwrap(), Some(vec![]));

    let before = c.db.get(t, g_kind, &g).await.unwrap().unwrap().version;
    c.db.delete(t, ResourceKind::User, &users[2], None, now())
        .await
        .unwrap();
    let list = c.db.members(t, &g).await.unwrap();
    assert_eq!(list.len(), 1, "a deleted user leaves the group");
    let after = c.db.get(t, g_kind, &g).await.unwrap().unwrap().version;
    assert_eq!(after, before + 1, "the group changed, so its version moved");
    let gone = format!("members[value eq \"{}\"]", users[2]);
    assert!(c.ids(t, g_kind, &gone).await.is_empty());

    let replace = json!([{"op": "replace", "path": "members", "value": members(&[&users[3], &users[4]])}]);
    c.patch(t, g_kind, &g, replace).await.unwrap();
    let list = c.db.members(t, &g).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|m| m.contains(&users[3]) || m.contains(&users[4])));
    c.patch(t, g_kind, &g, json!([{"op": "remove", "path": "members"}]))
        .await
        .unwrap();
    assert!(c.db.members(t, &g).await.unwrap().is_empty());

    let err = c.create(t, g_kind, json!({"displayName": "SALES"})).await.unwrap_err();
    assert!(matches!(err, CoreError::Uniqueness(_)), "{err:?}");
    // Deleting a group drops its member rows: a new group gets none of them.
    c.patch(
        t,
        g_kind,
        &g,
        json!([{"op": "add", "path": "members", "value": members(&[&users[3]])}]),
    )
    .await
    .unwrap();
    c.db.delete(t, g_kind, &g, None, now()).await.unwrap();
    assert!(c.db.members(t, &g).await.unwrap().is_empty());
    let who = format!("members.value eq \"{}\"", users[3]);
    assert!(c.ids(t, g_kind, &who).await.is_empty());
}

async fn concurrent_member_adds_from_two_handles_lose_none(c: Ctx) {
    let t = c.tenant("a").await;
    let other = c.reopen().await;
    let g = c
        .create(t, ResourceKind::Group, json!({"displayName": "G"}))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let db = if i % 2 == 0 { c.db.clone() } else { other.clone() };
        let g = g.clone();
        tasks.push(tokio::spawn(async move {
            let batch: Vec<Value> = (0..10).map(|j| json!({"value": format!("m-{i}-{j}")})).collect();
            let ops = scim_core::patch::parse_patch_request(&json!({"Operations": [
                {"op": "add", "path": "members", "value": batch}
            ]}))
            .unwrap();
            db.update(
                t,
                ResourceKind::Group,
                &g,
                None,
                now(),
                scim_core::ops::patch_fn(ResourceKind::Group, ops),
            )
            .await
            .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(c.db.members(t, &g).await.unwrap().len(), 200, "no member lost");
    assert_eq!(c.db.get(t, ResourceKind::Group, &g).await.unwrap().unwrap().version, 21);
}

async fn membership_at_scale(c: Ctx) {
    let t = c.tenant("a").await;
    let g = c
        .create(t, ResourceKind::Group, json!({"displayName": "Big"}))
        .await
        .unwrap();
    let id = |i: usize| format!("00000000-0000-7000-8000-{i:012}");
    for chunk in 0..30 {
        let batch: Vec<Value> = (chunk * 100..(chunk + 1) * 100)
            .map(|i| json!({ "value": id(i) }))
            .collect();
        c.patch(
            t,
            ResourceKind::Group,
            &g,
            json!([{"op": "add", "path": "members", "value": batch}]),
        )
        .await
        .unwrap();
    }
    assert_eq!(c.db.members_upto(t, &g, 1000).await.unwrap(), None);
    let all = c.db.members(t, &g).await.unwrap();
    assert_eq!(all.len(), 3000);
    let remove: Vec<Value> = (1000..1100).map(|i| json!({ "value": id(i) })).collect();
    c.patch(
        t,
        ResourceKind::Group,
        &g,
        json!([{"op": "remove", "path": "members", "value": remove}]),
    )
    .await
    .unwrap();
    assert_eq!(c.db.members(t, &g).await.unwrap().len(), 2900);
    // Paged in member-id order, 700 at a time, the pages add up to the whole list.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = c.db.members_after(t, &g, after.clone(), 700).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 700);
        after = page.last().map(|(id, _)| id.clone());
        paged.extend(page);
    }
    assert_eq!(paged.len(), 2900);
    assert!(paged.windows(2).all(|w| w[0].0 < w[1].0), "ascending member ids");
    let whole = c.db.members(t, &g).await.unwrap();
    assert_eq!(paged.into_iter().map(|(_, json)| json).collect::<Vec<_>>(), whole);
    assert!(
        c.db.members_after(t, "no-such-group", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let kept = format!("members[value eq \"{}\"]", id(999));
    let removed = format!("members[value eq \"{}\"]", id(1050));
    assert_eq!(c.ids(t, ResourceKind::Group, &kept).await, vec![g.clone()]);
    assert!(c.ids(t, ResourceKind::Group, &removed).await.is_empty());
}

/// Mass deletes (Entra removing leavers): every member goes, the group's version moves (an
/// adapter may move it once for several removals committed together), and the journal's
/// last entry for the group carries the group's final version.
async fn concurrent_deletes_of_members_leave_the_group_consistent(c: Ctx) {
    let t = c.tenant("a").await;
    let mut users = Vec::new();
    for i in 0..24 {
        users.push(
            c.create(t, ResourceKind::User, json!({ "userName": format!("m{i}@x.io") }))
                .await
                .unwrap(),
        );
    }
    let refs: Vec<&String> = users.iter().collect();
    let g = c
        .create(
            t,
            ResourceKind::Group,
            json!({"displayName": "Leavers", "members": members(&refs)}),
        )
        .await
        .unwrap();
    let before = c.db.get(t, ResourceKind::Group, &g).await.unwrap().unwrap().version;
    let tasks: Vec<_> = users
        .iter()
        .map(|id| {
            let (db, id) = (c.db.clone(), id.clone());
            tokio::spawn(async move { db.delete(t, ResourceKind::User, &id, None, now()).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(c.db.members(t, &g).await.unwrap().is_empty());
    let after = c.db.get(t, ResourceKind::Group, &g).await.unwrap().unwrap().version;
    assert!(after > before && after <= before + 24, "{before} -> {after}");
    let feed = c.db.events(t, 0, 1000).await.unwrap();
    let last = feed.iter().rev().find(|e| e.resource_id == g).unwrap();
    assert_eq!((last.event, last.version), (EventType::GroupMembersRemoved, after));
    assert_eq!(feed.iter().filter(|e| e.event == EventType::UserDeleted).count(), 24);
    let mut left: Vec<String> = feed
        .iter()
        .filter(|e| e.event == EventType::GroupMembersRemoved)
        .flat_map(|e| {
            serde_json::from_str::<Value>(&e.data).unwrap()["members"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    left.sort();
    let mut want = users.clone();
    want.sort();
    assert_eq!(
        left, want,
        "every deleted member left the group in a members_removed event"
    );
}
