//! Groups as Entra (entra-scim-client.md §1.8, §6 item 15) and Okta
//! (provisioning-engine.md §2.1, §5) drive them.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

async fn users(s: &TestServer, n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(s.create_user(min_user(&format!("member{i:03}@contoso.com"))).await);
    }
    out
}

async fn members_of(s: &TestServer, g: &str) -> Vec<String> {
    let r = s.get(&format!("/Groups/{g}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    member_ids(&r.body)
}

async fn ok_patch(s: &TestServer, g: &str, ops: Value) -> Resp {
    let r = s.patch_ops(&format!("/Groups/{g}"), ops.clone()).await;
    assert_eq!(r.status, 200, "{ops}: {}", r.text);
    r
}

#[tokio::test]
async fn create_without_members_and_read_with_excluded_members() {
    let s = TestServer::start().await;
    let r = s.post("/Groups", &entra_group("Sales")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["displayName"], "Sales");
    assert_eq!(r.body["externalId"], "obj-Sales");
    assert_eq!(
        r.body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Group"]),
        "unknown ADSCIM URI ignored"
    );
    assert!(r.body["members"].as_array().is_none_or(|m| m.is_empty()), "{}", r.text);
    let g = r.body["id"].as_str().unwrap().to_string();
    assert!(
        r.headers["location"]
            .to_str()
            .unwrap()
            .ends_with(&format!("/Groups/{g}"))
    );

    let u = users(&s, 1).await;
    ok_patch(
        &s,
        &g,
        json!([{"op": "Add", "path": "members", "value": [{"value": u[0]}]}]),
    )
    .await;
    let r = s.get(&format!("/Groups/{g}?excludedAttributes=members")).await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("members").is_none(), "{}", r.text);
    assert_eq!(r.body["displayName"], "Sales");
    let r = s
        .get(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            enc("displayName eq \"sales\"")
        ))
        .await;
    let items = r.assert_list(1);
    assert_eq!(items[0]["id"], json!(g), "displayName is caseExact false");
    assert!(items[0].get("members").is_none());
    let r = s.get(&format!("/Groups/{g}?attributes=members")).await;
    assert_eq!(member_ids(&r.body), u);
    assert!(r.body.get("displayName").is_none());
    assert_eq!(r.body["id"], json!(g), "id is always returned");
}

#[tokio::test]
async fn add_two_members_in_one_op_then_remove_one_by_value_array() {
    let s = TestServer::start().await;
    let u = users(&s, 2).await;
    let g = s.create_group(entra_group("Sales")).await;
    let r = ok_patch(
        &s,
        &g,
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": u[0]}, {"value": u[1], "display": "VP"}]}]),
    )
    .await;
    assert_eq!(member_ids(&r.body), u, "the PATCH response carries the members");
    assert_eq!(r.body["members"][1]["display"], "VP", "member display is echoed");
    assert!(
        r.body["members"][0].get("$ref").is_none_or(|v| !v.is_null()),
        "no null $ref: {}",
        r.text
    );
    // Adding an existing member again does not duplicate it.
    ok_patch(
        &s,
        &g,
        json!([{"op": "add", "path": "members", "value": [{"value": u[1]}]}]),
    )
    .await;
    assert_eq!(members_of(&s, &g).await, u);

    let r = ok_patch(
        &s,
        &g,
        json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": u[0]}]}]),
    )
    .await;
    assert_eq!(member_ids(&r.body), vec![u[1].clone()], "the other member stays");
    assert_eq!(members_of(&s, &g).await, vec![u[1].clone()]);
    // Removing someone who is not a member changes nothing.
    ok_patch(
        &s,
        &g,
        json!([{"op": "Remove", "path": "members", "value": [{"value": u[0]}]}]),
    )
    .await;
    assert_eq!(members_of(&s, &g).await, vec![u[1].clone()]);
}

