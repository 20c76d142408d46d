//! One test per rule of entra-scim-client.md §0 ("the rules that bite"), plus quirks 15
//! and 16 of §4 (form-encoded queries, unquoted filter values).

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

fn assert_empty_list(r: &Resp) {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["schemas"], json!([LIST]), "{}", r.text);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["itemsPerPage"], 0);
    assert_eq!(r.body["Resources"], json!([]), "Resources must be present and empty");
    assert!(r.content_type().starts_with("application/scim+json"));
}

#[tokio::test]
async fn rule_01_query_matching_nothing_is_200_with_empty_list_response() {
    let s = TestServer::start().await;
    // Test Connection, byte for byte.
    let r = s
        .get("/Users?filter=userName+eq+%22c6b8e2f0-1111-4a5b-9c8d-0123456789ab%22")
        .await;
    assert_empty_list(&r);
    // The mail-matching probe and the group probe.
    let r = s
        .get("/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22x%40y.z%22")
        .await;
    assert_empty_list(&r);
    let r = s
        .get("/Groups?excludedAttributes=members&filter=displayName+eq+%22c6b8e2f0-2222-4a5b-9c8d-0123456789ab%22")
        .await;
    assert_empty_list(&r);
    // Still empty (not 404) once other users exist.
    s.create_user(entra_user("alice@contoso.com")).await;
    assert_empty_list(&s.filter("/Users", "externalId eq \"nobody\"").await);
    assert_empty_list(&s.filter("/Users", "id eq \"no-such-id\"").await);
}

#[tokio::test]
async fn rule_02_patch_op_is_case_insensitive() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let path = format!("/Users/{id}");
    for (op, title) in [
        ("Replace", "A"),
        ("replace", "B"),
        ("REPLACE", "C"),
        ("Add", "D"),
        ("add", "E"),
    ] {
        let r = s
            .patch_ops(&path, json!([{"op": op, "path": "title", "value": title}]))
            .await;
        assert_eq!(r.status, 200, "op {op}: {}", r.text);
        assert_eq!(r.body["title"], title, "op {op}");
    }
    let r = s.patch_ops(&path, json!([{"op": "Remove", "path": "title"}])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("title").is_none(), "Remove cleared title: {}", r.text);
    s.patch_ops(&path, json!([{"op": "add", "path": "title", "value": "X"}]))
        .await;
    let r = s.patch_ops(&path, json!([{"op": "remove", "path": "title"}])).await;
    assert!(r.body.get("title").is_none(), "remove cleared title: {}", r.text);
    // The key `op` itself, and `path`/`value`, are also matched case-insensitively.
    let r = s
        .patch_ops(&path, json!([{"Op": "Replace", "Path": "nickName", "Value": "Ali"}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["nickName"], "Ali");
}

#[tokio::test]
async fn rule_03_active_accepts_string_and_boolean_and_returns_boolean() {
    let s = TestServer::start().await;
    let mut body = entra_user("alice@contoso.com");
    body["active"] = json!("True");
    let r = s.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["active"], json!(true), "string \"True\" becomes a JSON boolean");
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    for (sent, expect) in [
        (json!("False"), false),
        (json!("True"), true),
        (json!("false"), false),
        (json!("true"), true),
        (json!(false), false),
        (json!(true), true),
    ] {
        let r = s
            .patch_ops(&path, json!([{"op": "Replace", "path": "active", "value": sent}]))
            .await;
        assert_eq!(r.status, 200, "{sent}: {}", r.text);
        assert_eq!(r.body["active"], json!(expect), "PATCH active {sent}");
        assert_eq!(s.get(&path).await.body["active"], json!(expect), "GET after {sent}");
    }
    let mut body = entra_user("bob@contoso.com");
    body["active"] = json!("false");
    let r = s.post("/Users", &body).await;
    assert_eq!(r.body["active"], json!(false), "{}", r.text);
}

#[tokio::test]
async fn rule_04_pathless_ops_with_dotted_and_urn_keys() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let r = s
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {
                "displayName": "Alice E.",
                "name.givenName": "Alicia",
                "name.familyName": "Exemplar",
                format!("{ENTERPRISE}:employeeNumber"): "1234"
            }}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let g = s.get(&format!("/Users/{id}")).await.body;
    assert_eq!(g["displayName"], "Alice E.");
    assert_eq!(g["name"]["givenName"], "Alicia");
    assert_eq!(g["name"]["familyName"], "Exemplar");
    assert_eq!(g["name"]["formatted"], "Alice Example", "untouched sub-attribute stays");
    assert_eq!(g[ENTERPRISE]["employeeNumber"], "1234");
    assert_eq!(
        g[ENTERPRISE]["department"], "Sales",
        "untouched extension attribute stays"
    );
    assert!(
        g.get("name.givenName").is_none(),
        "dotted key is a path, not an attribute"
    );
}

