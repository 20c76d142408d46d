//! The change feed: typed events with their data, written with the change, in one gap-safe
//! sequence per tenant; retention prunes a prefix; a watch wakes readers.

use std::time::Duration;

use scim_core::events::{EventType, MEMBERS_PER_EVENT};
use scim_core::ops::replace_fn;
use scim_core::ports::Event;
use scim_core::{ResourceKind, Timestamp};
use serde_json::{Value, json};

use super::{Ctx, at, now};

cases![
    the_feed_records_every_change_in_order_with_its_data,
    member_events_are_net_and_batched,
    retention_prunes_a_prefix_of_each_feed,
    a_watch_wakes_after_a_commit,
    a_reader_following_the_feed_misses_nothing_under_concurrent_writers,
];

fn data(e: &Event) -> Value {
    serde_json::from_str(&e.data).expect("event data is JSON")
}

fn member_ids(e: &Event) -> Vec<String> {
    let mut ids: Vec<String> = data(e)["members"]
        .as_array()
        .expect("members array")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// What Entra does to one user over its life: create, PATCH, disable, enable, delete, with a
/// group membership on the way.
async fn the_feed_records_every_change_in_order_with_its_data(c: Ctx) {
    let t = c.tenant("a").await;
    let quiet = c.tenant("b").await;
    let (u, g) = (ResourceKind::User, ResourceKind::Group);
    assert!(
        c.db.events(t, 0, 1000).await.unwrap().is_empty(),
        "a new tenant has no events"
    );
    let id = c
        .create(t, u, json!({"userName": "j@x.io", "active": true}))
        .await
        .unwrap();
    let group = c
        .create(t, g, json!({"displayName": "J", "members": [{"value": id}]}))
        .await
        .unwrap();
    c.patch(t, u, &id, json!([{"op": "replace", "path": "title", "value": "T"}]))
        .await
        .unwrap();
    c.patch(
        t,
        u,
        &id,
        json!([{"op": "replace", "path": "active", "value": "False"}]),
    )
    .await
    .unwrap();
    c.patch(t, u, &id, json!([{"op": "replace", "path": "active", "value": true}]))
        .await
        .unwrap();
    // A failed write and a no-op write make no event.
    let _ = c.create(t, u, json!({"userName": "J@X.IO"})).await.unwrap_err();
    c.patch(t, u, &id, json!([{"op": "replace", "path": "title", "value": "T"}]))
        .await
        .unwrap();
    c.patch(
        t,
        g,
        &group,
        json!([{"op": "replace", "path": "displayName", "value": "J2"}]),
    )
    .await
    .unwrap();
    c.db.delete(t, u, &id, None, now()).await.unwrap();
    let all = c.db.events(t, 0, 1000).await.unwrap();
    let got: Vec<(EventType, &str, i64)> = all
        .iter()
        .map(|e| (e.event, e.resource_id.as_str(), e.version))
        .collect();
    assert_eq!(
        got,
        [
            (EventType::UserCreated, id.as_str(), 1),
            (EventType::GroupCreated, group.as_str(), 1),
            (EventType::GroupMembersAdded, group.as_str(), 1),
            (EventType::UserUpdated, id.as_str(), 2),
            (EventType::UserDeactivated, id.as_str(), 3),
            (EventType::UserReactivated, id.as_str(), 4),
            (EventType::GroupUpdated, group.as_str(), 2),
            (EventType::UserDeleted, id.as_str(), 5),
            (EventType::GroupMembersRemoved, group.as_str(), 3),
        ]
    );
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=9).collect::<Vec<i64>>(), "one gap-free sequence per tenant");
    assert!(all.iter().all(|e| e.at == now()));
    let mut ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "event ids are unique");
    // The data: the resource after the change (without members), or the member ids.
    assert_eq!(data(&all[0])["userName"], "j@x.io");
    assert_eq!(data(&all[1])["displayName"], "J");
    assert!(data(&all[1]).get("members").is_none(), "a group's data has no members");
    assert_eq!(member_ids(&all[2]), vec![id.clone()]);
    assert_eq!(data(&all[3])["title"], "T");
    assert_eq!(data(&all[4])["active"], false);
    assert_eq!(data(&all[6])["displayName"], "J2");
    assert_eq!(data(&all[7])["userName"], "j@x.io", "a deletion carries the last state");
    assert_eq!(member_ids(&all[8]), vec![id.clone()]);
    assert_eq!(all[0].kind, u);
    assert_eq!(all[1].kind, g);
    let tail = c.db.events(t, all[2].seq, 2).await.unwrap();
    assert_eq!(tail, all[3..5].to_vec(), "after and limit");
    assert!(
        c.db.events(quiet, 0, 100).await.unwrap().is_empty(),
        "tenants are apart"
    );
    let pos = c.db.feed_position(t).await.unwrap();
    assert_eq!((pos.last, pos.pruned), (9, 0));
}

