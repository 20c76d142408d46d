//! Rate limits, load shedding and connection limits, through the real listener: a tenant over
//! its bucket gets 429 while another tenant is served; a tenant's own rate set through the
//! admin API; 503 beyond `max_in_flight`; failed authentication limited per address and
//! tenant; slow or oversized request heads; the connection cap.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use scim_core::ports::TenantRate;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Admin, TestServer, assert_admin_error, min_user};

fn rate(per_second: u32, burst: u32) -> TenantRate {
    TenantRate { per_second, burst }
}

fn retry_after(r: &crate::harness::Resp) -> u64 {
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", r.headers))
}

/// The status of `GET {base}/Users` with `token` (another tenant's, say).
async fn users_status(s: &TestServer, base: &str, token: &str) -> StatusCode {
    let r = s.client.get(format!("{base}/Users")).bearer_auth(token).send();
    r.await.unwrap().status()
}

fn addr(s: &TestServer) -> String {
    s.root.trim_start_matches("http://").to_string()
}

/// The path of the tenant's base URL, e.g. `/scim/v2/acme`.
fn base_path(s: &TestServer) -> String {
    s.base.trim_start_matches(&s.root).to_string()
}

#[tokio::test]
async fn a_tenant_over_its_bucket_gets_429_while_another_tenant_is_served() {
    let s = TestServer::start_with(|c| c.limits.tenant_rate = rate(1, 5)).await;
    let (other_base, other_token) = s.other_tenant("globex").await;
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..20 {
        let r = s.get("/Users").await;
        statuses.push(r.status.as_u16());
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(r);
        }
    }
    assert_eq!(statuses[..5], [200; 5], "the burst is served: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
    let r = refused.unwrap_or_else(|| panic!("20 requests at once never exceeded 1/s with a burst of 5: {statuses:?}"));
    r.assert_error(429, None);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("1 requests per second (burst 5)"),
        "{}",
        r.text
    );
    assert!((1..=5).contains(&retry_after(&r)), "{:?}", r.headers);
    // The other tenant's bucket is its own.
    for _ in 0..5 {
        assert_eq!(users_status(&s, &other_base, &other_token).await, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_tenants_own_rate_is_set_and_cleared_through_the_admin_api() {
    let s = TestServer::start().await;
    let admin = Admin::new(&s).await;
    let r = admin.req(Method::GET, "/tenants/acme", None).await;
    assert_eq!(r.body["rate_limit"], json!(null), "{}", r.text);
    let set = json!({"rate_limit": {"per_second": 1, "burst": 2}});
    let r = admin.req(Method::PATCH, "/tenants/acme", Some(&set)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["rate_limit"], json!({"per_second": 1, "burst": 2}));
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            v.push(s.get("/Users").await.status.as_u16());
        }
        v
    };
    assert_eq!(statuses[..2], [200, 200], "{statuses:?}");
    assert!(
        statuses.contains(&429),
        "the tenant's own 1/s applies at once: {statuses:?}"
    );

    let r = admin
        .req(Method::PATCH, "/tenants/acme", Some(&json!({"rate_limit": null})))
        .await;
    assert_eq!(r.body["rate_limit"], json!(null), "{}", r.text);
    assert_eq!(
        s.get("/Users").await.status,
        StatusCode::OK,
        "back to the server's default"
    );

    for (body, words) in [
        (json!({"rate_limit": {"per_second": 0}}), "out of range"),
        (
            json!({"rate_limit": {"per_second": 5, "burst": 2_000_000}}),
            "out of range",
        ),
        (json!({"rate_limit": {"per_second": "fast"}}), "whole number"),
        (json!({"rate_limit": {"burst": 10}}), "per_second is missing"),
        (json!({"rate_limit": {"per_second": 5, "window": 1}}), "unknown key"),
        (json!({"rate_limit": "fast"}), "or null"),
        (json!({"name": "renamed"}), "cannot be changed"),
    ] {
        let r = admin.req(Method::PATCH, "/tenants/acme", Some(&body)).await;
        assert_admin_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(r.body["detail"].as_str().unwrap().contains(words), "{body}: {}", r.text);
    }
    let r = admin.req(Method::PATCH, "/tenants/nobody", Some(&set)).await;
    assert_admin_error(&r, StatusCode::NOT_FOUND, "not_found");
    let r = admin.req(Method::GET, "/tenants/acme", None).await;
    assert_eq!(
        r.body["rate_limit"],
        json!(null),
        "refused changes changed nothing: {}",
        r.text
    );
}

