//! The assignment rules in combination: `scope.groups` × `scope.app_roles`, and nested groups.

use serde_json::json;

use super::tests::{group, role, scope, user, with_roles};
use super::*;

/// Every combination of `scope.groups` and `scope.app_roles` against the kinds of
/// assignment a user can have. A listed group is an assignment that needs no role; a role
/// (the user's own, or inherited from a group's assignment) qualifies when it is not Default
/// Access and, if roles are listed, is one of them; any qualifying assignment entitles.
#[test]
fn groups_and_app_roles_in_every_combination() {
    let mut role_group = group("g-role", "Role holders", &["u-inherits"]);
    role_group.app_roles = vec![role("Admin")];
    let mut default_group = group("g-default", "Everyone", &["u-inherits-default"]);
    default_group.app_roles = vec![role(DEFAULT_ACCESS)];
    let objects = vec![
        group(
            "g-listed",
            "Listed",
            &["u-member", "u-member-default", "u-member-admin", "g-inner"],
        ),
        group("g-inner", "Inner", &["u-nested"]),
        role_group,
        default_group,
    ];
    let index = ScopeIndex::new(&objects);
    let users = [
        ("member, no role", user("u-member", json!({}))),
        (
            "member, Default Access",
            with_roles(user("u-member-default", json!({})), &[DEFAULT_ACCESS]),
        ),
        (
            "member, Admin",
            with_roles(user("u-member-admin", json!({})), &["Admin"]),
        ),
        ("nested member", user("u-nested", json!({}))),
        (
            "Admin, not a member",
            with_roles(user("u-admin", json!({})), &["Admin"]),
        ),
        (
            "User role, not a member",
            with_roles(user("u-user", json!({})), &["User"]),
        ),
        (
            "Default Access only",
            with_roles(user("u-default", json!({})), &[DEFAULT_ACCESS]),
        ),
        ("Admin inherited from a group", user("u-inherits", json!({}))),
        ("Default Access inherited", user("u-inherits-default", json!({}))),
        ("no assignment", user("u-none", json!({}))),
    ];
    use Entitlement::*;
    use ScopeReason::*;
    const IN: ScopeReason = InScope;
    const OUT: ScopeReason = NotAssigned;
    const DA: ScopeReason = NotEffectivelyEntitled(DefaultAccessOnly);
    const ROLE: ScopeReason = NotEffectivelyEntitled(RoleNotListed);
    #[rustfmt::skip]
    let table: [(&[&str], &[&str], [ScopeReason; 10]); 4] = [
        //                        member member+DA member+Admin nested Admin User DA   inh.Admin inh.DA none
        (&[],           &[],        [OUT, DA,  IN,  OUT, IN,  IN,   DA,  IN,  DA,  OUT]),
        (&["Listed"],   &[],        [IN,  IN,  IN,  OUT, IN,  IN,   DA,  IN,  DA,  OUT]),
        (&[],           &["Admin"], [OUT, DA,  IN,  OUT, IN,  ROLE, DA,  IN,  DA,  OUT]),
        (&["Listed"],   &["Admin"], [IN,  IN,  IN,  OUT, IN,  ROLE, DA,  IN,  DA,  OUT]),
    ];
    for (groups, roles, wants) in table {
        let s = scope(ScopeMode::Assigned, groups, roles, vec![]);
        for ((name, u), want) in users.iter().zip(wants) {
            let d = s.evaluate(u, &index);
            assert_eq!(
                d.reason, want,
                "groups {groups:?}, app_roles {roles:?}, {name}: {:#?}",
                d.steps
            );
        }
    }
}

#[test]
fn nested_groups_are_flattened_only_when_asked() {
    let mut admins = group("g-admins", "Admins", &["g-deep"]);
    admins.app_roles = vec![role("Admin")];
    let objects = vec![
        group("g-top", "Top", &["g-mid"]),
        group("g-mid", "Mid", &["g-deep", "u-mid"]),
        group("g-deep", "Deep", &["u-deep", "g-top"]), // a cycle: Top → Mid → Deep → Top
        admins,
        group("g-solo", "Solo", &["u-alone"]),
    ];
    let index = ScopeIndex::new(&objects);
    assert_eq!(
        index.ancestors_of("u-deep"),
        vec!["g-deep", "g-mid", "g-admins", "g-top"]
    );
    let flat = |groups: &[&str], roles: &[&str]| {
        let mut s = scope(ScopeMode::Assigned, groups, roles, vec![]);
        s.nested = true;
        s
    };
    let direct = scope(ScopeMode::Assigned, &["Top"], &[], vec![]);
    let cases = [
        (
            "direct only: nested member of Top",
            &direct,
            "u-deep",
            ScopeReason::NotAssigned,
        ),
        (
            "flattened: member of Mid, in Top",
            &flat(&["Top"], &[]),
            "u-mid",
            ScopeReason::InScope,
        ),
        (
            "flattened: two levels down",
            &flat(&["Top"], &[]),
            "u-deep",
            ScopeReason::InScope,
        ),
        (
            "flattened: role inherited through nesting",
            &flat(&[], &["Admin"]),
            "u-deep",
            ScopeReason::InScope,
        ),
        (
            "flattened: not under the listed group",
            &flat(&["Admins"], &[]),
            "u-alone",
            ScopeReason::NotAssigned,
        ),
    ];
    for (name, s, id, want) in cases {
        let d = s.evaluate(&user(id, json!({})), &index);
        assert_eq!(d.reason, want, "{name}: {:#?}", d.steps);
    }
    let d = flat(&["Top"], &[]).evaluate(&user("u-mid", json!({})), &index);
    assert_eq!(
        d.steps[1].detail,
        "member (through nested groups) of assigned group Top (g-top)"
    );
}
