use serde_json::json;
use sync_engine::config::JobConfig;

use super::read::Select;

const JOB: &str = r#"
version = 1
[job]
name = "g"
[source]
type = "graph"
tenant_id = "t"
client_id = "c"
client_secret = "s"
service_principal_id = "sp"
[target]
url = "https://scim.example.com/v2"
token = "t"
[scope]
groups = ["Sales"]
[[scope.filters]]
clauses = [{ attribute = "country", operator = "EQUALS", value = "FI" }]
[[users.mappings]]
target = "userName"
source = "userPrincipalName"
matching = 1
[[users.mappings]]
target = "title"
type = "expression"
expression = 'Join(" ", [extensionAttribute3], [extension_0a1b_costCenter], [manager], [IsSoftDeleted])'
[groups]
[[groups.mappings]]
target = "displayName"
source = "displayName"
matching = 1
[[groups.mappings]]
target = "externalId"
source = "mailNickname"
"#;

#[test]
fn select_names_what_mappings_and_filters_read() {
    let job = JobConfig::parse(JOB).unwrap();
    let s = Select::of(&job);
    assert_eq!(
        s.users,
        "id,accountEnabled,userPrincipalName,onPremisesExtensionAttributes,extension_0a1b_costCenter,manager,country"
    );
    assert_eq!(s.groups, "id,displayName,mailNickname");
    assert!(s.read_groups);
}

#[test]
fn a_graph_user_flattens_manager_delta_and_extension_attributes() {
    let u = super::read::tests_user(json!({
        "id": "u1", "userPrincipalName": "a@x", "accountEnabled": true,
        "manager@delta": [{"@odata.type": "#microsoft.graph.user", "id": "m1"}],
        "onPremisesExtensionAttributes": {"extensionAttribute1": "E1", "extensionAttribute2": null}
    }))
    .unwrap();
    assert_eq!(u.attrs["manager"], "m1");
    assert_eq!(u.attrs["extensionAttribute1"], "E1");
    assert!(!u.attrs.contains_key("extensionAttribute2"));
    assert!(!u.attrs.contains_key("onPremisesExtensionAttributes"));
    let gone = super::read::tests_user(
        json!({"id": "u2", "manager@delta": [{"id": "m1", "@removed": {"reason": "deleted"}}]}),
    )
    .unwrap();
    assert!(gone.attrs.get("manager").is_none(), "a removed manager is no manager");
    let soft = super::read::tests_user(json!({"id": "u3", "@removed": {"reason": "changed"}})).unwrap();
    assert!(soft.is_disabled() && !soft.deleted);
    let hard = super::read::tests_user(json!({"id": "u4", "@removed": {"reason": "deleted"}})).unwrap();
    assert!(hard.deleted);
}
