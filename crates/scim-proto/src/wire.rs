//! Message shapes of RFC 7644 and the well-known schema URNs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The RFC 7644 §3.12 `scimType` keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    /// RFC 9865: the cursor is not one this server issued for this query.
    InvalidCursor,
    /// RFC 9865: the cursor is older than the advertised `cursorTimeout`.
    ExpiredCursor,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
        }
    }
}

/// An RFC 7644 §3.12 error body. `status` is a string, as the RFC's examples show.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    pub schemas: Vec<String>,
    pub status: String,
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    pub detail: String,
}

impl ErrorBody {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ErrorBody {
            schemas: vec![ERROR.to_string()],
            status: status.to_string(),
            scim_type: scim_type.map(|t| t.as_str().to_string()),
            detail: detail.into(),
        }
    }
}

/// The `BulkResponse` message (RFC 7644 §3.7.3).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BulkResponse {
    pub schemas: Vec<String>,
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperationResult>,
}

/// The outcome of one Bulk operation. `status` is a string; `response` is present when the
/// operation failed (a successful one is described by `location` and `version`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BulkOperationResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(rename = "bulkId", default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ErrorBody>,
}

/// One PATCH operation as it arrives. `op` is kept as text: clients send `Add`, `add`, `ADD`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct PatchOperation {
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

impl PatchOpKind {
    pub fn parse(op: &str) -> Option<Self> {
        if op.eq_ignore_ascii_case("add") {
            Some(PatchOpKind::Add)
        } else if op.eq_ignore_ascii_case("replace") {
            Some(PatchOpKind::Replace)
        } else if op.eq_ignore_ascii_case("remove") {
            Some(PatchOpKind::Remove)
        } else {
            None
        }
    }
}

/// Sort direction of `sortOrder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("ascending") {
            Some(SortOrder::Ascending)
        } else if s.eq_ignore_ascii_case("descending") {
            Some(SortOrder::Descending)
        } else {
            None
        }
    }
}
