//! Listing and searching: pagination, sorting, projection, every filter operator, ETags
//! and uniqueness (RFC 7644 §3.4, §3.14; entra-scim-client.md §1.9, §2.3).

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// Creates `n` users `user00@x.com` … in order and returns their ids.
async fn numbered_users(s: &TestServer, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(s.create_user(min_user(&format!("user{i:02}@x.com"))).await);
    }
    ids
}

#[tokio::test]
async fn pagination_over_twelve_users() {
    let s = TestServer::start().await;
    let ids = numbered_users(&s, 12).await;
    let mut seen = Vec::new();
    for (start, want) in [(1, 5), (6, 5), (11, 2)] {
        let r = s.get(&format!("/Users?startIndex={start}&count=5")).await;
        let items = r.assert_list(12);
        assert_eq!(items.len(), want, "startIndex={start}");
        assert_eq!(r.body["startIndex"], json!(start), "startIndex echoed as an integer");
        assert_eq!(r.body["itemsPerPage"], json!(want));
        seen.extend(r.ids());
    }
    assert_eq!(seen, ids, "pages are disjoint, complete and in a stable order");
    // Past the end: an empty page with the right total.
    let r = s.get("/Users?startIndex=13&count=5").await;
    assert!(r.assert_list(12).is_empty());
    // count=0 asks for the total only.
    let r = s.get("/Users?count=0").await;
    assert!(r.assert_list(12).is_empty());
    assert_eq!(r.body["Resources"], json!([]));
    // Out-of-range values are clamped (RFC 7644 §3.4.2.4), not errors.
    let r = s.get("/Users?startIndex=0&count=2").await;
    assert_eq!(r.assert_list(12).len(), 2);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.ids(), ids[..2].to_vec());
    let r = s.get("/Users?count=-3").await;
    assert!(r.assert_list(12).is_empty());
    // Paging composes with a filter (Okta: count=100 pages over startIndex).
    let r = s
        .get(&format!(
            "/Users?filter={}&startIndex=2&count=3",
            enc("userName sw \"user0\"")
        ))
        .await;
    assert_eq!(r.assert_list(10).len(), 3);
    assert_eq!(r.ids(), ids[1..4].to_vec());
}

