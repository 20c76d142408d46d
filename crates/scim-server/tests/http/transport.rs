//! Auth and transport: 401s that reveal nothing, what Entra's requests look like on the
//! wire (no User-Agent, flags in the URL, stray slashes), and no request ever a 500.

use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn bad_tokens_are_401_and_reveal_nothing() {
    let s = TestServer::start().await;
    s.create_user(min_user("alice@contoso.com")).await;
    let (other_base, other_token) = s.other_tenant("globex").await;
    let users = format!("{}/Users", s.base);
    let ghost = format!("{}/scim/v2/ghost/Users", s.root);
    let cases = [
        s.client.get(&users),
        s.client.get(&users).bearer_auth("wrong"),
        s.client.get(&users).bearer_auth(format!("{}x", s.token)),
        s.client
            .get(&users)
            .header("authorization", format!("Token {}", s.token)),
        s.client.get(&users).bearer_auth(&other_token),
        s.client.get(&ghost).bearer_auth(&s.token),
        s.client.get(&ghost).bearer_auth("wrong"),
        s.client
            .post(&users)
            .bearer_auth(&other_token)
            .header("content-type", "application/scim+json")
            .body("{"),
        s.client.delete(format!("{other_base}/Users/x")).bearer_auth(&s.token),
    ];
    let mut details = std::collections::HashSet::new();
    for rb in cases {
        let r = send(rb).await;
        r.assert_error(401, None);
        details.insert(r.text.clone());
        assert!(
            !r.text.contains("alice") && !r.text.contains("globex") && !r.text.contains("ghost"),
            "{}",
            r.text
        );
    }
    assert_eq!(
        details.len(),
        1,
        "every 401 is the same, so it tells nothing apart: {details:?}"
    );
    // The scheme name is case-insensitive.
    let r = send(
        s.client
            .get(&users)
            .header("authorization", format!("bearer {}", s.token)),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn no_user_agent_flags_trailing_slash_and_double_slash_are_served() {
    let s = TestServer::start().await;
    // reqwest sends no User-Agent unless told to, as Entra may.
    let id = s.create_user(entra_user("alice@contoso.com")).await;
    let r = s.get("/Users?aadOptscim062020").await;
    r.assert_list(1);
    let r = s
        .get(&format!(
            "/Users?aadOptscim062020&filter={}",
            enc("userName eq \"alice@contoso.com\"")
        ))
        .await;
    r.assert_list(1);
    let r = s
        .get("/Users?AzureAdScimPatch2017&unknownParam=1&filter=userName+eq+%22nobody%22")
        .await;
    r.assert_list(0);
    let r = s
        .patch_ops(
            &format!("/Users/{id}?aadOptscim062020"),
            json!([{"op": "replace", "path": "title", "value": "T"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.post("/Users?aadOptscim062020", &min_user("bob@contoso.com")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    for p in [
        "/Users/",
        "//Users",
        "//Users/",
        "/Users?",
        "/Users/?filter=userName+eq+%22alice%40contoso.com%22",
    ] {
        let r = s.get(p).await;
        assert_eq!(r.status, 200, "{p}: {}", r.text);
        assert!(r.body["totalResults"].as_u64().is_some());
    }
    assert_eq!(s.get(&format!("/Users/{id}/")).await.body["id"], json!(id));
    assert_eq!(s.get(&format!("//Users//{id}")).await.body["id"], json!(id));
    assert_eq!(s.get("/users").await.status, 200, "endpoint names are case-insensitive");
    assert_eq!(
        s.get("/serviceConfiguration").await.status,
        200,
        "the Postman suite's name"
    );
    // A tenant URL with a trailing slash, as admins paste it.
    let r = send(s.client.get(format!("{}/", s.base)).bearer_auth(&s.token)).await;
    r.assert_error(404, None);
    assert!(
        r.body["detail"].as_str().unwrap().contains("/Users"),
        "detail says where to go"
    );
}

#[tokio::test]
async fn no_request_yields_a_500() {
    let s = TestServer::start().await;
    let u = s.create_user(entra_user("alice@contoso.com")).await;
    let g = s.create_group(entra_group("Sales")).await;
    let weird_filters = [
        "userName eq \"\u{0}\"",
        "userName eq \"'; DROP TABLE resources; --\"",
        "userName co \"%\"",
        "userName sw \"_\"",
        "emails[value co \"\\\\\"]",
        "id eq \"🙂\"",
        "meta.created gt \"9999-12-31T23:59:59Z\"",
        "meta.resourceType eq \"User\"",
        "active eq null",
        "urn:x:y eq 1",
        "name.givenName gt 5",
        "members pr",
    ];
    for f in weird_filters {
        for ep in ["/Users", "/Groups"] {
            let r = s.filter(ep, f).await;
            assert!(r.status.as_u16() < 500, "{ep} {f}: {} {}", r.status, r.text);
        }
    }
    let weird_ops = [
        json!([{"op": "add", "path": "emails", "value": [null, 5, "x", {"value": null}]}]),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": {"nested": true}}]),
        json!([{"op": "add", "path": "addresses", "value": "Main St"}]),
        json!([{"op": "add", "path": "roles", "value": {"value": ["a"]}}]),
        json!([{"op": "replace", "path": "name", "value": [1, 2]}]),
        json!([{"op": "replace", "value": {"": "x", "urn:": 1, "name.": "y"}}]),
        json!([{"op": "add", "path": "urn:x:y:z:User:a.b.c", "value": 1}]),
        json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": 5}]),
        json!([{"op": "remove", "path": "emails[value pr]"}]),
        json!([{"op": "replace", "path": "members", "value": [{"value": u}]}]),
    ];
    for ops in weird_ops {
        for p in [format!("/Users/{u}"), format!("/Groups/{g}")] {
            let r = s.patch_ops(&p, ops.clone()).await;
            assert!(r.status.as_u16() < 500, "{p} {ops}: {} {}", r.status, r.text);
        }
    }
    let r = s
        .patch_ops(
            &format!("/Groups/{g}"),
            json!([{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}]),
        )
        .await;
    assert!(r.status.as_u16() < 500, "{}", r.text);
    for q in [
        "startIndex=99999999999999999999",
        "count=99999999999",
        "sortBy=emails",
        "sortBy=meta",
        "attributes=%5B",
        "excludedAttributes=a..b",
    ] {
        let r = s.get(&format!("/Users?{q}")).await;
        assert!(r.status.as_u16() < 500, "{q}: {} {}", r.status, r.text);
    }
    for p in [
        "/Users/%00",
        "/Users/..%2F..",
        "/Users/%FF",
        &format!("/Users/{}", "a".repeat(5000)),
    ] {
        let r = s.get(p).await;
        assert!(r.status.as_u16() < 500, "{p}: {} {}", r.status, r.text);
    }
    let r = s.post("/Bulk", &json!({"Operations": []})).await;
    assert_eq!(r.status, 200, "an empty bulk is a no-op: {}", r.text);
    assert!(r.content_type().starts_with("application/scim+json"));
    // The server still works afterwards.
    assert_eq!(s.get(&format!("/Users/{u}")).await.status, 200);
}

/// Every answer, success or error, SCIM, admin or OAuth, carries the security headers.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let s = TestServer::start().await;
    let id = s.create_user(min_user("ann@example.com")).await;
    let answers = [
        s.get(&format!("/Users/{id}")).await,
        s.get("/Users/nope").await,
        s.post("/Users", &json!({"userName": 5})).await,
        send(s.client.get(format!("{}/healthz", s.root))).await,
        send(
            s.client
                .post(format!("{}/oauth/token", s.root))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=password"),
        )
        .await,
    ];
    for r in &answers {
        for (name, want) in [
            ("cache-control", "no-store"),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
            ("referrer-policy", "no-referrer"),
        ] {
            let got = r.headers.get(name).and_then(|v| v.to_str().ok());
            assert_eq!(got, Some(want), "{name} on a {} answer", r.status);
        }
    }
}

/// A client that sends its headers and then dribbles (or stalls) its body gets 408 and its
/// connection closed once the body timeout passes; nothing is stored and others are served.
#[tokio::test]
async fn a_stalled_body_gets_408_and_the_connection_closes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start_with(|c| c.limits.body_timeout = std::time::Duration::from_millis(300)).await;
    let addr = s.root.trim_start_matches("http://").to_string();
    let path = s.base.split_once(&addr).map(|(_, p)| p.to_string()).unwrap_or_default();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST {path}/Users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 200\r\n\r\n{{\"userName\":",
        s.token
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    // Read until the server closes the connection: the answer comes when its timer fires.
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
    assert!(text.contains("did not arrive within 300 ms"), "{text}");
    s.get("/Users").await.assert_list(0);
    let r = s.post("/Users", &min_user("after@example.com")).await;
    assert_eq!(r.status, 201, "{}", r.text);
}
