use serde_json::{Value, json};

use super::*;
use crate::config::ScopingFilter;
use crate::model::AppRoleAssignment;

pub(super) fn user(id: &str, attrs: Value) -> SourceObject {
    SourceObject {
        kind: ObjectKind::User,
        id: id.into(),
        attrs: attrs.as_object().cloned().unwrap_or_default(),
        members: vec![],
        app_roles: vec![],
        deleted: false,
    }
}

pub(super) fn group(id: &str, name: &str, members: &[&str]) -> SourceObject {
    SourceObject {
        kind: ObjectKind::Group,
        id: id.into(),
        attrs: json!({ "displayName": name }).as_object().cloned().unwrap(),
        members: members.iter().map(|m| m.to_string()).collect(),
        app_roles: vec![],
        deleted: false,
    }
}

pub(super) fn role(value: &str) -> AppRoleAssignment {
    AppRoleAssignment {
        id: format!("role-{value}"),
        value: value.into(),
        display_name: value.into(),
    }
}

fn clause(attribute: &str, operator: &str, value: Option<&str>) -> Clause {
    Clause {
        attribute: attribute.into(),
        operator: operator.into(),
        value: value.map(String::from),
    }
}

fn compile_one(c: Clause) -> Result<CompiledClause, EngineError> {
    let cfg = ScopeConfig {
        filters: vec![ScopingFilter {
            name: Some("F".into()),
            clauses: vec![c],
        }],
        ..ScopeConfig::default()
    };
    CompiledScope::compile(&cfg).map(|s| s.filters[0].clauses[0].clone())
}

/// Absent attribute marker for the operator table.
const ABSENT: Option<Value> = None;

#[test]
fn operator_parsing_accepts_entra_spellings_and_variants() {
    let cases: &[(&str, Operator)] = &[
        ("&", Operator::In),
        ("!&", Operator::NotIn),
        ("ENDS_WITH", Operator::EndsWith),
        ("ends with", Operator::EndsWith),
        ("NOT ENDS_WITH", Operator::NotEndsWith),
        ("STARTS_WITH", Operator::StartsWith),
        ("Not_Starts_With", Operator::NotStartsWith),
        ("EQUALS", Operator::Equals),
        ("equals", Operator::Equals),
        ("NOT EQUALS", Operator::NotEquals),
        ("NOT_EQUALS", Operator::NotEquals),
        ("Greater_Than", Operator::GreaterThan),
        ("GREATER THAN", Operator::GreaterThan),
        ("Greater_Than_OR_EQUALS", Operator::GreaterThanOrEquals),
        ("greater than or equals", Operator::GreaterThanOrEquals),
        ("Less_Than", Operator::LessThan),
        ("Less_Than_OR_EQUALS", Operator::LessThanOrEquals),
        ("Includes", Operator::Includes),
        ("INCLUDES", Operator::Includes),
        ("NOT Includes", Operator::NotIncludes),
        ("IS TRUE", Operator::IsTrue),
        ("is_true", Operator::IsTrue),
        ("ISTRUE", Operator::IsTrue),
        ("IS FALSE", Operator::IsFalse),
        ("IS NULL", Operator::IsNull),
        ("IS NOT NULL", Operator::IsNotNull),
        ("  is   not  null ", Operator::IsNotNull),
        ("REGEX MATCH", Operator::RegexMatch),
        ("regex_match", Operator::RegexMatch),
        ("NOT REGEX MATCH", Operator::NotRegexMatch),
    ];
    for (text, want) in cases {
        assert_eq!(text.parse::<Operator>(), Ok(*want), "{text:?}");
    }
    for op in Operator::ALL {
        assert_eq!(op.as_str().parse::<Operator>(), Ok(op), "round trip {op}");
    }
    for bad in ["", "LIKE", "&&", "GREATER", "CONTAINS"] {
        let err = bad.parse::<Operator>().unwrap_err();
        assert!(err.contains("unknown operator"), "{bad:?}: {err}");
    }
}