#[tokio::test]
async fn sort_by_and_sort_order() {
    let s = TestServer::start().await;
    let names = [
        ("carol@x.com", "Clark"),
        ("alice@x.com", "Anderson"),
        ("bob@x.com", "Brown"),
    ];
    let mut ids = std::collections::HashMap::new();
    for (u, family) in names {
        let mut body = min_user(u);
        body["name"] = json!({"familyName": family});
        ids.insert(u, s.create_user(body).await);
    }
    let by = |order: &[&str]| order.iter().map(|u| ids[u].clone()).collect::<Vec<_>>();
    assert_eq!(
        s.get("/Users?sortBy=userName").await.ids(),
        by(&["alice@x.com", "bob@x.com", "carol@x.com"])
    );
    assert_eq!(
        s.get("/Users?sortBy=userName&sortOrder=descending").await.ids(),
        by(&["carol@x.com", "bob@x.com", "alice@x.com"])
    );
    assert_eq!(
        s.get("/Users?sortBy=name.familyName").await.ids(),
        by(&["alice@x.com", "bob@x.com", "carol@x.com"])
    );
    assert_eq!(
        s.get("/Users?SORTBY=Name.FamilyName&sortOrder=DESCENDING").await.ids(),
        by(&["carol@x.com", "bob@x.com", "alice@x.com"])
    );
    assert_eq!(
        s.get("/Users?sortBy=meta.created").await.ids(),
        by(&["carol@x.com", "alice@x.com", "bob@x.com"])
    );
    let r = s
        .get("/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=1")
        .await;
    assert_eq!(r.ids(), by(&["bob@x.com"]));
    s.get("/Users?sortOrder=sideways")
        .await
        .assert_error(400, Some("invalidValue"));
    s.get("/Users?sortBy=noSuchAttr")
        .await
        .assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn attributes_and_excluded_attributes() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let r = s.get("/Users?attributes=userName,emails").await;
    let u = &r.assert_list(1)[0];
    assert_eq!(keys(u), ["emails", "id", "schemas", "userName"], "{u}");
    let r = s
        .get(&format!("/Users/{id}?attributes=USERNAME,name.givenName,emails.value"))
        .await;
    assert_eq!(r.body["userName"], "alice@contoso.com");
    assert_eq!(r.body["name"], json!({"givenName": "Alice"}));
    assert_eq!(r.body["emails"], json!([{"value": "alice@contoso.com"}]));
    assert!(r.body.get("displayName").is_none());
    let r = s.get(&format!("/Users/{id}?attributes={ENTERPRISE}:department")).await;
    assert_eq!(r.body[ENTERPRISE], json!({"department": "Sales"}));
    let r = s
        .get(&format!("/Users/{id}?attributes={}", enc("emails[type eq \"work\"]")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["emails"][0]["value"], "alice@contoso.com");
    let r = s
        .get(&format!(
            "/Users/{id}?excludedAttributes=emails,name.givenName,{ENTERPRISE}"
        ))
        .await;
    assert!(r.body.get("emails").is_none());
    assert!(r.body.get(ENTERPRISE).is_none());
    assert_eq!(
        r.body["name"],
        json!({"formatted": "Alice Example", "familyName": "Example"})
    );
    assert_eq!(r.body["userName"], "alice@contoso.com");
    let r = s.get(&format!("/Users/{id}?excludedAttributes=id,schemas")).await;
    assert_eq!(r.body["id"], json!(id), "id can't be excluded");
    // On POST /Users/.search, with arrays and numbers in the body.
    let r = s
        .post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName eq \"ALICE@contoso.com\"", "attributes": ["userName", "active"],
                    "startIndex": 1, "count": 10}),
        )
        .await;
    let u = &r.assert_list(1)[0];
    assert_eq!(keys(u), ["active", "id", "schemas", "userName"], "{u}");
    let r = s
        .post("/Users/.Search", &json!({"excludedAttributes": "emails,addresses"}))
        .await;
    let u = &r.assert_list(1)[0];
    assert!(u.get("emails").is_none() && u.get("addresses").is_none());
    assert_eq!(u["displayName"], "Alice Example");
    // Root search covers both types.
    s.create_group(entra_group("Sales")).await;
    let r = s.post("/.search", &json!({"attributes": ["id"]})).await;
    assert_eq!(r.assert_list(2).len(), 2);
    // On the create response too.
    let r = s.post("/Users?attributes=userName", &min_user("bob@contoso.com")).await;
    assert_eq!(r.status, 201);
    assert_eq!(keys(&r.body), ["id", "schemas", "userName"]);
}

/// Three users for the operator tests; returns (alice, bob, carol).
async fn trio(s: &TestServer) -> (String, String, String) {
    let a = s
        .create_user(
            json!({"userName": "alice@contoso.com", "title": "Engineer", "nickName": "Al", "active": true,
            "name": {"familyName": "Anderson"}, "displayName": "Alice",
            "emails": [{"type": "work", "value": "alice@contoso.com"}],
            ENTERPRISE: {"department": "Sales"}}),
        )
        .await;
    let b = s
        .create_user(
            json!({"userName": "bob@example.org", "title": "Manager", "active": "True", "name": {"familyName": "Brown"},
            "emails": [{"type": "home", "value": "bob@contoso.com"}, {"type": "work", "value": "bob@example.org"}]}),
        )
        .await;
    let c = s
        .create_user(
            json!({"userName": "carol@contoso.com", "title": "Engineer II", "active": false,
            "name": {"familyName": "Clark"}, "emails": [{"type": "work", "value": "carol@contoso.com"}]}),
        )
        .await;
    (a, b, c)
}

async fn expect(s: &TestServer, filter: &str, want: &[&String]) {
    let mut got = s.filter_ids("/Users", filter).await;
    got.sort();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "filter {filter:?}");
}

