//! `POST /Bulk` (RFC 7644 §3.7): bulkId references (forward, unknown, circular), If-Match
//! through `version`, failOnErrors, the advertised limits, per-operation errors, tenancy.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn request(ops: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": ops})
}

/// Posts a BulkRequest, asserts a 200 BulkResponse and returns its `Operations`.
async fn bulk(s: &TestServer, body: &Value) -> Vec<Value> {
    let r = s.post("/Bulk", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type().starts_with("application/scim+json"));
    assert_eq!(r.body["schemas"], json!([BULK_RESPONSE]), "{}", r.text);
    r.body["Operations"]
        .as_array()
        .unwrap_or_else(|| panic!("no Operations: {}", r.text))
        .clone()
}

fn post_user(bulk_id: &str, user_name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": min_user(user_name)})
}

fn post_group(bulk_id: &str, name: &str, member_refs: &[&str]) -> Value {
    let members: Vec<Value> = member_refs.iter().map(|m| json!({"value": m})).collect();
    json!({"method": "POST", "path": "/Groups", "bulkId": bulk_id,
           "data": {"schemas": [GROUP], "displayName": name, "members": members}})
}

/// The id at the end of a successful operation's `location`.
fn created_id(s: &TestServer, op: &Value, endpoint: &str) -> String {
    let loc = op["location"].as_str().unwrap_or_else(|| panic!("no location: {op}"));
    let prefix = format!("{}/{endpoint}/", s.base);
    loc.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{loc} is not under {prefix}"))
        .to_string()
}