#[test]
fn every_operator_table() {
    // (attribute value or ABSENT, operator, clause value, expected)
    #[rustfmt::skip]
    let cases: Vec<(Option<Value>, &str, Option<&str>, bool)> = vec![
        // & : the attribute's value occurs in the clause value
        (Some(json!("Sales")), "&", Some("Sales,Marketing"), true),
        (Some(json!("HR")), "&", Some("Sales,Marketing"), false),
        (Some(json!("sales")), "&", Some("Sales,Marketing"), false),
        (ABSENT, "&", Some("Sales"), false),
        (Some(json!("")), "&", Some("Sales"), false),
        // !&
        (Some(json!("HR")), "!&", Some("Sales,Marketing"), true),
        (Some(json!("Marketing")), "!&", Some("Sales,Marketing"), false),
        (ABSENT, "!&", Some("Sales"), false),
        (Some(json!("")), "!&", Some("Sales"), false),
        // ENDS_WITH / NOT ENDS_WITH (case-sensitive)
        (Some(json!("john@contoso.com")), "ENDS_WITH", Some("@contoso.com"), true),
        (Some(json!("john@contoso.com")), "ENDS_WITH", Some("@CONTOSO.COM"), false),
        (ABSENT, "ENDS_WITH", Some("x"), false),
        (Some(json!("")), "ENDS_WITH", Some(""), false),
        (Some(json!("john@fabrikam.com")), "NOT ENDS_WITH", Some("@contoso.com"), true),
        (Some(json!("john@contoso.com")), "NOT ENDS_WITH", Some("@contoso.com"), false),
        (ABSENT, "NOT ENDS_WITH", Some("x"), false),
        // STARTS_WITH / NOT STARTS_WITH
        (Some(json!("EMP123")), "STARTS_WITH", Some("EMP"), true),
        (Some(json!("emp123")), "STARTS_WITH", Some("EMP"), false),
        (ABSENT, "STARTS_WITH", Some("EMP"), false),
        (Some(json!("CON1")), "NOT STARTS_WITH", Some("EMP"), true),
        (Some(json!("EMP1")), "NOT STARTS_WITH", Some("EMP"), false),
        (Some(json!("")), "NOT STARTS_WITH", Some("EMP"), false),
        // EQUALS / NOT EQUALS (case-sensitive; the doc's `department EQUALS sales`)
        (Some(json!("sales")), "EQUALS", Some("sales"), true),
        (Some(json!("Sales")), "EQUALS", Some("sales"), false),
        (ABSENT, "EQUALS", Some("sales"), false),
        (Some(Value::Null), "EQUALS", Some("sales"), false),
        (Some(json!(42)), "EQUALS", Some("42"), true),
        (Some(json!(true)), "EQUALS", Some("true"), true),
        (Some(json!(true)), "EQUALS", Some("False"), false),
        (Some(json!("Sales")), "NOT EQUALS", Some("sales"), true),
        (Some(json!("sales")), "NOT EQUALS", Some("sales"), false),
        (ABSENT, "NOT EQUALS", Some("sales"), false),
        (Some(json!("")), "NOT EQUALS", Some("sales"), false),
        (Some(json!(false)), "NOT EQUALS", Some("true"), true),
        // integer comparisons
        (Some(json!("1500000")), "Greater_Than", Some("1000000"), true),
        (Some(json!(1000000)), "Greater_Than", Some("1000000"), false),
        (Some(json!("999")), "Greater_Than", Some("1000"), false),
        (Some(json!("abc")), "Greater_Than", Some("1"), false),
        (Some(json!("1.5")), "Greater_Than", Some("1"), false),
        (Some(json!(true)), "Greater_Than", Some("0"), false),
        (ABSENT, "Greater_Than", Some("1"), false),
        (Some(json!("-5")), "Greater_Than", Some("-6"), true),
        (Some(json!(1000000)), "Greater_Than_OR_EQUALS", Some("1000000"), true),
        (Some(json!("999999")), "Greater_Than_OR_EQUALS", Some("1000000"), false),
        (Some(json!("abc")), "Greater_Than_OR_EQUALS", Some("1"), false),
        (Some(json!("")), "Greater_Than_OR_EQUALS", Some("0"), false),
        (Some(json!("5")), "Less_Than", Some("10"), true),
        (Some(json!("10")), "Less_Than", Some("10"), false),
        (Some(json!("x")), "Less_Than", Some("10"), false),
        (ABSENT, "Less_Than", Some("10"), false),
        (Some(json!(10)), "Less_Than_OR_EQUALS", Some("10"), true),
        (Some(json!(11)), "Less_Than_OR_EQUALS", Some("10"), false),
        (Some(json!("ten")), "Less_Than_OR_EQUALS", Some("10"), false),
        // Includes / NOT Includes (case-sensitive String.Contains)
        (Some(json!("Senior Engineer")), "Includes", Some("Engineer"), true),
        (Some(json!("Senior Engineer")), "Includes", Some("engineer"), false),
        (ABSENT, "Includes", Some("x"), false),
        (Some(json!("")), "Includes", Some(""), false),
        (Some(json!("Senior Manager")), "NOT Includes", Some("Engineer"), true),
        (Some(json!("Senior Engineer")), "NOT Includes", Some("Engineer"), false),
        (ABSENT, "NOT Includes", Some("Engineer"), false),
        // IS TRUE / IS FALSE
        (Some(json!(true)), "IS TRUE", None, true),
        (Some(json!("True")), "IS TRUE", None, true),
        (Some(json!(false)), "IS TRUE", None, false),
        (Some(json!("yes")), "IS TRUE", None, false),
        (ABSENT, "IS TRUE", None, false),
        (Some(json!(false)), "IS FALSE", None, true),
        (Some(json!("FALSE")), "IS FALSE", None, true),
        (Some(json!(true)), "IS FALSE", None, false),
        (Some(json!(0)), "IS FALSE", None, false),
        (ABSENT, "IS FALSE", None, false),
        (Some(Value::Null), "IS FALSE", None, false),
        // IS NULL / IS NOT NULL
        (ABSENT, "IS NULL", None, true),
        (Some(Value::Null), "IS NULL", None, true),
        (Some(json!("")), "IS NULL", None, true),
        (Some(json!("x")), "IS NULL", None, false),
        (Some(json!(false)), "IS NULL", None, false),
        (Some(json!("x")), "IS NOT NULL", None, true),
        (Some(json!(0)), "IS NOT NULL", None, true),
        (ABSENT, "IS NOT NULL", None, false),
        (Some(json!("")), "IS NOT NULL", None, false),
        // REGEX MATCH / NOT REGEX MATCH (documented examples)
        (Some(json!("john@domain.com")), "REGEX MATCH", Some(r".*\@domain.com"), true),
        (Some(json!("john@other.com")), "REGEX MATCH", Some(r".*\@domain.com"), false),
        (Some(json!("42")), "REGEX MATCH", Some("([1-9][0-9])"), true),
        (Some(json!("7")), "REGEX MATCH", Some("([1-9][0-9])"), false),
        (Some(json!("1234567")), "REGEX MATCH", Some("(1[0-9][0-9][0-9][0-9][0-9][0-9])"), true),
        (Some(json!("JOHN@DOMAIN.COM")), "REGEX MATCH", Some(r".*@domain\.com"), false),
        (ABSENT, "REGEX MATCH", Some(".*"), false),
        (Some(json!("john@other.com")), "NOT REGEX MATCH", Some(r".*\@domain.com"), true),
        (Some(json!("john@domain.com")), "NOT REGEX MATCH", Some(r".*\@domain.com"), false),
        (ABSENT, "NOT REGEX MATCH", Some("x"), false),
        (Some(json!("")), "NOT REGEX MATCH", Some("x"), false),
    ];
    for (i, (attr, op, value, want)) in cases.into_iter().enumerate() {
        let attrs = match &attr {
            Some(v) => json!({ "a": v }),
            None => json!({}),
        };
        let u = user("u1", attrs);
        let c = compile_one(clause("a", op, value)).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(c.matches(&u), want, "case {i}: {attr:?} {op} {value:?}");
    }
}

