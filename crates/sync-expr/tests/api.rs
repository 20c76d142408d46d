//! Public API: function coverage, sources, outcomes, values.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::collections::BTreeMap;

use common::{NOW, SEED, s};
use sync_expr::{EvalEnv, Func, Outcome, SplitMix64, Value, parse};
use time::macros::datetime;

/// Every function of the Entra reference, as the brief lists them.
const DOCUMENTED: &[&str] = &[
    "Append",
    "AppRoleAssignmentsComplex",
    "AssertiveAppRoleAssignmentsComplex",
    "BitAnd",
    "CBool",
    "CDate",
    "Coalesce",
    "ConvertToBase64",
    "ConvertToUTF8Hex",
    "Count",
    "CStr",
    "DateAdd",
    "DateDiff",
    "DateFromNum",
    "FormatDateTime",
    "Guid",
    "IgnoreFlowIfNullOrEmpty",
    "IIF",
    "InStr",
    "IsNull",
    "IsNullOrEmpty",
    "IsPresent",
    "IsString",
    "Item",
    "Join",
    "Left",
    "Mid",
    "NormalizeDiacritics",
    "Not",
    "Now",
    "NumFromDate",
    "PCase",
    "RandomString",
    "Redact",
    "RemoveDuplicates",
    "Replace",
    "SelectUniqueValue",
    "SingleAppRoleAssignment",
    "Split",
    "StripSpaces",
    "Switch",
    "ToLower",
    "ToUpper",
    "Word",
];

#[test]
fn the_registry_is_exactly_the_documented_function_list() {
    let mut registered: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
    let mut documented = DOCUMENTED.to_vec();
    registered.sort_unstable();
    documented.sort_unstable();
    assert_eq!(registered, documented);
}

