//! Starts a server on an ephemeral port with a temporary database and a tenant: SQLite, or
//! a scratch PostgreSQL schema when `SCIMD_TEST_HTTP_BACKEND=postgres` (with
//! `SCIMD_TEST_PG_URL` naming the server), so the whole HTTP suite runs on either backend.
//! With `SCIMD_TEST_HTTP_AUTH=oauth` the tenant's token is an OAuth access token obtained
//! from `/oauth/token` with client credentials, so every test also holds for OAuth clients.

#![allow(dead_code)]

use std::sync::Arc;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use scim_core::ports::Store;
use scim_server::{ServerConfig, router};
use serde_json::Value;

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub struct TestServer {
    /// The tenant's SCIM base URL, e.g. `http://127.0.0.1:PORT/scim/v2/acme`.
    pub base: String,
    pub root: String,
    pub token: String,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    _pg: Option<scim_store::testing::PgScratch>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

/// A client for the tenant, exchanged at the server's token endpoint for an access token.
async fn oauth_token(store: &Arc<dyn scim_store::Backend>, tenant: scim_core::ports::TenantId, root: &str) -> String {
    let t = scim_core::Timestamp::parse("2026-01-01T00:00:00.000000Z").unwrap();
    let c = store.create_client(tenant, None, t).await.expect("client");
    let r = reqwest::Client::new()
        .post(format!("{root}/oauth/token"))
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("token request");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("token response");
    body["access_token"].as_str().expect("access_token").to_string()
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Like `start`, with the server's configuration (say its `limits`) adjusted first.
    pub async fn start_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = if std::env::var("SCIMD_TEST_HTTP_BACKEND").as_deref() == Ok("postgres") {
            Some(
                scim_store::testing::PgScratch::new()
                    .await
                    .expect("SCIMD_TEST_HTTP_BACKEND=postgres needs SCIMD_TEST_PG_URL"),
            )
        } else {
            None
        };
        let url = match &pg {
            Some(pg) => pg.url.clone(),
            None => format!("sqlite://{}/scimd.db", dir.path().display()),
        };
        let store = scim_store::open(&url, &Default::default()).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let root = format!("http://{addr}");
        let mut config = ServerConfig::new(&root);
        // The suite tests behaviour, not throttling: tests that hammer one tenant get room
        // (limits.rs sets its own rates).
        config.limits.tenant_rate = scim_core::ports::TenantRate {
            per_second: scim_core::ports::TenantRate::MAX,
            burst: scim_core::ports::TenantRate::MAX,
        };
        adjust(&mut config);
        let tenant = store
            .create_tenant(
                "acme",
                scim_core::Timestamp::parse("2026-01-01T00:00:00.000000Z").unwrap(),
            )
            .await
            .expect("tenant");
        let token = store
            .issue_token(
                tenant.id,
                None,
                scim_core::Timestamp::parse("2026-01-01T00:00:00.000000Z").unwrap(),
            )
            .await
            .expect("token")
            .token;
        let app = router(store.clone(), config.clone());
        let limits = config.limits.clone();
        tokio::spawn(async move {
            scim_server::serve(listener, app, &limits, std::future::pending())
                .await
                .expect("serve");
        });
        let token = match std::env::var("SCIMD_TEST_HTTP_AUTH").as_deref() {
            Ok("oauth") => oauth_token(&store, tenant.id, &root).await,
            _ => token,
        };
        TestServer {
            base: config.tenant_url("acme"),
            root,
            token,
            store,
            client: reqwest::Client::new(),
            _dir: dir,
            _pg: pg,
        }
    }

    /// A second tenant with its own token: `(base_url, token)`.
    pub async fn other_tenant(&self, name: &str) -> (String, String) {
        let t = self
            .store
            .create_tenant(
                name,
                scim_core::Timestamp::parse("2026-01-01T00:00:00.000000Z").unwrap(),
            )
            .await
            .expect("tenant");
        let tok = self
            .store
            .issue_token(
                t.id,
                None,
                scim_core::Timestamp::parse("2026-01-01T00:00:00.000000Z").unwrap(),
            )
            .await
            .expect("token");
        (format!("{}/scim/v2/{name}", self.root), tok.token)
    }

    /// Sends a request to `base + path` with the tenant's token; `body` is sent as
    /// `application/scim+json`.
    pub async fn req(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.header("content-type", "application/scim+json").body(b.to_string());
        }
        Resp::from(rb.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.req(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.req(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.req(Method::PATCH, path, Some(body)).await
    }

    /// PATCH with a PatchOp body made of `ops`.
    pub async fn patch_ops(&self, path: &str, ops: Value) -> Resp {
        let body = serde_json::json!({"schemas": [PATCH_OP], "Operations": ops});
        self.patch(path, &body).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.req(Method::DELETE, path, None).await
    }

    /// A request to `base + path` with the tenant's token and nothing else, for tests that
    /// set their own headers or body.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// `GET /Users?filter=…` (or `/Groups`) with the filter form-encoded the way Entra
    /// sends it: space as `+`, quotes as `%22`.
    pub async fn filter(&self, endpoint: &str, filter: &str) -> Resp {
        self.get(&format!("{endpoint}?filter={}", enc(filter))).await
    }

    /// The ids in a ListResponse from `filter`.
    pub async fn filter_ids(&self, endpoint: &str, filter: &str) -> Vec<String> {
        let r = self.filter(endpoint, filter).await;
        assert_eq!(r.status, StatusCode::OK, "filter {filter:?}: {}", r.text);
        r.ids()
    }

    /// Creates a user and returns its id.
    pub async fn create_user(&self, body: Value) -> String {
        let r = self.post("/Users", &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "create user: {}", r.text);
        r.body["id"].as_str().expect("id").to_string()
    }

    pub async fn create_group(&self, body: Value) -> String {
        let r = self.post("/Groups", &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "create group: {}", r.text);
        r.body["id"].as_str().expect("id").to_string()
    }
}

/// Sends a prepared request.
pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    Resp::from(rb.send().await.expect("request")).await
}

/// Form-encodes a query value (`+` for space, `%22` for quotes).
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Resp {
    pub async fn from(r: reqwest::Response) -> Resp {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `id`s of a ListResponse's `Resources`, in order.
    pub fn ids(&self) -> Vec<String> {
        self.body["Resources"]
            .as_array()
            .unwrap_or_else(|| panic!("no Resources: {}", self.text))
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect()
    }

    /// Asserts a 200 ListResponse with `totalResults == total` and returns the resources.
    pub fn assert_list(&self, total: u64) -> &Vec<Value> {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse",
            "{}",
            self.text
        );
        assert_eq!(self.body["totalResults"], total, "{}", self.text);
        let items = self.body["Resources"]
            .as_array()
            .unwrap_or_else(|| panic!("no Resources: {}", self.text));
        assert_eq!(self.body["itemsPerPage"], items.len(), "{}", self.text);
        items
    }

    /// Asserts an RFC 7644 error body with this status and scimType.
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status.to_string(), "{}", self.text);
        match scim_type {
            Some(t) => assert_eq!(self.body["scimType"], t, "{}", self.text),
            None => assert!(self.body.get("scimType").is_none(), "{}", self.text),
        }
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "detail: {}",
            self.text
        );
        assert!(self.content_type().starts_with("application/scim+json"));
    }
}