#[tokio::test]
async fn every_filter_operator() {
    let s = TestServer::start().await;
    let (a, b, c) = trio(&s).await;
    expect(&s, "title eq \"engineer\"", &[&a]).await;
    expect(&s, "title ne \"Engineer\"", &[&b, &c]).await;
    expect(&s, "userName co \"contoso\"", &[&a, &c]).await;
    expect(&s, "userName sw \"b\"", &[&b]).await;
    expect(&s, "userName ew \".ORG\"", &[&b]).await;
    expect(&s, "name.familyName gt \"Anderson\"", &[&b, &c]).await;
    expect(&s, "name.familyName ge \"Brown\"", &[&b, &c]).await;
    expect(&s, "name.familyName lt \"Brown\"", &[&a]).await;
    expect(&s, "name.familyName le \"brown\"", &[&a, &b]).await;
    expect(&s, "nickName pr", &[&a]).await;
    expect(&s, "name pr", &[&a, &b, &c]).await;
    expect(&s, "not (nickName pr)", &[&b, &c]).await;
    expect(&s, "title eq \"Engineer\" or title eq \"Manager\"", &[&a, &b]).await;
    expect(&s, "userName co \"contoso\" and active eq true", &[&a]).await;
    expect(&s, "active eq false", &[&c]).await;
    expect(
        &s,
        "(title sw \"Eng\" or title eq \"Manager\") and not (active eq false)",
        &[&a, &b],
    )
    .await;
    expect(
        &s,
        "title sw \"Eng\" or title eq \"Manager\" and active eq false",
        &[&a, &c],
    )
    .await;
    // Value paths: the conditions hold on one element.
    expect(&s, "emails[type eq \"work\" and value co \"contoso\"]", &[&a, &c]).await;
    expect(&s, "emails[type eq \"home\"]", &[&b]).await;
    // …on the same element: bob's contoso address is his home one, not his work one.
    expect(&s, "emails[type eq \"work\"].value eq \"bob@contoso.com\"", &[]).await;
    expect(&s, "emails[type eq \"home\" and value eq \"bob@example.org\"]", &[]).await;
    expect(
        &s,
        "emails.type eq \"home\" and emails.value eq \"bob@example.org\"",
        &[&b],
    )
    .await;
    expect(&s, "emails[type eq \"work\"].value ew \"example.org\"", &[&b]).await;
    expect(&s, "emails.value co \"contoso\"", &[&a, &b, &c]).await;
    expect(&s, "emails co \"example\"", &[&b]).await;
    expect(&s, &format!("{ENTERPRISE}:department eq \"sales\""), &[&a]).await;
    expect(&s, "displayName eq null", &[&b, &c]).await;
    // meta.created, in the Postman suite's forms (quoted and bare, with an offset).
    expect(
        &s,
        "meta.created gt \"2015-10-10T14:38:21.8617979-07:00\"",
        &[&a, &b, &c],
    )
    .await;
    expect(&s, "meta.Created gt 2015-10-10T14:38:21.8617979-07:00", &[&a, &b, &c]).await;
    expect(&s, "meta.created lt \"2015-10-10T14:38:21Z\"", &[]).await;
    let created = s.get(&format!("/Users/{c}")).await.body["meta"]["created"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        s.filter_ids("/Users", &format!("meta.created ge \"{created}\""))
            .await
            .contains(&c)
    );
    assert!(
        !s.filter_ids("/Users", &format!("meta.created gt \"{created}\""))
            .await
            .contains(&c)
    );
    assert!(
        s.filter_ids("/Users", &format!("meta.lastModified le \"{created}\""))
            .await
            .contains(&c)
    );
}