/// One minimal call per function, each evaluated end to end.
const SMOKE: &[(&str, &str)] = &[
    ("Append", r#"Append("a", "b")"#),
    ("AppRoleAssignmentsComplex", r#"AppRoleAssignmentsComplex([roles])"#),
    (
        "AssertiveAppRoleAssignmentsComplex",
        r#"AssertiveAppRoleAssignmentsComplex([roles])"#,
    ),
    ("BitAnd", r#"BitAnd(6, 3)"#),
    ("CBool", r#"CBool(1)"#),
    ("CDate", r#"CDate("2021-01-01")"#),
    ("Coalesce", r#"Coalesce([x], "a")"#),
    ("ConvertToBase64", r#"ConvertToBase64("a")"#),
    ("ConvertToUTF8Hex", r#"ConvertToUTF8Hex("a")"#),
    ("Count", r#"Count([multi])"#),
    ("CStr", r#"CStr(1)"#),
    ("DateAdd", r#"DateAdd("d", 1, Now())"#),
    ("DateDiff", r#"DateDiff("d", Now(), Now())"#),
    ("DateFromNum", r#"DateFromNum(0)"#),
    (
        "FormatDateTime",
        r#"FormatDateTime("2021-01-01", , "yyyy-MM-dd", "yyyy")"#,
    ),
    ("Guid", r#"Guid()"#),
    ("IgnoreFlowIfNullOrEmpty", r#"IgnoreFlowIfNullOrEmpty("a")"#),
    ("IIF", r#"IIF(1 = 1, "a", "b")"#),
    ("InStr", r#"InStr("abc", "c")"#),
    ("IsNull", r#"IsNull([x])"#),
    ("IsNullOrEmpty", r#"IsNullOrEmpty([x])"#),
    ("IsPresent", r#"IsPresent([x])"#),
    ("IsString", r#"IsString([x])"#),
    ("Item", r#"Item([multi], 1)"#),
    ("Join", r#"Join(",", [multi])"#),
    ("Left", r#"Left("abc", 1)"#),
    ("Mid", r#"Mid("abc", 2, 1)"#),
    ("NormalizeDiacritics", r#"NormalizeDiacritics("é")"#),
    ("Not", r#"Not("True")"#),
    ("Now", r#"Now()"#),
    ("NumFromDate", r#"NumFromDate("2021-01-01")"#),
    ("PCase", r#"PCase("ab cd")"#),
    ("RandomString", r#"RandomString(4, 1, 1, 1, 1)"#),
    ("Redact", r#"Redact("a")"#),
    ("RemoveDuplicates", r#"RemoveDuplicates([multi])"#),
    ("Replace", r#"Replace("a-b", "-", , , "+", , )"#),
    ("SelectUniqueValue", r#"SelectUniqueValue("a", "b")"#),
    ("SingleAppRoleAssignment", r#"SingleAppRoleAssignment([roles])"#),
    ("Split", r#"Split("a,b", ",")"#),
    ("StripSpaces", r#"StripSpaces("a b")"#),
    ("Switch", r#"Switch("a", "d", "a", "b")"#),
    ("ToLower", r#"ToLower("A")"#),
    ("ToUpper", r#"ToUpper("a")"#),
    ("Word", r#"Word("a b", 2, " ")"#),
];

#[test]
fn every_function_evaluates() {
    assert_eq!(SMOKE.len(), DOCUMENTED.len());
    let mut source: BTreeMap<String, Value> = BTreeMap::new();
    source.insert("multi".into(), Value::Multi(vec![s("a"), s("a")]));
    source.insert(
        "roles".into(),
        Value::AppRoleAssignments(vec![common::role("1", "Admin", "Admin")]),
    );
    for (name, src) in SMOKE {
        let expr = parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(expr.functions()[0].name(), *name);
        let mut rng = SplitMix64::new(SEED);
        let mut next = || rng.next_u64();
        let mut always = |_: &str| true;
        let mut env = EvalEnv::new(NOW, &mut next).with_uniqueness(&mut always);
        let out = expr.eval(&source, &mut env).unwrap_or_else(|e| panic!("{src}: {e}"));
        let value = out.into_value().unwrap_or_else(|| panic!("{src}: ignored"));
        assert!(!value.is_null(), "{src} gave null");
    }
}

#[test]
fn sources_can_be_closures_and_maps() {
    let e = parse(r#"Join(" ", [givenName], [surname])"#).unwrap();
    let mut rng = SplitMix64::new(SEED);
    let mut next = || rng.next_u64();
    let mut env = EvalEnv::new(NOW, &mut next);
    let closure = |name: &str| match name {
        "givenName" => Some(s("Ada")),
        "surname" => Some(s("Lovelace")),
        _ => None,
    };
    assert_eq!(
        e.eval(&closure, &mut env).unwrap().into_value(),
        Some(s("Ada Lovelace"))
    );
    let map: std::collections::HashMap<String, Value> = [("givenName".to_string(), s("Ada"))].into();
    assert_eq!(e.eval(&map, &mut env).unwrap().into_value(), Some(s("Ada")));
}

#[test]
fn value_text_forms() {
    assert_eq!(Value::Bool(true).to_string(), "True");
    assert_eq!(Value::Number(-3).to_string(), "-3");
    assert_eq!(
        Value::DateTime(datetime!(2021-07-02 15:33:38 UTC)).to_string(),
        "7/2/2021 3:33:38 PM"
    );
    assert_eq!(
        Value::DateTime(datetime!(2021-07-02 00:03:08 UTC)).to_string(),
        "7/2/2021 12:03:08 AM"
    );
    assert_eq!(Value::Multi(vec![s("a"), Value::Number(1)]).to_string(), "[a, 1]");
    assert_eq!(Value::Null.to_string(), "");
    assert_eq!(Value::from(Some("x")), s("x"));
    assert_eq!(Value::from(None::<&str>), Value::Null);
    assert!(Value::Multi(vec![]).is_null_or_empty());
    assert!(!Value::Number(0).is_null_or_empty());
    assert_eq!(Value::Multi(vec![]).type_name(), "multi-valued");
}

#[test]
fn outcome_helpers() {
    assert_eq!(Outcome::Ignore.log_text(), "(ignored)");
    assert!(Outcome::Ignore.is_ignored());
    let v = Outcome::Value {
        value: s("x"),
        redacted: false,
    };
    assert_eq!(v.value(), Some(&s("x")));
    assert!(!v.is_ignored());
}

#[test]
fn errors_always_name_the_function() {
    let cases = [
        (r#"Mid("a", 0, 1)"#, "Mid"),
        (r#"Left(Split("a", ","), 1)"#, "Left"),
        (r#"IIF([x] = "a", "b", "c")"#, "IIF"),
        (r#"Replace("a", , "(", , "b", , )"#, "Replace"),
        (r#"SelectUniqueValue("a", "b")"#, "SelectUniqueValue"),
        (r#"CDate("nope")"#, "CDate"),
        (r#"Split("a", ",") = "a""#, "="),
    ];
    for (src, func) in cases {
        let err = common::eval(src, &[]).unwrap_err();
        assert_eq!(err.function(), func, "{src}");
        assert!(err.to_string().starts_with(&format!("{func}: ")), "{src}: {err}");
    }
}

#[test]
fn the_deepest_allowed_expression_evaluates_and_prints() {
    let depth = sync_expr::MAX_DEPTH;
    let src = format!("{}[a]{}", "ToUpper(".repeat(depth), ")".repeat(depth));
    let expr = parse(&src).unwrap();
    assert_eq!(expr.to_string(), src);
    let out = common::eval(&src, &[("a", s("deep"))]).unwrap();
    assert_eq!(out.into_value(), Some(s("DEEP")));
    let iifs = format!("{}\"x\"{}", "IIF(1 = 1, ".repeat(depth), ", \"n\")".repeat(depth));
    assert_eq!(common::eval(&iifs, &[]).unwrap().into_value(), Some(s("x")));
}