#[test]
fn multi_valued_attributes_cannot_be_filtered() {
    let err = compile_one(clause("proxyAddresses", "Includes", Some("smtp:"))).unwrap_err();
    assert!(err.to_string().contains("multi-valued"), "{err}");
    let err = compile_one(clause("appRoleAssignments", "IS NOT NULL", None)).unwrap_err();
    assert!(err.to_string().contains("appRoleAssignments"), "{err}");
    // An array met at run time: every operator is false, IS NULL too.
    let u = user("u1", json!({ "tags": ["a", "b"], "obj": { "k": "v" } }));
    for op in Operator::ALL {
        let value = op.takes_value().then_some("1");
        let c = compile_one(clause("tags", op.as_str(), value)).unwrap();
        assert!(!c.matches(&u), "{op} on an array");
        let c = compile_one(clause("obj", op.as_str(), value)).unwrap();
        assert!(!c.matches(&u), "{op} on an object");
    }
}

#[test]
fn compile_errors_name_filter_and_clause() {
    #[rustfmt::skip]
    let cases: Vec<(Clause, &str)> = vec![
        (clause("department", "LIKE", Some("x")), "unknown operator \"LIKE\""),
        (clause("department", "EQUALS", None), "operator EQUALS needs a value"),
        (clause("department", "REGEX MATCH", Some("(unclosed")), "invalid regular expression"),
        (clause("employeeId", "Greater_Than", Some("ten")), "needs an integer value"),
        (clause("employeeId", "Less_Than", Some("1.5")), "needs an integer value"),
        (clause("  ", "IS NULL", None), "attribute is empty"),
    ];
    for (c, want) in cases {
        let cfg = ScopeConfig {
            filters: vec![
                ScopingFilter {
                    name: None,
                    clauses: vec![clause("a", "IS NULL", None)],
                },
                ScopingFilter {
                    name: Some("Engineers".into()),
                    clauses: vec![clause("b", "IS NULL", None), c],
                },
            ],
            ..ScopeConfig::default()
        };
        let err = CompiledScope::compile(&cfg).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
        assert!(err.contains("scope.filters[1] (\"Engineers\") clauses[1]"), "{err}");
    }
    let cfg = ScopeConfig {
        filters: vec![ScopingFilter {
            name: None,
            clauses: vec![],
        }],
        ..ScopeConfig::default()
    };
    let err = CompiledScope::compile(&cfg).unwrap_err().to_string();
    assert!(
        err.contains("scope.filters[0] (\"Scoping filter 1\") has no clauses"),
        "{err}"
    );
}

