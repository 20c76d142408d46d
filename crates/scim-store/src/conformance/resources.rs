//! Resources: CRUD, versions and If-Match, uniqueness under concurrency, lost updates,
//! paging and sorting, and the journal.

use scim_core::ops::{patch_fn, replace_fn};
use scim_core::query::ListParams;
use scim_core::{CoreError, ResourceKind};
use serde_json::{Value, json};

use super::{Ctx, now};

cases![
    create_get_update_delete_with_versions,
    put_replaces_and_if_match_guards_every_write,
    concurrent_case_variant_creates_give_one_winner,
    concurrent_patches_lose_no_update,
    index_paging_and_sorting_are_stable,
    seek_pages_walk_forward_and_back_in_every_seekable_order,
    failed_writes_among_concurrent_ones_undo_only_themselves,
];

async fn create_get_update_delete_with_versions(c: Ctx) {
    let t = c.tenant("a").await;
    let u = ResourceKind::User;
    let id = c
        .create(t, u, json!({"userName": "alice@x.io", "active": true}))
        .await
        .unwrap();
    let got = c.db.get(t, u, &id).await.unwrap().unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.created, now());
    assert_eq!(got.last_modified, now());
    assert!(got.doc.contains("\"userName\":\"alice@x.io\""), "{}", got.doc);
    let v = c
        .patch(
            t,
            u,
            &id,
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await
        .unwrap();
    assert_eq!(v, 2);
    // A no-op PATCH writes nothing and keeps the version.
    let v = c
        .patch(t, u, &id, json!([{"op": "Replace", "path": "active", "value": false}]))
        .await
        .unwrap();
    assert_eq!(v, 2);
    let err =
        c.db.update(t, u, &id, Some(1), now(), patch_fn(u, vec![]))
            .await
            .unwrap_err();
    assert!(matches!(err, CoreError::PreconditionFailed(_)), "{err:?}");
    let err = c.db.delete(t, u, &id, Some(1), now()).await.unwrap_err();
    assert!(
        matches!(err, CoreError::PreconditionFailed(_)),
        "stale If-Match on delete: {err:?}"
    );
    c.db.delete(t, u, &id, Some(2), now()).await.unwrap();
    assert!(c.db.get(t, u, &id).await.unwrap().is_none());
    let err = c.db.delete(t, u, &id, None, now()).await.unwrap_err();
    assert!(matches!(err, CoreError::NotFound(_)), "{err:?}");
    let err =
        c.db.update(t, u, &id, None, now(), patch_fn(u, vec![]))
            .await
            .unwrap_err();
    assert!(matches!(err, CoreError::NotFound(_)), "{err:?}");
    assert!(c.ids(t, u, "userName eq \"alice@x.io\"").await.is_empty());
    // The name is free again.
    c.create(t, u, json!({"userName": "ALICE@x.io"})).await.unwrap();
    // U+0000 is valid in JSON strings; every backend keeps it and finds it, and an id that
    // holds one is simply not found.
    let nul = c
        .create(t, u, json!({"userName": "nul\u{0}name", "title": "a\u{0}b"}))
        .await
        .unwrap();
    let doc = c.db.get(t, u, &nul).await.unwrap().unwrap().doc;
    let back: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(back["title"], "a\u{0}b");
    assert_eq!(c.ids(t, u, "title eq \"a\\u0000b\"").await, vec![nul.clone()]);
    assert_eq!(c.ids(t, u, "userName eq \"nul\\u0000name\"").await, vec![nul]);
    assert!(c.db.get(t, u, "x\u{0}y").await.unwrap().is_none());
    let err = c.db.delete(t, u, "x\u{0}y", None, now()).await.unwrap_err();
    assert!(matches!(err, CoreError::NotFound(_)), "{err:?}");
}

