//! Every call against a real scimd.

use scim_client::{ClientError, ClientOptions, Endpoint, ScimClient};
use scim_proto::PatchOperation;
use serde_json::{Value, json};

use crate::harness::*;

fn op(op: &str, path: Option<&str>, value: Value) -> PatchOperation {
    PatchOperation {
        op: op.into(),
        path: path.map(str::to_string),
        value: Some(value),
    }
}

#[tokio::test]
async fn user_lifecycle_create_get_search_patch_replace_delete() {
    let s = Server::start().await;
    let c = s.client();
    assert_eq!(c.base_url(), s.base, "trailing slash trimmed");

    let created = c.create(Endpoint::Users, &user("alice@contoso.com")).await.unwrap();
    let id = id_of(&created);
    assert_eq!(created["userName"], "alice@contoso.com");
    assert_eq!(created["meta"]["resourceType"], "User");

    let got = c.get(Endpoint::Users, &id, None).await.unwrap().expect("exists");
    assert_eq!(got["id"], json!(id));
    assert_eq!(got["displayName"], "Display alice@contoso.com");

    let projected = c.get(Endpoint::Users, &id, Some("userName")).await.unwrap().unwrap();
    assert_eq!(projected["userName"], "alice@contoso.com");
    assert!(projected.get("displayName").is_none(), "{projected}");

    let list = c
        .search(Endpoint::Users, Some("userName eq \"alice@contoso.com\""), None, 1, 10)
        .await
        .unwrap();
    assert_eq!(list.total_results, 1);
    assert_eq!(list.start_index, 1);
    assert_eq!(list.items_per_page, 1);
    assert_eq!(list.resources[0]["id"], json!(id));

    let patched = c
        .patch(
            Endpoint::Users,
            &id,
            &[
                op("replace", Some("displayName"), json!("Alice P.")),
                op("replace", None, json!({"active": false})),
            ],
        )
        .await
        .unwrap()
        .expect("scimd answers 200 with the resource");
    assert_eq!(patched["displayName"], "Alice P.");
    assert_eq!(patched["active"], false);
    let got = c.get(Endpoint::Users, &id, None).await.unwrap().unwrap();
    assert_eq!(got["displayName"], "Alice P.", "patch persisted");

    let mut body = user("alice@contoso.com");
    body["displayName"] = json!("Alice Replaced");
    body["name"] = json!({"givenName": "Alice"});
    let replaced = c.replace(Endpoint::Users, &id, &body).await.unwrap();
    assert_eq!(replaced["displayName"], "Alice Replaced");
    assert_eq!(replaced["active"], true);
    assert!(
        replaced["name"].get("familyName").is_none(),
        "PUT replaced name: {replaced}"
    );

    c.delete(Endpoint::Users, &id).await.unwrap();
    assert_eq!(c.get(Endpoint::Users, &id, None).await.unwrap(), None, "404 is None");
    let err = c.delete(Endpoint::Users, &id).await.unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn group_lifecycle_with_members() {
    let s = Server::start().await;
    let c = s.client();
    let u1 = id_of(&c.create(Endpoint::Users, &user("m1@contoso.com")).await.unwrap());
    let u2 = id_of(&c.create(Endpoint::Users, &user("m2@contoso.com")).await.unwrap());

    let g = c.create(Endpoint::Groups, &group("Sales")).await.unwrap();
    let gid = id_of(&g);
    assert_eq!(g["displayName"], "Sales");

    c.patch(
        Endpoint::Groups,
        &gid,
        &[op("add", Some("members"), json!([{"value": u1}, {"value": u2}]))],
    )
    .await
    .unwrap();
    let got = c.get(Endpoint::Groups, &gid, Some("members")).await.unwrap().unwrap();
    let mut members: Vec<&str> = got["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    let mut want = vec![u1.as_str(), u2.as_str()];
    want.sort();
    assert_eq!(members, want);

    c.patch(
        Endpoint::Groups,
        &gid,
        &[PatchOperation {
            op: "remove".into(),
            path: Some(format!("members[value eq \"{u1}\"]")),
            value: None,
        }],
    )
    .await
    .unwrap();
    let got = c.get(Endpoint::Groups, &gid, None).await.unwrap().unwrap();
    assert_eq!(got["members"].as_array().unwrap().len(), 1);
    assert_eq!(got["members"][0]["value"], json!(u2));

    let found = c
        .search(
            Endpoint::Groups,
            Some("displayName eq \"Sales\""),
            Some("displayName"),
            1,
            10,
        )
        .await
        .unwrap();
    assert_eq!(found.total_results, 1);
    assert_eq!(found.resources[0]["id"], json!(gid));
    assert!(found.resources[0].get("members").is_none());

    let replaced = c.replace(Endpoint::Groups, &gid, &group("Sales EMEA")).await.unwrap();
    assert_eq!(replaced["displayName"], "Sales EMEA");

    c.delete(Endpoint::Groups, &gid).await.unwrap();
    assert!(c.get(Endpoint::Groups, &gid, None).await.unwrap().is_none());
}

#[tokio::test]
async fn search_pages_and_encodes_filters() {
    let s = Server::start().await;
    let c = s.client();
    // Characters that break a naive query string: space, quote, '+', '&', '=', '#', '%'.
    let odd = "o'dd+a&b=c#d%e@contoso.com";
    let odd_id = id_of(&c.create(Endpoint::Users, &user(odd)).await.unwrap());
    for i in 0..4 {
        c.create(Endpoint::Users, &user(&format!("page{i}@contoso.com")))
            .await
            .unwrap();
    }
    let hit = c
        .search(Endpoint::Users, Some(&format!("userName eq \"{odd}\"")), None, 1, 10)
        .await
        .unwrap();
    assert_eq!(hit.total_results, 1, "{hit:?}");
    assert_eq!(hit.resources[0]["id"], json!(odd_id));

    let page = c.search(Endpoint::Users, None, None, 2, 2).await.unwrap();
    assert_eq!(page.total_results, 5);
    assert_eq!(page.start_index, 2);
    assert_eq!(page.items_per_page, 2);
    assert_eq!(page.resources.len(), 2);

    let count_only = c
        .search(Endpoint::Users, Some("userName sw \"page\""), None, 1, 0)
        .await
        .unwrap();
    assert_eq!(count_only.total_results, 4);
    assert!(count_only.resources.is_empty());

    let none = c
        .search(Endpoint::Users, Some("userName eq \"nobody@x\""), None, 1, 10)
        .await
        .unwrap();
    assert_eq!((none.total_results, none.resources.len()), (0, 0));

    let bad = c
        .search(Endpoint::Users, Some("userName eq"), None, 1, 10)
        .await
        .unwrap_err();
    assert_eq!(bad.status(), Some(400), "{bad}");
    assert!(
        matches!(&bad, ClientError::Status { scim_type: Some(t), .. } if t == "invalidFilter"),
        "{bad}"
    );
}

#[tokio::test]
async fn conflicts_and_missing_resources() {
    let s = Server::start().await;
    let c = s.client();
    c.create(Endpoint::Users, &user("dup@contoso.com")).await.unwrap();
    let err = c.create(Endpoint::Users, &user("DUP@contoso.com")).await.unwrap_err();
    match &err {
        ClientError::Status {
            status,
            scim_type,
            detail,
            retry_after,
        } => {
            assert_eq!(*status, 409);
            assert_eq!(scim_type.as_deref(), Some("uniqueness"));
            assert!(!detail.is_empty());
            assert_eq!(*retry_after, None);
        }
        other => panic!("expected Status, got {other:?}"),
    }
    assert!(!err.is_transient());

    let missing = "2c1f5b1e-0000-4000-8000-000000000000";
    assert_eq!(c.get(Endpoint::Groups, missing, None).await.unwrap(), None);
    let err = c
        .patch(Endpoint::Users, missing, &[op("replace", Some("active"), json!(false))])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    let err = c
        .replace(Endpoint::Users, missing, &user("x@contoso.com"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    // An id with path-significant characters stays one segment: a 404, not another route.
    assert_eq!(c.get(Endpoint::Users, "../Groups", None).await.unwrap(), None);
    assert!(matches!(
        c.get(Endpoint::Users, "", None).await,
        Err(ClientError::Config(_))
    ));

    let invalid = c
        .create(Endpoint::Users, &json!({"schemas": [USER]}))
        .await
        .unwrap_err();
    assert_eq!(invalid.status(), Some(400), "{invalid}");
}

#[tokio::test]
async fn bad_token_is_401() {
    let s = Server::start().await;
    let c = ScimClient::new(&s.base, "not-a-token", ClientOptions::default()).unwrap();
    let err = c.search(Endpoint::Users, None, None, 1, 1).await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn service_provider_config_and_test_connection() {
    let s = Server::start().await;
    let c = s.client();
    let spc = c.service_provider_config().await.unwrap();
    assert_eq!(spc["patch"]["supported"], true);

    let r = c.test_connection(&uuid::Uuid::new_v4().to_string()).await.unwrap();
    assert_eq!(r.probe_status, 200);
    assert!(r.probe_ok, "{r:?}");
    assert_eq!(r.patch, Some(true));
    assert_eq!(r.bulk, Some(true));
    assert_eq!(r.filter, Some(true));
    assert!(r.max_results.is_some_and(|m| m > 0), "{r:?}");
    assert_eq!(r.sort, Some(true));
    assert_eq!(r.etag, Some(true));
    assert_eq!(
        r.auth_schemes,
        vec!["oauthbearertoken".to_string(), "oauth2".to_string()]
    );
    assert_eq!(r.spc_error, None);

    // A "random" userName that exists: the probe is not ok.
    c.create(Endpoint::Users, &user("taken-guid")).await.unwrap();
    let r = c.test_connection("taken-guid").await.unwrap();
    assert_eq!(r.probe_status, 200);
    assert!(!r.probe_ok);
    assert!(r.probe_detail.contains("got 1"), "{}", r.probe_detail);

    // Probes on configured attributes: the group probe finds a group, the users' one is fine.
    c.create(
        Endpoint::Groups,
        &serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "guid-2"}),
    )
    .await
    .unwrap();
    let probes = [
        scim_client::Probe {
            endpoint: Endpoint::Users,
            path: r#"emails[type eq "work"].value"#.into(),
        },
        scim_client::Probe {
            endpoint: Endpoint::Groups,
            path: "displayName".into(),
        },
    ];
    let r = c.test_connection_with(&probes, "guid-2").await.unwrap();
    assert!(!r.probe_ok, "{r:?}");
    assert_eq!(r.probes.len(), 2);
    assert!(r.probes[0].ok && !r.probes[1].ok, "{r:?}");
    assert_eq!(r.probes[1].request, r#"GET /Groups?filter=displayName eq "guid-2""#);
    assert!(
        r.probe_detail.contains("got 1"),
        "the first failing probe is reported: {r:?}"
    );

    // A wrong token: reported, not an Err.
    let bad = ScimClient::new(&s.base, "wrong", ClientOptions::default()).unwrap();
    let r = bad
        .test_connection("9b2d1c4e-1111-4222-8333-944455556666")
        .await
        .unwrap();
    assert_eq!(r.probe_status, 401);
    assert!(!r.probe_ok);
    assert!(r.probe_detail.contains("401"), "{}", r.probe_detail);
}

#[tokio::test]
async fn unreachable_server_is_a_transient_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = ScimClient::new(&format!("http://{addr}/scim/v2/x"), "t", ClientOptions::default()).unwrap();
    let err = c.get(Endpoint::Users, "abc", None).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
    assert!(err.is_transient());
    let err = c.test_connection("guid").await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn clones_share_the_connection_settings() {
    let s = Server::start().await;
    let c = s.client();
    let c2 = c.clone();
    let (one, two) = (user("one@contoso.com"), user("two@contoso.com"));
    // The clone runs on another task: ScimClient is Send + Sync + 'static.
    let task = tokio::spawn(async move { c2.create(Endpoint::Users, &two).await });
    let a = c.create(Endpoint::Users, &one).await;
    let b = task.await.unwrap();
    assert_ne!(id_of(&a.unwrap()), id_of(&b.unwrap()));
    assert_eq!(
        c.search(Endpoint::Users, None, None, 1, 10)
            .await
            .unwrap()
            .total_results,
        2
    );
}

#[tokio::test]
async fn https_to_a_plain_http_server_fails_the_handshake() {
    let s = Server::start().await;
    let https = s.base.replacen("http://", "https://", 1);
    let c = ScimClient::new(&https, &s.token, ClientOptions::default()).expect("TLS client with system roots");
    assert!(c.base_url().starts_with("https://"));
    let err = c.search(Endpoint::Users, None, None, 1, 1).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err:?}");
}
