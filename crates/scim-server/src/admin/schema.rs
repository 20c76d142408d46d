//! The admin API's bodies, as types: the handlers answer with them and the OpenAPI document
//! (`openapi.rs`) is generated from them, so the two cannot drift apart.

use scim_core::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct NewTenant {
    /// 1–63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit.
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TenantOut {
    pub tenant: String,
    /// The Tenant URL a customer pastes into Entra or Okta.
    pub scim_url: String,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    /// The tenant's own request rate; `null` means the server's default (`--tenant-rate`).
    pub rate_limit: Option<RateLimit>,
}

/// One administrative change.
#[derive(Serialize, ToSchema)]
pub struct AuditOut {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// `admin:<admin token prefix>` or `cli:<user>@<host>`.
    pub actor: String,
    /// `tenant.create`, `tenant.update`, `tenant.delete`, `token.issue`, `token.revoke`,
    /// `client.create`, `client.delete`, `client.secret.add`, `client.secret.revoke`,
    /// `webhook.create`, `webhook.delete`, `admin_token.issue`, `admin_token.revoke`.
    pub action: String,
    pub tenant: Option<String>,
    /// A token or secret prefix, a client id, a webhook id.
    pub target: Option<String>,
    /// The request's non-secret parameters.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditList {
    pub records: Vec<AuditOut>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// A token bucket: `per_second` requests a second on average, `burst` at once.
#[derive(Serialize, ToSchema)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// Changes to a tenant; keys left out stay as they are.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TenantChange {
    /// `{"per_second": 50, "burst": 100}`, or `null` for the server's default.
    pub rate_limit: Option<RateLimitIn>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RateLimitIn {
    pub per_second: u32,
    /// Defaults to twice `per_second`.
    pub burst: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTenant {
    #[serde(flatten)]
    pub tenant: TenantOut,
    /// The first secret token, shown once.
    pub token: String,
    pub token_prefix: String,
}

#[derive(Serialize, ToSchema)]
pub struct TenantList {
    pub tenants: Vec<TenantOut>,
}

/// `expires_in`: seconds (a number) or a duration such as "90d"; absent for no expiry.
#[derive(Serialize, ToSchema)]
pub struct Lifetime {
    #[schema(value_type = Option<String>, example = "90d")]
    pub expires_in: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IssuedTokenOut {
    /// Shown once; only its hash is stored.
    pub token: String,
    pub token_prefix: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    pub token_prefix: String,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
    /// When it last authenticated a request, to within a minute (tenant tokens only).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenOut>,
}

#[derive(Serialize, ToSchema)]
pub struct IssuedClientOut {
    /// `{tenant}.{random}`.
    pub client_id: String,
    /// Shown once; only its hash is stored.
    pub client_secret: String,
    pub secret_prefix: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// Where the client gets access tokens (`grant_type=client_credentials`).
    pub token_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct ClientOut {
    pub client_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    pub token_url: String,
    /// The client's secrets: prefixes and dates, never the secrets.
    pub secrets: Vec<TokenOut>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientOut>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorOut {
    /// A stable code: unauthorized, invalid_request, not_found, method_not_allowed, conflict,
    /// unavailable, internal.
    pub error: String,
    /// What went wrong, for people.
    pub detail: String,
    /// With `events_expired` (410): the oldest event still kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_seq: Option<i64>,
}

/// One event of a tenant's change feed.
#[derive(Serialize, ToSchema)]
pub struct EventOut {
    /// The tenant's sequence: 1, 2, 3, … without gaps.
    pub seq: i64,
    /// Unique; the same event delivered twice has the same id.
    pub id: String,
    /// user.created, user.updated, user.deactivated, user.reactivated, user.deleted,
    /// group.created, group.updated, group.deleted, group.members_added, group.members_removed.
    #[serde(rename = "type")]
    pub event_type: String,
    pub tenant: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub resource: EventResource,
    /// The resource after the change (without meta and members; the last state for
    /// *.deleted), or {"members": [ids]} for the members events.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct EventResource {
    /// User or Group.
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: String,
    /// The resource's version after the change (its ETag is W/"version").
    pub version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventOut>,
    /// Pass as `after` to read on (the last event's seq, or `after` when there was none).
    pub next_after: i64,
}

#[derive(Serialize, ToSchema)]
pub struct NewWebhookIn {
    /// https, or http to a loopback address when the server allows it.
    pub url: String,
    /// Event types to send (absent or empty: every type).
    pub events: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    /// ok, retrying, or failing (retries stopped after three days; see `POST …/test`).
    pub state: String,
    /// The last seq delivered (or skipped as a type the endpoint does not take).
    pub delivered_seq: i64,
    /// Events committed after `delivered_seq` (some may be of types not sent).
    pub behind: i64,
    /// Failed attempts at the next event.
    pub attempts: u32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub failing_since: Option<Timestamp>,
    pub last_error: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_success_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: String,
    pub url: String,
    /// Empty: every type.
    pub events: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    pub delivery: DeliveryOut,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// `whsec_…`, shown once: verify each delivery's `webhook-signature` with it.
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookOut>,
}

#[derive(Serialize, ToSchema)]
pub struct TestOut {
    /// Whether the receiver answered 2xx.
    pub delivered: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// Whether a failing or retrying endpoint was resumed by this success.
    pub resumed: bool,
}

/// One SCIM request as the log keeps it.
#[derive(Serialize, ToSchema)]
pub struct RequestOut {
    pub seq: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub method: String,
    /// Path and query.
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
    #[serde(rename = "scimType")]
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    pub resource_id: Option<String>,
    /// The token's listed prefix, or the OAuth client id; absent when authentication failed.
    pub credential: Option<String>,
    /// The body, with masked attributes' values replaced by "***", cut to the excerpt limit.
    pub body: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RequestList {
    pub requests: Vec<RequestOut>,
    /// Pass as `before` for older entries; absent on the last page.
    pub next_before: Option<i64>,
}
