//! OAuth 2.0 client credentials: clients through the admin API, `POST /oauth/token`
//! (RFC 6749 §4.4, §2.3.1, §5.2), access tokens bound to one tenant, rotation, revocation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Resp, TestServer};

async fn admin(s: &TestServer, method: Method, path: &str, body: Option<Value>) -> Resp {
    let t = scim_core::Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
    let token = s.store.issue_admin_token(None, t).await.unwrap().token;
    let mut rb = s
        .client
        .request(method, format!("{}/admin/v1{path}", s.root))
        .bearer_auth(token);
    if let Some(b) = body {
        rb = rb.body(b.to_string());
    }
    Resp::from(rb.send().await.unwrap()).await
}

async fn token_req(s: &TestServer, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Resp {
    let mut rb = s
        .client
        .post(format!("{}/oauth/token", s.root))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        );
    if let Some((id, secret)) = basic {
        rb = rb.basic_auth(id, Some(secret));
    }
    Resp::from(rb.send().await.unwrap()).await
}

async fn scim(s: &TestServer, base: &str, token: &str) -> StatusCode {
    s.client
        .get(format!("{base}/Users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

#[tokio::test]
async fn client_credentials_give_an_hour_long_token_for_one_tenant() {
    let s = TestServer::start().await;
    let (other, _) = s.other_tenant("other").await;
    let c = admin(&s, Method::POST, "/tenants/acme/clients", None).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text);
    assert_eq!(c.body["token_url"], format!("{}/oauth/token", s.root));
    let (id, secret) = (
        c.body["client_id"].as_str().unwrap(),
        c.body["client_secret"].as_str().unwrap(),
    );

    let r = token_req(&s, Some((id, secret)), &[GRANT]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["token_type"].as_str(), r.body["expires_in"].as_i64()),
        (Some("Bearer"), Some(3600))
    );
    assert_eq!(r.headers["cache-control"], "no-store");
    let access = r.body["access_token"].as_str().unwrap();
    assert_eq!(scim(&s, &s.base, access).await, StatusCode::OK);
    assert_eq!(
        scim(&s, &other, access).await,
        StatusCode::UNAUTHORIZED,
        "its tenant only"
    );

    // Form-field authentication works too (§2.3.1).
    let r = token_req(&s, None, &[GRANT, ("client_id", id), ("client_secret", secret)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let spc = s.get("/ServiceProviderConfig").await;
    let types: Vec<&str> = spc.body["authenticationSchemes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["oauthbearertoken", "oauth2"]);
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let s = TestServer::start().await;
    let c = admin(&s, Method::POST, "/tenants/acme/clients", None).await;
    let (id, secret) = (
        c.body["client_id"].as_str().unwrap(),
        c.body["client_secret"].as_str().unwrap(),
    );
    let check = |r: &Resp, status: StatusCode, code: &str| {
        assert_eq!((r.status, r.body["error"].as_str()), (status, Some(code)), "{}", r.text);
        assert!(r.body["error_description"].is_string());
    };
    let wrong = token_req(&s, Some((id, "scimdcs_wrong")), &[GRANT]).await;
    check(&wrong, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(wrong.headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    let wrong_form = token_req(&s, None, &[GRANT, ("client_id", id), ("client_secret", "x")]).await;
    check(&wrong_form, StatusCode::UNAUTHORIZED, "invalid_client");
    let unknown = token_req(&s, Some(("acme.nope", secret)), &[GRANT]).await;
    check(&unknown, StatusCode::UNAUTHORIZED, "invalid_client");
    let both = token_req(
        &s,
        Some((id, secret)),
        &[GRANT, ("client_id", id), ("client_secret", secret)],
    )
    .await;
    check(&both, StatusCode::BAD_REQUEST, "invalid_request");
    check(
        &token_req(&s, Some((id, secret)), &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let password = token_req(&s, Some((id, secret)), &[("grant_type", "password")]).await;
    check(&password, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    check(
        &token_req(&s, None, &[GRANT]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let twice = token_req(&s, Some((id, secret)), &[GRANT, GRANT]).await;
    check(&twice, StatusCode::BAD_REQUEST, "invalid_request");
    // A SCIM token is no client secret, and an access token is no admin token.
    check(
        &token_req(&s, Some((id, &s.token)), &[GRANT]).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[tokio::test]
async fn secrets_rotate_and_a_deleted_client_loses_its_tokens_at_once() {
    let s = TestServer::start().await;
    let before = admin(&s, Method::GET, "/tenants/acme/clients", None).await.body["clients"]
        .as_array()
        .unwrap()
        .len();
    let c = admin(
        &s,
        Method::POST,
        "/tenants/acme/clients",
        Some(json!({"expires_in": "30d"})),
    )
    .await;
    assert!(c.body["expires_at"].is_string(), "{}", c.text);
    let id = c.body["client_id"].as_str().unwrap().to_string();
    let first = c.body["client_secret"].as_str().unwrap().to_string();
    let path = format!("/tenants/acme/clients/{id}");
    let second = admin(&s, Method::POST, &format!("{path}/secrets"), None).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    let second = second.body["client_secret"].as_str().unwrap().to_string();
    let a = token_req(&s, Some((&id, &first)), &[GRANT]).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let b = token_req(&s, Some((&id, &second)), &[GRANT]).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let shown = admin(&s, Method::GET, &path, None).await;
    assert_eq!(shown.body["secrets"].as_array().unwrap().len(), 2, "{}", shown.text);
    assert!(
        !shown.text.contains(&first) && !shown.text.contains(&second),
        "never secrets"
    );
    let listed = admin(&s, Method::GET, "/tenants/acme/clients", None).await;
    assert_eq!(listed.body["clients"].as_array().unwrap().len(), before + 1);

    let prefix = &first[..16];
    assert_eq!(
        admin(&s, Method::DELETE, &format!("{path}/secrets/{prefix}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        token_req(&s, Some((&id, &first)), &[GRANT]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        token_req(&s, Some((&id, &second)), &[GRANT]).await.status,
        StatusCode::OK
    );

    assert_eq!(
        admin(&s, Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    for t in [&a, &b] {
        assert_eq!(
            scim(&s, &s.base, t).await,
            StatusCode::UNAUTHORIZED,
            "revoked with the client"
        );
    }
    assert_eq!(
        token_req(&s, Some((&id, &second)), &[GRANT]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(admin(&s, Method::GET, &path, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        admin(&s, Method::DELETE, &path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        scim(&s, &s.base, &s.token).await,
        StatusCode::OK,
        "static tokens are untouched"
    );
}