pub(super) fn scope(
    mode: ScopeMode,
    groups: &[&str],
    app_roles: &[&str],
    filters: Vec<ScopingFilter>,
) -> CompiledScope {
    CompiledScope::compile(&ScopeConfig {
        mode,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        app_roles: app_roles.iter().map(|g| g.to_string()).collect(),
        filters,
        nested_groups: false,
    })
    .unwrap()
}

pub(super) fn with_roles(mut u: SourceObject, roles: &[&str]) -> SourceObject {
    u.app_roles = roles.iter().map(|r| role(r)).collect();
    u
}

#[test]
fn assignment_table() {
    let mut admins = group("g-admins", "Admins", &["u-role-via-group"]);
    admins.app_roles = vec![role("Admin")];
    let mut default_group = group("g-default", "Everyone", &["u-default-via-group"]);
    default_group.app_roles = vec![role(DEFAULT_ACCESS)];
    let mut deleted_group = group("g-deleted", "Sales", &["u-deleted-group"]);
    deleted_group.deleted = true;
    let objects = vec![
        group("g-sales", "Sales", &["u-sales", "u-disabled", "g-nested"]),
        group("g-nested", "Nested", &["u-nested"]),
        admins,
        default_group,
        deleted_group,
    ];
    let index = ScopeIndex::new(&objects);
    let disabled = user("u-disabled", json!({ "accountEnabled": false }));
    let disabled_str = user("u-x", json!({ "accountEnabled": "False" }));
    let mut tombstone = user("u-sales", json!({}));
    tombstone.deleted = true;

    let by_id = scope(ScopeMode::Assigned, &["g-sales"], &[], vec![]);
    let by_name = scope(ScopeMode::Assigned, &["sales"], &[], vec![]);
    let roles_any = scope(ScopeMode::Assigned, &[], &[], vec![]);
    let roles_admin = scope(ScopeMode::Assigned, &[], &["Admin"], vec![]);
    let all = scope(ScopeMode::All, &[], &[], vec![]);
    let roles_default = scope(ScopeMode::Assigned, &[], &[DEFAULT_ACCESS], vec![]);

    use Entitlement::*;
    use ScopeReason::*;
    #[rustfmt::skip]
    let cases: Vec<(&str, &CompiledScope, SourceObject, ScopeReason)> = vec![
        ("group by id", &by_id, user("u-sales", json!({})), InScope),
        ("group by displayName, any case", &by_name, user("u-sales", json!({})), InScope),
        ("deleted group does not assign", &by_name, user("u-deleted-group", json!({})), NotAssigned),
        ("nested member not provisioned", &by_id, user("u-nested", json!({})), NotAssigned),
        ("not a member", &by_id, user("u-other", json!({})), NotAssigned),
        ("disabled member", &by_id, disabled.clone(), NotActive),
        ("disabled as string", &all, disabled_str, NotActive),
        ("hard-deleted", &by_id, tombstone, NotActive),
        ("any role", &roles_any, with_roles(user("u1", json!({})), &["User"]), InScope),
        ("Default Access only", &roles_any, with_roles(user("u1", json!({})), &[DEFAULT_ACCESS]), NotEffectivelyEntitled(DefaultAccessOnly)),
        ("Default Access plus a role", &roles_any, with_roles(user("u1", json!({})), &[DEFAULT_ACCESS, "User"]), InScope),
        ("listed role", &roles_admin, with_roles(user("u1", json!({})), &["Admin"]), InScope),
        ("unlisted role", &roles_admin, with_roles(user("u1", json!({})), &["User"]), NotEffectivelyEntitled(RoleNotListed)),
        ("Default Access listed still never qualifies", &roles_default, with_roles(user("u1", json!({})), &[DEFAULT_ACCESS]), NotEffectivelyEntitled(DefaultAccessOnly)),
        ("role inherited from a group", &roles_admin, user("u-role-via-group", json!({})), InScope),
        ("Default Access inherited from a group", &roles_any, user("u-default-via-group", json!({})), NotEffectivelyEntitled(DefaultAccessOnly)),
        ("group member with Default Access role on the user", &by_id, with_roles(user("u-sales", json!({})), &[DEFAULT_ACCESS]), InScope),
        ("no assignment at all", &roles_any, user("u1", json!({})), NotAssigned),
        ("mode all, unassigned", &all, user("u-nobody", json!({})), InScope),
        ("mode all, disabled", &all, disabled, NotActive),
        ("listed group object", &by_name, group("g-sales", "Sales", &[]), InScope),
        ("unlisted group object", &by_id, group("g-nested", "Nested", &[]), NotAssigned),
        ("any group in mode all", &all, group("g-nested", "Nested", &[]), InScope),
    ];
    for (name, scope, obj, want) in cases {
        let d = scope.evaluate(&obj, &index);
        assert_eq!(d.reason, want, "{name}: {:#?}", d.steps);
        assert_eq!(d.in_scope, want == InScope, "{name}");
    }
}