async fn put_replaces_and_if_match_guards_every_write(c: Ctx) {
    let t = c.tenant("a").await;
    let u = ResourceKind::User;
    let id = c
        .create(
            t,
            u,
            json!({"userName": "bea@x.io", "title": "Boss", "externalId": "b1"}),
        )
        .await
        .unwrap();
    let later = super::at("2026-02-01T12:00:00.5Z");
    let got =
        c.db.update(
            t,
            u,
            &id,
            Some(1),
            later,
            replace_fn(u, json!({"userName": "bea@x.io", "nickName": "B"})),
        )
        .await
        .unwrap();
    assert_eq!((got.version, got.created, got.last_modified), (2, now(), later));
    assert!(
        !got.doc.contains("Boss") && got.doc.contains("\"nickName\":\"B\""),
        "{}",
        got.doc
    );
    assert!(c.ids(t, u, "title pr").await.is_empty(), "old index rows are gone");
    assert!(c.ids(t, u, "externalId eq \"b1\"").await.is_empty());
    assert_eq!(c.ids(t, u, "nickName eq \"b\"").await, vec![id.clone()]);
    // Renaming onto an existing name is a uniqueness error and changes nothing.
    c.create(t, u, json!({"userName": "other@x.io"})).await.unwrap();
    let err =
        c.db.update(t, u, &id, None, now(), replace_fn(u, json!({"userName": "OTHER@x.io"})))
            .await
            .unwrap_err();
    assert!(matches!(err, CoreError::Uniqueness(_)), "{err:?}");
    assert_eq!(c.db.get(t, u, &id).await.unwrap().unwrap().version, 2);
}

