//! The audit log through the admin API: every change is recorded with the admin token's
//! prefix, the tenant and the object, newest first; refused requests and reads are not;
//! secrets never appear; paging, the tenant filter and bad parameters.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Admin, TestServer, assert_admin_error};

#[tokio::test]
async fn every_admin_change_is_audited_without_its_secrets() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let who = format!("admin:{}", scim_core::credential::display_prefix(&a.token));
    let created = a.req(Method::POST, "/tenants", Some(&json!({"name": "globex"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let first_token = created.body["token"].as_str().unwrap().to_string();
    let rate = json!({"rate_limit": {"per_second": 5, "burst": 9}});
    assert_eq!(
        a.req(Method::PATCH, "/tenants/globex", Some(&rate)).await.status,
        StatusCode::OK
    );
    let tok = a
        .req(
            Method::POST,
            "/tenants/globex/tokens",
            Some(&json!({"expires_in": "30d"})),
        )
        .await;
    let prefix = tok.body["token_prefix"].as_str().unwrap().to_string();
    let path = format!("/tenants/globex/tokens/{prefix}");
    assert_eq!(a.req(Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
    let client = a.req(Method::POST, "/tenants/globex/clients", None).await;
    let client_id = client.body["client_id"].as_str().unwrap().to_string();
    let secret = a
        .req(
            Method::POST,
            &format!("/tenants/globex/clients/{client_id}/secrets"),
            None,
        )
        .await;
    let secret_prefix = secret.body["secret_prefix"].as_str().unwrap().to_string();
    let path = format!("/tenants/globex/clients/{client_id}/secrets/{secret_prefix}");
    assert_eq!(a.req(Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
    let path = format!("/tenants/globex/clients/{client_id}");
    assert_eq!(a.req(Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
    let hook = a
        .req(
            Method::POST,
            "/tenants/globex/webhooks",
            Some(&json!({"url": "https://hooks.example.com/h"})),
        )
        .await;
    let hook_id = hook.body["id"].as_str().unwrap().to_string();
    let path = format!("/tenants/globex/webhooks/{hook_id}");
    assert_eq!(a.req(Method::DELETE, &path, None).await.status, StatusCode::NO_CONTENT);
    // Refused changes and reads leave no record.
    let r = a
        .req(Method::PATCH, "/tenants/globex", Some(&json!({"rate_limit": "fast"})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = a.req(Method::DELETE, "/tenants/nobody", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    a.req(Method::GET, "/tenants/globex/tokens", None).await;
    assert_eq!(
        a.req(Method::DELETE, "/tenants/globex", None).await.status,
        StatusCode::NO_CONTENT
    );

    let log = a.req(Method::GET, "/audit?tenant=globex", None).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let records = log.body["records"].as_array().unwrap();
    let seen: Vec<(String, Value)> = records
        .iter()
        .rev()
        .map(|r| (r["action"].as_str().unwrap().to_string(), r["target"].clone()))
        .collect();
    let want: Vec<(String, Value)> = [
        ("tenant.create", created.body["token_prefix"].clone()),
        ("tenant.update", json!(null)),
        ("token.issue", json!(prefix)),
        ("token.revoke", json!(prefix)),
        ("client.create", json!(client_id)),
        ("client.secret.add", json!(format!("{client_id}/{secret_prefix}"))),
        ("client.secret.revoke", json!(format!("{client_id}/{secret_prefix}"))),
        ("client.delete", json!(client_id)),
        ("webhook.create", json!(hook_id)),
        ("webhook.delete", json!(hook_id)),
        ("tenant.delete", json!(null)),
    ]
    .into_iter()
    .map(|(a, t)| (a.to_string(), t))
    .collect();
    assert_eq!(seen, want, "{}", log.text);
    assert!(
        records
            .iter()
            .all(|r| r["actor"] == who.as_str() && r["tenant"] == "globex"),
        "{}",
        log.text
    );
    let update = records.iter().find(|r| r["action"] == "tenant.update").unwrap();
    assert_eq!(update["detail"], rate);
    let issue = records.iter().find(|r| r["action"] == "token.issue").unwrap();
    assert_eq!(issue["detail"], json!({"expires_in": "30d"}));
    for secret in [
        first_token.as_str(),
        tok.body["token"].as_str().unwrap(),
        client.body["client_secret"].as_str().unwrap(),
        secret.body["client_secret"].as_str().unwrap(),
        hook.body["secret"].as_str().unwrap(),
    ] {
        assert!(!log.text.contains(secret), "a secret in the audit log: {}", log.text);
    }

    // Pages, newest first.
    let page = a.req(Method::GET, "/audit?tenant=globex&limit=4", None).await;
    let page_records = page.body["records"].as_array().unwrap();
    assert_eq!(page_records.len(), 4);
    assert_eq!(page_records[0]["action"], "tenant.delete");
    let next = page.body["next_before"].as_i64().unwrap();
    assert_eq!(next, page_records[3]["seq"].as_i64().unwrap());
    let older = a
        .req(
            Method::GET,
            &format!("/audit?tenant=globex&limit=100&before={next}"),
            None,
        )
        .await;
    assert_eq!(older.body["records"].as_array().unwrap().len(), 7);
    assert!(older.body.get("next_before").is_none(), "{}", older.text);
    for q in ["limit=0", "limit=5000", "limit=x", "before=x"] {
        let r = a.req(Method::GET, &format!("/audit?{q}"), None).await;
        assert_admin_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let r = a.call(Method::GET, "/audit", None, Some(&s.token)).await;
    assert_admin_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
}
