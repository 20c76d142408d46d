//! Every user PATCH shape of entra-scim-client.md §1.5–§1.6 and §6 items 6–12.

use serde_json::{Value, json};

use crate::harness::*;

pub async fn alice(s: &TestServer) -> (String, String) {
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let path = format!("/Users/{id}");
    (id, path)
}

pub async fn ok_patch(s: &TestServer, path: &str, ops: Value) -> Value {
    let r = s.patch_ops(path, ops.clone()).await;
    assert_eq!(r.status, 200, "{ops}: {}", r.text);
    let g = s.get(path).await;
    assert_eq!(r.body, g.body, "the PATCH response is the stored resource");
    g.body
}

#[tokio::test]
async fn shape_a_default_one_capitalised_op_per_attribute() {
    let s = TestServer::start().await;
    let (id, path) = alice(&s).await;
    let g = ok_patch(
        &s,
        &path,
        json!([
            {"op": "Replace", "path": "displayName", "value": "Alice E."},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alice@new.example"},
            {"op": "Replace", "path": "name.givenName", "value": "Alicia"},
            {"op": "Replace", "path": "name.familyName", "value": "Exemplar"},
            {"op": "Replace", "path": "externalId", "value": "alice2"},
            {"op": "Replace", "path": "userName", "value": "alice2@contoso.com"},
            {"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": "Support"},
            {"op": "Add", "path": "nickName", "value": "Ali"}
        ]),
    )
    .await;
    assert_eq!(g["displayName"], "Alice E.");
    assert_eq!(
        g["emails"],
        json!([{"primary": true, "type": "work", "value": "alice@new.example"}])
    );
    assert_eq!(
        g["name"],
        json!({"formatted": "Alice Example", "familyName": "Exemplar", "givenName": "Alicia"})
    );
    assert_eq!(g["externalId"], "alice2");
    assert_eq!(g["userName"], "alice2@contoso.com");
    assert_eq!(g[ENTERPRISE], json!({"department": "Support", "division": "EMEA"}));
    assert_eq!(g["nickName"], "Ali");
    // The index follows: the new values match, the old ones do not.
    assert_eq!(
        s.filter_ids("/Users", "externalId eq \"alice2\"").await,
        vec![id.clone()]
    );
    assert_eq!(
        s.filter_ids("/Users", "userName eq \"alice2@contoso.com\"").await,
        vec![id.clone()]
    );
    assert_eq!(
        s.filter_ids("/Users", "emails[type eq \"work\"].value eq \"alice@new.example\"")
            .await,
        vec![id]
    );
    assert!(s.filter_ids("/Users", "externalId eq \"alice\"").await.is_empty());
    assert!(
        s.filter_ids("/Users", "emails.value eq \"alice@contoso.com\"")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn shape_b_pathless_value_object_with_dotted_and_urn_keys() {
    let s = TestServer::start().await;
    let (_, path) = alice(&s).await;
    let g = ok_patch(
        &s,
        &path,
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "alice@new.example"},
            {"op": "replace", "value": {
                "displayName": "Alice E.",
                "name.givenName": "Alicia",
                "NAME.FAMILYNAME": "Exemplar",
                "active": false,
                format!("{ENTERPRISE}:employeeNumber"): "1234",
                format!("{ENTERPRISE}:Division"): "Nordics",
                "addresses[type eq \"work\"].locality": "Tampere"
            }},
            {"op": "add", "value": {"title": "Engineer", "preferredLanguage": "en-GB"}}
        ]),
    )
    .await;
    assert_eq!(g["emails"][0]["value"], "alice@new.example");
    assert_eq!(g["displayName"], "Alice E.");
    assert_eq!(g["name"]["givenName"], "Alicia");
    assert_eq!(g["name"]["familyName"], "Exemplar");
    assert_eq!(g["active"], json!(false));
    assert_eq!(
        g[ENTERPRISE],
        json!({"department": "Sales", "division": "Nordics", "employeeNumber": "1234"})
    );
    assert_eq!(
        g["addresses"],
        json!([{"type": "work", "country": "FI", "locality": "Tampere"}])
    );
    assert_eq!(g["title"], "Engineer");
    assert_eq!(g["preferredLanguage"], "en-GB");
    for key in g.as_object().unwrap().keys().filter(|k| !k.starts_with("urn:")) {
        assert!(!key.contains('.'), "no dotted key stored: {key}");
    }
}

