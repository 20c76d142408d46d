//! The store conformance suite: what every adapter of the `scim-core` ports must do. It runs
//! against SQLite here; a new backend adds its own `open` and runs the same cases.

use std::sync::Arc;

use scim_core::ops::{patch_fn, prepare_create};
use scim_core::patch::parse_patch_request;
use scim_core::ports::Store;
use scim_core::query::ListParams;
use scim_core::{CoreError, ResourceKind};
use serde_json::{Value, json};

const NOW: &str = "2026-01-01T00:00:00.000000Z";

fn open() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    (scim_store::open(&url, &Default::default()).unwrap(), dir)
}

async fn tenant(store: &Arc<dyn Store>, name: &str) -> i64 {
    store.create_tenant(name, NOW.into()).await.unwrap().id
}

async fn create(store: &Arc<dyn Store>, t: i64, kind: ResourceKind, body: Value) -> Result<String, CoreError> {
    let id = store.new_id();
    let (p, members) = prepare_create(kind, &body, &id)?;
    store.create(t, kind, p, members, NOW.into()).await.map(|r| r.id)
}

async fn patch(store: &Arc<dyn Store>, t: i64, kind: ResourceKind, id: &str, ops: Value) -> Result<i64, CoreError> {
    let ops = parse_patch_request(&json!({"Operations": ops}))?;
    store
        .update(t, kind, id, None, NOW.into(), patch_fn(kind, ops))
        .await
        .map(|r| r.version)
}

async fn ids(store: &Arc<dyn Store>, t: i64, kind: ResourceKind, filter: &str) -> Vec<String> {
    let params = ListParams {
        filter: Some(filter.to_string()),
        count: Some("1000".into()),
        ..Default::default()
    };
    let (q, _) = params.to_query(kind).unwrap();
    let page = store.query(t, kind, q).await.unwrap();
    let mut out: Vec<String> = page.items.into_iter().map(|r| r.id).collect();
    assert_eq!(page.total as usize, out.len(), "total matches items for {filter}");
    out.sort();
    out
}

