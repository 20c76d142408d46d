//! PATCH beyond the Entra shapes: roles as JSON strings, custom extensions, schema-qualified
//! and unqualified paths, and replacing a filtered element.

use serde_json::json;

use crate::harness::*;
use crate::patch_shapes::{alice, ok_patch};

#[tokio::test]
async fn roles_with_a_json_string_value_and_assertive_replace() {
    let s = TestServer::start().await;
    let (_, path) = alice(&s).await;
    let inner = r#"{"id":"7d7a1e4b-0000-0000-0000-000000000001","value":"Admin","displayName":"Admin"}"#;
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Add", "path": "roles", "value": [{"value": inner}]}]),
    )
    .await;
    assert_eq!(g["roles"], json!([{"value": inner}]), "stored exactly as sent");
    // Adding the same role again does not duplicate it.
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Add", "path": "roles", "value": [{"value": inner}]}]),
    )
    .await;
    assert_eq!(g["roles"].as_array().unwrap().len(), 1);
    // The assertive variant replaces the whole list.
    let full = json!([{"value": "User", "display": "User", "primary": true}, {"value": "Auditor"}]);
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "replace", "path": "roles", "value": full.clone()}]),
    )
    .await;
    assert_eq!(g["roles"], full);
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Remove", "path": "roles[value eq \"Auditor\"]"}]),
    )
    .await;
    assert_eq!(
        g["roles"],
        json!([{"value": "User", "display": "User", "primary": true}])
    );
}

#[tokio::test]
async fn custom_extension_attributes_round_trip() {
    const CUSTOM: &str = "urn:example:params:scim:schemas:extension:hoxhunt:2.0:User";
    let s = TestServer::start().await;
    let mut body = entra_user("alice@contoso.com");
    body[CUSTOM] = json!({"site": "HEL-1", "badge": {"id": 42, "color": "Blue"}, "tags": ["a", "b"]});
    let r = s.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let g = s.get(&path).await.body;
    assert_eq!(g[CUSTOM], body[CUSTOM], "kept verbatim");
    assert!(g["schemas"].as_array().unwrap().contains(&json!(CUSTOM)));
    assert_eq!(
        s.filter_ids("/Users", &format!("{CUSTOM}:site eq \"hel-1\"")).await,
        vec![id.clone()]
    );

    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Replace", "path": format!("{CUSTOM}:site"), "value": "ESP-2"}]),
    )
    .await;
    assert_eq!(g[CUSTOM]["site"], "ESP-2");
    assert_eq!(g[CUSTOM]["badge"], json!({"id": 42, "color": "Blue"}));
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "replace", "value": {format!("{CUSTOM}:floor"): "3"}}]),
    )
    .await;
    assert_eq!(g[CUSTOM]["floor"], "3");
    assert_eq!(
        s.filter_ids("/Users", &format!("{CUSTOM}:site eq \"ESP-2\"")).await,
        vec![id.clone()]
    );
    assert!(
        s.filter_ids("/Users", &format!("{CUSTOM}:site eq \"HEL-1\""))
            .await
            .is_empty()
    );
    let g = ok_patch(&s, &path, json!([{"op": "Remove", "path": format!("{CUSTOM}:badge")}])).await;
    assert!(g[CUSTOM].get("badge").is_none());
    // The whole block by its URN: merged by replace, dropped by remove.
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "replace", "value": {CUSTOM: {"site": "TKU-3"}}}]),
    )
    .await;
    assert_eq!(g[CUSTOM], json!({"site": "TKU-3", "tags": ["a", "b"], "floor": "3"}));
    let keys = g
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("urn:example"))
        .count();
    assert_eq!(keys, 1, "no stray block: {g}");
    let g = ok_patch(&s, &path, json!([{"op": "Remove", "path": CUSTOM}])).await;
    assert!(g.get(CUSTOM).is_none(), "{g}");
    assert!(!g["schemas"].as_array().unwrap().contains(&json!(CUSTOM)));
    // A PUT without the block removes it; with it, restores it.
    let r = s.put(&path, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body[CUSTOM], body[CUSTOM]);
}

#[tokio::test]
async fn core_urn_qualified_and_unqualified_extension_paths() {
    let s = TestServer::start().await;
    let (id, path) = alice(&s).await;
    let g = ok_patch(
        &s,
        &path,
        json!([
            {"op": "replace", "path": format!("{USER}:displayName"), "value": "Qualified"},
            {"op": "replace", "value": {USER: {"title": "Block"}, format!("{USER}:nickName"): "Nick"}},
            {"op": "add", "path": USER, "value": {"name.givenName": "Ali"}},
            {"op": "replace", "path": "department", "value": "Unqualified"},
            {"op": "replace", "value": {"employeeNumber": "42"}}
        ]),
    )
    .await;
    assert_eq!(g["displayName"], "Qualified");
    assert_eq!(g["title"], "Block");
    assert_eq!(g["nickName"], "Nick");
    assert_eq!(g["name"]["givenName"], "Ali");
    assert_eq!(
        g[ENTERPRISE],
        json!({"department": "Unqualified", "division": "EMEA", "employeeNumber": "42"})
    );
    assert_eq!(g["schemas"], json!([USER, ENTERPRISE]), "no stray schema: {g}");
    let urns = g.as_object().unwrap().keys().filter(|k| k.starts_with("urn:")).count();
    assert_eq!(urns, 1, "only the enterprise block: {g}");
    s.patch_ops(&path, json!([{"op": "remove", "path": USER}]))
        .await
        .assert_error(400, Some("invalidPath"));
    assert_eq!(s.filter_ids("/Users", "department eq \"unqualified\"").await, vec![id]);
}

#[tokio::test]
async fn replacing_a_filtered_element_keeps_its_selector() {
    let s = TestServer::start().await;
    let (_, path) = alice(&s).await;
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "replace", "path": "addresses[type eq \"work\"]", "value": {"country": "SE"}}]),
    )
    .await;
    assert_eq!(
        g["addresses"],
        json!([{"type": "work", "country": "SE"}]),
        "replaced, still the work address"
    );
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Malmö"}]),
    )
    .await;
    assert_eq!(
        g["addresses"],
        json!([{"type": "work", "country": "SE", "locality": "Malmö"}])
    );
    // `add` on the filtered element merges instead.
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "add", "path": "addresses[type eq \"work\"]", "value": {"postalCode": "211"}}]),
    )
    .await;
    assert_eq!(
        g["addresses"],
        json!([{"type": "work", "country": "SE", "locality": "Malmö", "postalCode": "211"}])
    );
}