#[tokio::test]
async fn rule_05_filtered_paths_create_missing_element_and_merge_ops() {
    let s = TestServer::start().await;
    let id = s.create_user(min_user("alice@contoso.com")).await;
    let r = s
        .patch_ops(
            &format!("/Users/{id}"),
            json!([
                {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "alice@contoso.com"},
                {"op": "Add", "path": "addresses[type eq \"work\"].country", "value": "FI"},
                {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Helsinki"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "Main St 1"}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let g = s.get(&format!("/Users/{id}")).await.body;
    let emails = g["emails"].as_array().expect("emails created");
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["type"], "work");
    assert_eq!(emails[0]["value"], "alice@contoso.com");
    let addrs = g["addresses"].as_array().expect("addresses created");
    assert_eq!(addrs.len(), 1, "three ops merge into one work address: {addrs:?}");
    assert_eq!(addrs[0]["type"], "work");
    assert_eq!(addrs[0]["country"], "FI");
    assert_eq!(addrs[0]["locality"], "Helsinki");
    assert_eq!(addrs[0]["streetAddress"], "Main St 1");
}

#[tokio::test]
async fn rule_06_member_removal_removes_only_the_named_members() {
    let s = TestServer::start().await;
    let u1 = s.create_user(min_user("u1@x.com")).await;
    let u2 = s.create_user(min_user("u2@x.com")).await;
    let u3 = s.create_user(min_user("u3@x.com")).await;
    let g = s.create_group(entra_group("Sales")).await;
    let path = format!("/Groups/{g}");
    let r = s
        .patch_ops(
            &path,
            json!([{"op": "Add", "path": "members", "value": [
            {"$ref": null, "value": u1}, {"value": u2}, {"value": u3}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Default shape: Remove with a value array.
    let r = s
        .patch_ops(
            &path,
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": u1}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ids = member_ids(&s.get(&path).await.body);
    assert_eq!(ids, vec![u2.clone(), u3.clone()], "only u1 removed");
    // Flag shape: filtered path without value.
    let r = s
        .patch_ops(
            &path,
            json!([{"op": "remove", "path": format!("members[value eq \"{u2}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(member_ids(&s.get(&path).await.body), vec![u3]);
}

#[tokio::test]
async fn rule_07_manager_accepted_as_string_object_and_array() {
    let s = TestServer::start().await;
    let boss1 = s.create_user(min_user("boss1@x.com")).await;
    let boss2 = s.create_user(min_user("boss2@x.com")).await;
    let boss3 = s.create_user(min_user("boss3@x.com")).await;
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let path = format!("/Users/{id}");
    let mgr = format!("{ENTERPRISE}:manager");
    let shapes = [
        (json!({"op": "Add", "path": mgr, "value": boss1}), &boss1),
        (json!({"op": "Replace", "path": mgr, "value": {"value": boss2}}), &boss2),
        (
            json!({"op": "Add", "path": "manager", "value": [{"$ref": format!("https://host/scim/Users/{boss3}"), "value": boss3}]}),
            &boss3,
        ),
    ];
    for (op, boss) in shapes {
        let r = s.patch_ops(&path, json!([op.clone()])).await;
        assert_eq!(r.status, 200, "{op}: {}", r.text);
        let g = s.get(&path).await.body;
        assert_eq!(g[ENTERPRISE]["manager"]["value"], json!(boss), "after {op}");
        assert_eq!(g[ENTERPRISE]["department"], "Sales");
    }
}

#[tokio::test]
async fn rule_08_disabled_user_stays_visible_to_get_and_filters() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let r = s
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let g = s.get(&format!("/Users/{id}")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["active"], json!(false), "active present and false");
    for f in [
        "userName eq \"alice@contoso.com\"",
        "externalId eq \"alice\"",
        &format!("id eq \"{id}\""),
    ] {
        let r = s.filter("/Users", f).await;
        let items = r.assert_list(1);
        assert_eq!(items[0]["active"], json!(false), "{f}");
    }
    assert_eq!(s.filter_ids("/Users", "active eq false").await, vec![id.clone()]);
    // Only DELETE makes it disappear.
    assert_eq!(s.delete(&format!("/Users/{id}")).await.status, 204);
    assert_eq!(s.get(&format!("/Users/{id}")).await.status, 404);
    s.filter("/Users", "userName eq \"alice@contoso.com\"")
        .await
        .assert_list(0);
}

#[tokio::test]
async fn rule_09_every_entra_filter_form() {
    let s = TestServer::start().await;
    let alice = s.create_user(entra_user("alice@contoso.com")).await;
    let bob = s.create_user(entra_user("bob@contoso.com")).await;
    let sales = s.create_group(entra_group("Sales")).await;
    s.create_group(entra_group("Support")).await;
    let one = |v: &str| vec![v.to_string()];
    assert_eq!(
        s.filter_ids("/Users", "userName eq \"alice@contoso.com\"").await,
        one(&alice)
    );
    assert_eq!(s.filter_ids("/Users", "externalId eq \"bob\"").await, one(&bob));
    assert_eq!(
        s.filter_ids("/Users", "externalId eq bob").await,
        one(&bob),
        "unquoted value"
    );
    assert_eq!(
        s.filter_ids("/Users", "emails[type eq \"work\"].value eq \"alice@contoso.com\"")
            .await,
        one(&alice)
    );
    assert_eq!(s.filter_ids("/Users", &format!("id eq \"{bob}\"")).await, one(&bob));
    assert_eq!(
        s.filter_ids(
            "/Users",
            &format!("id eq \"{alice}\" and userName eq \"alice@contoso.com\"")
        )
        .await,
        one(&alice)
    );
    assert!(
        s.filter_ids(
            "/Users",
            &format!("id eq \"{alice}\" and userName eq \"bob@contoso.com\"")
        )
        .await
        .is_empty()
    );
    // Reference check (§1.4): `id eq … and manager eq …` with attributes=id.
    s.patch_ops(
        &format!("/Users/{bob}"),
        json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": alice}]),
    )
    .await;
    for mgr in [format!("{ENTERPRISE}:manager"), "manager".to_string()] {
        let f = enc(&format!("id eq \"{bob}\" and {mgr} eq \"{alice}\""));
        let r = s.get(&format!("/Users?filter={f}&attributes=id")).await;
        let items = r.assert_list(1);
        assert_eq!(items[0]["id"], json!(bob));
        assert!(items[0].get("userName").is_none(), "attributes=id projects: {}", r.text);
    }
    // Groups by displayName, with excludedAttributes=members.
    let r = s
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            enc("displayName eq \"Sales\"")
        ))
        .await;
    let items = r.assert_list(1);
    assert_eq!(items[0]["id"], json!(sales));
    assert!(items[0].get("members").is_none());
}

#[tokio::test]
async fn rule_10_user_name_case_insensitive_for_filter_and_uniqueness() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    assert_eq!(
        s.filter_ids("/Users", "userName eq \"ALICE@CONTOSO.COM\"").await,
        vec![id.clone()]
    );
    assert_eq!(
        s.filter_ids("/Users", "USERNAME EQ \"Alice@Contoso.com\"").await,
        vec![id]
    );
    let r = s.post("/Users", &entra_user("Alice@Contoso.COM")).await;
    r.assert_error(409, Some("uniqueness"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("userName"),
        "detail names the attribute: {}",
        r.text
    );
    // Renaming another user onto a case variant is a conflict too.
    let bob = s.create_user(min_user("bob@contoso.com")).await;
    let r = s
        .patch_ops(
            &format!("/Users/{bob}"),
            json!([{"op": "Replace", "path": "userName", "value": "ALICE@contoso.com"}]),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn rule_11_scim_json_everywhere_and_both_request_media_types_accepted() {
    let s = TestServer::start().await;
    let r = send(
        s.request(Method::POST, "/Users")
            .header("content-type", "application/json")
            .body(min_user("json@x.com").to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "application/json accepted: {}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(r.content_type().starts_with("application/scim+json"));
    let r = send(
        s.request(Method::POST, "/Users")
            .header("content-type", "application/scim+json; charset=utf-8")
            .body(min_user("scim@x.com").to_string()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let responses = [
        s.get(&format!("/Users/{id}")).await,
        s.get("/Users").await,
        s.patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "Add", "path": "title", "value": "T"}]),
        )
        .await,
        s.put(&format!("/Users/{id}"), &min_user("json@x.com")).await,
        s.get("/Users/nope").await,
        s.get("/Schemas").await,
        s.get("/ServiceProviderConfig").await,
        s.get("/ResourceTypes").await,
        s.filter("/Users", "bad filter").await,
    ];
    for r in responses {
        assert!(
            r.content_type().starts_with("application/scim+json"),
            "{} -> {:?}",
            r.status,
            r.content_type()
        );
    }
}

fn assert_resource_shape(r: &Value, kind: &str) {
    assert!(r["id"].as_str().is_some_and(|s| !s.is_empty()), "id: {r}");
    assert!(r["schemas"].as_array().is_some_and(|a| !a.is_empty()), "schemas: {r}");
    assert_eq!(r["meta"]["resourceType"], kind);
    assert!(r["meta"]["created"].as_str().is_some(), "created: {r}");
    assert!(r["meta"]["lastModified"].as_str().is_some(), "lastModified: {r}");
}

#[tokio::test]
async fn rule_12_resource_shape_and_status_codes() {
    let s = TestServer::start().await;
    let r = s.post("/Users", &entra_user("alice@contoso.com")).await;
    assert_eq!(r.status, 201);
    assert_resource_shape(&r.body, "User");
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = s.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, 200);
    assert_resource_shape(&r.body, "User");
    let r = s
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "displayName", "value": "A"}]),
        )
        .await;
    assert_eq!(r.status, 200, "user PATCH answers 200 + full resource");
    assert_resource_shape(&r.body, "User");
    assert_eq!(
        r.body["userName"], "alice@contoso.com",
        "full resource, not just the change"
    );
    assert_eq!(r.body[ENTERPRISE]["department"], "Sales");
    let r = s.get("/Users").await;
    assert_resource_shape(&r.assert_list(1)[0], "User");
    let r = s.post("/Groups", &entra_group("Sales")).await;
    assert_eq!(r.status, 201);
    assert_resource_shape(&r.body, "Group");
    let g = r.body["id"].as_str().unwrap().to_string();
    let r = s
        .patch_ops(
            &format!("/Groups/{g}"),
            json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]),
        )
        .await;
    assert_eq!(r.status, 200, "group PATCH answers 200 + group: {}", r.text);
    assert_resource_shape(&r.body, "Group");
    let r = send(
        s.request(Method::PATCH, &format!("/Groups/{g}"))
            .header("content-type", "application/scim+json")
            .header("prefer", "return=minimal")
            .body(json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "displayName", "value": "Sales"}]}).to_string()),
    )
    .await;
    assert_eq!(r.status, 204, "Prefer: return=minimal gives 204");
    assert!(r.text.is_empty());
    assert_eq!(s.delete(&format!("/Groups/{g}")).await.status, 204);
    assert_eq!(s.delete(&format!("/Users/{id}")).await.status, 204);
}

#[tokio::test]
async fn rule_13_values_are_stored_and_returned_exactly_as_sent() {
    let s = TestServer::start().await;
    let mut body = entra_user("Alice.Example@Contoso.COM");
    body["addresses"] = json!([{"type": "work", "country": "fi", "locality": "HELSINKI"}]);
    body["phoneNumbers"] = json!([{"type": "work", "value": "+358 (40) 123-4567"}]);
    body["preferredLanguage"] = json!("fi_FI");
    body["externalId"] = json!("AlIcE");
    let r = s.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let g = s.get(&format!("/Users/{id}")).await;
    for key in [
        "userName",
        "externalId",
        "addresses",
        "phoneNumbers",
        "preferredLanguage",
        "emails",
        "name",
    ] {
        assert_eq!(g.body[key], body[key], "{key} verbatim");
    }
    // Re-sending the same value is not a change: the version does not move, so Entra's
    // next diff sees nothing to do.
    let etag = g.headers["etag"].to_str().unwrap().to_string();
    let r = s
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "addresses[type eq \"work\"].country", "value": "fi"}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["etag"].to_str().unwrap(),
        etag,
        "no-op PATCH keeps the version"
    );
    assert_eq!(r.body["meta"]["lastModified"], g.body["meta"]["lastModified"]);
}

