//! RFC 7644 §3.12 errors: status, scimType and an actionable detail for every client
//! mistake, and the transport tolerances of entra-scim-client.md §1.1. No request may ever
//! yield a 500.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

fn raw(s: &TestServer, m: Method, path: &str, ct: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    s.request(m, path).header("content-type", ct).body(body)
}

#[tokio::test]
async fn malformed_json_is_invalid_syntax() {
    let s = TestServer::start().await;
    let id = s.create_user(min_user("alice@contoso.com")).await;
    for (m, path) in [
        (Method::POST, "/Users".to_string()),
        (Method::PUT, format!("/Users/{id}")),
        (Method::PATCH, format!("/Users/{id}")),
        (Method::POST, "/Groups".to_string()),
        (Method::POST, "/Users/.search".to_string()),
    ] {
        for body in ["{\"userName\": ", "not json", "{\"a\":1}}", "\u{feff}[}"] {
            let r = send(raw(&s, m.clone(), &path, "application/scim+json", body)).await;
            r.assert_error(400, Some("invalidSyntax"));
        }
        // An empty body where one is required.
        let r = send(raw(&s, m.clone(), &path, "application/scim+json", "")).await;
        r.assert_error(400, Some("invalidSyntax"));
    }
    // JSON that is not an object.
    s.post("/Users", &json!(["userName"]))
        .await
        .assert_error(400, Some("invalidSyntax"));
    s.patch(&format!("/Users/{id}"), &json!("replace"))
        .await
        .assert_error(400, Some("invalidSyntax"));
}

#[tokio::test]
async fn wrong_types_are_invalid_value() {
    let s = TestServer::start().await;
    let cases = [
        json!({"userName": "a@x.com", "active": 5}),
        json!({"userName": "a@x.com", "active": "yes"}),
        json!({"userName": 123}),
        json!({"userName": ["a@x.com"]}),
        json!({"userName": "a@x.com", "name": "Alice"}),
        json!({"userName": "a@x.com", "emails": [{"value": "a@x.com", "primary": "maybe"}]}),
        json!({"userName": "a@x.com", "displayName": {"text": "A"}}),
        json!({"userName": "a@x.com", "externalId": 7}),
        json!({"userName": "a@x.com", ENTERPRISE: "Sales"}),
        json!({"userName": "a@x.com", ENTERPRISE: {"department": 42}}),
    ];
    for body in cases {
        let r = s.post("/Users", &body).await;
        r.assert_error(400, Some("invalidValue"));
    }
    let id = s.create_user(min_user("alice@contoso.com")).await;
    let r = s
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "active", "value": 5}]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert!(
        r.body["detail"].as_str().unwrap().contains("active"),
        "detail names the attribute: {}",
        r.text
    );
    let r = s
        .patch_ops(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails[type eq \"work\"]", "value": "x"}]),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    s.get("/Users").await.assert_list(1);
}

#[tokio::test]
async fn missing_or_empty_user_name_is_400() {
    let s = TestServer::start().await;
    for body in [
        json!({"schemas": [USER], "displayName": "No Name"}),
        json!({"schemas": [USER], "userName": ""}),
        json!({"schemas": [USER], "userName": null}),
        json!({"schemas": [USER], "userame": "typo@x.com"}),
    ] {
        let r = s.post("/Users", &body).await;
        r.assert_error(400, Some("invalidValue"));
        assert!(r.body["detail"].as_str().unwrap().contains("userName"), "{}", r.text);
    }
    let id = s.create_user(min_user("alice@contoso.com")).await;
    s.put(&format!("/Users/{id}"), &json!({"userame": "alice@contoso.com"}))
        .await
        .assert_error(400, Some("invalidValue"));
    let r = s
        .patch_ops(&format!("/Users/{id}"), json!([{"op": "remove", "path": "userName"}]))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        s.get(&format!("/Users/{id}")).await.body["userName"],
        "alice@contoso.com"
    );
}