fn user(name: &str, dept: &str, active: bool, country: &str) -> Value {
    json!({
        "userName": name,
        "externalId": name.split('@').next().unwrap(),
        "active": active,
        "displayName": name.to_uppercase(),
        "emails": [{"type": "work", "value": name, "primary": true}, {"type": "home", "value": format!("home.{name}")}],
        "addresses": [{"type": "work", "country": country}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": dept}
    })
}

#[tokio::test]
async fn create_get_update_delete_with_versions() {
    let (s, _d) = open();
    let t = tenant(&s, "a").await;
    let id = create(&s, t, ResourceKind::User, user("alice@x.io", "Sales", true, "FI"))
        .await
        .unwrap();
    let got = s.get(t, ResourceKind::User, &id).await.unwrap().unwrap();
    assert_eq!(got.version, 1);
    assert!(got.doc.contains("\"userName\":\"alice@x.io\""));
    let v = patch(
        &s,
        t,
        ResourceKind::User,
        &id,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await
    .unwrap();
    assert_eq!(v, 2);
    // A no-op PATCH writes nothing and keeps the version.
    let v = patch(
        &s,
        t,
        ResourceKind::User,
        &id,
        json!([{"op": "Replace", "path": "active", "value": false}]),
    )
    .await
    .unwrap();
    assert_eq!(v, 2);
    let err = s
        .update(
            t,
            ResourceKind::User,
            &id,
            Some(1),
            NOW.into(),
            patch_fn(ResourceKind::User, vec![]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::PreconditionFailed(_)), "{err:?}");
    s.delete(t, ResourceKind::User, &id, Some(2), NOW.into()).await.unwrap();
    assert!(s.get(t, ResourceKind::User, &id).await.unwrap().is_none());
    let err = s
        .delete(t, ResourceKind::User, &id, None, NOW.into())
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::NotFound(_)));
    assert!(
        ids(&s, t, ResourceKind::User, "userName eq \"alice@x.io\"")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn concurrent_case_variant_creates_give_one_winner() {
    let (s, _d) = open();
    let t = tenant(&s, "a").await;
    let mut tasks = Vec::new();
    for name in [
        "Bob@X.io", "bob@x.io", "BOB@x.IO", "bob@X.io", "boB@x.io", "BOb@x.io", "bOB@x.io", "Bob@x.io",
    ] {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            create(&s, t, ResourceKind::User, json!({"userName": name})).await
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
}

#[tokio::test]
async fn concurrent_patches_lose_no_update() {
    let (s, _d) = open();
    let t = tenant(&s, "a").await;
    let id = create(&s, t, ResourceKind::User, json!({"userName": "carol@x.io"}))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            patch(
                &s,
                t,
                ResourceKind::User,
                &id,
                json!([{"op": "add", "path": "emails", "value": [{"value": format!("e{i}@x.io")}]}]),
            )
            .await
            .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let got = s.get(t, ResourceKind::User, &id).await.unwrap().unwrap();
    assert_eq!(got.version, 41);
    let doc: Value = serde_json::from_str(&got.doc).unwrap();
    assert_eq!(
        doc["emails"].as_array().unwrap().len(),
        40,
        "every concurrent add landed"
    );
    assert_eq!(
        ids(&s, t, ResourceKind::User, "emails.value eq \"e39@x.io\"").await,
        vec![id]
    );
}

#[tokio::test]
async fn filters_push_down_and_agree_with_the_data() {
    let (s, _d) = open();
    let t = tenant(&s, "a").await;
    let other = tenant(&s, "b").await;
    let mut all = Vec::new();
    for i in 0..30 {
        let dept = ["Sales", "Support", "R&D"][i % 3];
        let country = if i % 2 == 0 { "FI" } else { "SE" };
        let name = format!("user{i:02}@x.io");
        all.push((
            i,
            create(&s, t, ResourceKind::User, user(&name, dept, i % 5 != 0, country))
                .await
                .unwrap(),
        ));
    }
    // The same names in another tenant never leak into tenant a's results.
    for i in 0..30 {
        create(
            &s,
            other,
            ResourceKind::User,
            user(&format!("user{i:02}@x.io"), "Sales", true, "FI"),
        )
        .await
        .unwrap();
    }
    let pick = |f: &dyn Fn(usize) -> bool| {
        let mut v: Vec<String> = all.iter().filter(|(i, _)| f(*i)).map(|(_, id)| id.clone()).collect();
        v.sort();
        v
    };
    let by_id = format!("id eq \"{}\"", all[3].1);
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("userName eq \"USER07@x.io\"", pick(&|i| i == 7)),
        ("externalId eq \"user07\"", pick(&|i| i == 7)),
        ("externalId eq \"USER07\"", vec![]),
        ("emails[type eq \"work\"].value eq \"user08@x.io\"", pick(&|i| i == 8)),
        ("emails[type eq \"home\"].value eq \"user08@x.io\"", vec![]),
        (
            "emails[type eq \"home\" and value sw \"home.user1\"]",
            pick(&|i| (10..20).contains(&i)),
        ),
        ("emails[type eq \"work\" or value eq \"nothing\"]", pick(&|_| true)),
        ("emails[not (type eq \"work\")]", pick(&|_| true)),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"sales\"",
            pick(&|i| i % 3 == 0),
        ),
        ("active eq false", pick(&|i| i % 5 == 0)),
        (
            "active eq true and addresses[type eq \"work\"].country eq \"FI\"",
            pick(&|i| i % 5 != 0 && i % 2 == 0),
        ),
        ("not (active eq true)", pick(&|i| i % 5 == 0)),
        ("userName sw \"user2\"", pick(&|i| (20..30).contains(&i))),
        ("userName ew \"9@x.io\"", pick(&|i| i % 10 == 9)),
        ("displayName co \"ER1\"", pick(&|i| (10..20).contains(&i))),
        ("userName gt \"user27@x.io\"", pick(&|i| i > 27)),
        ("userName le \"user01@x.io\"", pick(&|i| i <= 1)),
        (
            "userName ne \"user01@x.io\" and userName lt \"user03\"",
            pick(&|i| i == 0 || i == 2),
        ),
        (
            "(active eq false or userName eq \"user01@x.io\") and addresses.country eq \"SE\"",
            pick(&|i| i % 2 == 1 && (i % 5 == 0 || i == 1)),
        ),
        ("externalId pr", pick(&|_| true)),
        ("title pr", vec![]),
        ("meta.created gt 2025-12-31T23:00:00Z", pick(&|_| true)),
        ("meta.resourceType eq \"Group\"", vec![]),
        (by_id.as_str(), pick(&|i| i == 3)),
    ];
    for (filter, want) in cases {
        assert_eq!(ids(&s, t, ResourceKind::User, filter).await, want, "filter {filter}");
    }
}

#[tokio::test]
async fn paging_and_sorting_are_stable() {
    let (s, _d) = open();
    let t = tenant(&s, "a").await;
    for i in 0..25 {
        create(
            &s,
            t,
            ResourceKind::User,
            json!({"userName": format!("p{:02}@x.io", 24 - i), "title": format!("t{}", i % 4)}),
        )
        .await
        .unwrap();
    }
    let page = |start: &str, count: &str, sort: Option<&str>, order: Option<&str>| ListParams {
        start_index: Some(start.into()),
        count: Some(count.into()),
        sort_by: sort.map(Into::into),
        sort_order: order.map(Into::into),
        ..Default::default()
    };
    let mut seen = Vec::new();
    for start in [1, 11, 21] {
        let (q, _) = page(&start.to_string(), "10", None, None)
            .to_query(ResourceKind::User)
            .unwrap();
        let p = s.query(t, ResourceKind::User, q).await.unwrap();
        assert_eq!(p.total, 25);
        seen.extend(p.items.into_iter().map(|r| r.id));
    }
    assert_eq!(seen.len(), 25);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 25, "pages neither overlap nor skip");

    let (q, _) = page("1", "3", Some("userName"), Some("descending"))
        .to_query(ResourceKind::User)
        .unwrap();
    let p = s.query(t, ResourceKind::User, q).await.unwrap();
    let names: Vec<String> = p
        .items
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.doc).unwrap()["userName"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["p24@x.io", "p23@x.io", "p22@x.io"]);

    let (q, _) = page("1", "0", None, None).to_query(ResourceKind::User).unwrap();
    let p = s.query(t, ResourceKind::User, q).await.unwrap();
    assert_eq!((p.total, p.items.len()), (25, 0));
}

