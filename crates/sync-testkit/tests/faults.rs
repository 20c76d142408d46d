//! FaultyTarget through scim-client: each fault kind, recording, and rule expiry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use scim_client::{ClientError, ClientOptions, Endpoint, ScimClient};
use scim_proto::PatchOperation;
use serde_json::{Value, json};
use sync_testkit::{Fault, FaultAction, FaultyTarget, fault};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn client(t: &FaultyTarget) -> ScimClient {
    ScimClient::new(&t.base_url, &t.token, ClientOptions::default()).unwrap()
}

fn user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name, "active": true})
}

async fn count_users(c: &ScimClient) -> u64 {
    c.search(Endpoint::Users, None, None, 1, 0).await.unwrap().total_results
}

#[tokio::test]
async fn passthrough_records_every_request() {
    let t = FaultyTarget::start().await;
    assert!(t.base_url.starts_with(&t.root) && t.base_url.ends_with("/scim/v2/target"));
    let c = client(&t);
    let id = c.create(Endpoint::Users, &user("a@x.com")).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.search(Endpoint::Users, Some("userName eq \"a@x.com\""), None, 1, 10)
        .await
        .unwrap();
    c.get(Endpoint::Users, "missing", None).await.unwrap();

    let reqs = t.requests();
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path_and_query, "/scim/v2/target/Users");
    assert_eq!(reqs[0].status, 201);
    assert_eq!(reqs[0].body.as_ref().unwrap()["userName"], "a@x.com");
    assert!(!reqs[0].faulted);
    assert_eq!(reqs[1].method, "GET");
    assert!(
        reqs[1]
            .path_and_query
            .starts_with("/scim/v2/target/Users?filter=userName+eq+%22a%40x.com%22"),
        "{}",
        reqs[1].path_and_query
    );
    assert_eq!((reqs[1].status, reqs[1].body.clone()), (200, None));
    assert_eq!(reqs[2].status, 404);

    // writes(): only the POST, not the GETs nor a POST /.search.
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/Users/.search", t.base_url))
        .bearer_auth(&t.token)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}).to_string())
        .send()
        .await
        .unwrap();
    let search_status = r.status().as_u16();
    c.delete(Endpoint::Users, &id).await.unwrap();
    let all = t.requests();
    assert_eq!(all.len(), 5);
    assert_eq!(all[3].path_and_query, "/scim/v2/target/Users/.search");
    assert_eq!(all[3].status, search_status);
    let writes: Vec<(String, u16)> = t.writes().into_iter().map(|r| (r.method, r.status)).collect();
    assert_eq!(writes, vec![("POST".to_string(), 201), ("DELETE".to_string(), 204)]);

    t.clear_requests();
    assert!(t.requests().is_empty());
    c.get(Endpoint::Users, &id, None).await.unwrap();
    assert_eq!(t.requests().len(), 1);
}

#[tokio::test]
async fn status_fault_is_not_forwarded_and_expires() {
    let t = FaultyTarget::start().await;
    let c = client(&t);
    t.inject(fault("POST", "/Users", 2, FaultAction::Status(503)));
    for _ in 0..2 {
        let err = c.create(Endpoint::Users, &user("a@x.com")).await.unwrap_err();
        assert_eq!(err.status(), Some(503), "{err}");
        assert!(err.is_transient());
        assert!(err.to_string().contains("injected"), "{err}");
    }
    assert_eq!(count_users(&c).await, 0, "faulted requests never reached the server");
    assert!(t.faults().is_empty(), "used up");
    c.create(Endpoint::Users, &user("a@x.com")).await.unwrap();
    assert_eq!(count_users(&c).await, 1);

    let posts: Vec<(u16, bool)> = t.writes().iter().map(|r| (r.status, r.faulted)).collect();
    assert_eq!(posts, vec![(503, true), (503, true), (201, false)]);
    assert_eq!(
        t.writes()[0].body.as_ref().unwrap()["userName"],
        "a@x.com",
        "faulted bodies recorded"
    );
}

#[tokio::test]
async fn too_many_requests_sets_retry_after() {
    let t = FaultyTarget::start().await;
    let c = client(&t);
    t.inject(fault("", "", 1, FaultAction::TooManyRequests { retry_after_secs: 7 }));
    let err = c.create(Endpoint::Users, &user("a@x.com")).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.is_transient());
    assert_eq!(count_users(&c).await, 0);
    let r = &t.requests()[0];
    assert_eq!((r.status, r.faulted), (429, true));
}

#[tokio::test]
async fn unauthorized_fault() {
    let t = FaultyTarget::start().await;
    let c = client(&t);
    t.inject(fault("GET", "/ServiceProviderConfig", 1, FaultAction::Unauthorized));
    let err = c.service_provider_config().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!err.is_transient());
    c.service_provider_config().await.unwrap();
    let statuses: Vec<u16> = t.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 200]);
}