#[tokio::test]
async fn bad_filters_are_invalid_filter() {
    let s = TestServer::start().await;
    for f in [
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "userName eq \"a\" and",
        "noSuchAttr eq \"a\"",
        "emails[type eq \"work\"",
        "emails[type eq \"work\"]]",
        "userName eq \"unterminated",
        "name.noSuch eq \"a\"",
        "active gt true",
        "meta.created gt \"yesterday\"",
        "password eq \"secret\"",
        "emails[value[type eq \"a\"]]",
    ] {
        let r = s.filter("/Users", f).await;
        r.assert_error(400, Some("invalidFilter"));
    }
    let long = format!("userName eq \"{}\"", "a".repeat(20_000));
    s.filter("/Users", &long).await.assert_error(400, Some("invalidFilter"));
    let deep = format!("{}userName eq \"a\"{}", "(".repeat(500), ")".repeat(500));
    s.filter("/Users", &deep).await.assert_error(400, Some("invalidFilter"));
    // A long `or` chain is refused with a reason (it used to be a 500 past ~400 terms).
    for n in [201, 455] {
        let chain = vec!["id pr"; n].join(" or ");
        let r = s.filter("/Users", &chain).await;
        r.assert_error(400, Some("invalidFilter"));
        assert!(r.body["detail"].as_str().unwrap().contains("conditions"), "{}", r.text);
    }
    let ids = (0..80)
        .map(|i| format!("id eq \"{i:032}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    s.filter("/Users", &ids).await.assert_list(0);
    s.post("/Users/.search", &json!({"filter": "userName eq"}))
        .await
        .assert_error(400, Some("invalidFilter"));
    s.filter("/Groups", "members[display eq \"x\"]")
        .await
        .assert_error(400, Some("invalidFilter"));
    s.get("/Users?startIndex=abc")
        .await
        .assert_error(400, Some("invalidValue"));
    s.get("/Users?count=1e3").await.assert_error(400, Some("invalidValue"));
}

#[tokio::test]
async fn bad_patch_paths_and_ops() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let path = format!("/Users/{id}");
    for p in [
        "noSuchAttr",
        "emails[type eq",
        "name.noSuch",
        "displayName.sub",
        "userName[value eq \"a\"]",
        "emails[type eq \"work\"].nope",
        "a b",
    ] {
        let r = s
            .patch_ops(&path, json!([{"op": "replace", "path": p, "value": "x"}]))
            .await;
        r.assert_error(400, Some("invalidPath"));
        assert!(
            r.body["detail"].as_str().unwrap().contains("Operations[0]"),
            "detail names the op: {}",
            r.text
        );
    }
    let r = s
        .patch_ops(&path, json!([{"op": "move", "path": "title", "value": "x"}]))
        .await;
    r.assert_error(400, Some("invalidSyntax"));
    assert!(r.body["detail"].as_str().unwrap().contains("move"));
    for body in [
        json!({"schemas": [PATCH_OP]}),
        json!({"schemas": [PATCH_OP], "Operations": []}),
        json!({"schemas": [PATCH_OP], "Operations": {"op": "add"}}),
        json!({"schemas": [PATCH_OP], "Operations": ["add"]}),
        json!({"schemas": [PATCH_OP], "Operations": [{"path": "title", "value": "x"}]}),
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": 5, "value": "x"}]}),
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title"}]}),
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": "not an object"}]}),
    ] {
        s.patch(&path, &body).await.assert_error(400, Some("invalidSyntax"));
    }
    s.patch_ops(&path, json!([{"op": "remove"}]))
        .await
        .assert_error(400, Some("noTarget"));
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"op": "add", "path": "title", "value": format!("t{i}")}))
        .collect();
    s.patch_ops(&path, Value::Array(many))
        .await
        .assert_error(400, Some("tooMany"));
    // A failing op rolls back the ops before it.
    let r = s
        .patch_ops(
            &path,
            json!([{"op": "replace", "path": "title", "value": "set"}, {"op": "replace", "path": "bogus", "value": 1}]),
        )
        .await;
    r.assert_error(400, Some("invalidPath"));
    assert!(r.body["detail"].as_str().unwrap().contains("Operations[1]"));
    assert!(s.get(&path).await.body.get("title").is_none(), "nothing applied");
}

#[tokio::test]
async fn read_only_attributes_are_mutability_errors() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let path = format!("/Users/{id}");
    for (op, p) in [
        ("replace", "id"),
        ("add", "meta.created"),
        ("remove", "meta"),
        ("replace", "groups"),
        ("Replace", "ID"),
    ] {
        let r = s.patch_ops(&path, json!([{"op": op, "path": p, "value": "x"}])).await;
        r.assert_error(400, Some("mutability"));
    }
    let r = s
        .patch_ops(
            &path,
            json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager.displayName"), "value": "x"}]),
        )
        .await;
    r.assert_error(400, Some("mutability"));
    // Read-only keys inside a pathless value or a PUT body are ignored, as clients echo them.
    let r = s
        .patch_ops(
            &path,
            json!([{"op": "replace", "value": {"id": "other", "meta": {}, "title": "T"}}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], json!(id));
    let mut body = entra_user("alice@contoso.com");
    body["id"] = json!("hijack");
    body["meta"] = json!({"created": "2000-01-01T00:00:00Z"});
    let r = s.put(&path, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], json!(id));
    assert_ne!(r.body["meta"]["created"], "2000-01-01T00:00:00Z");
    assert_eq!(s.get("/Users/hijack").await.status, 404);
}