#[tokio::test]
async fn shape_b_extension_urn_mapped_to_an_object() {
    let s = TestServer::start().await;
    let boss = s.create_user(min_user("boss@contoso.com")).await;
    let (_, path) = alice(&s).await;
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "replace", "value": {
            ENTERPRISE: {"department": "Marketing", "costCenter": "CC-1"},
            format!("{ENTERPRISE}:manager"): {"value": boss, "$ref": "User"}
        }}]),
    )
    .await;
    let ext = &g[ENTERPRISE];
    assert_eq!(ext["department"], "Marketing");
    assert_eq!(ext["costCenter"], "CC-1");
    assert_eq!(ext["division"], "EMEA", "attributes not named stay");
    assert_eq!(ext["manager"]["value"], json!(boss));
    assert!(g["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE)));
    // The same object form on a user without the extension creates the block and the URN
    // appears in `schemas`.
    let bare = s.create_user(min_user("bare@contoso.com")).await;
    let g = ok_patch(
        &s,
        &format!("/Users/{bare}"),
        json!([{"op": "add", "value": {ENTERPRISE: {"division": "X"}}}]),
    )
    .await;
    assert_eq!(g[ENTERPRISE], json!({"division": "X"}));
    assert_eq!(g["schemas"], json!([USER, ENTERPRISE]));
}

#[tokio::test]
async fn disable_and_re_enable_with_every_active_form() {
    let s = TestServer::start().await;
    let (id, path) = alice(&s).await;
    for (sent, want) in [
        (json!("False"), false),
        (json!("True"), true),
        (json!("false"), false),
        (json!(true), true),
        (json!(false), false),
    ] {
        let r = s
            .patch_ops(&path, json!([{"op": "Replace", "path": "active", "value": sent}]))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["active"], json!(want));
        assert_eq!(s.get(&path).await.body["active"], json!(want), "GET after {sent}");
        let r = s.filter("/Users", "userName eq \"alice@contoso.com\"").await;
        assert_eq!(r.assert_list(1)[0]["active"], json!(want), "filter after {sent}");
        let hits = s.filter_ids("/Users", &format!("active eq {want}")).await;
        assert_eq!(hits, vec![id.clone()], "active eq {want}");
    }
    // `Add` on active (seen during deprovisioning) acts as Replace.
    let g = ok_patch(&s, &path, json!([{"op": "Add", "path": "active", "value": "True"}])).await;
    assert_eq!(g["active"], json!(true));
}