/// A user body in Entra's create shape (entra-scim-client.md §1.3).
pub fn entra_user(user_name: &str) -> Value {
    serde_json::json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": user_name.split('@').next().unwrap_or(user_name),
        "userName": user_name,
        "active": true,
        "displayName": "Alice Example",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "name": {"formatted": "Alice Example", "familyName": "Example", "givenName": "Alice"},
        "addresses": [{"type": "work", "country": "FI", "locality": "Helsinki"}],
        "preferredLanguage": "fi-FI",
        ENTERPRISE: {"department": "Sales", "division": "EMEA"},
        "meta": {"resourceType": "User"},
        "roles": []
    })
}

/// The member ids of a rendered group, in the order returned.
pub fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// The smallest valid user.
pub fn min_user(user_name: &str) -> Value {
    serde_json::json!({"schemas": [USER], "userName": user_name})
}

/// A group body as Entra creates it: no members (entra-scim-client.md §1.8).
pub fn entra_group(display_name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": format!("obj-{display_name}"),
        "displayName": display_name,
        "meta": {"resourceType": "Group"}
    })
}

/// The admin API with a fresh admin token.
pub struct Admin<'a> {
    pub s: &'a TestServer,
    pub token: String,
}

impl<'a> Admin<'a> {
    pub async fn new(s: &'a TestServer) -> Admin<'a> {
        let t = scim_core::Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let token = s.store.issue_admin_token(None, t).await.unwrap().token;
        Admin { s, token }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<&str>, token: Option<&str>) -> Resp {
        let mut rb = self.s.client.request(method, format!("{}/admin/v1{path}", self.s.root));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", "application/json").body(b.to_string());
        }
        Resp::from(rb.send().await.unwrap()).await
    }

    pub async fn req(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let body = body.map(Value::to_string);
        self.call(method, path, body.as_deref(), Some(&self.token)).await
    }
}

/// An admin API error: status, code, and a detail for people.
pub fn assert_admin_error(r: &Resp, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["error"], code, "{}", r.text);
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", r.text);
}
