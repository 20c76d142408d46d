//! App role functions and the SCIM shapes Entra sends for them.

use serde_json::{Value as Json, json};

use super::Args;
use crate::error::EvalError;
use crate::value::{AppRoleAssignment, RolePatchMode, Value};

/// The `type` Entra puts on provisioned roles.
pub const ROLE_TYPE: &str = "WindowsAzureActiveDirectoryRole";

/// `SingleAppRoleAssignment([appRoleAssignments])`: the first assignment's
/// role value (Entra does not say which one wins when there are several);
/// null when there is none.
pub(super) fn single(a: &Args) -> Result<Value, EvalError> {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::AppRoleAssignments(roles) | Value::ComplexRoles { roles, .. } => {
            Ok(roles.first().map_or(Value::Null, |r| Value::String(r.value.clone())))
        }
        _ => Err(a.type_err(0, "the [appRoleAssignments] object")),
    }
}

/// `AppRoleAssignmentsComplex` / `AssertiveAppRoleAssignmentsComplex`: all
/// assignments, tagged with the PATCH mode.
pub(super) fn complex(a: &Args, mode: RolePatchMode) -> Result<Value, EvalError> {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::AppRoleAssignments(roles) | Value::ComplexRoles { roles, .. } => Ok(Value::ComplexRoles {
            roles: roles.clone(),
            mode,
        }),
        _ => Err(a.type_err(0, "the [appRoleAssignments] object")),
    }
}

/// The POST (create) shape of a single role, as for `SingleAppRoleAssignment`:
/// `[{"primary": true, "type": …, "value": …}]`.
pub fn single_role_post_json(value: &str) -> Json {
    json!([{ "primary": true, "type": ROLE_TYPE, "value": value }])
}

/// The POST (create) shape of complex roles: every role with
/// `primary = false`, its type, display name and value.
pub fn complex_roles_post_json(roles: &[AppRoleAssignment]) -> Json {
    Json::Array(
        roles
            .iter()
            .map(|r| json!({ "primary": false, "type": ROLE_TYPE, "display": r.display_name, "value": r.value }))
            .collect(),
    )
}

/// The PATCH shape of roles: each role stringified as a JSON object
/// `{"id":…,"value":…,"displayName":…}` inside `value`.
pub fn roles_patch_json(roles: &[AppRoleAssignment]) -> Json {
    Json::Array(
        roles
            .iter()
            .map(|r| {
                let inner = json!({ "id": r.id, "value": r.value, "displayName": r.display_name });
                json!({ "value": inner.to_string() })
            })
            .collect(),
    )
}