#[test]
fn trace_shows_entra_steps() {
    let objects = vec![group("g1", "Sales", &["u1"])];
    let index = ScopeIndex::new(&objects);
    let filters = vec![ScopingFilter {
        name: Some("Sales only".into()),
        clauses: vec![
            clause("department", "EQUALS", Some("Sales")),
            clause("jobTitle", "IS NOT NULL", None),
        ],
    }];
    let s = scope(ScopeMode::Assigned, &["Sales"], &[], filters);
    let d = s.evaluate(&user("u1", json!({ "department": "Sales" })), &index);
    let names: Vec<&str> = d.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Active in source system",
            "Assigned to application",
            "User has required role",
            "Sales only department EQUALS Sales",
            "Sales only jobTitle IS NOT NULL",
        ]
    );
    let passed: Vec<bool> = d.steps.iter().map(|s| s.passed).collect();
    assert_eq!(passed, [true, true, true, true, false]);
    assert_eq!(d.reason, ScopeReason::FilteredOut);
    assert_eq!(d.reason.code(), "FilteredOutByScopingFilter");
    assert_eq!(d.steps[1].detail, "direct member of assigned group Sales (g1)");
    assert_eq!(d.steps[4].detail, "jobTitle is null");

    let d = scope(ScopeMode::Assigned, &[], &[], vec![])
        .evaluate(&with_roles(user("u9", json!({})), &[DEFAULT_ACCESS]), &index);
    assert!(d.steps[2].detail.contains("not effectively entitled"), "{:?}", d.steps);
    assert_eq!(d.reason.code(), "NotEffectivelyEntitled");

    let d = scope(ScopeMode::All, &[], &[], vec![]).evaluate(&user("u9", json!({})), &index);
    assert_eq!(d.steps[1].name, "Scope sync all");
    assert!(d.in_scope);
}

