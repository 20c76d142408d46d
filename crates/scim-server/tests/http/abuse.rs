//! The abuse cases, as an attacker would try them, one after another against one server:
//! each gets a 4xx SCIM error (never a 500, a panic or a hang), the server answers normal
//! traffic right after each, and the data is unchanged at the end. Run on both backends
//! (`SCIMD_TEST_HTTP_BACKEND=postgres`). Rate limits, load shedding and slow clients have their
//! own tests in `limits.rs` and `transport.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Resp, TestServer, enc, min_user, send};

/// A request as raw bytes with a content type, the tenant's token unless `token` says otherwise.
fn raw(s: &TestServer, m: Method, path: &str, ct: &str, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    s.client
        .request(m, format!("{}{path}", s.base))
        .bearer_auth(&s.token)
        .header("content-type", ct)
        .body(body)
}

/// The tenant's users, sorted by id: what must not change.
async fn snapshot(s: &TestServer) -> Vec<Value> {
    let r = s.get("/Users?count=1000").await;
    let mut users = r.assert_list(r.body["totalResults"].as_u64().unwrap()).clone();
    users.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    users
}

/// A 4xx SCIM error with this status, then a normal request still served.
async fn refused(s: &TestServer, what: &str, r: Resp, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text);
    assert_eq!(
        r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{what}: {}",
        r.text
    );
    assert_eq!(r.body["status"], status.to_string(), "{what}");
    let after = s.get("/Users?count=1").await;
    assert_eq!(after.status, 200, "after {what}: {}", after.text);
}

#[tokio::test]
async fn every_abuse_case_is_a_4xx_and_normal_traffic_goes_on() {
    let s = TestServer::start().await;
    let id = s.create_user(min_user("victim@example.com")).await;
    s.create_group(json!({"displayName": "Admins", "members": [{"value": id}]}))
        .await;
    let before = snapshot(&s).await;

    // Credentials.
    let no_auth = send(s.client.get(format!("{}/Users", s.base))).await;
    refused(&s, "no Authorization", no_auth, 401).await;
    for header in [
        "Bearer",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "scimd_x",
        "Bearer ' OR '1'='1",
    ] {
        let r = send(
            s.client
                .get(format!("{}/Users", s.base))
                .header("authorization", header),
        )
        .await;
        refused(&s, header, r, 401).await;
    }

    // Bodies: malformed, mistyped, huge, deep.
    for (what, ct, body) in [
        ("malformed JSON", "application/scim+json", b"{\"userName\": ".to_vec()),
        (
            "not UTF-8",
            "application/scim+json",
            b"{\"userName\": \"\xff\xfe\"}".to_vec(),
        ),
        ("a JSON array", "application/scim+json", b"[1,2,3]".to_vec()),
    ] {
        refused(&s, what, send(raw(&s, Method::POST, "/Users", ct, body)).await, 400).await;
    }
    let r = send(raw(&s, Method::POST, "/Users", "text/xml", "<user/>")).await;
    refused(&s, "a wrong content type", r, 415).await;
    let ten_mb = format!(
        "{{\"userName\": \"big@example.com\", \"title\": \"{}\"}}",
        "x".repeat(10 << 20)
    );
    let r = send(raw(&s, Method::POST, "/Users", "application/scim+json", ten_mb)).await;
    refused(&s, "a 10 MB body", r, 413).await;
    let deep = format!(
        "{{\"userName\": \"deep@example.com\", \"x\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let r = send(raw(&s, Method::POST, "/Users", "application/scim+json", deep)).await;
    refused(&s, "JSON nested 10,000 deep", r, 400).await;
    let long = json!({"userName": "a".repeat(100_000)});
    refused(&s, "a 100,000-character userName", s.post("/Users", &long).await, 400).await;
    for (what, body) in [
        ("userName as a number", json!({"userName": 42})),
        (
            "emails as an object",
            json!({"userName": "t@example.com", "emails": {"value": "x"}}),
        ),
        (
            "emails as a string",
            json!({"userName": "t@example.com", "emails": "x@example.com"}),
        ),
        ("name as a string", json!({"userName": "t@example.com", "name": "Ada"})),
    ] {
        let r = s.post("/Users", &body).await;
        refused(&s, what, r, 400).await;
    }

    // Filters: syntax errors and SQL metacharacters.
    for f in [
        "userName eq",
        "userName eq \"a\" or",
        "((((",
        "userName co \"a\") or (1=1",
    ] {
        refused(&s, f, s.filter("/Users", f).await, 400).await;
    }
    for f in [
        "userName eq \"x' OR '1'='1\"",
        "userName eq \"x\\\"; DROP TABLE resources; --\"",
        "userName co \"%\"",
        "userName sw \"_\"",
        "displayName eq \"'); DELETE FROM members; --\"",
        "userName eq \"\\u0000\"",
    ] {
        let r = s.filter("/Users", f).await;
        assert!(r.status == 200 || r.status == 400, "{f}: {}", r.text);
        if r.status == 200 {
            assert_eq!(r.body["totalResults"], 0, "{f} matched nothing literally: {}", r.text);
        }
    }
    let r = s
        .get(&format!("/Groups?filter={}", enc("displayName eq \"Admins' --\"")))
        .await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.text);

    // PATCH: invalid paths and ops.
    let user = format!("/Users/{id}");
    for ops in [
        json!([{"op": "explode", "path": "userName", "value": "x"}]),
        json!([{"op": "replace", "path": "userName[[", "value": "x"}]),
        json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": "x"}]),
        json!([{"op": "remove"}]),
        json!([{"op": "replace", "path": "id", "value": "other"}]),
        json!("not a list"),
    ] {
        let r = s.patch_ops(&user, ops.clone()).await;
        assert!(r.status.is_client_error(), "{ops}: {}", r.text);
        let status = r.status.as_u16();
        refused(&s, &ops.to_string(), r, status).await;
    }

    // Paging: absurd counts and start indexes are clamped or refused, never a 500.
    for q in [
        "count=999999999999",
        "count=-5",
        "startIndex=0",
        "startIndex=-100",
        "startIndex=99999999999999999999",
    ] {
        let r = s.get(&format!("/Users?{q}")).await;
        assert!(r.status == 200 || r.status == 400, "{q}: {}", r.text);
        if r.status == 400 {
            refused(&s, q, r, 400).await;
        } else {
            assert!(r.body["itemsPerPage"].as_u64().unwrap() <= 1000, "{q}: {}", r.text);
        }
    }

    // Nothing any of that sent changed the data.
    assert_eq!(snapshot(&s).await, before);
    let r = s.post("/Users", &min_user("after@example.com")).await;
    assert_eq!(r.status, 201, "{}", r.text);
}
