//! The admin API's OpenAPI 3.1 document, generated from the handlers' annotations and the
//! body types in `schema.rs`; served at `/admin/v1/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::schema::*;
use super::{audit, clients, events, requests, tenants, webhooks};

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An admin token from `scimd admin token issue` (not a tenant's SCIM token)",
            ))
            .build();
        api.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("admin_token", SecurityScheme::Http(scheme));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "scimd admin API", version = "1", description = "Tenants, their SCIM tokens and OAuth clients, each tenant's change feed, webhooks and request log. Errors are {\"error\", \"detail\"}."),
    servers((url = "/admin/v1")),
    paths(
        tenants::create, tenants::list, tenants::show, tenants::update, tenants::remove,
        tenants::issue_token, tenants::tokens, tenants::revoke_token,
        clients::create, clients::list, clients::show, clients::remove,
        clients::add_secret, clients::revoke_secret,
        events::list, requests::list, audit::list,
        webhooks::create, webhooks::list, webhooks::show, webhooks::remove, webhooks::test,
    ),
    components(schemas(
        NewTenant, TenantOut, RateLimit, TenantChange, RateLimitIn, CreatedTenant, TenantList, Lifetime, IssuedTokenOut, TokenOut, TokenList,
        IssuedClientOut, ClientOut, ClientList, ErrorOut, EventOut, EventResource, EventList,
        AuditOut, AuditList, NewWebhookIn, DeliveryOut, WebhookOut, CreatedWebhook, WebhookList, TestOut, RequestOut, RequestList,
    )),
    modifiers(&AdminToken),
    security(("admin_token" = [])),
)]
pub struct AdminApi;

pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(AdminApi::openapi())
}