#[tokio::test]
async fn manager_all_forms_then_remove_and_clear() {
    let s = TestServer::start().await;
    let b1 = s.create_user(min_user("b1@x.com")).await;
    let b2 = s.create_user(min_user("b2@x.com")).await;
    let (_, path) = alice(&s).await;
    let mgr = format!("{ENTERPRISE}:manager");
    let manager = |g: &Value| g[ENTERPRISE].get("manager").cloned();

    let g = ok_patch(&s, &path, json!([{"op": "Add", "path": mgr, "value": b1}])).await;
    assert_eq!(manager(&g), Some(json!({"value": b1})), "bare string becomes {{value}}");
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Replace", "path": mgr, "value": {"value": b2}}]),
    )
    .await;
    assert_eq!(manager(&g).unwrap()["value"], json!(b2));
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": format!("{}/Users/{b1}", s.base), "value": b1}]}]),
    )
    .await;
    assert_eq!(manager(&g).unwrap()["value"], json!(b1), "array form");

    // Remove with a value that is not the current manager: nothing happens.
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Remove", "path": mgr, "value": [{"value": b2}]}]),
    )
    .await;
    assert_eq!(manager(&g).unwrap()["value"], json!(b1));
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Remove", "path": format!("{mgr}[value eq \"{b2}\"]")}]),
    )
    .await;
    assert_eq!(manager(&g).unwrap()["value"], json!(b1));
    // Remove with the current manager's id (object, array and filter forms) clears it.
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Remove", "path": mgr, "value": {"value": b1}}]),
    )
    .await;
    assert_eq!(manager(&g), None);
    assert_eq!(g[ENTERPRISE]["department"], "Sales", "the rest of the extension stays");
    ok_patch(&s, &path, json!([{"op": "Add", "path": mgr, "value": b1}])).await;
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Remove", "path": mgr, "value": [{"value": b1}]}]),
    )
    .await;
    assert_eq!(manager(&g), None);
    ok_patch(&s, &path, json!([{"op": "Add", "path": mgr, "value": b1}])).await;
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Remove", "path": format!("manager[value eq \"{b1}\"]")}]),
    )
    .await;
    assert_eq!(manager(&g), None);
    // Replace with "" (Logic App SCIM_Update_Manager_Test) and with null clear it.
    for empty in [json!(""), json!(null), json!({"value": ""})] {
        ok_patch(&s, &path, json!([{"op": "Add", "path": mgr, "value": b2}])).await;
        let g = ok_patch(&s, &path, json!([{"op": "Replace", "path": mgr, "value": empty}])).await;
        assert_eq!(manager(&g), None, "Replace with {empty}");
    }
    // Filtering by manager finds the report.
    ok_patch(&s, &path, json!([{"op": "Add", "path": mgr, "value": b2}])).await;
    let hits = s.filter_ids("/Users", &format!("{mgr}.value eq \"{b2}\"")).await;
    assert_eq!(hits.len(), 1);
}

#[tokio::test]
async fn address_sub_attribute_ops_merge_into_one_work_address() {
    let s = TestServer::start().await;
    let mut body = min_user("alice@contoso.com");
    body["addresses"] = json!([{"type": "home", "locality": "Espoo"}]);
    let id = s.create_user(body).await;
    let path = format!("/Users/{id}");
    let g = ok_patch(
        &s,
        &path,
        json!([
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "Main St 1"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Helsinki"},
            {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "00100"},
            {"op": "Add", "path": "addresses[type eq \"work\"].region", "value": "Uusimaa"},
            {"op": "Add", "path": "addresses[type eq \"work\"].country", "value": "FI"}
        ]),
    )
    .await;
    assert_eq!(
        g["addresses"],
        json!([
            {"type": "home", "locality": "Espoo"},
            {"type": "work", "streetAddress": "Main St 1", "locality": "Helsinki", "postalCode": "00100",
             "region": "Uusimaa", "country": "FI"}
        ])
    );
    // A later change to one sub-attribute edits that element only.
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Replace", "path": "addresses[type eq \"work\"].country", "value": "SE"}]),
    )
    .await;
    let addrs = g["addresses"].as_array().unwrap();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs[1]["country"], "SE");
    assert_eq!(addrs[1]["locality"], "Helsinki");
    assert_eq!(addrs[0], json!({"type": "home", "locality": "Espoo"}));
}

#[tokio::test]
async fn add_on_filtered_email_value_creates_the_element() {
    let s = TestServer::start().await;
    let id = s.create_user(min_user("alice@contoso.com")).await;
    let path = format!("/Users/{id}");
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "alice@contoso.com"}]),
    )
    .await;
    assert_eq!(
        g["emails"],
        json!([{"type": "work", "primary": true, "value": "alice@contoso.com"}])
    );
    // A second type adds a second element, without taking `primary`.
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Add", "path": "emails[type eq \"home\"].value", "value": "a@home.example"}]),
    )
    .await;
    let emails = g["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[1]["type"], "home");
    assert_eq!(emails[1]["value"], "a@home.example");
    assert!(emails[1].get("primary").is_none_or(|p| p == &json!(false)));
    // Adding to an existing work email edits it in place: still two elements.
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "alice@new.example"}]),
    )
    .await;
    let emails = g["emails"].as_array().unwrap();
    assert_eq!(emails.len(), 2);
    assert_eq!(emails[0]["value"], "alice@new.example");
    assert_eq!(
        s.filter_ids("/Users", "emails[type eq \"work\"].value eq \"alice@new.example\"")
            .await,
        vec![id]
    );
}

