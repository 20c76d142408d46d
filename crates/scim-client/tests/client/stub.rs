//! Answers scimd never gives: 204 PATCH, 429/503 with Retry-After, 501, redirects,
//! slow responses, malformed bodies. Also checks the request headers and query encoding.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use scim_client::{BulkOperation, BulkRequest, ClientError, ClientOptions, Endpoint, ScimClient};
use scim_proto::PatchOperation;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

struct Stub {
    base: String,
    log: Log,
}

impl Stub {
    async fn start() -> Stub {
        let log: Log = Arc::default();
        let app = axum::Router::new().fallback(handle).with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/t", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Stub { base, log }
    }

    fn client(&self, timeout: Duration) -> ScimClient {
        let opts = ClientOptions {
            timeout,
            user_agent: "stub-test/1".into(),
        };
        ScimClient::new(&self.base, "s3cret", opts).unwrap()
    }

    fn last(&self) -> Seen {
        self.log.lock().unwrap().last().cloned().expect("a request")
    }
}

fn reply(status: u16, headers: &[(&str, String)], body: &str) -> Response {
    let mut b = Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

async fn handle(State(log): State<Log>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    log.lock().unwrap().push(Seen {
        method: method.clone(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let json_ct = ("content-type", "application/scim+json".to_string());
    if (method.as_str(), path.as_str()) == ("POST", "/t/Bulk") {
        return bulk_reply(&String::from_utf8_lossy(&body));
    }
    match (method.as_str(), path.as_str()) {
        ("PATCH", "/t/Users/no-content") => StatusCode::NO_CONTENT.into_response(),
        ("PATCH", "/t/Users/empty-200") => StatusCode::OK.into_response(),
        ("GET", "/t/Users/slow") => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            reply(200, &[json_ct], "{}")
        }
        ("GET", "/t/Users/throttled") => reply(
            429,
            &[json_ct, ("retry-after", "7".into())],
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":429,"detail":"slow down"}"#,
        ),
        ("GET", "/t/Users/dated") => {
            let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
            reply(
                503,
                &[("retry-after", at)],
                r#"{"status":"503","detail":"maintenance"}"#,
            )
        }
        ("GET", "/t/Users/not-impl") => reply(501, &[], "nope"),
        ("GET", "/t/Users/moved") => reply(302, &[("location", "https://elsewhere.example/scim".into())], ""),
        ("GET", "/t/Users/garbage") => reply(200, &[json_ct], "<html>"),
        ("POST", "/t/Users") => reply(201, &[json_ct], "not json"),
        ("POST", "/t/Groups") => reply(200, &[json_ct], r#"{"id":"g1","displayName":"G"}"#),
        ("PUT", "/t/Users/empty-put") => StatusCode::NO_CONTENT.into_response(),
        ("DELETE", "/t/Users/ok") => reply(200, &[], ""),
        ("GET", "/t/Users") => reply(200, &[json_ct], r#"{"totalResults":0,"Resources":[]}"#),
        ("GET", "/t/Groups") => reply(200, &[json_ct], r#"{"Resources":[]}"#),
        ("GET", "/t/ServiceProviderConfig") => reply(500, &[], "boom"),
        _ => reply(418, &[], "unexpected"),
    }
}

/// `POST /t/Bulk`: the first operation's bulkId says how to answer.
fn bulk_reply(body: &str) -> Response {
    let json_ct = ("content-type", "application/scim+json".to_string());
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    match v["Operations"][0]["bulkId"].as_str().unwrap_or_default() {
        "throttle" => reply(
            429,
            &[json_ct, ("retry-after", "3".into())],
            r#"{"status":"429","detail":"bulk later"}"#,
        ),
        "huge" => reply(
            413,
            &[json_ct],
            r#"{"status":"413","scimType":"tooMany","detail":"too big"}"#,
        ),
        "garbage" => reply(200, &[json_ct], "<html>"),
        "no-status" => reply(200, &[json_ct], r#"{"Operations":[{"bulkId":"no-status"}]}"#),
        _ => reply(
            200,
            &[json_ct],
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],"Operations":[
                {"method":"POST","bulkId":"ok","location":"http://x/t/Users/id%2F1","status":"201"},
                {"method":"POST","bulkId":"bad","status":"400","response":{"status":"400","scimType":"invalidValue","detail":"no"}}]}"#,
        ),
    }
}

fn one_create(bulk_id: &str) -> BulkRequest {
    BulkRequest::new(vec![BulkOperation::create(
        Endpoint::Users,
        bulk_id,
        json!({"userName": "x"}),
    )])
}

#[tokio::test]
async fn bulk_request_shape_and_whole_request_errors() {
    let s = Stub::start().await;
    let c = s.client(Duration::from_secs(30));
    let r = c.bulk(&one_create("ok")).await.unwrap();
    let seen = s.last();
    assert_eq!((seen.method.as_str(), seen.uri.as_str()), ("POST", "/t/Bulk"));
    assert_eq!(seen.headers["content-type"], "application/scim+json");
    assert_eq!(
        seen.body.len(),
        one_create("ok").encoded_len(),
        "the measured size is the sent size"
    );
    let sent: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(
        sent,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
               "Operations": [{"method": "POST", "bulkId": "ok", "path": "/Users", "data": {"userName": "x"}}]})
    );
    assert_eq!(r.operations.len(), 2);
    assert_eq!(r.operations[0].id.as_deref(), Some("id/1"));
    assert_eq!(r.operations[1].status, 400);
    assert_eq!(
        r.operations[1].error().unwrap().to_string(),
        "HTTP 400 (invalidValue): no"
    );

    let err = c.bulk(&one_create("throttle")).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert!(err.is_transient());
    let err = c.bulk(&one_create("huge")).await.unwrap_err();
    assert_eq!(err.status(), Some(413));
    assert!(err.to_string().contains("tooMany"), "{err}");
    for unreadable in ["garbage", "no-status"] {
        let err = c.bulk(&one_create(unreadable)).await.unwrap_err();
        assert!(matches!(err, ClientError::Decode(_)), "{unreadable}: {err:?}");
    }
}

#[tokio::test]
async fn request_headers_and_body_shape() {
    let s = Stub::start().await;
    let c = s.client(Duration::from_secs(30));
    let ops = [PatchOperation {
        op: "replace".into(),
        path: Some("active".into()),
        value: Some(json!(false)),
    }];
    assert_eq!(
        c.patch(Endpoint::Users, "no-content", &ops).await.unwrap(),
        None,
        "204 is None"
    );
    let seen = s.last();
    assert_eq!(seen.method, "PATCH");
    assert_eq!(seen.headers["authorization"], "Bearer s3cret");
    assert_eq!(seen.headers["accept"], "application/scim+json");
    assert_eq!(seen.headers["content-type"], "application/scim+json");
    assert_eq!(seen.headers["user-agent"], "stub-test/1");
    let body: Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(
        body,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "active", "value": false}]})
    );
    assert_eq!(c.patch(Endpoint::Users, "empty-200", &ops).await.unwrap(), None);

    c.delete(Endpoint::Users, "ok").await.unwrap();
    let seen = s.last();
    assert!(seen.headers.get("content-type").is_none(), "no body, no content-type");
    assert_eq!(seen.body, "");
}

