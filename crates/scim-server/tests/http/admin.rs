//! The admin API (`/admin/v1`): admin tokens, tenants and their SCIM tokens, JSON errors.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Admin, TestServer, USER, assert_admin_error as assert_error};

async fn scim_status(s: &TestServer, base: &str, token: &str) -> StatusCode {
    let r = s
        .client
        .get(format!("{base}/Users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    r.status()
}

#[tokio::test]
async fn only_admin_tokens_open_the_admin_api() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let none = a.call(Method::GET, "/tenants", None, None).await;
    assert_error(&none, StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(none.headers.contains_key("www-authenticate"));
    let scim = a.call(Method::GET, "/tenants", None, Some(&s.token)).await;
    assert_error(&scim, StatusCode::UNAUTHORIZED, "unauthorized");
    let wrong = a.call(Method::GET, "/tenants", None, Some("scimdadm_nope")).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "unauthorized");
    // Nothing leaks before authentication, not even which routes exist.
    let unknown = a.call(Method::GET, "/nowhere", None, None).await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, "unauthorized");
    let ok = a.req(Method::GET, "/tenants", None).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_error(
        &a.req(Method::GET, "/nowhere", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // And an admin token is not a SCIM token.
    assert_eq!(scim_status(&s, &s.base, &a.token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_tenant_created_through_the_api_serves_scim_at_once() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let r = a.req(Method::POST, "/tenants", Some(&json!({"name": "contoso"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["tenant"], "contoso");
    let url = r.body["scim_url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("{}/scim/v2/contoso", s.root));
    let token = r.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with(r.body["token_prefix"].as_str().unwrap()));
    let created = s
        .client
        .post(format!("{url}/Users"))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [USER], "userName": "x@contoso.com"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    let dup = a.req(Method::POST, "/tenants", Some(&json!({"name": "contoso"}))).await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict");
    for bad in [json!({"name": "Bad Name!"}), json!({"name": 7}), json!({}), json!([1])] {
        let r = a.req(Method::POST, "/tenants", Some(&bad)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let broken = a
        .call(Method::POST, "/tenants", Some("{\"name\":"), Some(&a.token))
        .await;
    assert_error(&broken, StatusCode::BAD_REQUEST, "invalid_request");

    let list = a.req(Method::GET, "/tenants", None).await;
    let names: Vec<&str> = list.body["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tenant"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme", "contoso"]);
    let one = a.req(Method::GET, "/tenants/contoso", None).await;
    assert_eq!(
        (one.status, one.body["scim_url"].as_str()),
        (StatusCode::OK, Some(url.as_str()))
    );
    assert!(one.body.get("token").is_none(), "secrets are shown once");
    assert_error(
        &a.req(Method::GET, "/tenants/nope", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[tokio::test]
async fn tokens_rotate_and_revoke_at_once() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    // The harness's own tokens (with OAuth, its access token as well).
    let before = a.req(Method::GET, "/tenants/acme/tokens", None).await.body["tokens"]
        .as_array()
        .unwrap()
        .len();
    let r = a
        .req(
            Method::POST,
            "/tenants/acme/tokens",
            Some(&json!({"expires_in": "90d"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let second = r.body["token"].as_str().unwrap().to_string();
    assert!(r.body["expires_at"].is_string(), "{}", r.text);
    let no_body = a.req(Method::POST, "/tenants/acme/tokens", None).await;
    assert_eq!(
        (no_body.status, no_body.body["expires_at"].is_null()),
        (StatusCode::CREATED, true)
    );
    // Both the old and the new token work during the rotation.
    assert_eq!(scim_status(&s, &s.base, &s.token).await, StatusCode::OK);
    assert_eq!(scim_status(&s, &s.base, &second).await, StatusCode::OK);

    let list = a.req(Method::GET, "/tenants/acme/tokens", None).await;
    let tokens = list.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), before + 2);
    assert!(
        !list.text.contains(&s.token) && !list.text.contains(&second),
        "never secrets"
    );

    let old_prefix = &s.token[..14];
    assert_eq!(
        a.req(Method::DELETE, &format!("/tenants/acme/tokens/{old_prefix}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        scim_status(&s, &s.base, &s.token).await,
        StatusCode::UNAUTHORIZED,
        "refused at once"
    );
    assert_eq!(scim_status(&s, &s.base, &second).await, StatusCode::OK);
    let again = a
        .req(Method::DELETE, &format!("/tenants/acme/tokens/{old_prefix}"), None)
        .await;
    assert_error(&again, StatusCode::NOT_FOUND, "not_found");
    let short = a.req(Method::DELETE, "/tenants/acme/tokens/abc", None).await;
    assert_error(&short, StatusCode::BAD_REQUEST, "invalid_request");
    for bad in [
        json!({"expires_in": "soon"}),
        json!({"expires_in": -5}),
        json!({"expires_in": true}),
    ] {
        let r = a.req(Method::POST, "/tenants/acme/tokens", Some(&bad)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let missing = a.req(Method::POST, "/tenants/nope/tokens", None).await;
    assert_error(&missing, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn deleting_a_tenant_removes_it_and_its_access() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let (other, other_token) = s.other_tenant("kept").await;
    let created = s
        .post("/Users", &json!({"schemas": [USER], "userName": "gone@x.io"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        a.req(Method::DELETE, "/tenants/acme", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_error(
        &a.req(Method::GET, "/tenants/acme", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &a.req(Method::DELETE, "/tenants/acme", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_eq!(scim_status(&s, &s.base, &s.token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        scim_status(&s, &other, &other_token).await,
        StatusCode::OK,
        "other tenants are untouched"
    );
    // Re-created under the same name, it starts empty.
    let r = a.req(Method::POST, "/tenants", Some(&json!({"name": "acme"}))).await;
    let token = r.body["token"].as_str().unwrap();
    let list = s
        .client
        .get(format!("{}/Users", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let body: Value = list.json().await.unwrap();
    assert_eq!(body["totalResults"], 0);
}

/// The OpenAPI document is served without a token and describes exactly routes that exist:
/// every documented operation reaches a handler (a missing route would be 404 "no such admin
/// API route", a wrong method 405).
#[tokio::test]
async fn the_openapi_document_matches_the_routes() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let doc = a.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK, "{}", doc.text);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."), "{}", doc.text);
    assert_eq!(
        doc.body["components"]["securitySchemes"]["admin_token"]["scheme"],
        "bearer"
    );
    assert!(doc.body["components"]["schemas"]["ErrorOut"].is_object());
    let paths = doc.body["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path
                .replace("{tenant}", "ghost")
                .replace("{client}", "ghost.0")
                .replace("{prefix}", "scimd_00000000");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = a.req(m, &concrete, None).await;
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {}", r.text);
            assert_ne!(r.body["detail"], "no such admin API route", "{method} {path}");
            operations += 1;
        }
    }
    assert_eq!(operations, 22, "every admin operation is documented");
}

/// A token's last use shows in the listing once the background write has landed (polled
/// through the API, with a bound, never slept on).
#[tokio::test]
async fn token_listings_show_when_each_token_was_last_used() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let fresh = a.req(Method::POST, "/tenants/acme/tokens", None).await.body["token_prefix"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(scim_status(&s, &s.base, &s.token).await, StatusCode::OK);
    let used_prefix = &s.token[..14];
    let mut seen = None;
    for _ in 0..2_000 {
        let list = a.req(Method::GET, "/tenants/acme/tokens", None).await;
        let tokens = list.body["tokens"].as_array().unwrap().clone();
        let used = tokens.iter().find(|t| t["token_prefix"] == used_prefix).unwrap();
        if used["last_used_at"].is_string() {
            let unused = tokens.iter().find(|t| t["token_prefix"] == fresh.as_str()).unwrap();
            seen = Some(unused["last_used_at"].clone());
            break;
        }
    }
    assert_eq!(
        seen,
        Some(Value::Null),
        "the used token got a time; the unused one has none"
    );
}