#[tokio::test]
async fn remove_with_non_matching_value_is_a_no_op() {
    let s = TestServer::start().await;
    let (_, path) = alice(&s).await;
    let before = s.get(&path).await;
    let r = s
        .patch_ops(
            &path,
            json!([{"op": "Remove", "path": "emails[type eq \"work\"].value", "value": "old@x.example"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["emails"], before.body["emails"],
        "value did not match: unchanged"
    );
    assert_eq!(r.headers["etag"], before.headers["etag"], "nothing written");
    let r = s
        .patch_ops(&path, json!([{"op": "Remove", "path": "title", "value": "Nope"}]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // With the matching value (any case) it is removed.
    let g = ok_patch(
        &s,
        &path,
        json!([{"op": "Remove", "path": "emails[type eq \"work\"].value", "value": "ALICE@contoso.com"}]),
    )
    .await;
    assert!(g.get("emails").is_none(), "the emptied work email is gone: {g}");
}

#[tokio::test]
async fn empty_string_and_null_clear_optional_attributes() {
    let s = TestServer::start().await;
    let optional = [
        "displayName",
        "title",
        "nickName",
        "preferredLanguage",
        "name.givenName",
        "externalId",
        "addresses[type eq \"work\"].locality",
        "emails[type eq \"work\"].value",
    ];
    for empty in [json!(""), json!(null)] {
        let mut body = entra_user(&format!("u{}@contoso.com", empty.is_null()));
        body["title"] = json!("Boss");
        body["nickName"] = json!("Al");
        let id = s.create_user(body).await;
        let path = format!("/Users/{id}");
        let ops: Vec<Value> = optional
            .iter()
            .map(|p| json!({"op": "Replace", "path": p, "value": empty}))
            .chain([json!({"op": "Replace", "path": format!("{ENTERPRISE}:department"), "value": empty})])
            .collect();
        let g = ok_patch(&s, &path, Value::Array(ops)).await;
        for key in [
            "displayName",
            "title",
            "nickName",
            "preferredLanguage",
            "externalId",
            "emails",
        ] {
            assert!(g.get(key).is_none(), "{key} cleared by {empty}: {g}");
        }
        assert!(g["name"].get("givenName").is_none());
        assert_eq!(g["name"]["familyName"], "Example");
        assert_eq!(g["addresses"], json!([{"type": "work", "country": "FI"}]));
        assert_eq!(g[ENTERPRISE], json!({"division": "EMEA"}));
        assert!(!g.to_string().contains("null"), "absent, not null: {g}");
        // The pathless form clears too, and the required userName cannot be cleared.
        let g = ok_patch(
            &s,
            &path,
            json!([{"op": "replace", "value": {"name.familyName": empty, format!("{ENTERPRISE}:division"): empty}}]),
        )
        .await;
        assert!(g.get(ENTERPRISE).is_none(), "empty extension block disappears: {g}");
        assert!(!g["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE)));
        // A whole filtered element, and a whole complex attribute.
        let g = ok_patch(
            &s,
            &path,
            json!([{"op": "Replace", "path": "addresses[type eq \"work\"]", "value": empty}, {"op": "Replace", "path": "name", "value": empty}]),
        )
        .await;
        assert!(g.get("addresses").is_none() && g.get("name").is_none(), "{g}");
        let r = s
            .patch_ops(&path, json!([{"op": "Replace", "path": "userName", "value": empty}]))
            .await;
        assert_eq!(r.status, 400, "userName is required: {}", r.text);
    }
}