#[tokio::test]
async fn search_query_is_form_encoded() {
    let s = Stub::start().await;
    let c = s.client(Duration::from_secs(30));
    let l = c
        .search(
            Endpoint::Users,
            Some("userName eq \"a b&c\""),
            Some("id,userName"),
            3,
            50,
        )
        .await
        .unwrap();
    assert_eq!((l.total_results, l.start_index, l.items_per_page), (0, 3, 0));
    assert_eq!(
        s.last().uri,
        "/t/Users?filter=userName+eq+%22a+b%26c%22&attributes=id%2CuserName&startIndex=3&count=50"
    );
    c.get(Endpoint::Users, "a b/c", Some("userName")).await.unwrap_err();
    assert_eq!(s.last().uri, "/t/Users/a%20b%2Fc?attributes=userName");
    let err = c.search(Endpoint::Groups, None, None, 1, 10).await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "no totalResults: {err:?}");
}

#[tokio::test]
async fn retry_after_from_seconds_and_http_date() {
    let s = Stub::start().await;
    let c = s.client(Duration::from_secs(30));
    let err = c.get(Endpoint::Users, "throttled", None).await.unwrap_err();
    assert_eq!(
        err,
        ClientError::Status {
            status: 429,
            scim_type: None,
            detail: "slow down".into(),
            retry_after: Some(Duration::from_secs(7)),
        }
    );
    assert!(err.is_transient());

    let err = c.get(Endpoint::Users, "dated", None).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    let ra = err.retry_after().expect("retry-after from an HTTP-date");
    assert!(ra > Duration::from_secs(60) && ra <= Duration::from_secs(120), "{ra:?}");
    assert!(err.is_transient());

    let err = c.get(Endpoint::Users, "not-impl", None).await.unwrap_err();
    assert_eq!(err.status(), Some(501));
    assert_eq!(err.retry_after(), None);
    assert!(!err.is_transient(), "501 will not get better");
}

#[tokio::test]
async fn timeout_is_transient() {
    let s = Stub::start().await;
    let c = s.client(Duration::from_millis(200));
    let err = c.get(Endpoint::Users, "slow", None).await.unwrap_err();
    assert_eq!(err, ClientError::Timeout);
    assert!(err.is_transient());
}

#[tokio::test]
async fn unexpected_success_shapes() {
    let s = Stub::start().await;
    let c = s.client(Duration::from_secs(30));
    let err = c.create(Endpoint::Users, &json!({"userName": "x"})).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Decode(d) if d.contains("not json")),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(s.last().body, r#"{"userName":"x"}"#);

    let g = c.create(Endpoint::Groups, &json!({"displayName": "G"})).await.unwrap();
    assert_eq!(g["id"], "g1", "200 accepted for create");

    let err = c.replace(Endpoint::Users, "empty-put", &json!({})).await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");

    let err = c.get(Endpoint::Users, "garbage", None).await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");

    let err = c.get(Endpoint::Users, "moved", None).await.unwrap_err();
    assert_eq!(err.status(), Some(302), "redirects are not followed");
    assert!(err.to_string().contains("https://elsewhere.example/scim"), "{err}");
}

#[tokio::test]
async fn test_connection_reports_spc_failure() {
    let s = Stub::start().await;
    let c = s.client(Duration::from_secs(30));
    let r = c.test_connection("3f1c0a52-8d4b-4e7a-9c61-0b2f5d9e7a18").await.unwrap();
    assert!(r.probe_ok, "{r:?}");
    assert_eq!(r.probe_status, 200);
    let spc_err = r.spc_error.as_deref().expect("spc error");
    assert!(spc_err.contains("500") && spc_err.contains("boom"), "{spc_err}");
    assert_eq!((r.patch, r.filter, r.max_results), (None, None, None));
    let probe = &s.log.lock().unwrap()[0];
    assert_eq!(
        probe.uri,
        "/t/Users?filter=userName+eq+%223f1c0a52-8d4b-4e7a-9c61-0b2f5d9e7a18%22"
    );
}