#[tokio::test]
async fn forward_then_status_applies_the_change() {
    let t = FaultyTarget::start().await;
    let c = client(&t);
    let id = c.create(Endpoint::Users, &user("a@x.com")).await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.inject(fault("PATCH", &id, 1, FaultAction::ForwardThenStatus(504)));
    let ops = [PatchOperation {
        op: "replace".into(),
        path: Some("displayName".into()),
        value: Some(json!("Applied Anyway")),
    }];
    let err = c.patch(Endpoint::Users, &id, &ops).await.unwrap_err();
    assert_eq!(err.status(), Some(504));
    assert!(err.is_transient());
    let got = c.get(Endpoint::Users, &id, None).await.unwrap().unwrap();
    assert_eq!(got["displayName"], "Applied Anyway", "the server committed the change");
    let w = t.writes();
    assert_eq!((w[1].method.as_str(), w[1].status, w[1].faulted), ("PATCH", 504, true));
    assert_eq!(w[1].body.as_ref().unwrap()["Operations"][0]["value"], "Applied Anyway");

    // A create whose response is lost: retrying it blindly conflicts.
    t.inject(fault("POST", "/Users", 1, FaultAction::ForwardThenStatus(500)));
    let err = c.create(Endpoint::Users, &user("b@x.com")).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    let err = c.create(Endpoint::Users, &user("b@x.com")).await.unwrap_err();
    assert_eq!(err.status(), Some(409), "{err}");
}

#[tokio::test]
async fn delay_triggers_client_timeout_but_still_completes() {
    let t = FaultyTarget::start().await;
    let opts = ClientOptions {
        timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let impatient = ScimClient::new(&t.base_url, &t.token, opts).unwrap();
    t.inject(fault(
        "POST",
        "/Users",
        1,
        FaultAction::Delay(Duration::from_millis(1500)),
    ));
    let err = impatient
        .create(Endpoint::Users, &user("slow@x.com"))
        .await
        .unwrap_err();
    assert_eq!(err, ClientError::Timeout);
    t.wait_idle().await;
    let c = client(&t);
    assert_eq!(
        count_users(&c).await,
        1,
        "the delayed create was applied after the timeout"
    );
    let w = t.writes();
    assert_eq!((w[0].status, w[0].faulted), (201, true));

    // A patient client just sees a slow success.
    t.inject(fault(
        "GET",
        "/Users",
        1,
        FaultAction::Delay(Duration::from_millis(200)),
    ));
    let list = c.search(Endpoint::Users, None, None, 1, 10).await.unwrap();
    assert_eq!(list.total_results, 1);
    let last = t.requests().pop().unwrap();
    assert_eq!((last.method.as_str(), last.status, last.faulted), ("GET", 200, true));
}

#[tokio::test]
async fn rules_match_by_method_and_path_in_order() {
    let t = FaultyTarget::start().await;
    let c = client(&t);
    t.inject(fault("GET", "/Groups", 1, FaultAction::Status(500)));
    t.inject(Fault {
        method: None,
        path_contains: Some("/Groups".into()),
        times: 1,
        action: FaultAction::Status(502),
    });
    t.inject(fault("DELETE", "", 3, FaultAction::Status(503)));
    t.inject(fault("POST", "", 0, FaultAction::Status(500)));
    assert_eq!(t.faults().len(), 3, "times 0 is never live");

    // Users are untouched by /Groups rules; POST by the DELETE rule.
    let u = c.create(Endpoint::Users, &user("a@x.com")).await.unwrap();
    let id = u["id"].as_str().unwrap();
    assert!(c.get(Endpoint::Users, id, None).await.unwrap().is_some());
    // Group POST: the GET rule does not match, the any-method rule does.
    let err = c
        .create(Endpoint::Groups, &json!({"displayName": "G"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    let err = c.search(Endpoint::Groups, None, None, 1, 10).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        c.search(Endpoint::Groups, None, None, 1, 10)
            .await
            .unwrap()
            .total_results,
        0
    );

    assert_eq!(c.delete(Endpoint::Users, id).await.unwrap_err().status(), Some(503));
    assert_eq!(t.faults()[0].times, 2, "one use consumed");
    t.clear_faults();
    assert!(t.faults().is_empty());
    c.delete(Endpoint::Users, id).await.unwrap();
    let faulted = t.requests().iter().filter(|r| r.faulted).count();
    assert_eq!(faulted, 3);
}

#[tokio::test]
async fn extra_tenant_as_source() {
    let t = FaultyTarget::start().await;
    let (src_url, src_token) = t.add_tenant("source").await;
    assert_eq!(src_url, format!("{}/scim/v2/source", t.root));
    let src = ScimClient::new(&src_url, &src_token, ClientOptions::default()).unwrap();
    src.create(Endpoint::Users, &user("s@x.com")).await.unwrap();
    assert_eq!(count_users(&src).await, 1);
    assert_eq!(count_users(&client(&t)).await, 0, "tenants are isolated");
    // The target's token does not open the source tenant.
    let cross = ScimClient::new(&src_url, &t.token, ClientOptions::default()).unwrap();
    assert_eq!(
        cross.get(Endpoint::Users, "x", None).await.unwrap_err().status(),
        Some(401)
    );
    // Faults can be scoped to one tenant by path.
    t.inject(fault("GET", "/scim/v2/source/", 1, FaultAction::Status(500)));
    assert_eq!(count_users(&client(&t)).await, 0);
    assert_eq!(
        src.search(Endpoint::Users, None, None, 1, 1)
            .await
            .unwrap_err()
            .status(),
        Some(500)
    );
    assert!(t.requests().iter().any(|r| r.path().starts_with("/scim/v2/source/")));
}

#[tokio::test]
#[should_panic(expected = "invalid injected status")]
async fn invalid_status_is_rejected() {
    let t = FaultyTarget::start().await;
    t.inject(fault("", "", 1, FaultAction::Status(42)));
}