/// Asserts a failed operation: its status, and a `response` that is an RFC 7644 error body.
fn assert_op_error(op: &Value, status: u16, scim_type: Option<&str>) {
    assert_eq!(op["status"], status.to_string(), "{op}");
    let resp = &op["response"];
    assert_eq!(
        resp["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{op}"
    );
    assert_eq!(resp["status"], status.to_string(), "{op}");
    match scim_type {
        Some(t) => assert_eq!(resp["scimType"], t, "{op}"),
        None => assert!(resp.get("scimType").is_none(), "{op}"),
    }
    assert!(resp["detail"].as_str().is_some_and(|d| !d.is_empty()), "{op}");
}

fn detail(op: &Value) -> &str {
    op["response"]["detail"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn creates_users_and_a_group_whose_members_are_their_bulk_ids() {
    let s = TestServer::start().await;
    let ops = bulk(
        &s,
        &request(json!([
            post_user("u1", "ann@example.com"),
            post_user("u2", "bob@example.com"),
            post_group("g", "Sales", &["bulkId:u1", "bulkId:u2"]),
        ])),
    )
    .await;
    assert_eq!(ops.len(), 3, "{ops:?}");
    for (op, bulk_id) in ops.iter().zip(["u1", "u2", "g"]) {
        assert_eq!(op["status"], "201", "{op}");
        assert_eq!(op["method"], "POST", "{op}");
        assert_eq!(op["bulkId"], bulk_id, "{op}");
        assert!(op["version"].as_str().is_some_and(|v| v.starts_with("W/")), "{op}");
        assert!(op.get("response").is_none(), "{op}");
    }
    let u1 = created_id(&s, &ops[0], "Users");
    let u2 = created_id(&s, &ops[1], "Users");
    let g = created_id(&s, &ops[2], "Groups");
    assert_ne!(u1, u2);

    let user = s.get(&format!("/Users/{u1}")).await;
    assert_eq!(user.status, 200, "{}", user.text);
    assert_eq!(user.body["userName"], "ann@example.com");
    assert_eq!(
        user.headers["etag"].to_str().unwrap(),
        ops[0]["version"].as_str().unwrap()
    );

    let group = s.get(&format!("/Groups/{g}")).await;
    assert_eq!(group.status, 200, "{}", group.text);
    assert_eq!(group.body["displayName"], "Sales");
    let mut members = member_ids(&group.body);
    members.sort();
    let mut want = vec![u1.clone(), u2.clone()];
    want.sort();
    assert_eq!(members, want, "{}", group.text);
    assert!(!group.text.contains("bulkId:"), "{}", group.text);
    // Membership is real: a members filter finds the group.
    let found = s.filter_ids("/Groups", &format!("members.value eq \"{u2}\"")).await;
    assert_eq!(found, vec![g]);
}

#[tokio::test]
async fn a_forward_reference_runs_after_the_operation_it_names() {
    let s = TestServer::start().await;
    let ops = bulk(
        &s,
        &request(json!([
            post_group("g", "Forward", &["bulkId:later"]),
            // A path reference, also forward: PATCH the user created by the last operation.
            {"method": "patch", "path": "/Users/bulkId:later",
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}},
            post_user("later", "later@example.com"),
        ])),
    )
    .await;
    assert_eq!(ops.len(), 3, "{ops:?}");
    // The response keeps request order.
    assert_eq!(ops[0]["bulkId"], "g");
    assert_eq!(ops[0]["status"], "201", "{}", ops[0]);
    assert_eq!(ops[1]["method"], "PATCH", "the method is echoed canonically");
    assert_eq!(ops[1]["status"], "200", "{}", ops[1]);
    assert_eq!(ops[2]["bulkId"], "later");
    assert_eq!(ops[2]["status"], "201", "{}", ops[2]);

    let user = created_id(&s, &ops[2], "Users");
    assert_eq!(
        created_id(&s, &ops[1], "Users"),
        user,
        "the PATCH went to the created user"
    );
    let group = s.get(&format!("/Groups/{}", created_id(&s, &ops[0], "Groups"))).await;
    assert_eq!(member_ids(&group.body), vec![user.clone()], "{}", group.text);
    let u = s.get(&format!("/Users/{user}")).await;
    assert_eq!(u.body["title"], "Boss", "{}", u.text);
    // The PATCH ran after the create, so the user is at version 2 and the PATCH reported it.
    assert_eq!(u.headers["etag"].to_str().unwrap(), ops[1]["version"].as_str().unwrap());
    assert_ne!(ops[1]["version"], ops[2]["version"]);
}

#[tokio::test]
async fn patch_put_and_delete_honour_version_as_if_match() {
    let s = TestServer::start().await;
    let a = s.create_user(min_user("a@example.com")).await;
    let b = s.create_user(min_user("b@example.com")).await;
    let c = s.create_user(min_user("c@example.com")).await;
    let d = s.create_user(min_user("d@example.com")).await;
    let etag = |r: &Resp| r.headers["etag"].to_str().unwrap().to_string();
    let va = etag(&s.get(&format!("/Users/{a}")).await);
    // b moves on to version 2, so its first ETag is stale.
    let stale_b = etag(&s.get(&format!("/Users/{b}")).await);
    let r = s
        .patch_ops(
            &format!("/Users/{b}"),
            json!([{"op": "replace", "path": "title", "value": "Moved on"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let vc = etag(&s.get(&format!("/Users/{c}")).await);
    let patch =
        |v: &str| json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": v}]});

    let ops = bulk(
        &s,
        &request(json!([
            {"method": "PATCH", "path": format!("/Users/{a}"), "version": va, "data": patch("Patched")},
            {"method": "PATCH", "path": format!("/Users/{b}"), "version": stale_b, "data": patch("Lost")},
            {"method": "DELETE", "path": format!("/Users/{c}"), "version": vc},
            {"method": "DELETE", "path": format!("/Users/{d}"), "version": "W/\"99\""},
            {"method": "PUT", "path": format!("/Users/{d}"), "version": "W/\"1\"",
             "data": {"schemas": [USER], "userName": "d@example.com", "title": "Replaced"}},
        ])),
    )
    .await;
    assert_eq!(ops.len(), 5, "{ops:?}");
    assert_eq!(ops[0]["status"], "200", "{}", ops[0]);
    assert_eq!(ops[0]["version"], "W/\"2\"", "{}", ops[0]);
    assert_eq!(ops[0]["location"], format!("{}/Users/{a}", s.base));
    assert_op_error(&ops[1], 412, None);
    assert_eq!(ops[1]["location"], format!("{}/Users/{b}", s.base));
    assert_eq!(ops[2]["status"], "204", "{}", ops[2]);
    assert!(ops[2].get("version").is_none(), "{}", ops[2]);
    assert_op_error(&ops[3], 412, None);
    assert_eq!(ops[4]["status"], "200", "{}", ops[4]);

    assert_eq!(s.get(&format!("/Users/{a}")).await.body["title"], "Patched");
    let b_now = s.get(&format!("/Users/{b}")).await;
    assert_eq!(b_now.body["title"], "Moved on", "the stale PATCH changed nothing");
    assert_eq!(etag(&b_now), "W/\"2\"");
    assert_eq!(s.get(&format!("/Users/{c}")).await.status, 404);
    let d_now = s.get(&format!("/Users/{d}")).await;
    assert_eq!(d_now.status, 200, "the DELETE with a wrong version did not delete");
    assert_eq!(d_now.body["title"], "Replaced");
}

#[tokio::test]
async fn fail_on_errors_stops_after_that_many_errors() {
    let s = TestServer::start().await;
    s.create_user(min_user("taken@example.com")).await;
    let ops = json!([
        post_user("ok1", "first@example.com"),
        post_user("dup", "taken@example.com"),
        post_user("ok2", "second@example.com"),
        post_user("dup2", "TAKEN@example.com"),
        post_user("ok3", "third@example.com"),
    ]);
    let mut body = request(ops.clone());
    body["failOnErrors"] = json!(1);
    let out = bulk(&s, &body).await;
    assert_eq!(out.len(), 2, "the rest is neither performed nor listed: {out:?}");
    assert_eq!(out[0]["status"], "201");
    assert_op_error(&out[1], 409, Some("uniqueness"));
    assert_eq!(out[1]["bulkId"], "dup");
    assert!(
        s.filter_ids("/Users", "userName eq \"second@example.com\"")
            .await
            .is_empty()
    );

    // failOnErrors = 2 gets past the first error and stops at the second.
    let mut body = request(json!([
        post_user("a", "taken@example.com"),
        post_user("b", "fourth@example.com"),
        post_user("c", "first@example.com"),
        post_user("d", "fifth@example.com"),
    ]));
    body["failOnErrors"] = json!(2);
    let out = bulk(&s, &body).await;
    let statuses: Vec<&str> = out.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["409", "201", "409"], "{out:?}");
    assert!(
        s.filter_ids("/Users", "userName eq \"fifth@example.com\"")
            .await
            .is_empty()
    );

    // Without failOnErrors every operation is attempted.
    let out = bulk(
        &s,
        &request(json!([
            post_user("x", "taken@example.com"),
            post_user("y", "sixth@example.com"),
            post_user("z", "taken@example.com"),
            post_user("w", "seventh@example.com"),
        ])),
    )
    .await;
    let statuses: Vec<&str> = out.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["409", "201", "409", "201"], "{out:?}");
    assert_eq!(
        s.filter_ids("/Users", "userName eq \"seventh@example.com\"")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn unknown_and_failed_bulk_ids_fail_the_referencing_operation() {
    let s = TestServer::start().await;
    s.create_user(min_user("taken@example.com")).await;
    let ops = bulk(
        &s,
        &request(json!([
            post_group("g1", "Unknown ref", &["bulkId:nobody"]),
            post_user("bad", "taken@example.com"),
            post_group("g2", "Failed ref", &["bulkId:bad"]),
            post_user("good", "good@example.com"),
            {"method": "DELETE", "path": "/Users/bulkId:ghost"},
        ])),
    )
    .await;
    assert_eq!(ops.len(), 5, "{ops:?}");
    assert_op_error(&ops[0], 409, Some("invalidValue"));
    assert!(detail(&ops[0]).contains("bulkId:nobody"), "{}", ops[0]);
    assert_op_error(&ops[1], 409, Some("uniqueness"));
    assert_op_error(&ops[2], 409, Some("invalidValue"));
    assert!(
        detail(&ops[2]).contains("bulkId:bad") && detail(&ops[2]).contains("failed"),
        "{}",
        ops[2]
    );
    assert_eq!(ops[3]["status"], "201", "{}", ops[3]);
    assert_op_error(&ops[4], 409, Some("invalidValue"));
    assert!(detail(&ops[4]).contains("ghost"), "{}", ops[4]);
    // Neither group exists.
    assert!(
        s.filter_ids("/Groups", "displayName eq \"Unknown ref\"")
            .await
            .is_empty()
    );
    assert!(
        s.filter_ids("/Groups", "displayName eq \"Failed ref\"")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_cycle_of_bulk_ids_fails_its_operations() {
    let s = TestServer::start().await;
    let ops = bulk(
        &s,
        &request(json!([
            post_group("a", "Cycle A", &["bulkId:b"]),
            post_group("b", "Cycle B", &["bulkId:a"]),
            post_group("c", "Behind the cycle", &["bulkId:a"]),
            post_group("self", "Self", &["bulkId:self"]),
            post_user("free", "free@example.com"),
        ])),
    )
    .await;
    assert_eq!(ops.len(), 5, "{ops:?}");
    for op in &ops[..4] {
        assert_op_error(op, 409, Some("invalidValue"));
        assert!(detail(op).contains("cycle"), "{op}");
    }
    assert!(detail(&ops[0]).contains("a → b → a"), "{}", ops[0]);
    assert!(detail(&ops[1]).contains("b → a → b"), "{}", ops[1]);
    assert!(detail(&ops[3]).contains("self → self"), "{}", ops[3]);
    assert_eq!(
        ops[4]["status"], "201",
        "an operation outside the cycle still runs: {}",
        ops[4]
    );
    let r = s.get("/Groups").await;
    r.assert_list(0);
}

#[tokio::test]
async fn a_bad_operation_fails_alone() {
    let s = TestServer::start().await;
    let ops = bulk(
        &s,
        &request(json!([
            post_user("ok", "ok@example.com"),
            {"method": "GET", "path": "/Users", "bulkId": "get"},
            {"path": "/Users", "data": min_user("nomethod@example.com")},
            {"method": "POST", "bulkId": "nopath", "data": min_user("nopath@example.com")},
            {"method": "POST", "path": "/Widgets", "data": {}},
            {"method": "POST", "path": "/Users/abc", "data": min_user("posted@example.com")},
            {"method": "PATCH", "path": "/Groups"},
            {"method": "POST", "path": "/Users", "bulkId": "nodata"},
            "not an object",
            {"method": "POST", "path": "/Users", "bulkId": "invalid", "data": {"schemas": [USER]}},
            post_user("ok", "again@example.com"),
            {"method": "post", "path": "users", "bulkId": "lower", "data": min_user("lower@example.com")},
        ])),
    )
    .await;
    assert_eq!(ops.len(), 12, "{ops:?}");
    assert_eq!(ops[0]["status"], "201", "{}", ops[0]);
    assert_op_error(&ops[1], 400, Some("invalidValue"));
    assert_eq!(ops[1]["method"], "GET");
    assert!(detail(&ops[1]).contains("GET"), "{}", ops[1]);
    assert_op_error(&ops[2], 400, Some("invalidSyntax"));
    assert_op_error(&ops[3], 400, Some("invalidPath"));
    assert_eq!(ops[3]["bulkId"], "nopath");
    assert_op_error(&ops[4], 400, Some("invalidPath"));
    assert_op_error(&ops[5], 400, Some("invalidPath"));
    assert_op_error(&ops[6], 400, Some("invalidPath"));
    assert_op_error(&ops[7], 400, Some("invalidSyntax"));
    assert!(detail(&ops[7]).contains("data"), "{}", ops[7]);
    assert_op_error(&ops[8], 400, Some("invalidSyntax"));
    // A body the resource endpoint rejects gets the very error body that endpoint answers.
    let single = s.post("/Users", &json!({"schemas": [USER]})).await;
    assert_eq!(single.status, 400, "{}", single.text);
    assert_eq!(ops[9]["response"], single.body);
    assert_eq!(ops[9]["status"], single.body["status"]);
    assert_op_error(&ops[10], 400, Some("invalidValue"));
    assert!(detail(&ops[10]).contains("unique"), "a repeated bulkId: {}", ops[10]);
    assert_eq!(
        ops[11]["status"], "201",
        "method and endpoint are case-insensitive: {}",
        ops[11]
    );
    assert_eq!(ops[11]["method"], "POST");

    let names: Vec<String> = s
        .get("/Users")
        .await
        .assert_list(2)
        .iter()
        .map(|u| u["userName"].to_string())
        .collect();
    assert_eq!(names, ["\"ok@example.com\"", "\"lower@example.com\""]);
}

#[tokio::test]
async fn malformed_bulk_requests_are_400() {
    let s = TestServer::start().await;
    s.post("/Bulk", &json!({"schemas": [BULK_REQUEST]}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    s.post("/Bulk", &json!({"Operations": {"method": "POST"}}))
        .await
        .assert_error(400, Some("invalidSyntax"));
    s.post("/Bulk", &json!([]))
        .await
        .assert_error(400, Some("invalidSyntax"));
    for bad in [json!(0), json!(-1), json!("many"), json!(1.5)] {
        let mut body = request(json!([post_user("u", "u@example.com")]));
        body["failOnErrors"] = bad.clone();
        let r = s.post("/Bulk", &body).await;
        r.assert_error(400, Some("invalidValue"));
        assert!(
            r.body["detail"].as_str().unwrap().contains("failOnErrors"),
            "{bad}: {}",
            r.text
        );
    }
    assert!(s.filter_ids("/Users", "userName eq \"u@example.com\"").await.is_empty());
    let r = s.get("/Bulk").await;
    r.assert_error(405, None);
    assert_eq!(r.headers["allow"], "POST");
    // An empty list is a successful no-op.
    assert!(bulk(&s, &request(json!([]))).await.is_empty());
}

#[tokio::test]
async fn a_bulk_request_cannot_touch_another_tenants_resources() {
    let s = TestServer::start().await;
    let (other_base, other_token) = s.other_tenant("globex").await;
    let other = |m: Method, path: &str| {
        s.client
            .request(m, format!("{other_base}{path}"))
            .bearer_auth(&other_token)
            .header("content-type", "application/scim+json")
    };
    let r = send(other(Method::POST, "/Users").body(min_user("theirs@globex.com").to_string())).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let theirs = r.body["id"].as_str().unwrap().to_string();
    let r = send(other(Method::POST, "/Groups").body(entra_group("Their group").to_string())).await;
    let their_group = r.body["id"].as_str().unwrap().to_string();

    let ops = bulk(
        &s,
        &request(json!([
            {"method": "PATCH", "path": format!("/Users/{theirs}"),
             "data": {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Hijacked"}]}},
            {"method": "PUT", "path": format!("/Users/{theirs}"), "data": min_user("hijacked@acme.com")},
            {"method": "DELETE", "path": format!("/Users/{theirs}")},
            {"method": "DELETE", "path": format!("/Groups/{their_group}")},
        ])),
    )
    .await;
    assert_eq!(ops.len(), 4, "{ops:?}");
    for op in &ops {
        assert_op_error(op, 404, None);
    }
    // Tenant globex's resources are untouched, and a bulk on globex sees its own.
    let r = send(other(Method::GET, &format!("/Users/{theirs}"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["userName"], "theirs@globex.com");
    assert!(r.body.get("title").is_none(), "{}", r.text);
    assert_eq!(r.headers["etag"], "W/\"1\"");
    let r = send(other(Method::GET, &format!("/Groups/{their_group}"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    s.get("/Users").await.assert_list(0);

    let body = request(json!([{"method": "DELETE", "path": format!("/Users/{theirs}")}]));
    let r = send(other(Method::POST, "/Bulk").body(body.to_string())).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["Operations"][0]["status"], "204", "{}", r.text);
    // acme's token does not open globex's /Bulk.
    let r = send(
        s.client
            .request(Method::POST, format!("{other_base}/Bulk"))
            .bearer_auth(&s.token)
            .body(body.to_string()),
    )
    .await;
    r.assert_error(401, None);
}

mod limits;

/// Operations run in waves (many at once); the results must be what running them one by
/// one in request order gives: the first of two equal userNames wins wherever it sits in a
/// wave, a PATCH waits for the earlier PATCH of the same resource, and every result is in
/// its request position.
#[tokio::test]
async fn many_operations_keep_the_outcome_of_request_order() {
    let s = TestServer::start().await;
    let mut items: Vec<Value> = (0..60)
        .map(|i| post_user(&format!("u{i}"), &format!("user{i}@example.com")))
        .collect();
    // Equal to user7 but for case: the later one is the duplicate.
    items.insert(40, post_user("dup", "USER7@example.com"));
    let patch = |title: &str| {
        json!({"method": "PATCH", "path": "/Users/bulkId:u3",
               "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "title", "value": title}]}})
    };
    items.push(patch("first"));
    items.push(patch("second"));
    let ops = bulk(&s, &request(Value::Array(items))).await;
    assert_eq!(ops.len(), 63);
    for (i, op) in ops.iter().enumerate().take(61) {
        if i == 40 {
            assert_op_error(op, 409, Some("uniqueness"));
            assert_eq!(op["bulkId"], "dup");
        } else {
            assert_eq!(op["status"], "201", "{op}");
            let n = if i < 40 { i } else { i - 1 };
            assert_eq!(op["bulkId"], format!("u{n}"), "{op}");
        }
    }
    assert_eq!(ops[61]["status"], "200", "{}", ops[61]);
    assert_eq!(ops[62]["status"], "200", "{}", ops[62]);
    let u3 = created_id(&s, &ops[3], "Users");
    let user = s.get(&format!("/Users/{u3}")).await;
    assert_eq!(user.body["title"], "second", "{}", user.text);
    assert_eq!(user.body["meta"]["version"], ops[62]["version"], "{}", user.text);
    let u7 = created_id(&s, &ops[7], "Users");
    let user = s.get(&format!("/Users/{u7}")).await;
    assert_eq!(user.body["userName"], "user7@example.com");
    s.get("/Users?count=100").await.assert_list(60);
}