/// Rule 14 (quarantine) is client-side behaviour: Entra quarantines a job after sustained
/// 401s or 404s on queries. What the server controls is answering those cases correctly:
/// a 401 with a SCIM error body for a missing, wrong or other tenant's token, and 200 (not
/// 404) for queries that match nothing.
#[tokio::test]
async fn rule_14_quarantine_triggers_the_server_controls() {
    let s = TestServer::start().await;
    s.create_user(min_user("alice@contoso.com")).await;
    let url = format!("{}/Users", s.base);
    let (other_base, other_token) = s.other_tenant("globex").await;
    let cases = [
        s.client.get(&url),
        s.client.get(&url).bearer_auth("not-a-token"),
        s.client.get(&url).header("authorization", "Basic dXNlcjpwYXNz"),
        s.client.get(&url).header("authorization", "Bearer "),
        s.client.get(&url).bearer_auth(&other_token),
    ];
    for rb in cases {
        let r = send(rb).await;
        r.assert_error(401, None);
        assert!(r.headers.get("www-authenticate").is_some());
        assert!(!r.text.contains("alice"), "a 401 reveals nothing: {}", r.text);
    }
    // The other tenant's token works on its own URL and sees none of acme's users.
    let r = send(s.client.get(format!("{other_base}/Users")).bearer_auth(&other_token)).await;
    r.assert_list(0);
    // No-match queries are 200, never 404.
    assert_empty_list(&s.filter("/Users", "userName eq \"ghost@contoso.com\"").await);
    assert_empty_list(&s.filter("/Groups", "displayName eq \"ghost\"").await);
}
