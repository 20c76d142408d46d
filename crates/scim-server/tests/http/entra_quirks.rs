//! Quirks 15–17 of entra-scim-client.md §4: form-encoded queries, unquoted filter values,
//! and unknown schemas, client `meta`, empty `roles` and nulls in a create.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn quirk_15_form_encoded_queries_are_decoded_before_parsing() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("alice+test@contoso.com")).await;
    // `+` is a space; a literal plus is `%2B`; `@` may come as `%40`.
    let r = s
        .get("/Users?filter=userName+eq+%22alice%2Btest%40contoso.com%22")
        .await;
    assert_eq!(r.ids(), vec![id.clone()], "{}", r.text);
    let r = s
        .get("/Users?filter=userName%20eq%20%22alice%2Btest@contoso.com%22")
        .await;
    assert_eq!(r.ids(), vec![id.clone()], "{}", r.text);
    let r = s
        .get("/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22alice%2Btest%40contoso.com%22")
        .await;
    assert_eq!(r.ids(), vec![id], "{}", r.text);
}

#[tokio::test]
async fn quirk_16_unquoted_filter_values_are_strings() {
    let s = TestServer::start().await;
    let mut body = entra_user("jyoung@contoso.com");
    body["externalId"] = json!("jyoung");
    let id = s.create_user(body).await;
    assert_eq!(
        s.get("/Users?filter=externalId+eq+jyoung").await.ids(),
        vec![id.clone()]
    );
    assert_eq!(
        s.filter_ids("/Users", "userName eq jyoung@contoso.com").await,
        vec![id.clone()]
    );
    assert_eq!(
        s.filter_ids("/Users", "externalId eq jyoung and active eq true").await,
        vec![id]
    );
    assert!(
        s.filter_ids("/Users", "externalId eq JYOUNG").await.is_empty(),
        "externalId is caseExact"
    );
}

#[tokio::test]
async fn quirk_17_unknown_schemas_client_meta_empty_roles_and_nulls_are_ignored() {
    let s = TestServer::start().await;
    // Entra's old Example 2: nulls at the top level and a typo in the enterprise URN.
    let body = json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "jdoe", "userName": "jdoe@contoso.com", "active": "True",
        "addresses": null, "title": null, "manager": null, "roles": [],
        "displayName": "J Doe", "emails": [{"Primary": true, "type": "work", "value": "jdoe@contoso.com"}],
        "meta": {"resourceType": "User", "created": "2000-01-01T00:00:00Z"},
        "name": {"familyName": "Doe", "givenName": "J", "formatted": null},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "Ops", "Manager": {"Value": null}}
    });
    let r = s.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let u = &r.body;
    assert_eq!(u["active"], json!(true));
    for absent in ["addresses", "title", "manager", "roles"] {
        assert!(u.get(absent).is_none(), "{absent} omitted, not null: {u}");
    }
    assert_eq!(u["name"], json!({"familyName": "Doe", "givenName": "J"}));
    assert_eq!(u["emails"][0]["primary"], json!(true), "attribute names canonicalised");
    assert_eq!(u[ENTERPRISE], json!({"department": "Ops"}));
    assert_ne!(u["meta"]["created"], "2000-01-01T00:00:00Z", "client meta ignored");
    // Postman: a PUT with a misspelt attribute is served and the unknown key dropped.
    let id = u["id"].as_str().unwrap();
    let r = s
        .put(
            &format!("/Users/{id}"),
            &json!({"userName": "jdoe@contoso.com", "adreses": [{"country": "DE"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.to_lowercase().contains("adreses"));
}
