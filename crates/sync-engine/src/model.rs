//! What the engine reads from a source. Attributes are in Microsoft Graph's shape
//! (`userPrincipalName`, `mail`, `givenName`, `surname`, `department`, `accountEnabled`,
//! `employeeId`, …), because that is what Entra mappings are written against.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    User,
    Group,
}

impl ObjectKind {
    /// The kind [`Self::as_str`] names (`user`, `group`).
    pub fn parse(s: &str) -> Option<ObjectKind> {
        match s {
            "user" => Some(ObjectKind::User),
            "group" => Some(ObjectKind::Group),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
        }
    }
}

/// A 128-bit hash (two SipHash runs with fixed keys): what the engine keeps instead of an
/// id where it must remember a million of them (a collision among a billion: about 10^-21).
pub fn hash128(value: &impl std::hash::Hash) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        value.hash(&mut h);
        h.finish() as u128
    };
    (half(1) << 64) | half(2)
}

/// An app role assigned to a user or group (`appRoleAssignments` in Graph).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRoleAssignment {
    /// The role's id.
    pub id: String,
    /// The role's value, e.g. `Admin`.
    pub value: String,
    #[serde(default, rename = "displayName")]
    pub display_name: String,
}

/// The role every assignment without an explicit role gets; it never qualifies for scope.
pub const DEFAULT_ACCESS: &str = "Default Access";

/// One user or group as read from the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceObject {
    pub kind: ObjectKind,
    /// The source's immutable id (Graph `id` / objectId).
    pub id: String,
    /// Attributes in the source's own names (Graph shape).
    pub attrs: Map<String, Value>,
    /// Groups: the source ids of direct members (users and groups).
    #[serde(default)]
    pub members: Vec<String>,
    /// App roles assigned to this object for the application.
    #[serde(default)]
    pub app_roles: Vec<AppRoleAssignment>,
    /// Hard-deleted in the source (a tombstone from an incremental read).
    #[serde(default)]
    pub deleted: bool,
}

impl SourceObject {
    pub fn attr(&self, name: &str) -> Option<&Value> {
        self.attrs.get(name).or_else(|| {
            self.attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// Soft-deleted or disabled in the source (`accountEnabled = false`).
    pub fn is_disabled(&self) -> bool {
        matches!(self.attr("accountEnabled"), Some(Value::Bool(false)))
            || matches!(self.attr("accountEnabled"), Some(Value::String(s)) if s.eq_ignore_ascii_case("false"))
    }
}

/// The result of reading a source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceBatch {
    pub objects: Vec<SourceObject>,
    /// True for a complete snapshot: objects not in it no longer exist in the source.
    pub complete: bool,
    /// Where the next incremental read continues, if the source has watermarks.
    pub watermark: Option<String>,
}