#[tokio::test]
async fn remove_via_value_filter_path_and_remove_all() {
    let s = TestServer::start().await;
    let u = users(&s, 4).await;
    let g = s.create_group(entra_group("Sales")).await;
    let all: Vec<Value> = u.iter().map(|id| json!({"value": id})).collect();
    ok_patch(&s, &g, json!([{"op": "add", "path": "members", "value": all}])).await;
    ok_patch(
        &s,
        &g,
        json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[0])}]),
    )
    .await;
    assert_eq!(members_of(&s, &g).await, u[1..].to_vec());
    ok_patch(
        &s,
        &g,
        json!([{"op": "Remove", "path": format!("members[value eq \"{}\" or value eq \"{}\"]", u[1], u[2])}]),
    )
    .await;
    assert_eq!(members_of(&s, &g).await, vec![u[3].clone()]);
    // A path filter naming a non-member is a no-op, not an error.
    ok_patch(
        &s,
        &g,
        json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
    )
    .await;
    assert_eq!(members_of(&s, &g).await, vec![u[3].clone()]);
    // `remove` on `members` without a value empties the group (Postman suite).
    ok_patch(&s, &g, json!([{"op": "remove", "path": "members"}])).await;
    assert!(members_of(&s, &g).await.is_empty());
}

#[tokio::test]
async fn okta_full_member_replace_by_patch_and_put() {
    let s = TestServer::start().await;
    let u = users(&s, 3).await;
    let mut body = entra_group("Engineering");
    body["members"] = json!([{"value": u[0]}, {"value": u[1]}]);
    let r = s.post("/Groups", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(member_ids(&r.body), u[..2].to_vec());
    let g = r.body["id"].as_str().unwrap().to_string();

    let r = ok_patch(
        &s,
        &g,
        json!([{"op": "replace", "path": "members", "value": [{"value": u[2]}, {"value": u[1]}]}]),
    )
    .await;
    let mut got = member_ids(&r.body);
    got.sort();
    let mut want = vec![u[1].clone(), u[2].clone()];
    want.sort();
    assert_eq!(got, want, "replace sets exactly the given members");

    // Okta's rename shape: pathless replace with id and displayName.
    let r = ok_patch(
        &s,
        &g,
        json!([{"op": "replace", "value": {"id": g, "displayName": "Eng"}}]),
    )
    .await;
    assert_eq!(r.body["displayName"], "Eng");
    assert_eq!(member_ids(&r.body).len(), 2, "a rename keeps the members");

    let r = s
        .put(
            &format!("/Groups/{g}"),
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": g, "displayName": "Eng", "members": [{"value": u[0], "display": "member000"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(member_ids(&r.body), vec![u[0].clone()]);
    assert_eq!(members_of(&s, &g).await, vec![u[0].clone()]);
    let r = s
        .put(
            &format!("/Groups/{g}"),
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Eng", "members": []}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(members_of(&s, &g).await.is_empty());
}

#[tokio::test]
async fn rename_group_and_filter_by_new_name() {
    let s = TestServer::start().await;
    let g = s.create_group(entra_group("Sales")).await;
    let r = ok_patch(
        &s,
        &g,
        json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]),
    )
    .await;
    assert_eq!(r.body["displayName"], "Sales EMEA");
    assert_eq!(
        s.filter_ids("/Groups", "displayName eq \"Sales EMEA\"").await,
        vec![g.clone()]
    );
    assert!(s.filter_ids("/Groups", "displayName eq \"Sales\"").await.is_empty());
    // The old name is free again (ory/polis#3559).
    s.create_group(entra_group("Sales")).await;
    // Renaming onto another group's name (any case) conflicts.
    let r = s
        .patch_ops(
            &format!("/Groups/{g}"),
            json!([{"op": "Replace", "path": "displayName", "value": "SALES"}]),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn duplicate_display_name_is_409() {
    let s = TestServer::start().await;
    s.create_group(entra_group("Sales")).await;
    let r = s.post("/Groups", &entra_group("Sales")).await;
    r.assert_error(409, Some("uniqueness"));
    let r = s.post("/Groups", &entra_group("sALES")).await;
    r.assert_error(409, Some("uniqueness"));
    s.filter("/Groups", "displayName eq \"Sales\"").await.assert_list(1);
    let r = s
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn deleting_a_user_removes_it_from_groups() {
    let s = TestServer::start().await;
    let u = users(&s, 2).await;
    let g1 = s.create_group(entra_group("A")).await;
    let g2 = s.create_group(entra_group("B")).await;
    for g in [&g1, &g2] {
        ok_patch(
            &s,
            g,
            json!([{"op": "Add", "path": "members", "value": [{"value": u[0]}, {"value": u[1]}]}]),
        )
        .await;
    }
    assert_eq!(
        s.filter_ids("/Groups", &format!("members.value eq \"{}\"", u[0]))
            .await
            .len(),
        2
    );
    assert_eq!(s.delete(&format!("/Users/{}", u[0])).await.status, 204);
    for g in [&g1, &g2] {
        assert_eq!(members_of(&s, g).await, vec![u[1].clone()]);
    }
    assert!(
        s.filter_ids("/Groups", &format!("members[value eq \"{}\"]", u[0]))
            .await
            .is_empty()
    );
    // Deleting a group leaves its members alone.
    assert_eq!(s.delete(&format!("/Groups/{g1}")).await.status, 204);
    assert_eq!(s.get(&format!("/Groups/{g1}")).await.status, 404);
    assert_eq!(s.delete(&format!("/Groups/{g1}")).await.status, 404);
    assert_eq!(s.get(&format!("/Users/{}", u[1])).await.status, 200);
    assert_eq!(members_of(&s, &g2).await, vec![u[1].clone()]);
}

#[tokio::test]
async fn one_hundred_members_in_one_patch() {
    let s = TestServer::start().await;
    let u = users(&s, 100).await;
    let g = s.create_group(entra_group("Everyone")).await;
    let value: Vec<Value> = u.iter().map(|id| json!({"$ref": null, "value": id})).collect();
    let r = ok_patch(&s, &g, json!([{"op": "Add", "path": "members", "value": value}])).await;
    assert_eq!(
        r.body["members"].as_array().map(Vec::len),
        Some(100),
        "≤1000 members come along"
    );
    let mut got = members_of(&s, &g).await;
    got.sort();
    let mut want = u.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        s.filter_ids("/Groups", &format!("members.value eq \"{}\"", u[57]))
            .await,
        vec![g.clone()]
    );
    // Removing 50 in one op leaves the other 50.
    let half: Vec<Value> = u[..50].iter().map(|id| json!({"value": id})).collect();
    let r = ok_patch(&s, &g, json!([{"op": "Remove", "path": "members", "value": half}])).await;
    assert_eq!(r.body["members"].as_array().map(Vec::len), Some(50));
    assert!(!members_of(&s, &g).await.contains(&u[0]));
}

#[tokio::test]
async fn group_patch_answers_200_with_group_or_204_when_minimal() {
    let s = TestServer::start().await;
    let u = users(&s, 1).await;
    let g = s.create_group(entra_group("Sales")).await;
    let r = ok_patch(
        &s,
        &g,
        json!([{"op": "Add", "path": "members", "value": [{"value": u[0]}]}]),
    )
    .await;
    assert_eq!(r.body["id"], json!(g));
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert!(r.headers.get("etag").is_some());
    assert_eq!(member_ids(&r.body), u);

    let ops =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "displayName", "value": "Sales 2"}]});
    let r = send(
        s.request(Method::PATCH, &format!("/Groups/{g}"))
            .header("content-type", "application/scim+json")
            .header("prefer", "return=minimal")
            .body(ops.to_string()),
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    assert!(r.headers.get("etag").is_some());
    assert_eq!(
        s.get(&format!("/Groups/{g}")).await.body["displayName"],
        "Sales 2",
        "the change was applied"
    );

    let r = s
        .patch(
            &format!("/Groups/{g}?excludedAttributes=members"),
            &json!({"schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "path": "displayName", "value": "Sales 3"}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("members").is_none(), "{}", r.text);
}

#[tokio::test]
async fn validator_member_shapes_bare_string_and_extra_keys() {
    let s = TestServer::start().await;
    let u = users(&s, 2).await;
    let g = s.create_group(entra_group("Validators")).await;
    // The validator adds members with a bare string value and stray keys.
    ok_patch(&s, &g, json!([{"op": "add", "path": "members", "value": u[0]}])).await;
    ok_patch(
        &s,
        &g,
        json!([{"op": "add", "path": "members", "name": "addMember", "value": [{"displayName": "new User", "value": u[1]}]}]),
    )
    .await;
    assert_eq!(members_of(&s, &g).await, u);
    // A member element without a value is a client error, not a crash.
    let r = s
        .patch_ops(
            &format!("/Groups/{g}"),
            json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    // Groups have no sub-attribute paths on members.
    let r = s
        .patch_ops(
            &format!("/Groups/{g}"),
            json!([{"op": "replace", "path": "members.display", "value": "x"}]),
        )
        .await;
    r.assert_error(400, Some("invalidPath"));
}