#[tokio::test]
async fn members_are_set_operations_and_follow_deletes() {
    let (s, _d) = open();
    let t = tenant(&s, "a").await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(
            create(&s, t, ResourceKind::User, json!({"userName": format!("m{i}")}))
                .await
                .unwrap(),
        );
    }
    let g = create(
        &s,
        t,
        ResourceKind::Group,
        json!({"displayName": "Sales", "members": [{"value": users[0]}]}),
    )
    .await
    .unwrap();
    let members = |ids: &[&String]| -> Value { Value::Array(ids.iter().map(|id| json!({"value": id})).collect()) };
    patch(
        &s,
        t,
        ResourceKind::Group,
        &g,
        json!([{"op": "Add", "path": "members", "value": members(&[&users[1], &users[2], &users[0]])}]),
    )
    .await
    .unwrap();
    assert_eq!(s.members(t, &g).await.unwrap().len(), 3);
    patch(
        &s,
        t,
        ResourceKind::Group,
        &g,
        json!([{"op": "Remove", "path": "members", "value": members(&[&users[1]])}]),
    )
    .await
    .unwrap();
    let list = s.members(t, &g).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(!list.iter().any(|m| m.contains(&users[1])));
    assert_eq!(s.members_upto(t, &g, 1).await.unwrap(), None, "more than the limit");
    assert_eq!(s.members_upto(t, &g, 2).await.unwrap().map(|l| l.len()), Some(2));

    assert_eq!(
        ids(
            &s,
            t,
            ResourceKind::Group,
            &format!("members[value eq \"{}\"]", users[2])
        )
        .await,
        vec![g.clone()]
    );
    let before = s.get(t, ResourceKind::Group, &g).await.unwrap().unwrap().version;
    s.delete(t, ResourceKind::User, &users[2], None, NOW.into())
        .await
        .unwrap();
    let list = s.members(t, &g).await.unwrap();
    assert_eq!(list.len(), 1, "a deleted user leaves the group");
    let after = s.get(t, ResourceKind::Group, &g).await.unwrap().unwrap().version;
    assert_eq!(after, before + 1, "the group changed, so its version moved");

    patch(
        &s,
        t,
        ResourceKind::Group,
        &g,
        json!([{"op": "replace", "path": "members", "value": members(&[&users[3], &users[4]])}]),
    )
    .await
    .unwrap();
    let list = s.members(t, &g).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|m| m.contains(&users[3]) || m.contains(&users[4])));
    patch(
        &s,
        t,
        ResourceKind::Group,
        &g,
        json!([{"op": "remove", "path": "members"}]),
    )
    .await
    .unwrap();
    assert!(s.members(t, &g).await.unwrap().is_empty());

    let err = create(&s, t, ResourceKind::Group, json!({"displayName": "SALES"}))
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::Uniqueness(_)));
}

#[tokio::test]
async fn tokens_authenticate_one_tenant_until_revoked_or_expired() {
    let (s, _d) = open();
    let a = tenant(&s, "a").await;
    let tok = s.issue_token(a, None, NOW.into()).await.unwrap();
    let expiring = s
        .issue_token(a, Some("2026-06-01T00:00:00.000000Z".into()), NOW.into())
        .await
        .unwrap();
    assert_eq!(s.authenticate(&tok.token, NOW).await.unwrap().unwrap().name, "a");
    assert!(s.authenticate("scimd_wrong", NOW).await.unwrap().is_none());
    assert!(s.authenticate(&expiring.token, NOW).await.unwrap().is_some());
    assert!(
        s.authenticate(&expiring.token, "2026-07-01T00:00:00.000000Z")
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let listed = s.tokens(a).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|k| !k.prefix.is_empty() && tok.token.len() > k.prefix.len())
    );
    assert_eq!(s.revoke_tokens(a, &tok.prefix, NOW.into()).await.unwrap(), 1);
    assert!(s.authenticate(&tok.token, NOW).await.unwrap().is_none(), "revoked");
    assert!(matches!(
        s.revoke_tokens(a, "scim", NOW.into()).await,
        Err(CoreError::InvalidValue(_))
    ));
}
