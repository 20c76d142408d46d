//! A real scimd on an ephemeral port with a temporary SQLite database and one tenant.

use scim_client::{ClientOptions, ScimClient};
use scim_server::{ServerConfig, router};
use serde_json::{Value, json};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const NOW: &str = "2026-01-01T00:00:00.000000Z";

pub struct Server {
    pub base: String,
    pub root: String,
    pub token: String,
    pub tenant: scim_core::ports::TenantId,
    pub store: std::sync::Arc<dyn scim_store::Backend>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/scimd.db", dir.path().display());
        let store = scim_store::open(&url, &Default::default()).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let root = format!("http://{}", listener.local_addr().expect("addr"));
        let config = ServerConfig::new(&root);
        let tenant = store
            .create_tenant("acme", NOW.parse::<scim_core::Timestamp>().unwrap())
            .await
            .expect("tenant");
        let token = store
            .issue_token(tenant.id, None, NOW.parse::<scim_core::Timestamp>().unwrap())
            .await
            .expect("token")
            .token;
        let app = router(store.clone(), config.clone());
        let limits = config.limits.clone();
        tokio::spawn(async move {
            scim_server::serve(listener, app, &limits, std::future::pending())
                .await
                .expect("serve")
        });
        Server {
            base: config.tenant_url("acme"),
            root,
            token,
            tenant: tenant.id,
            store,
            _dir: dir,
        }
    }

    pub fn client(&self) -> ScimClient {
        // A trailing slash on purpose: the client trims it.
        ScimClient::new(&format!("{}/", self.base), &self.token, ClientOptions::default()).expect("client")
    }
}

pub fn user(user_name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "active": true,
        "displayName": format!("Display {user_name}"),
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"primary": true, "type": "work", "value": user_name}]
    })
}

pub fn group(display_name: &str) -> Value {
    json!({"schemas": [GROUP], "displayName": display_name, "externalId": format!("obj-{display_name}")})
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id: {v}")).to_string()
}