/// Starts a POST whose body never finishes: the request holds its in-flight slot until the
/// rest is sent.
async fn hold_a_request(s: &TestServer) -> TcpStream {
    let mut conn = TcpStream::connect(addr(s)).await.unwrap();
    let head = format!(
        "POST {}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 60\r\n\r\n{{\"userName\":",
        base_path(s),
        s.token
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn
}

#[tokio::test]
async fn beyond_max_in_flight_requests_are_shed_with_503_and_health_checks_still_answer() {
    let s = TestServer::start_with(|c| c.limits.max_in_flight = 1).await;
    let mut held = hold_a_request(&s).await;
    // The held request owns the only slot once the server has read its head; wait for that
    // by asking until a request is shed (each ask is answered at once, never queued).
    let mut shed = None;
    for _ in 0..200 {
        let r = s.get("/Users").await;
        if r.status == StatusCode::SERVICE_UNAVAILABLE {
            shed = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = shed.expect("a second request while one is in flight is shed");
    r.assert_error(503, None);
    assert_eq!(retry_after(&r), 1);
    assert!(
        r.body["detail"].as_str().unwrap().contains("handling 1 requests"),
        "{}",
        r.text
    );
    let admin = Admin::new(&s).await;
    let r = admin.req(Method::GET, "/tenants", None).await;
    assert_admin_error(&r, StatusCode::SERVICE_UNAVAILABLE, "overloaded");
    assert_eq!(retry_after(&r), 1);
    let health = s.client.get(format!("{}/healthz", s.root)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "health checks are outside the limit");

    // The held request completes; its slot is free again once it has answered.
    held.write_all(br#""held@example.com"}"#).await.unwrap();
    held.write_all(&[b' '; 60 - 31]).await.unwrap();
    let mut answer = vec![0; 4096];
    let n = held.read(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    let r = s.post("/Users", &min_user("after@example.com")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    s.get("/Users").await.assert_list(2);
}

#[tokio::test]
async fn failed_authentication_is_limited_per_address_and_tenant() {
    let s = TestServer::start_with(|c| c.limits.auth_failures_per_minute = 3).await;
    let (other_base, other_token) = s.other_tenant("globex").await;
    let wrong = |path: &str| {
        s.client
            .get(format!("{}{path}", s.base))
            .bearer_auth("scimd_not-a-token")
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(wrong("/Users").await.unwrap().status().as_u16());
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 429],
        "three failures a minute, then refused"
    );
    // Refused before authentication: even the right token, from this address, for this tenant.
    let r = s.get("/Users").await;
    r.assert_error(429, None);
    assert!(
        r.body["detail"].as_str().unwrap().contains("failed authentications"),
        "{}",
        r.text
    );
    assert!((1..=60).contains(&retry_after(&r)), "{:?}", r.headers);
    // Another tenant at the same address (Entra serves many customers from shared ones) is not.
    assert_eq!(users_status(&s, &other_base, &other_token).await, StatusCode::OK);
    // The admin API and the token endpoint count their own failures.
    let admin = Admin::new(&s).await;
    for _ in 0..4 {
        let r = admin.call(Method::GET, "/tenants", None, Some("wrong")).await;
        assert_admin_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    let r = admin.call(Method::GET, "/tenants", None, Some("wrong")).await;
    assert_admin_error(&r, StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    assert!(retry_after(&r) >= 1);
    let form = "grant_type=client_credentials&client_id=acme.x&client_secret=wrong";
    let token = || {
        s.client
            .post(format!("{}/oauth/token", s.root))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    };
    for _ in 0..4 {
        assert_eq!(token().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let r = token().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
}

#[tokio::test]
async fn a_client_behind_a_proxy_is_known_by_the_configured_header() {
    let s = TestServer::start_with(|c| {
        c.limits.auth_failures_per_minute = 1;
        c.limits.client_ip_header = Some("X-Forwarded-For".into());
    })
    .await;
    let from = |ip: &'static str, token: &'static str| {
        s.client
            .get(format!("{}/Users", s.base))
            .bearer_auth(token)
            .header("x-forwarded-for", format!("198.51.100.7, {ip}"))
            .send()
    };
    assert_eq!(from("203.0.113.1", "wrong").await.unwrap().status(), 401);
    assert_eq!(from("203.0.113.1", "wrong").await.unwrap().status(), 401);
    assert_eq!(from("203.0.113.1", "wrong").await.unwrap().status(), 429);
    // The last entry is what the proxy saw; another client behind the same proxy is served.
    let token: &'static str = Box::leak(s.token.clone().into_boxed_str());
    assert_eq!(from("203.0.113.2", token).await.unwrap().status(), 200);
}

/// Writes `bytes`, then reads until the server closes the connection.
async fn exchange(s: &TestServer, bytes: &[u8]) -> String {
    let mut conn = TcpStream::connect(addr(s)).await.unwrap();
    conn.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off_and_an_oversized_one_gets_431() {
    let s = TestServer::start_with(|c| {
        c.limits.header_timeout = Duration::from_millis(300);
        c.limits.max_header_bytes = 8192;
    })
    .await;
    // Half a request head, then nothing: the connection is closed when the timer fires.
    let started = std::time::Instant::now();
    let answer = exchange(&s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "closed by the header timeout"
    );

    let big = format!(
        "GET {}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nX-Big: {}\r\n\r\n",
        base_path(&s),
        s.token,
        "a".repeat(20_000)
    );
    let answer = exchange(&s, big.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    // Normal traffic right after.
    let r = s.post("/Users", &min_user("ok@example.com")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let s = TestServer::start_with(|c| c.limits.max_connections = 2).await;
    let mut first = TcpStream::connect(addr(&s)).await.unwrap();
    let ask = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    first.write_all(ask.as_bytes()).await.unwrap();
    let mut buf = vec![0; 1024];
    assert!(
        first.read(&mut buf).await.unwrap() > 0,
        "the first connection is served"
    );
    let mut second = TcpStream::connect(addr(&s)).await.unwrap();
    second.write_all(ask.as_bytes()).await.unwrap();
    assert!(
        second.read(&mut buf).await.unwrap() > 0,
        "the second connection is served"
    );
    // Both stay open (keep-alive): a third is accepted and closed without an answer.
    let mut third = TcpStream::connect(addr(&s)).await.unwrap();
    let _ = third.write_all(ask.as_bytes()).await;
    let n = third.read(&mut buf).await.unwrap_or(0);
    assert_eq!(n, 0, "{}", String::from_utf8_lossy(&buf[..n]));
    // Closing one frees its slot once the server has noticed; a new connection then works.
    drop(first);
    let mut served = false;
    for _ in 0..500 {
        let mut c = TcpStream::connect(addr(&s)).await.unwrap();
        let _ = c.write_all(ask.as_bytes()).await;
        if c.read(&mut buf).await.unwrap_or(0) > 0 {
            served = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(served, "a slot freed by a closed connection is used again");
}

#[tokio::test]
async fn the_admin_api_and_the_token_endpoint_bound_their_bodies_too() {
    let s = TestServer::start_with(|c| {
        c.limits.body_timeout = Duration::from_millis(300);
        c.limits.max_body_bytes = 4096;
    })
    .await;
    let admin = Admin::new(&s).await;
    for (path, ct, auth, words) in [
        (
            "/admin/v1/tenants",
            "application/json",
            format!("Authorization: Bearer {}\r\n", admin.token),
            "\"request_timeout\"",
        ),
        (
            "/oauth/token",
            "application/x-www-form-urlencoded",
            String::new(),
            "\"invalid_request\"",
        ),
    ] {
        let head =
            format!("POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: {ct}\r\nContent-Length: 100\r\n\r\n{{\"na");
        let answer = exchange(&s, head.as_bytes()).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
        assert!(answer.contains(words) && answer.contains("300 ms"), "{path}: {answer}");
    }
    let big = json!({"name": "x".repeat(10_000)});
    let r = admin.req(Method::POST, "/tenants", Some(&big)).await;
    assert_admin_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let r = admin
        .req(Method::POST, "/tenants", Some(&json!({"name": "fine"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}