async fn member_events_are_net_and_batched(c: Ctx) {
    let t = c.tenant("a").await;
    let (u, g) = (ResourceKind::User, ResourceKind::Group);
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(
            c.create(t, u, json!({ "userName": format!("n{i}@x.io") }))
                .await
                .unwrap(),
        );
    }
    let m = |ids: &[&String]| -> Value { ids.iter().map(|id| json!({"value": id})).collect() };
    let group = c
        .create(t, g, json!({"displayName": "N", "members": m(&[&users[0], &users[1]])}))
        .await
        .unwrap();
    let start = c.db.feed_position(t).await.unwrap().last;
    // PUT: 0, 1 → 1, 2 (the name unchanged): one added, one removed, no group.updated.
    let body = json!({"displayName": "N", "members": m(&[&users[1], &users[2]])});
    c.db.update(t, g, &group, None, now(), replace_fn(g, body))
        .await
        .unwrap();
    // Adding a member that is there, and removing one that is not, changes no membership.
    c.patch(
        t,
        g,
        &group,
        json!([{"op": "add", "path": "members", "value": m(&[&users[1]])}]),
    )
    .await
    .unwrap();
    c.patch(
        t,
        g,
        &group,
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])}]),
    )
    .await
    .unwrap();
    let after = c.db.events(t, start, 100).await.unwrap();
    let got: Vec<(EventType, Vec<String>)> = after.iter().map(|e| (e.event, member_ids(e))).collect();
    assert_eq!(
        got,
        [
            (EventType::GroupMembersAdded, vec![users[2].clone()]),
            (EventType::GroupMembersRemoved, vec![users[0].clone()]),
        ]
    );
    // A large group: its initial members come in events of MEMBERS_PER_EVENT ids.
    let n = MEMBERS_PER_EVENT * 2 + 5;
    let many: Vec<Value> = (0..n).map(|i| json!({ "value": format!("x{i:05}") })).collect();
    let start = c.db.feed_position(t).await.unwrap().last;
    c.create(t, g, json!({"displayName": "Big", "members": many}))
        .await
        .unwrap();
    let big = c.db.events(t, start, 100).await.unwrap();
    let kinds: Vec<EventType> = big.iter().map(|e| e.event).collect();
    assert_eq!(
        kinds,
        [
            EventType::GroupCreated,
            EventType::GroupMembersAdded,
            EventType::GroupMembersAdded,
            EventType::GroupMembersAdded
        ]
    );
    let sizes: Vec<usize> = big[1..].iter().map(|e| member_ids(e).len()).collect();
    assert_eq!(sizes, [MEMBERS_PER_EVENT, MEMBERS_PER_EVENT, 5]);
}

async fn retention_prunes_a_prefix_of_each_feed(c: Ctx) {
    let t = c.tenant("a").await;
    let other = c.tenant("b").await;
    let u = ResourceKind::User;
    let create_at = |t, name: &str, when: Timestamp| {
        let db = c.db.clone();
        let body = json!({ "userName": name });
        async move {
            let id = db.new_id();
            let (p, m) = scim_core::ops::prepare_create(u, &body, &id).unwrap();
            db.create(t, u, p, m, when).await.unwrap();
        }
    };
    create_at(t, "old1@x.io", at("2025-01-01T00:00:00.000000Z")).await;
    create_at(t, "old2@x.io", at("2025-01-02T00:00:00.000000Z")).await;
    create_at(other, "old3@x.io", at("2025-01-01T00:00:00.000000Z")).await;
    create_at(t, "new@x.io", at("2025-03-01T00:00:00.000000Z")).await;
    create_at(other, "new2@x.io", at("2025-03-01T00:00:00.000000Z")).await;
    let removed = c.db.prune_events(at("2025-02-01T00:00:00.000000Z")).await.unwrap();
    assert!(removed >= 3, "at least this case's three old events went: {removed}");
    let left = c.db.events(t, 0, 100).await.unwrap();
    assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
    assert_eq!(c.db.feed_position(t).await.unwrap().pruned, 2);
    assert_eq!(c.db.feed_position(other).await.unwrap().pruned, 1);
    // Pruning again changes nothing; new events continue the sequence.
    c.db.prune_events(at("2025-02-01T00:00:00.000000Z")).await.unwrap();
    create_at(t, "newer@x.io", now()).await;
    let pos = c.db.feed_position(t).await.unwrap();
    assert_eq!((pos.last, pos.pruned), (4, 2));
}

async fn a_watch_wakes_after_a_commit(c: Ctx) {
    let t = c.tenant("a").await;
    let mut watch = c.db.watch_feed();
    c.create(t, ResourceKind::User, json!({"userName": "w@x.io"}))
        .await
        .unwrap();
    // The commit happened before the wait: the watch, taken before it, still resolves.
    tokio::time::timeout(Duration::from_secs(30), watch.changed())
        .await
        .expect("the watch resolves after a commit");
}

/// A reader that asks for what follows the last number it saw must end up with every event,
/// while writers on two handles (two replicas) commit concurrently. With numbers handed out
/// before commit, an event could commit below one already read.
async fn a_reader_following_the_feed_misses_nothing_under_concurrent_writers(c: Ctx) {
    let t = c.tenant("feed").await;
    let other = c.reopen().await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (db, done) = (c.db.clone(), done.clone());
        tokio::spawn(async move {
            let (mut seen, mut last) = (Vec::new(), 0);
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let batch = db.events(t, last, 1000).await.unwrap();
                for e in &batch {
                    assert_eq!(e.seq, last + 1, "numbers follow without gaps");
                    last = e.seq;
                    seen.push(e.seq);
                }
                if finished && batch.is_empty() {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..4 {
        let db = if w % 2 == 0 { c.db.clone() } else { other.clone() };
        writers.push(tokio::spawn(async move {
            for i in 0..30 {
                super::create_on(
                    &db,
                    t,
                    ResourceKind::User,
                    json!({ "userName": format!("w{w}-{i}@x.io") }),
                )
                .await
                .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let all: Vec<i64> = c.db.events(t, 0, 1000).await.unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(all.len(), 120);
    assert_eq!(seen, all, "the reader saw every event, in order");
}
