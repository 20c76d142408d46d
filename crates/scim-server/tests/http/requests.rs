//! The request log through the admin API: what the IdP sent and how each request ended.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Admin, TestServer, assert_admin_error, entra_user};

/// The log is written in the background: read until `n` entries are there.
async fn entries(a: &Admin<'_>, tenant: &str, query: &str, n: usize) -> Vec<Value> {
    let read = async {
        loop {
            let r = a
                .req(Method::GET, &format!("/tenants/{tenant}/requests{query}"), None)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let list = r.body["requests"].as_array().unwrap().clone();
            if list.len() >= n {
                return list;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the log is written within seconds")
}

#[tokio::test]
async fn the_log_shows_what_was_sent_and_why_it_failed() {
    let s = TestServer::start().await;
    let a = Admin::new(&s).await;
    let mut body = entra_user("alice@contoso.com");
    body["password"] = json!("Hunter2-secret");
    let created = s.post("/Users", &body).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(s.post("/Users", &body).await.status, StatusCode::CONFLICT);
    assert_eq!(
        s.get("/Users?filter=userName%20eq").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(s.get(&format!("/Users/{id}")).await.status, StatusCode::OK);
    let denied = s
        .client
        .get(format!("{}/Users", s.base))
        .bearer_auth("scimd_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);

    let log = entries(&a, "acme", "", 5).await;
    let statuses: Vec<u64> = log.iter().map(|e| e["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [401, 200, 400, 409, 201], "newest first");
    let (unauth, get, bad, conflict, create) = (&log[0], &log[1], &log[2], &log[3], &log[4]);
    assert!(unauth["credential"].is_null(), "{unauth}");
    assert_eq!(get["resource_id"], id.as_str());
    assert_eq!(bad["scimType"], "invalidFilter");
    assert!(
        bad["path"].as_str().unwrap().contains("filter="),
        "the query is kept: {bad}"
    );
    assert_eq!(conflict["scimType"], "uniqueness");
    assert!(
        conflict["detail"].as_str().unwrap().contains("alice@contoso.com"),
        "{conflict}"
    );
    assert_eq!(create["resource_id"], id.as_str(), "from the Location of the 201");
    assert_eq!(
        (create["method"].as_str(), create["path"].as_str()),
        (Some("POST"), Some("/scim/v2/acme/Users"))
    );
    assert!(
        create["body"].is_null(),
        "a successful request keeps no body by default: {create}"
    );
    let excerpt = conflict["body"].as_str().unwrap();
    assert!(
        excerpt.contains("alice@contoso.com") && !excerpt.contains("Hunter2-secret"),
        "a failed one does, masked: {excerpt}"
    );
    let cred = create["credential"].as_str().unwrap();
    assert!(
        s.token.starts_with(cred) || cred.starts_with("acme."),
        "a token prefix or the client id: {cred}"
    );
    assert!(cred.len() < 40 && !s.token.eq(cred), "never the whole token");
    assert!(create["latency_ms"].as_f64().unwrap() >= 0.0);

    let fours = entries(&a, "acme", "?status=4xx", 3).await;
    assert!(
        fours
            .iter()
            .all(|e| (400..500).contains(&e["status"].as_u64().unwrap()))
    );
    assert_eq!(entries(&a, "acme", "?status=409&since=1h", 1).await.len(), 1);
    let page = a.req(Method::GET, "/tenants/acme/requests?limit=2", None).await.body;
    let before = page["next_before"].as_i64().expect("more pages");
    let next = entries(&a, "acme", &format!("?limit=2&before={before}"), 2).await;
    assert_eq!(next[0]["status"], 400);
    for q in ["?status=7xx", "?since=yesterday-ish", "?limit=0", "?before=x"] {
        let r = a.req(Method::GET, &format!("/tenants/acme/requests{q}"), None).await;
        assert_admin_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }
    s.other_tenant("globex").await;
    assert!(entries(&a, "globex", "", 0).await.is_empty(), "tenants are apart");
}

#[tokio::test]
async fn configured_attributes_are_masked() {
    let s = TestServer::start_with(|c| {
        c.request_log.mask.push("emails".into());
        c.request_log.bodies = scim_server::RequestLogBodies::All;
    })
    .await;
    let a = Admin::new(&s).await;
    assert_eq!(
        s.post("/Users", &entra_user("bob@contoso.com")).await.status,
        StatusCode::CREATED
    );
    let log = entries(&a, "acme", "", 1).await;
    let body = log[0]["body"].as_str().unwrap();
    assert!(body.contains("\"emails\":\"***\""), "{body}");
    assert!(body.contains("\"userName\":\"bob@contoso.com\""), "{body}");
}
