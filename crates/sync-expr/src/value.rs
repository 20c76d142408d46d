//! Runtime values of the expression language.

use std::fmt;

use time::OffsetDateTime;

use crate::datefmt;

/// One entry of Entra's `[appRoleAssignments]` source object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppRoleAssignment {
    /// The app role assignment id (a GUID in Entra).
    pub id: String,
    /// The app role's `value` (what SCIM targets receive as `roles[].value`).
    pub value: String,
    /// The app role's display name.
    pub display_name: String,
}

impl AppRoleAssignment {
    /// Builds an assignment from its three parts.
    pub fn new(id: impl Into<String>, value: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            value: value.into(),
            display_name: display_name.into(),
        }
    }
}

/// How a complex role list must be written to the target on update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RolePatchMode {
    /// `AppRoleAssignmentsComplex`: PATCH `add` only, roles are never removed.
    Add,
    /// `AssertiveAppRoleAssignmentsComplex`: PATCH `replace`, roles not assigned
    /// in the source are removed from the target.
    Replace,
}

/// A value produced by a source attribute or by a function.
///
/// Date-times are always held in UTC; their text form is Entra's
/// `M/d/yyyy h:mm:ss tt` (as returned by `Now()` and `CDate()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Absent attribute or function result without a value.
    Null,
    /// A string.
    String(String),
    /// A boolean; its text form is `True` / `False`.
    Bool(bool),
    /// An integer.
    Number(i64),
    /// A UTC date-time.
    DateTime(OffsetDateTime),
    /// A multi-valued attribute.
    Multi(Vec<Value>),
    /// The raw `[appRoleAssignments]` source object.
    AppRoleAssignments(Vec<AppRoleAssignment>),
    /// Output of `AppRoleAssignmentsComplex` / `AssertiveAppRoleAssignmentsComplex`.
    ComplexRoles {
        /// The roles to provision (all with `primary = false`).
        roles: Vec<AppRoleAssignment>,
        /// Whether PATCH adds or replaces.
        mode: RolePatchMode,
    },
}

impl Value {
    /// A short type name used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::String(_) => "string",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::DateTime(_) => "dateTime",
            Value::Multi(_) => "multi-valued",
            Value::AppRoleAssignments(_) => "appRoleAssignments",
            Value::ComplexRoles { .. } => "complex roles",
        }
    }

    /// True only for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True for null, the empty string, and empty lists (an absent multi-valued
    /// attribute).
    pub fn is_null_or_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Multi(v) => v.is_empty(),
            Value::AppRoleAssignments(v) => v.is_empty(),
            _ => false,
        }
    }

    /// The text form of a single-valued value: `None` for null and for lists.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(bool_text(*b).to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::DateTime(dt) => Some(datefmt::entra_text(*dt)),
            _ => None,
        }
    }

    /// Convenience accessor for string values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Entra's text form of a boolean.
pub(crate) fn bool_text(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

impl fmt::Display for Value {
    /// Text form for logs: scalars as their Entra text, lists as `[a, b]`,
    /// null as the empty string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Multi(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::AppRoleAssignments(roles) | Value::ComplexRoles { roles, .. } => {
                f.write_str("[")?;
                for (i, r) in roles.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&r.value)?;
                }
                f.write_str("]")
            }
            other => f.write_str(&other.scalar_text().unwrap_or_default()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(n)
    }
}

impl From<OffsetDateTime> for Value {
    fn from(dt: OffsetDateTime) -> Self {
        Value::DateTime(dt)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::Multi(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
