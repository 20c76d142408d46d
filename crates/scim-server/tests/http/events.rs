//! The change feed through the admin API: `GET /admin/v1/tenants/{t}/events`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Admin, PATCH_OP, TestServer, assert_admin_error, entra_group, entra_user};

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn feed(a: &Admin<'_>, tenant: &str, query: &str) -> (Vec<Value>, i64) {
    let r = a
        .req(Method::GET, &format!("/tenants/{tenant}/events{query}"), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/json");
    let events = r.body["events"].as_array().expect("events").clone();
    (events, r.body["next_after"].as_i64().expect("next_after"))
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// Entra's life of a user (create, PATCH, disable, delete) and of a membership, read back
/// from the feed in order, with what each event carries.
#[tokio::test]
async fn an_entra_lifecycle_reads_back_in_order() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let user = s.create_user(entra_user("alice@contoso.com")).await;
    let group = s.create_group(entra_group("Sales")).await;
    let r = s
        .patch(
            &format!("/Users/{user}"),
            &patch(json!([{"op": "Replace", "path": "displayName", "value": "Alice B"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let add = json!([{"op": "Add", "path": "members", "value": [{"value": user}]}]);
    assert!(
        s.patch(&format!("/Groups/{group}"), &patch(add))
            .await
            .status
            .is_success()
    );
    let remove = json!([{"op": "Remove", "path": "members", "value": [{"value": user}]}]);
    assert!(
        s.patch(&format!("/Groups/{group}"), &patch(remove))
            .await
            .status
            .is_success()
    );
    let disable = json!([{"op": "Replace", "path": "active", "value": "False"}]);
    assert_eq!(
        s.patch(&format!("/Users/{user}"), &patch(disable)).await.status,
        StatusCode::OK
    );
    assert_eq!(s.delete(&format!("/Users/{user}")).await.status, StatusCode::NO_CONTENT);

    let (events, next) = feed(&a, "acme", "?after=0").await;
    assert_eq!(
        types(&events),
        [
            "user.created",
            "group.created",
            "user.updated",
            "group.members_added",
            "group.members_removed",
            "user.deactivated",
            "user.deleted"
        ]
    );
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(next, 7);
    let created = &events[0];
    assert_eq!(created["tenant"], "acme");
    assert_eq!(created["resource"], json!({"type": "User", "id": user, "version": 1}));
    assert_eq!(created["data"]["userName"], "alice@contoso.com");
    assert_eq!(created["data"]["id"], user.as_str());
    assert!(created["data"].get("meta").is_none());
    assert!(created["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(created["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(events[2]["data"]["displayName"], "Alice B");
    assert_eq!(events[3]["resource"]["id"], group.as_str());
    assert_eq!(events[3]["data"], json!({"members": [user]}));
    assert_eq!(events[4]["data"], json!({"members": [user]}));
    assert_eq!(events[5]["data"]["active"], false);
    assert_eq!(events[6]["resource"]["version"], 4);
    assert_eq!(events[6]["data"]["userName"], "alice@contoso.com");
    // Paging: limit, then on from next_after; at the end, an empty page keeps the position.
    let (first, next) = feed(&a, "acme", "?after=0&limit=3").await;
    assert_eq!((first.len(), next), (3, 3));
    let (rest, next) = feed(&a, "acme", &format!("?after={next}&limit=100")).await;
    assert_eq!((rest.len(), next), (4, 7));
    assert_eq!(feed(&a, "acme", "?after=7").await, (vec![], 7));
    // Absent `after`: the oldest event kept.
    assert_eq!(feed(&a, "acme", "").await.0.len(), 7);
}

#[tokio::test]
async fn tenants_see_only_their_own_events() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let (other, token) = s.other_tenant("globex").await;
    let r = s
        .client
        .post(format!("{other}/Users"))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(entra_user("bob@globex.com").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(feed(&a, "acme", "?after=0").await, (vec![], 0));
    let (theirs, _) = feed(&a, "globex", "?after=0").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["tenant"], "globex");
    assert_eq!(theirs[0]["seq"], 1, "each tenant has its own sequence");
}

/// A long poll is answered by the commit it waits for; without one, it ends empty at
/// the wait's end.
#[tokio::test]
async fn a_long_poll_is_answered_by_the_next_commit() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let poll = {
        let (client, url, token) = (
            s.client.clone(),
            format!("{}/admin/v1/tenants/acme/events?after=0&wait=30s", s.root),
            a.token.clone(),
        );
        tokio::spawn(async move {
            let r = client.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        })
    };
    s.create_user(entra_user("late@contoso.com")).await;
    let body = poll.await.unwrap();
    assert_eq!(types(body["events"].as_array().unwrap()), ["user.created"]);
    assert_eq!(body["next_after"], 1);
    let (events, next) = feed(&a, "acme", "?after=1&wait=1").await;
    assert_eq!((events.len(), next), (0, 1));
}

#[tokio::test]
async fn bad_feed_requests_get_clear_errors() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    for q in [
        "?after=-1",
        "?after=x",
        "?limit=0",
        "?limit=1001",
        "?wait=2m",
        "?wait=soon",
        "?after=5",
    ] {
        let r = a.req(Method::GET, &format!("/tenants/acme/events{q}"), None).await;
        assert_admin_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let r = a.req(Method::GET, "/tenants/nobody/events", None).await;
    assert_admin_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = a.call(Method::GET, "/tenants/acme/events", None, Some(&s.token)).await;
    assert_admin_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
}

/// Retention removed the oldest events: asking for them is 410 with where the feed starts.
#[tokio::test]
async fn events_past_retention_are_gone_with_the_oldest_seq() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    s.create_user(entra_user("a@contoso.com")).await;
    s.create_user(entra_user("b@contoso.com")).await;
    let far = scim_core::Timestamp::parse("2999-01-01T00:00:00Z").unwrap();
    assert_eq!(s.store.prune_events(far).await.unwrap(), 2);
    s.create_user(entra_user("c@contoso.com")).await;
    for q in ["?after=0", "?after=1"] {
        let r = a.req(Method::GET, &format!("/tenants/acme/events{q}"), None).await;
        assert_admin_error(&r, StatusCode::GONE, "events_expired");
        assert_eq!(r.body["oldest_seq"], 3, "{}", r.text);
    }
    let (events, next) = feed(&a, "acme", "?after=2").await;
    assert_eq!((types(&events), next), (vec!["user.created"], 3));
    assert_eq!(
        feed(&a, "acme", "").await.0.len(),
        1,
        "absent after starts at the oldest kept"
    );
}