#[tokio::test]
async fn attribute_names_and_operators_are_case_insensitive() {
    let s = TestServer::start().await;
    let (a, b, c) = trio(&s).await;
    expect(&s, "USERNAME SW \"A\"", &[&a]).await;
    expect(&s, "Name.FamilyName Eq \"anderson\"", &[&a]).await;
    expect(&s, "DisplayName eq \"ALICE\"", &[&a]).await;
    expect(&s, "Emails.Value CO \"example\" Or TITLE Eq \"engineer ii\"", &[&b, &c]).await;
    expect(&s, "NOT (Active EQ True) AND title PR", &[&c]).await;
    expect(&s, "EMAILS[TYPE EQ \"WORK\"].VALUE EQ \"Carol@Contoso.com\"", &[&c]).await;
    expect(
        &s,
        &format!("{}:Department eq \"Sales\"", ENTERPRISE.to_uppercase()),
        &[&a],
    )
    .await;
    // The Postman suite's mixed filter.
    s.create_user(
        json!({"userName": "emp1", "name": {"familyName": "Employee"}, "emails": [{"value": "e1@example.com"}]}),
    )
    .await;
    s.create_user(
        json!({"userName": "emp2", "name": {"familyName": "Employee"}, "emails": [{"value": "e2@example.net"}]}),
    )
    .await;
    let hits = s
        .filter_ids(
            "/Users",
            "name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)",
        )
        .await;
    assert_eq!(hits.len(), 1);
    // Query parameter names are case-insensitive too.
    let r = s
        .get(&format!("/Users?FILTER={}&Count=1", enc("userName sw \"emp\"")))
        .await;
    assert_eq!(r.assert_list(2).len(), 1);
}

#[tokio::test]
async fn etag_if_match_and_if_none_match() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let path = format!("/Users/{id}");
    let g = s.get(&path).await;
    let v1 = g.headers["etag"].to_str().unwrap().to_string();
    assert_eq!(g.body["meta"]["version"], json!(v1), "meta.version is the ETag");

    let patch_body = |title: &str| json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": title}]});
    let with = |m: Method, h: &str, v: &str, body: Option<Value>| {
        let mut rb = s.request(m, &path).header(h, v);
        if let Some(b) = body {
            rb = rb.header("content-type", "application/scim+json").body(b.to_string());
        }
        send(rb)
    };
    let r = with(Method::PATCH, "if-match", &v1, Some(patch_body("A"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v2 = r.headers["etag"].to_str().unwrap().to_string();
    assert_ne!(v1, v2);
    with(Method::PATCH, "if-match", &v1, Some(patch_body("B")))
        .await
        .assert_error(412, None);
    with(Method::PUT, "if-match", &v1, Some(min_user("alice@contoso.com")))
        .await
        .assert_error(412, None);
    with(Method::DELETE, "if-match", &v1, None)
        .await
        .assert_error(412, None);
    with(Method::PATCH, "if-match", "\"garbage\"", Some(patch_body("B")))
        .await
        .assert_error(412, None);
    assert_eq!(s.get(&path).await.body["title"], "A", "rejected writes changed nothing");
    let r = with(Method::PATCH, "if-match", "*", Some(patch_body("C"))).await;
    assert_eq!(r.status, 200);
    let v3 = r.headers["etag"].to_str().unwrap().to_string();
    // If-None-Match: 304 while current, 200 once changed.
    let r = with(Method::GET, "if-none-match", &v3, None).await;
    assert_eq!(r.status, 304);
    assert!(r.text.is_empty());
    assert_eq!(r.headers["etag"].to_str().unwrap(), v3);
    let r = with(Method::GET, "if-none-match", &v1, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["title"], "C");
    let r = with(Method::DELETE, "if-match", &v3, None).await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn case_variant_user_name_is_409_on_post_put_and_patch() {
    let s = TestServer::start().await;
    s.create_user(min_user("alice@contoso.com")).await;
    let bob = s.create_user(min_user("bob@contoso.com")).await;
    for name in ["alice@contoso.com", "ALICE@CONTOSO.COM", "Alice@Contoso.Com"] {
        let r = s.post("/Users", &min_user(name)).await;
        r.assert_error(409, Some("uniqueness"));
    }
    s.put(&format!("/Users/{bob}"), &min_user("ALICE@contoso.com"))
        .await
        .assert_error(409, Some("uniqueness"));
    s.patch_ops(
        &format!("/Users/{bob}"),
        json!([{"op": "replace", "value": {"userName": "alice@CONTOSO.com"}}]),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    assert_eq!(
        s.get(&format!("/Users/{bob}")).await.body["userName"],
        "bob@contoso.com"
    );
    s.get("/Users").await.assert_list(2);
    // Changing the case of one's own userName is allowed and stored as sent.
    let r = s
        .patch_ops(
            &format!("/Users/{bob}"),
            json!([{"op": "replace", "path": "userName", "value": "Bob@Contoso.com"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["userName"], "Bob@Contoso.com");
}
