//! Discovery documents: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7643 §5–7).

use scim_proto::{LIST_RESPONSE, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA};
use serde_json::{Value, json};

use crate::query::MAX_COUNT;
use crate::schema::{ALL_SCHEMAS, AttrDef, Mutability, ResourceKind, Returned, SchemaDef, Uniqueness};

/// The Bulk limits `/ServiceProviderConfig` advertises (the server enforces the same values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    pub max_operations: usize,
    pub max_payload_size: usize,
}

pub fn service_provider_config(base_url: &str, bulk: BulkLimits) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "documentationUri": "https://github.com/scimd/scimd",
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": bulk.max_operations,
            "maxPayloadSize": bulk.max_payload_size
        },
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": crate::query::DEFAULT_COUNT,
            "maxPageSize": MAX_COUNT,
            "cursorTimeout": crate::cursor::CURSOR_TIMEOUT_SECS
        },
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "Authorization: Bearer <secret token issued with `scimd token issue`>",
            "primary": true
        }, {
            "type": "oauth2",
            "name": "OAuth 2.0 client credentials",
            "description": "POST client_id and client_secret (grant_type=client_credentials) to the server's /oauth/token; send the access token as Authorization: Bearer",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6749#section-4.4",
            "primary": false
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig")
        }
    })
}

pub fn resource_type(kind: ResourceKind, base_url: &str) -> Value {
    let ext: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|s| json!({"schema": s.id, "required": false}))
        .collect();
    let mut v = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": kind.core().description,
        "schema": kind.core().id,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base_url}/ResourceTypes/{}", kind.name())
        }
    });
    if !ext.is_empty() {
        v["schemaExtensions"] = Value::Array(ext);
    }
    v
}

pub const KINDS: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

pub fn resource_types(base_url: &str) -> Value {
    list(KINDS.iter().map(|k| resource_type(*k, base_url)).collect())
}

pub fn schema(def: &SchemaDef, base_url: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": def.id,
        "name": def.name,
        "description": def.description,
        "attributes": def.attrs.iter().map(attr_json).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": format!("{base_url}/Schemas/{}", def.id)
        }
    })
}

pub fn schemas(base_url: &str) -> Value {
    list(ALL_SCHEMAS.iter().map(|s| schema(s, base_url)).collect())
}

pub fn find_schema(id: &str) -> Option<&'static SchemaDef> {
    ALL_SCHEMAS.iter().copied().find(|s| s.id.eq_ignore_ascii_case(id))
}

fn list(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": items.len(),
        "startIndex": 1,
        "itemsPerPage": items.len(),
        "Resources": items
    })
}

fn attr_json(a: &AttrDef) -> Value {
    let mut v = json!({
        "name": a.name,
        "type": a.ty.as_str(),
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": match a.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        },
        "returned": match a.returned {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        },
        "uniqueness": match a.uniqueness {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        },
    });
    if !a.canonical.is_empty() {
        v["canonicalValues"] = json!(a.canonical);
    }
    if !a.reference_types.is_empty() {
        v["referenceTypes"] = json!(a.reference_types);
    }
    if !a.sub.is_empty() {
        v["subAttributes"] = Value::Array(a.sub.iter().map(attr_json).collect());
    }
    v
}
