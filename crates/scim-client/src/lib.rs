//! A typed async SCIM 2.0 client (RFC 7644) on hyper with rustls (ring provider).
//!
//! Every request carries `Authorization: Bearer <token>` and `Accept: application/scim+json`;
//! bodies are sent as `application/scim+json`. Non-2xx answers become
//! [`ClientError::Status`] with the SCIM error body's `scimType` / `detail` and the
//! `Retry-After` header (delta-seconds or HTTP-date) when present.
//!
//! [`ScimClient::bulk`] sends a [`BulkRequest`] (RFC 7644 §3.7) and reads each operation's
//! status, location, id and error; [`ScimClient::bulk_limits`] reads what
//! `/ServiceProviderConfig` advertises.

mod bulk;
mod client;
mod error;
mod json;
mod oauth;
mod transport;

pub use transport::post_json;

use std::time::Duration;

use serde_json::Value;

pub use bulk::{
    BULK_REQUEST_SCHEMA, BulkLimits, BulkMethod, BulkOperation, BulkRequest, BulkResponse, BulkResult, id_from_location,
};
pub use client::ScimClient;
pub use error::{ClientError, parse_retry_after};
pub use json::{JsonClient, JsonResponse};
pub use oauth::Credentials;

/// The content type of SCIM requests and responses.
pub const SCIM_JSON: &str = "application/scim+json";
/// The schema URN of a PATCH request body.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A SCIM resource endpoint under the tenant base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Users,
    Groups,
}

impl Endpoint {
    /// The path segment: `"Users"` or `"Groups"`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Users => "Users",
            Endpoint::Groups => "Groups",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.path())
    }
}

/// Transport settings of a [`ScimClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Whole-request timeout (connect, send, and reading the response body).
    pub timeout: Duration,
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            user_agent: format!("scimd/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// A page of a SCIM ListResponse.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListResponse {
    pub total_results: u64,
    pub start_index: u64,
    pub items_per_page: u64,
    pub resources: Vec<Value>,
}

/// One Test Connection probe: `GET /{endpoint}?filter={path} eq "<guid>"` must answer 200
/// with no results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub endpoint: Endpoint,
    /// The matching attribute's path (`userName`, `emails[type eq "work"].value`, …).
    pub path: String,
}

/// What one probe got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeResult {
    /// The request, for humans: `GET /Users?filter=userName eq "…"`.
    pub request: String,
    pub status: u16,
    pub ok: bool,
    pub detail: String,
}

/// The outcome of [`ScimClient::test_connection`], modelled on Entra's "Test Connection":
/// probe filters on the matching attributes that must answer 200 with no results, then the
/// ServiceProviderConfig.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionReport {
    /// The HTTP status of the first failing probe (else of the last one).
    pub probe_status: u16,
    /// True when every probe answered 200 with `totalResults` 0.
    pub probe_ok: bool,
    /// A human-readable explanation of that probe's result.
    pub probe_detail: String,
    /// Every probe, in order.
    pub probes: Vec<ProbeResult>,
    /// `patch.supported` of the ServiceProviderConfig, when it could be read.
    pub patch: Option<bool>,
    pub bulk: Option<bool>,
    pub filter: Option<bool>,
    /// `filter.maxResults`.
    pub max_results: Option<u64>,
    pub sort: Option<bool>,
    pub etag: Option<bool>,
    /// The `type` (or else `name`) of each `authenticationSchemes` entry.
    pub auth_schemes: Vec<String>,
    /// Why the ServiceProviderConfig could not be read, if it could not.
    pub spc_error: Option<String>,
}

impl ConnectionReport {
    /// Fills the capability fields from a ServiceProviderConfig document.
    fn apply_spc(&mut self, spc: &Value) {
        let supported = |k: &str| spc.get(k).and_then(|v| v.get("supported")).and_then(Value::as_bool);
        self.patch = supported("patch");
        self.bulk = supported("bulk");
        self.filter = supported("filter");
        self.sort = supported("sort");
        self.etag = supported("etag");
        self.max_results = spc
            .get("filter")
            .and_then(|f| f.get("maxResults"))
            .and_then(Value::as_u64);
        self.auth_schemes = spc
            .get("authenticationSchemes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.get("type").or_else(|| s.get("name")).and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
    }
}

/// Installs rustls' ring provider as the process default, once; an already installed
/// provider (ring or another) is kept. [`ScimClient::new`] calls this for `https` URLs, so
/// that other rustls users in the process (e.g. a `reqwest` built with
/// `rustls-no-provider`) find a provider too.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already the default: keep it.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoint_paths() {
        assert_eq!(Endpoint::Users.path(), "Users");
        assert_eq!(Endpoint::Groups.to_string(), "Groups");
    }

    #[test]
    fn default_options() {
        let o = ClientOptions::default();
        assert_eq!(o.timeout, Duration::from_secs(60));
        assert_eq!(o.user_agent, format!("scimd/{}", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn spc_report_fields() {
        let mut r = ConnectionReport::default();
        r.apply_spc(&json!({
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0},
            "filter": {"supported": true, "maxResults": 200},
            "sort": {"supported": false},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth"}, {"name": "Basic"}]
        }));
        assert_eq!(r.patch, Some(true));
        assert_eq!(r.bulk, Some(false));
        assert_eq!(r.filter, Some(true));
        assert_eq!(r.max_results, Some(200));
        assert_eq!(r.sort, Some(false));
        assert_eq!(r.etag, None);
        assert_eq!(r.auth_schemes, vec!["oauthbearertoken", "Basic"]);
    }

    #[test]
    fn provider_install_is_idempotent() {
        install_crypto_provider();
        install_crypto_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