#[tokio::test]
async fn oversized_and_too_deep_bodies() {
    let s = TestServer::start().await;
    let big = json!({"userName": "big@x.com", "title": "x".repeat(1024 * 1024 + 10)});
    let r = s.post("/Users", &big).await;
    r.assert_error(413, None);
    let mut deep = json!("leaf");
    for _ in 0..40 {
        deep = json!([deep]);
    }
    let r = s.post("/Users", &json!({"userName": "deep@x.com", "x": deep})).await;
    r.assert_error(400, Some("invalidSyntax"));
    assert!(r.body["detail"].as_str().unwrap().contains("deep"), "{}", r.text);
    // Nesting just inside the limit is fine (and the unknown key ignored).
    let mut ok = json!("leaf");
    for _ in 0..20 {
        ok = json!([ok]);
    }
    let r = s.post("/Users", &json!({"userName": "ok@x.com", "x": ok})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    s.get("/Users").await.assert_list(1);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let s = TestServer::start().await;
    for ct in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let r = send(raw(&s, Method::POST, "/Users", ct, min_user("a@x.com").to_string())).await;
        r.assert_error(415, None);
    }
    s.get("/Users").await.assert_list(0);
    for ct in [
        "application/scim+json",
        "application/json",
        "APPLICATION/SCIM+JSON; charset=UTF-8",
    ] {
        let r = send(raw(
            &s,
            Method::POST,
            "/Users",
            ct,
            min_user(&format!("{}@x.com", ct.len())).to_string(),
        ))
        .await;
        assert_eq!(r.status, 201, "{ct}: {}", r.text);
    }
}

#[tokio::test]
async fn discovery_endpoints_are_read_only() {
    let s = TestServer::start().await;
    for path in [
        "/Schemas",
        "/ResourceTypes",
        "/ServiceProviderConfig",
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        "/ResourceTypes/User",
    ] {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let r = send(raw(&s, m.clone(), path, "application/scim+json", "{}")).await;
            r.assert_error(405, None);
            assert_eq!(r.headers["allow"], "GET", "{m} {path}");
        }
        assert_eq!(s.get(path).await.status, 200, "GET {path}");
    }
    let r = send(raw(&s, Method::DELETE, "/Users", "application/scim+json", "")).await;
    r.assert_error(405, None);
    assert_eq!(r.headers["allow"], "GET, POST");
    let r = s.get("/Users/.search").await;
    r.assert_error(405, None);
}

#[tokio::test]
async fn unknown_ids_and_endpoints_are_404() {
    let s = TestServer::start().await;
    for kind in ["Users", "Groups"] {
        let p = format!("/{kind}/00000000-0000-0000-0000-000000000000");
        s.get(&p).await.assert_error(404, None);
        s.delete(&p).await.assert_error(404, None);
        s.patch_ops(&p, json!([{"op": "replace", "path": "displayName", "value": "x"}]))
            .await
            .assert_error(404, None);
        s.put(&p, &json!({"userName": "x", "displayName": "x"}))
            .await
            .assert_error(404, None);
    }
    // A user id is not a group id.
    let u = s.create_user(min_user("alice@contoso.com")).await;
    s.get(&format!("/Groups/{u}")).await.assert_error(404, None);
    s.get("/Nope").await.assert_error(404, None);
    s.get("/Users/a/b").await.assert_error(404, None);
    s.get("/Schemas/urn:nope").await.assert_error(404, None);
    s.get("/ResourceTypes/Widget").await.assert_error(404, None);
}

/// Per-attribute limits and wrong JSON types, through POST, PUT and PATCH: 400
/// `invalidValue` naming the attribute, nothing stored, normal traffic served right after.
#[tokio::test]
async fn over_long_values_and_wrong_types_are_refused_and_nothing_is_stored() {
    let s = TestServer::start().await;
    let id = s.create_user(entra_user("ann@contoso.com")).await;
    let path = format!("/Users/{id}");
    let before = s.get(&path).await.body;
    let refused = |r: &Resp, attr: &str| {
        r.assert_error(400, Some("invalidValue"));
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(&format!("'{attr}'")), "{detail}");
    };
    refused(
        &s.post("/Users", &json!({"userName": "x".repeat(100_000)})).await,
        "userName",
    );
    let mut long_title = entra_user("ann@contoso.com");
    long_title["title"] = json!("t".repeat(2049));
    refused(&s.put(&path, &long_title).await, "title");
    let r = s
        .patch_ops(
            &path,
            json!([{"op": "replace", "path": "displayName", "value": "d".repeat(300)}]),
        )
        .await;
    refused(&r, "displayName");
    refused(
        &s.post(
            "/Users",
            &json!({"userName": "b@contoso.com", "emails": {"value": "b@contoso.com"}}),
        )
        .await,
        "emails",
    );
    refused(
        &s.post("/Users", &json!({"userName": "c@contoso.com", "active": 1}))
            .await,
        "active",
    );
    let members: Vec<Value> = (0..10_001).map(|i| json!({"value": format!("m{i}")})).collect();
    refused(
        &s.post("/Groups", &json!({"displayName": "Big", "members": members}))
            .await,
        "members",
    );
    assert_eq!(s.get(&path).await.body, before, "the user is as it was");
    s.get("/Users").await.assert_list(1);
    s.get("/Groups").await.assert_list(0);
    let r = s.post("/Users", &entra_user("dee@contoso.com")).await;
    assert_eq!(r.status, 201, "{}", r.text);
}