async fn concurrent_case_variant_creates_give_one_winner(c: Ctx) {
    let t = c.tenant("a").await;
    // Two handles, as two replicas would be.
    let other = c.reopen().await;
    let mut tasks = Vec::new();
    let names = [
        "Bob@X.io", "bob@x.io", "BOB@x.IO", "bob@X.io", "boB@x.io", "BOb@x.io", "bOB@x.io", "Bob@x.io",
    ];
    for (i, name) in names.into_iter().enumerate() {
        let db = if i % 2 == 0 { c.db.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            super::create_on(&db, t, ResourceKind::User, json!({ "userName": name })).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(CoreError::Uniqueness(detail)) => assert!(detail.contains("bob@x.io"), "{detail}"),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(c.ids(t, ResourceKind::User, "userName eq \"BOB@X.IO\"").await.len(), 1);
}

async fn concurrent_patches_lose_no_update(c: Ctx) {
    let t = c.tenant("a").await;
    let other = c.reopen().await;
    let id = c
        .create(t, ResourceKind::User, json!({"userName": "carol@x.io"}))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let db = if i % 2 == 0 { c.db.clone() } else { other.clone() };
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            let ops = scim_core::patch::parse_patch_request(&json!({"Operations": [
                {"op": "add", "path": "emails", "value": [{"value": format!("e{i}@x.io")}]}
            ]}))
            .unwrap();
            db.update(
                t,
                ResourceKind::User,
                &id,
                None,
                now(),
                patch_fn(ResourceKind::User, ops),
            )
            .await
            .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let got = c.db.get(t, ResourceKind::User, &id).await.unwrap().unwrap();
    assert_eq!(got.version, 41);
    let doc: Value = serde_json::from_str(&got.doc).unwrap();
    assert_eq!(
        doc["emails"].as_array().unwrap().len(),
        40,
        "every concurrent add landed"
    );
    assert_eq!(
        c.ids(t, ResourceKind::User, "emails.value eq \"e39@x.io\"").await,
        vec![id]
    );
}

fn page(start: usize, count: usize, sort: Option<&str>, order: Option<&str>) -> ListParams {
    ListParams {
        start_index: Some(start.to_string()),
        count: Some(count.to_string()),
        sort_by: sort.map(Into::into),
        sort_order: order.map(Into::into),
        ..Default::default()
    }
}

fn names(items: &[scim_core::resource::StoredResource]) -> Vec<String> {
    items
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.doc).unwrap()["userName"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

async fn index_paging_and_sorting_are_stable(c: Ctx) {
    let t = c.tenant("a").await;
    let u = ResourceKind::User;
    for i in 0..25 {
        c.create(
            t,
            u,
            json!({"userName": format!("p{:02}@x.io", 24 - i), "title": format!("t{}", i % 4)}),
        )
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    for start in [1, 11, 21] {
        let (q, _) = page(start, 10, None, None).to_query(u).unwrap();
        let p = c.db.query(t, u, q).await.unwrap();
        assert_eq!(p.total, 25);
        seen.extend(p.items.into_iter().map(|r| r.id));
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "unsorted pages come in creation (id) order");
    sorted.dedup();
    assert_eq!(sorted.len(), 25, "pages neither overlap nor skip");

    let (q, _) = page(1, 3, Some("userName"), Some("descending")).to_query(u).unwrap();
    let p = c.db.query(t, u, q).await.unwrap();
    assert_eq!(names(&p.items), ["p24@x.io", "p23@x.io", "p22@x.io"]);
    let (q, _) = page(24, 5, Some("userName"), None).to_query(u).unwrap();
    let p = c.db.query(t, u, q).await.unwrap();
    assert_eq!(
        (p.total, names(&p.items)),
        (25, vec!["p23@x.io".into(), "p24@x.io".into()])
    );
    // Sorting by an indexed attribute: title t0..t3, ties broken by creation order.
    let (q, _) = page(1, 25, Some("title"), Some("descending")).to_query(u).unwrap();
    let p = c.db.query(t, u, q).await.unwrap();
    let titles: Vec<String> = p
        .items
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.doc).unwrap()["title"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut want = titles.clone();
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(titles, want);
    assert_eq!(titles[0], "t3");

    let (q, _) = page(1, 0, None, None).to_query(u).unwrap();
    let p = c.db.query(t, u, q).await.unwrap();
    assert_eq!((p.total, p.items.len()), (25, 0));
    let (q, _) = page(100, 10, None, None).to_query(u).unwrap();
    let p = c.db.query(t, u, q).await.unwrap();
    assert_eq!((p.total, p.items.len()), (25, 0), "past the end: total, no items");
}

/// Adapters may share one transaction among concurrent writes (PostgreSQL's group commit):
/// a write that fails there must undo itself and nothing else.
async fn failed_writes_among_concurrent_ones_undo_only_themselves(c: Ctx) {
    let t = c.tenant("a").await;
    let u = ResourceKind::User;
    let kept = c.create(t, u, json!({"userName": "kept@x.io"})).await.unwrap();
    let before = c.db.events(t, 0, 1000).await.unwrap().len();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let db = c.db.clone();
        let kept = kept.clone();
        tasks.push(tokio::spawn(async move {
            let outcome = match i % 4 {
                0 | 1 => super::create_on(&db, t, u, json!({ "userName": format!("new{i}@x.io") }))
                    .await
                    .map(|_| ()),
                2 => super::create_on(&db, t, u, json!({"userName": "KEPT@x.io"}))
                    .await
                    .map(|_| ()),
                _ => {
                    let ops = scim_core::patch::parse_patch_request(&json!({"Operations": [
                        {"op": "replace", "path": "title", "value": "never"}]}))
                    .unwrap();
                    db.update(t, u, &kept, Some(99), now(), patch_fn(u, ops))
                        .await
                        .map(|_| ())
                }
            };
            (i % 4, outcome)
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            (0 | 1, r) => r.map(|_| created += 1).expect("a distinct create succeeds"),
            (2, r) => assert!(matches!(r, Err(CoreError::Uniqueness(_))), "{r:?}"),
            (_, r) => assert!(matches!(r, Err(CoreError::PreconditionFailed(_))), "{r:?}"),
        }
    }
    assert_eq!(created, 30);
    assert_eq!(c.ids(t, u, "userName sw \"new\"").await.len(), 30);
    let kept_now = c.db.get(t, u, &kept).await.unwrap().unwrap();
    assert_eq!(kept_now.version, 1, "the failed updates changed nothing");
    assert!(!kept_now.doc.contains("never"));
    let journal = c.db.events(t, 0, 1000).await.unwrap();
    assert_eq!(journal.len() - before, 30, "only the successful writes are journaled");
    let params = ListParams {
        count: Some("0".into()),
        ..Default::default()
    };
    let (q, _) = params.to_query(u).unwrap();
    assert_eq!(
        c.db.query(t, u, q).await.unwrap().total,
        31,
        "the count moved only for them"
    );
}

fn seek(q: &mut scim_core::ports::Query, value: Option<String>, id: &str, backwards: bool) {
    q.seek = Some(scim_core::ports::Seek {
        from: scim_core::ports::Position {
            value,
            id: id.to_string(),
        },
        backwards,
    });
}

/// Walks a query with seeks of `size` forward to the end, then backwards to the start, and
/// checks both walks against one unpaged read.
async fn walk(
    c: &Ctx,
    t: i64,
    params: ListParams,
    key: &(dyn Fn(&scim_core::resource::StoredResource) -> Option<String> + Sync),
) {
    let u = ResourceKind::User;
    let mut all_params = params.clone();
    all_params.count = Some("1000".into());
    let (q_all, _) = all_params.to_query(u).unwrap();
    let want: Vec<String> =
        c.db.query(t, u, q_all)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.id)
            .collect();
    assert!(want.len() > 10, "enough rows to page: {}", want.len());
    let (base, _) = params.to_query(u).unwrap();
    let mut got = Vec::new();
    let mut last: Option<scim_core::resource::StoredResource> = None;
    loop {
        let mut q = base.clone();
        if let Some(l) = &last {
            seek(&mut q, key(l), &l.id, false);
        } else {
            seek(&mut q, None, "", false);
            q.seek = None;
        }
        let page = c.db.query(t, u, q).await.unwrap();
        assert_eq!(page.total as usize, want.len(), "total on every page");
        if page.items.is_empty() {
            break;
        }
        last = page.items.last().cloned();
        got.extend(page.items.into_iter().map(|r| r.id));
    }
    assert_eq!(got, want, "forward walk");
    // Backwards from past the end.
    let mut back = Vec::new();
    let mut first = last.unwrap();
    back.push(first.id.clone());
    loop {
        let mut q = base.clone();
        seek(&mut q, key(&first), &first.id, true);
        let page = c.db.query(t, u, q).await.unwrap();
        if page.items.is_empty() {
            break;
        }
        first = page.items[0].clone();
        for r in page.items.into_iter().rev() {
            back.push(r.id);
        }
    }
    back.reverse();
    assert_eq!(back, want, "backward walk");
}

async fn seek_pages_walk_forward_and_back_in_every_seekable_order(c: Ctx) {
    let t = c.tenant("a").await;
    let u = ResourceKind::User;
    for i in 0..23 {
        // Names out of creation order, some sharing a case-folded prefix.
        let name = format!("{}{:02}@X.io", ["b", "A", "c"][i % 3], (i * 7) % 23);
        c.create(t, u, json!({"userName": name, "active": i % 4 != 0}))
            .await
            .unwrap();
    }
    let name_key = |r: &scim_core::resource::StoredResource| {
        let doc: Value = serde_json::from_str(&r.doc).unwrap();
        Some(doc["userName"].as_str().unwrap().to_lowercase())
    };
    let created = |r: &scim_core::resource::StoredResource| Some(r.created.to_string());
    let none = |_: &scim_core::resource::StoredResource| None;
    for (sort, order) in [
        (None, None),
        (None, Some("descending")),
        (Some("userName"), None),
        (Some("userName"), Some("descending")),
        (Some("meta.created"), Some("descending")),
    ] {
        let params = ListParams {
            count: Some("4".into()),
            sort_by: sort.map(Into::into),
            sort_order: order.map(Into::into),
            ..Default::default()
        };
        let key: &(dyn Fn(&scim_core::resource::StoredResource) -> Option<String> + Sync) = match sort {
            Some("userName") => &name_key,
            Some(_) => &created,
            None => &none,
        };
        walk(&c, t, params.clone(), key).await;
        let filtered = ListParams {
            filter: Some("active eq true".into()),
            ..params
        };
        walk(&c, t, filtered, key).await;
    }
}
