//! An Entra provisioning schema becomes a job file; what cannot be converted is named.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use serde_json::json;
use sync_engine::config::{Apply, JobConfig, MappingKind};
use sync_sources::graph::schema::import;

fn attr(target: &str, source: &str) -> serde_json::Value {
    json!({"targetAttributeName": target, "flowType": "Always", "matchingPriority": 0,
           "source": {"name": source, "type": "Attribute", "parameters": []}})
}

#[test]
fn every_kind_of_mapping_converts_and_the_rest_is_named() {
    let join = json!({"targetAttributeName": "displayName", "flowType": "ObjectAddOnly", "defaultValue": "n/a",
        "source": {"name": "Join", "type": "Function", "parameters": [
            {"key": "separator", "value": {"name": " ", "type": "Constant"}},
            {"key": "source1", "value": {"name": "givenName", "type": "Attribute"}},
            {"key": "source2", "value": {"name": "surname", "type": "Attribute"}}]}});
    let schema = json!({"synchronizationRules": [
        {"name": "USER", "objectMappings": [
            {"sourceObjectName": "User", "enabled": true, "flowTypes": "Add,Update",
             "attributeMappings": [
                {"targetAttributeName": "userName", "matchingPriority": 1,
                 "source": {"name": "userPrincipalName", "type": "Attribute", "parameters": []}},
                join,
                {"targetAttributeName": "title", "source": {"name": "Employee", "type": "Constant"}},
                {"targetAttributeName": "phoneNumbers", "flowType": "MultiValueAddOnly", "source": {"name": "mobile", "type": "Attribute"}},
                {"targetAttributeName": "nickName", "flowBehavior": "FlowAlways", "source": {"name": "mailNickname", "type": "Attribute"}},
                {"targetAttributeName": "locale", "source": {"name": "NoSuchFunction", "type": "Function", "parameters": []}}
             ],
             "scope": {"groups": [{"name": "Finland sales", "clauses": [
                {"sourceOperandName": "country", "operatorName": "EQUALS", "targetOperand": {"values": ["FI"]}},
                {"sourceOperandName": "department", "operatorName": "IN", "targetOperand": {"values": ["Sales", "Marketing"]}},
                {"sourceOperandName": "accountEnabled", "operatorName": "IS_TRUE", "targetOperand": {"values": []}},
                {"sourceOperandName": "city", "operatorName": "EQUALS", "targetOperand": {"values": ["Oulu", "Espoo"]}},
                {"sourceOperandName": "jobTitle", "operatorName": "SOUNDS_LIKE", "targetOperand": {"values": ["x"]}}]}],
                       "inputFilterGroups": [{"name": "x"}]}},
            {"sourceObjectName": "Group", "enabled": false, "attributeMappings": [
                attr("displayName", "displayName"), attr("members", "members")],
             "scope": {"groups": [{"clauses": []}]}},
            {"sourceObjectName": "Contact", "name": "Contacts", "targetObjectName": "User", "attributeMappings": []}]},
        {"name": "SECOND", "objectMappings": []}]});
    let out = import(&schema, "imported").unwrap();
    let cfg = JobConfig::parse(&out.toml).unwrap_or_else(|e| panic!("{e}\n{}", out.toml));
    sync_sources::validate(&cfg).unwrap_or_else(|e| panic!("{e}\n{}", out.toml));

    let m = &cfg.users.mappings;
    assert_eq!(
        (m[0].target.as_str(), m[0].source.as_deref(), m[0].matching),
        ("userName", Some("userPrincipalName"), Some(1))
    );
    assert_eq!(m[1].kind, MappingKind::Expression);
    assert_eq!(
        m[1].expression.as_deref(),
        Some(r#"Join(" ", [givenName], [surname])"#),
        "built from the tree"
    );
    assert_eq!((m[1].apply, m[1].default.as_deref()), (Apply::Create, Some("n/a")));
    assert_eq!(
        (m[2].kind, m[2].value.as_deref()),
        (MappingKind::Constant, Some("Employee"))
    );
    assert_eq!(m.len(), 5, "the unknown function is left out: {m:#?}");
    assert!(cfg.users.actions.create && cfg.users.actions.update && !cfg.users.actions.delete);
    let g = cfg.groups.as_ref().unwrap();
    assert!(!g.enabled);
    assert_eq!(g.mappings.len(), 1, "members is the engine's own business");

    let clauses = &cfg.scope.filters[0].clauses;
    let got: Vec<(&str, &str, Option<&str>)> = clauses
        .iter()
        .map(|c| (c.attribute.as_str(), c.operator.as_str(), c.value.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("country", "EQUALS", Some("FI")),
            ("department", "&", Some("Sales,Marketing")),
            ("accountEnabled", "IS TRUE", None)
        ]
    );
    assert_eq!(cfg.scope.filters[0].name.as_deref(), Some("Finland sales"));

    let all = out.unconverted.join("\n");
    for named in [
        "synchronizationRules[1] (SECOND)",
        "\"phoneNumbers\"): flowType \"MultiValueAddOnly\"",
        "\"nickName\"): flowBehavior FlowAlways",
        "\"locale\"): the expression cannot be converted",
        "city EQUALS with 2 values",
        "operator \"SOUNDS_LIKE\" on jobTitle",
        "users scope: inputFilterGroups",
        "groups scope: scoping filters on groups",
        "\"Contacts\" (Contact → User)",
    ] {
        assert!(all.contains(named), "{named:?} not reported in:\n{all}");
    }
    assert_eq!(out.unconverted.len(), 9, "{all}");
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("groups.mappings (target \"members\")")),
        "{:?}",
        out.notes
    );
}

#[test]
fn a_file_that_is_not_a_schema_is_refused() {
    for (v, why) in [
        (json!({}), "no synchronizationRules"),
        (json!({"synchronizationRules": []}), "empty"),
        (
            json!({"synchronizationRules": [{"objectMappings": [{"sourceObjectName": "Group"}]}]}),
            "no object mapping with sourceObjectName \"User\"",
        ),
    ] {
        let e = import(&v, "x").unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    }
}
