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
}