#[test]
fn filters_or_and_and_apply_to_users_only() {
    let f = |name: &str, clauses: Vec<Clause>| ScopingFilter {
        name: Some(name.into()),
        clauses,
    };
    let filters = vec![
        f(
            "NY engineers",
            vec![
                clause("state", "EQUALS", Some("New York")),
                clause("department", "EQUALS", Some("Engineering")),
            ],
        ),
        f("Finland", vec![clause("country", "EQUALS", Some("Finland"))]),
    ];
    let s = scope(ScopeMode::All, &[], &[], filters);
    let index = ScopeIndex::default();
    #[rustfmt::skip]
    let cases = [
        (json!({ "state": "New York", "department": "Engineering" }), true),
        (json!({ "state": "New York", "department": "Sales" }), false),
        (json!({ "state": "Ohio", "department": "Engineering", "country": "Finland" }), true),
        (json!({ "country": "Sweden" }), false),
        (json!({}), false),
    ];
    for (attrs, want) in cases {
        let d = s.evaluate(&user("u", attrs.clone()), &index);
        assert_eq!(d.in_scope, want, "{attrs}");
        assert_eq!(d.reason == ScopeReason::FilteredOut, !want, "{attrs}");
    }
    // A group is not filtered, whatever its attributes.
    let d = s.evaluate(&group("g", "Anything", &[]), &index);
    assert!(d.in_scope);
    assert_eq!(d.steps.len(), 2);
    // No filters = pass.
    let d = scope(ScopeMode::All, &[], &[], vec![]).evaluate(&user("u", json!({})), &index);
    assert!(d.in_scope);
}

#[test]
fn first_failure_is_the_reason_but_every_step_is_traced() {
    let filters = vec![ScopingFilter {
        name: None,
        clauses: vec![clause("department", "EQUALS", Some("Sales"))],
    }];
    let s = scope(ScopeMode::Assigned, &["g1"], &[], filters);
    let index = ScopeIndex::new(&[group("g1", "G", &[])]);
    let d = s.evaluate(&user("u1", json!({ "accountEnabled": false })), &index);
    assert_eq!(d.reason, ScopeReason::NotActive);
    assert_eq!(d.steps.len(), 4);
    assert_eq!(d.steps[3].name, "Scoping filter 1 department EQUALS Sales");
    assert!(d.steps.iter().all(|s| !s.passed));
}

#[test]
fn index_lists_direct_groups_once() {
    let index = ScopeIndex::new(&[
        group("g1", "A", &["u1", "u1", "u2"]),
        group("g2", "B", &["u1"]),
        user("u1", json!({})),
    ]);
    assert_eq!(index.groups_of("u1"), ["g1", "g2"]);
    assert_eq!(index.groups_of("u2"), ["g1"]);
    assert!(index.groups_of("nobody").is_empty());
}
