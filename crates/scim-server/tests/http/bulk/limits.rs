//! Bulk limits: maxOperations and maxPayloadSize, advertised and enforced (413 beyond them).

use super::*;

#[tokio::test]
async fn more_than_max_operations_is_413() {
    let s = TestServer::start().await;
    let op = |i: usize| json!({"method": "DELETE", "path": format!("/Users/missing-{i}")});
    let too_many: Vec<Value> = (0..1001).map(op).collect();
    let mut ops = too_many.clone();
    ops[0] = post_user("u", "never@example.com");
    let r = s.post("/Bulk", &request(Value::Array(ops))).await;
    r.assert_error(413, None);
    let d = r.body["detail"].as_str().unwrap();
    assert!(
        d.contains("maxOperations") && d.contains("1000") && d.contains("1001"),
        "{d}"
    );
    assert!(
        s.filter_ids("/Users", "userName eq \"never@example.com\"")
            .await
            .is_empty()
    );

    // Exactly maxOperations is served: each DELETE answers 404 on its own.
    let out = bulk(&s, &request(Value::Array(too_many[..1000].to_vec()))).await;
    assert_eq!(out.len(), 1000);
    assert!(out.iter().all(|o| o["status"] == "404"), "{:?}", out[0]);
}

#[tokio::test]
async fn a_body_over_max_payload_size_is_413() {
    let s = TestServer::start().await;
    let mut user = min_user("huge@example.com");
    user["title"] = json!("x".repeat(1024 * 1024));
    let r = s
        .post(
            "/Bulk",
            &request(json!([{"method": "POST", "path": "/Users", "bulkId": "h", "data": user}])),
        )
        .await;
    r.assert_error(413, None);
    let d = r.body["detail"].as_str().unwrap();
    assert!(d.contains("maxPayloadSize") && d.contains("1048576"), "{d}");
    assert!(
        s.filter_ids("/Users", "userName eq \"huge@example.com\"")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn service_provider_config_advertises_bulk() {
    let s = TestServer::start().await;
    let r = s.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576}),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn configured_limits_are_advertised_and_bulk_uses_its_own_body_limit() {
    let s = TestServer::start_with(|c| {
        c.limits.max_body_bytes = 4096;
        c.limits.max_bulk_payload = 64 * 1024;
        c.limits.max_bulk_operations = 3;
    })
    .await;
    let r = s.get("/ServiceProviderConfig").await;
    assert_eq!(
        r.body["bulk"],
        json!({"supported": true, "maxOperations": 3, "maxPayloadSize": 65536}),
        "{}",
        r.text
    );
    // Padding in an attribute the server ignores: the body's size is what is tested.
    let sized = |name: &str, bytes: usize| {
        let mut u = min_user(name);
        u["padding"] = json!("x".repeat(bytes));
        u
    };
    // A 5 KB body is over max_body_bytes; a Bulk body over it (but under maxPayloadSize) is served.
    let r = s.post("/Users", &sized("single@example.com", 5000)).await;
    r.assert_error(413, None);
    let ops = bulk(
        &s,
        &request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": sized("a@example.com", 3000)},
            {"method": "POST", "path": "/Users", "bulkId": "big", "data": sized("big@example.com", 5000)},
            {"method": "POST", "path": "/Users", "bulkId": "c", "data": sized("c@example.com", 3000)},
        ])),
    )
    .await;
    assert_eq!(ops[0]["status"], "201", "{}", ops[0]);
    // One resource body is still held to max_body_bytes, in its own operation.
    assert_op_error(&ops[1], 413, None);
    assert!(detail(&ops[1]).contains("4096"), "{}", ops[1]);
    assert_eq!(ops[2]["status"], "201", "{}", ops[2]);
    s.get("/Users").await.assert_list(2);

    let four: Vec<Value> = (0..4)
        .map(|i| post_user(&format!("u{i}"), &format!("u{i}@example.com")))
        .collect();
    let r = s.post("/Bulk", &request(Value::Array(four))).await;
    r.assert_error(413, None);
    assert!(
        r.body["detail"].as_str().unwrap().contains("maxOperations is 3"),
        "{}",
        r.text
    );

    let r = s
        .post(
            "/Bulk",
            &request(json!([{"method": "POST", "path": "/Users", "data": sized("h@example.com", 70_000)}])),
        )
        .await;
    r.assert_error(413, None);
    assert!(r.body["detail"].as_str().unwrap().contains("65536"), "{}", r.text);
    s.get("/Users").await.assert_list(2);
}
